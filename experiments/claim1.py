"""Claim 1: a VTA LoRA beats a dedicated image-to-video model that used far more data and compute.

    bash scripts/train_claim1.sh WORK             # WORK/c1-s5-r32-50x4 and WORK/i2v-baseline (resumable)
    python experiments/claim1.py --work WORK [--n 64]

The paper's Pusa used 1/2500 of Wan-I2V's data and 1/200 of its cost. Here the ratio is built from the
small side: the VTA LoRA gets Pusa-mini's recipe (p_cond 1, σ at shift 5, rank 32) but only a 40-clip
cache and 50 steps × 4 clips, and the Wan-I2V-style baseline (experiments/i2v_baseline.py: extra input
channels for the frame mask and the conditioning latent, every weight fine-tuned, one σ per clip)
gets 460 steps × 8 freshly rendered clips from the same base. The issue asks for at least 50× the data
and 20× the compute; the page computes both ratios from the training records and says whether they hold.

Image-to-video (frame 0 given, the caption as prompt, 10 steps, CFG 3, free frames from pure noise as
in the paper) on held-out clips 0 … n−1, scored with ``pusa.mini.evaluate``'s i2v metrics, for the
LoRA, the baseline and the shipped Pusa-mini (600-step LoRA on 2,000 clips) for reference. Rows
"… − Pusa VTA LoRA" are paired per clip (same clip, same seed).
"""

from __future__ import annotations

import time
from pathlib import Path

from common import (
    Cell,
    Progress,
    check_args,
    command,
    load_pipeline,
    paired_differences,
    parser,
    run_cells,
    summarize,
    torch_dtype,
    train_record,
    variant_pipeline,
    write_results,
)

NAME = "claim1"
PUSA, BASELINE, SHIPPED = "Pusa VTA LoRA", "I2V baseline (Wan-I2V style)", "shipped Pusa-mini"
PUSA_VARIANT = "c1-s5-r32-50x4"  # scripts/train_claim1.sh
# The shipped LoRA's budget, from its model card (docs/mini.md): 600 steps × 8 clips from a 2,000-clip cache.
SHIPPED_BUDGET = {"steps": 600, "batch": 8, "clips_seen": 4800, "distinct_clips": 2000, "seconds": 3867}
# Cost of one training sample in forward passes: a LoRA step is the forward plus the backward through the
# activations (the frozen weights need no gradient), about 2F; a full fine-tune adds every weight's gradient, 3F.
COST = {"lora": 2.0, "full": 3.0}
DATA_RATIO, COMPUTE_RATIO = 50, 20  # what the issue asks of the baseline


def baseline_pipeline(folder: Path, dtype: str):
    from i2v_baseline import load_baseline

    from pusa.models.transformer import cast_keeping_fp32

    if not (folder / "transformer" / "config.json").is_file():
        raise SystemExit(f"{folder}: no trained baseline here; train it with scripts/train_claim1.sh")
    pipe = load_baseline(folder / "transformer")
    cast_keeping_fp32(pipe.transformer, torch_dtype(dtype))
    return pipe


def cache_clips(work: Path) -> int | None:
    """Distinct clips in the LoRA's latent cache (WORK/cache, written by ``pusa.mini.recipe --stage cache``)."""
    import json

    manifest = work / "cache" / "manifest.json"
    return len(json.loads(manifest.read_text()).get("samples", [])) if manifest.is_file() else None


def ratios(pusa: dict, base: dict) -> dict[str, float]:
    """Baseline ÷ LoRA: distinct clips, clips seen, compute (forward-pass equivalents) and measured seconds."""
    def div(a, b):
        return a / b if a and b else float("nan")

    return {"data": div(base.get("distinct_clips"), pusa.get("distinct_clips")),
            "seen": div(base.get("clips_seen"), pusa.get("clips_seen")),
            "compute": div(base.get("clips_seen", 0) * COST["full"], pusa.get("clips_seen", 0) * COST["lora"]),
            "seconds": div(base.get("seconds"), pusa.get("seconds"))}


def budget_table(pusa: dict, base: dict) -> str:
    def row(name, rec, weights):
        return (f"| {name} | {weights} | {rec.get('steps')} × {rec.get('batch')} | {rec.get('distinct_clips')} | "
                f"{rec.get('clips_seen')} | {rec.get('seconds')} |")

    lines = ["| model | trained weights | steps × batch | distinct clips | clips seen | train s (measured) |",
             "|---|---|---|---|---|---|",
             row(PUSA, pusa, f"LoRA rank {pusa.get('rank')}"),
             row(BASELINE, base, "all + input channels"),
             row(SHIPPED, SHIPPED_BUDGET, "LoRA rank 32")]
    r, s = ratios(pusa, base), ratios(SHIPPED_BUDGET, base)
    met = r["data"] >= DATA_RATIO and r["compute"] >= COMPUTE_RATIO
    verdict = (f"the issue's ≥ {DATA_RATIO}× data and ≥ {COMPUTE_RATIO}× compute **hold** by that count" if met else
               f"the issue's ≥ {DATA_RATIO}× data and ≥ {COMPUTE_RATIO}× compute do **not** both hold")
    return ("\n".join(lines) + f"\n\nBaseline ÷ {PUSA}: {r['data']:.3g}× the distinct clips, {r['seen']:.3g}× the "
            f"clips seen, {r['compute']:.3g}× the compute (a LoRA step costs about {COST['lora']:g} forward passes "
            f"per sample, a full fine-tune {COST['full']:g}) and {r['seconds']:.3g}× the measured training "
            f"seconds (both trained side by side, one thread each, on a machine that also ran other jobs; "
            f"wall time per sample is not a FLOP count): {verdict}. Against the shipped Pusa-mini the "
            f"baseline has only {s['data']:.2g}× the data and {s['compute']:.2g}× the compute, so that row is a "
            "reference, not the claim's comparison. Both sample with Euler at shift 5 and CFG 3 on the text; "
            "the baseline's free frames and Pusa's start from pure noise (no warm start).")


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--work", required=True, type=Path, help="folder of the trained models (scripts/train_claim1.sh)")
    p.add_argument("--pusa", default=PUSA_VARIANT, help=f"the VTA LoRA's folder name in WORK (default {PUSA_VARIANT})")
    args = p.parse_args(argv)
    check_args(args)
    lora = args.work / args.pusa / "final"
    if not lora.is_dir():
        raise SystemExit(f"{lora}: no trained LoRA here; train it with scripts/train_claim1.sh {args.work}")
    t0 = time.time()
    # The baseline last: with the baseline still training, a run fills the sample cache for the other two.
    pipes = {PUSA: lambda: variant_pipeline(lora, args.dtype),
             SHIPPED: lambda: load_pipeline(1.0, args.dtype),
             BASELINE: lambda: baseline_pipeline(args.work / "i2v-baseline", args.dtype)}
    progress = Progress(NAME, args.n * len(pipes))
    rows = {}
    for name, make in pipes.items():
        rows.update(run_cells(make(), [Cell(name, "i2v", args.steps)], args.n, args.cfg, args.cache,
                              progress=progress))
    rows |= paired_differences(rows, PUSA)
    pusa = {**train_record(lora), "distinct_clips": cache_clips(args.work)}
    notes = budget_table(pusa, train_record(args.work / "i2v-baseline"))
    md, _ = write_results(NAME, args.out, "Claim 1: VTA LoRA against a dedicated I2V model (Pusa-mini world)",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
