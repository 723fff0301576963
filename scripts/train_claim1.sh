#!/bin/bash
# Claim 1's trained models at the paper's kind of ratio (experiments/claim1.py):
# - the claim's VTA LoRA with Pusa-mini's recipe (p_cond 1, σ at shift 5, rank 32) on a cache of only 40 world
#   clips, 30 steps x 4 clips (120 samples), and a longer run of it (50 x 4) shown as a second row;
# - the Wan-I2V-style baseline (experiments/i2v_baseline.py), fully fine-tuned from the same base on 3,680
#   freshly rendered clips, 460 steps x 8: 92x the LoRA's distinct clips and 46x its compute by forward passes
#   (a LoRA step costs about 2 per sample, a full one 3);
# - WORK/timing.json: both models' CPU seconds per step, measured the same way (experiments/claim1_timing.py),
#   from which claim1.py computes the compute ratio by measured time as well.
#
#   bash scripts/train_claim1.sh WORK
#
# Resumable: rerun after an interruption; finished parts are skipped. One torch thread per run by default; the
# training runs are independent, so PARALLEL=1 runs the baseline beside the LoRAs on a 2-core machine.
set -euo pipefail
WORK=$(realpath -m "${1:?usage: bash scripts/train_claim1.sh WORK}")
PY=${PYTHON:-python}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
HERE=$(dirname "$(realpath "$0")")
mkdir -p "$WORK"
baseline() {
  [ -f "$WORK/i2v-baseline/baseline.json" ] || $PY "$HERE/../experiments/i2v_baseline.py" train "$WORK/i2v-baseline" \
    --steps 460 --batch 8 --lr 2e-4 --warmup 20 --workers 1 --shift 5
}
if [ "${PARALLEL:-0}" = 1 ]; then baseline & BASELINE_PID=$!; fi
[ -f "$WORK/model-base/model_index.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage export-base --from-shipped
[ -f "$WORK/cache/manifest.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage cache --clips 40
for steps in 30 50; do
  $PY -m pusa.mini.recipe "$WORK" --stage lora --name c1-s5-r32-${steps}x4 --p-cond 1 --shift 5 --rank 32 \
    --lora-steps $steps --lora-batch 4 --warmup 10 --lr 1e-3
done
if [ "${PARALLEL:-0}" = 1 ]; then wait "$BASELINE_PID"; else baseline; fi
# Per-step cost of both models, one after the other in one process (about 10 minutes on one CPU thread).
[ -f "$WORK/timing.json" ] || $PY "$HERE/../experiments/claim1_timing.py" --work "$WORK"
