#!/usr/bin/env bash
# Continue Pusa-mini's base from the shipped weights on a lent GPU machine (device glue), then train the
# recommended VTA LoRA (p_cond 1 at shift 5) on the new base. Issue 4's T2V direction is at chance and
# the base's loss was still falling at 2,457 steps: this is the next run to make.
#   run(command="bash scripts/device/continue_base.sh", carry=[".carry/minilm", ".whl"], timeout_s=590)
# CPU smoke: PY=.venv/bin/python OUT=/tmp/o W=/tmp/w PRETRAIN_MINUTES=0.3 PRETRAIN_BATCH=2 WORKERS=1 CLIPS=8 \
#   LORA_STEPS=2 LORA_BATCH=2 bash scripts/device/continue_base.sh
# Needs .carry/minilm (scripts/device/minilm_subset.py pack .carry/minilm) and a diffusers wheel in .whl.
# Back under $OUT: base_run3/ (a transformer folder, fp32), lora_run3.safetensors, their logs. Then, here:
#   python experiments/candidate.py --candidate ...  (for the LoRA) and the T2V rows of guidance.py on the base.
set -uo pipefail
T0=$(date +%s)
PY=${PY:-python3}
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1
if [ -d .whl ]; then  # the device machine: no index, so diffusers and MiniLM come carried
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
  $PY scripts/device/minilm_subset.py unpack .carry/minilm /tmp/minilm || exit 1
  export PUSA_MINILM=/tmp/minilm
fi
W=${W:-/tmp/work}
mkdir -p $W/base
# run 3: warm start from the shipped EMA weights, a stream seed no run used, lr as run 2
$PY -m pusa.mini.pretrain $W/base --init src/pusa/mini/weights/transformer --minutes ${PRETRAIN_MINUTES:-6.0} \
  --batch ${PRETRAIN_BATCH:-128} --workers ${WORKERS:-14} --lr 3e-4 --warmup 100 --seed ${SEED:-2} 2>&1 \
  | grep -v -i warn > $W.pretrain.log
tail -3 $W.pretrain.log
mkdir -p $OUT/base_run3 && cp $W/base/transformer/* $OUT/base_run3/  # a transformer folder (sharded)
cp $W/base/loss.csv $OUT/base_run3_loss.csv 2>/dev/null
$PY -m pusa.mini.recipe $W --stage export-base 2>&1 | grep -v -i warn | tail -2
$PY -m pusa.mini.recipe $W --stage cache --clips ${CLIPS:-2000} 2>&1 | grep -v -i warn | tail -2
echo "base and cache done at $(( $(date +%s) - T0 )) s"
timeout ${LORA_TIMEOUT:-150} $PY -m pusa.mini.recipe $W --stage lora --name lora --p-cond 1 --shift 5 --rank 32 \
  --lora-steps ${LORA_STEPS:-400} --lora-batch ${LORA_BATCH:-32} --lr 1e-3 --warmup 30 2>&1 | grep -v -i warn | tail -2
F=$W/lora/final/diffusers/pytorch_lora_weights.safetensors
[ -f $F ] || F=$(ls $W/lora/checkpoints/step-*/trainable.safetensors 2>/dev/null | sort | tail -1)
[ -n "$F" ] && cp "$F" $OUT/lora_run3.safetensors
cp $W/lora/log.csv $OUT/lora_run3_log.csv 2>/dev/null
ls -la $OUT; echo "total $(( $(date +%s) - T0 )) s"
