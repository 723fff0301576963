#!/bin/bash
# Claim 1's two trained models at the paper's kind of ratio (experiments/claim1.py):
# - a VTA LoRA with Pusa-mini's recipe (p_cond 1, σ at shift 5, rank 32) on a cache of only 40 world clips,
#   50 steps x 4 clips (200 samples);
# - the Wan-I2V-style baseline (experiments/i2v_baseline.py), fully fine-tuned from the same base on 3,680
#   freshly rendered clips, 460 steps x 8: 92x the LoRA's distinct clips and, at 1.5x the cost of a LoRA
#   step per sample, 27.6x its compute (claim1.py reports the measured seconds too).
#
#   bash scripts/train_claim1.sh WORK
#
# Resumable: rerun after an interruption; finished parts are skipped. One torch thread per run by default; the
# two runs are independent, so PARALLEL=1 runs them side by side on a 2-core machine.
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
$PY -m pusa.mini.recipe "$WORK" --stage lora --name c1-s5-r32-50x4 --p-cond 1 --shift 5 --rank 32 \
  --lora-steps 50 --lora-batch 4 --warmup 10 --lr 1e-3
if [ "${PARALLEL:-0}" = 1 ]; then wait "$BASELINE_PID"; else baseline; fi
