#!/bin/bash
# Can the Pusa step alone teach the caption's direction? Two I2V-only VTA LoRAs on the shipped base
# (caption_reliance --given first measures them): Pusa-mini's LoRA recipe (p_cond 1, rank 32, lr 1e-3, batch 8,
# the 2,000-clip cache) but every sample an I2V task (--patterns i2v), with the free frames' σ at shift 5
# (the sampler's) or shift 20 (almost all near σ = 1, where only frame 0 and the caption tell the model where
# the object goes). Measured at step 200 (1,600 samples; about 9 s/step each, two side by side on 2 cores).
#
#   bash scripts/train_i2v_only.sh WORK
#   python experiments/caption_reliance.py --given first --variant WORK/i2v-s5/final --variant WORK/i2v-s20/final
#
# (docs/results/caption_reliance_i2v.md measured the step-200 checkpoints of two 300-step runs, exported with
# `pusa export WORK/i2v-s5 --step 200`; the lr is constant after warm-up and every draw depends on the step alone, so those equal these runs' final weights.)
#
# Resumable: rerun after an interruption; finished parts are skipped.
set -euo pipefail
WORK=$(realpath -m "${1:?usage: bash scripts/train_i2v_only.sh WORK}")
PY=${PYTHON:-python}
STEPS=${STEPS:-200}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
mkdir -p "$WORK"
[ -f "$WORK/model-base/model_index.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage export-base --from-shipped
[ -f "$WORK/cache/manifest.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage cache --clips 2000
for shift in 5 20; do
  $PY -m pusa.mini.recipe "$WORK" --stage lora --name "i2v-s$shift" --p-cond 1 --patterns i2v --shift "$shift" \
    --rank 32 --lora-steps "$STEPS" --lora-batch 8 --warmup 30 --lr 1e-3 &
done
wait
