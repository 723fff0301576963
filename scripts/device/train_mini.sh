#!/usr/bin/env bash
# Pusa-mini on a lent GPU machine (device glue): pretrain the base, cache, train the VTA LoRA and the
# p_async / rank ablation LoRAs in parallel, and pack everything into at most 8 files under $OUT.
# Needs .carry/minilm (scripts/device/minilm_subset.py pack) and .whl (diffusers) carried.
set -uo pipefail
T0=$(date +%s)
PY=${PY:-python3}
$PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD/src PYTHONUNBUFFERED=1 PUSA_MINILM=/tmp/minilm
$PY scripts/device/minilm_subset.py unpack .carry/minilm /tmp/minilm || exit 1
W=/tmp/work
MIN=${PRETRAIN_MINUTES:-5.0}
$PY -m pusa.mini.recipe $W --stage pretrain --minutes "$MIN" --batch ${PRETRAIN_BATCH:-128} --workers ${WORKERS:-14} 2>&1 | grep -v -i warn > $W.pretrain.log
tail -3 $W.pretrain.log
cp $W/base/transformer/*.safetensors $OUT/
$PY -m pusa.mini.recipe $W --stage export-base 2>&1 | grep -v -i warn | tail -2
$PY -m pusa.mini.recipe $W --stage cache --clips ${CLIPS:-2000} 2>&1 | grep -v -i warn | tail -2
echo "cache done at $(( $(date +%s) - T0 )) s"
run() {  # name p_async rank steps
  timeout ${LORA_TIMEOUT:-200} $PY -m pusa.mini.recipe $W --stage lora --name "$1" --p-async "$2" --rank "$3" \
    --lora-steps "$4" --lora-batch ${LORA_BATCH:-32} > $W/$1.log 2>&1
  echo "$1 rc=$? $(grep -v -i warn $W/$1.log | tail -1)"
}
M=${LORA_STEPS:-600}; A=${AB_STEPS:-400}
run lora 1.0 32 $M & run ab-p0 0.0 32 $A & run ab-p0.2 0.2 32 $A & run ab-p0.5 0.5 32 $A &
run ab-r4 1.0 4 $A & run ab-r16 1.0 16 $A & run ab-r64 1.0 64 $A &
wait
echo "loras done at $(( $(date +%s) - T0 )) s"
$PY - <<'PY'
import glob, os, tarfile, torch
from safetensors.torch import load_file, save_file
W, out = "/tmp/work", os.environ["OUT"]
os.makedirs("/tmp/ab", exist_ok=True)
for d in [f"{W}/lora"] + sorted(glob.glob(f"{W}/ab-*")):
    name = os.path.basename(d)
    f = f"{d}/final/diffusers/pytorch_lora_weights.safetensors"
    if not os.path.exists(f):  # stopped early: the newest checkpoint's LoRA (peft names)
        ck = sorted(glob.glob(f"{d}/checkpoints/step-*/trainable.safetensors"))
        if not ck:
            continue
        f, name = ck[-1], name + "-" + ck[-1].split("/")[-2]
    if name.startswith("lora"):  # the shipped LoRA stays float32
        save_file(load_file(f), f"{out}/pusa_mini_{name}.safetensors")
        continue
    save_file({k: v.to(torch.bfloat16) for k, v in load_file(f).items()}, f"/tmp/ab/{name}.safetensors")
with tarfile.open(f"{out}/ablations.tar", "w") as t:
    t.add("/tmp/ab", arcname="ablations")
with tarfile.open(f"{out}/meta.tar", "w") as t:
    for f in ["base/transformer/config.json", "base/transformer/diffusion_pytorch_model.safetensors.index.json",
              "base/loss.csv", "base/pretrain_config.json", "base/pretrain_result.json"]:
        if os.path.exists(f"{W}/{f}"):
            t.add(f"{W}/{f}", arcname=f)
    for f in glob.glob(f"{W}/*.log") + glob.glob(f"{W}/*/log.csv") + glob.glob(f"{W}.pretrain.log") + glob.glob(f"{W}/*/final/recipe.json"):
        t.add(f, arcname=f.replace("/tmp/work", "").lstrip("/.") or "log")
PY
ls -la $OUT; echo "total $(( $(date +%s) - T0 )) s"
