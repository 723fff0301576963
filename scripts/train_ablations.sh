#!/bin/bash
# The trained variants behind experiments/ablations.py (claim 5) and experiments/task_sampling.py: every VTA
# variant at one short, equal budget (100 steps x 8 clips). Claim 1's models: scripts/train_claim1.sh.
#
#   bash scripts/train_ablations.sh WORK
#
# WORK gets model-base (the shipped base as a pipeline folder) and cache (2,000 world clips) first, then one
# folder per variant. Resumable: rerun after an interruption; finished variants are skipped. One torch thread
# per run by default (THREADS=2 to use both cores of a 2-core machine when nothing else runs).
# Measured on the 2-core CPU with one thread (the other core sampling): about 5.5 s per step, 9 min per variant.
set -euo pipefail
WORK=$(realpath -m "${1:?usage: bash scripts/train_ablations.sh WORK}")
PY=${PYTHON:-python}
export OMP_NUM_THREADS=${THREADS:-1} MKL_NUM_THREADS=${THREADS:-1}
HERE=$(dirname "$(realpath "$0")")
mkdir -p "$WORK"
[ -f "$WORK/model-base/model_index.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage export-base --from-shipped
[ -f "$WORK/cache/manifest.json" ] || $PY -m pusa.mini.recipe "$WORK" --stage cache --clips 2000
R="$PY -m pusa.mini.recipe $WORK --stage lora --lora-steps 100 --lora-batch 8 --warmup 20 --shift 1 --sigma-sampling continuous"
$R --name p1-r16 --p-async 1 --rank 16 --lr 1e-3
$R --name p0-r16 --p-async 0 --rank 16 --lr 1e-3
$R --name p1-r4 --p-async 1 --rank 4 --lr 1e-3
$R --name p1-r64 --p-async 1 --rank 64 --lr 1e-3
$R --name p0.5-r16 --p-async 0.5 --rank 16 --lr 1e-3
$R --name p1-full --p-async 1 --adapter full --lr 1e-4
$R --name p0.2-r16 --p-async 0.2 --rank 16 --lr 1e-3
# experiments/task_sampling.py: pusa's p_cond option (a share of samples drawn as conditioning tasks), and σ at
# the sampler's shift 5 instead of 1 (the later --shift wins)
$R --name c0.5-p1-r16 --p-async 1 --p-cond 0.5 --rank 16 --lr 1e-3
$R --name p1-s5-r16 --p-async 1 --rank 16 --lr 1e-3 --shift 5
$R --name c0.5-p1-s5-r16 --p-async 1 --p-cond 0.5 --rank 16 --lr 1e-3 --shift 5
$R --name c1-s5-r16 --p-async 1 --p-cond 1 --rank 16 --lr 1e-3 --shift 5
# training steps: p1-r16 continued from its step-100 checkpoint to 150 (constant lr after warmup, no EMA)
if [ ! -d "$WORK/p1-r16-150/final" ]; then
  mkdir -p "$WORK/p1-r16-150/checkpoints"
  [ -d "$WORK/p1-r16-150/checkpoints/step-00000100" ] || cp -r "$WORK/p1-r16/checkpoints/step-00000100" "$WORK/p1-r16-150/checkpoints/"
  $R --name p1-r16-150 --p-async 1 --rank 16 --lr 1e-3 --lora-steps 150
fi
