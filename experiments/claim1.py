"""Claim 1: a VTA LoRA beats a dedicated image-to-video model that used far more data and compute.

    bash scripts/train_claim1.sh WORK             # the LoRAs, WORK/i2v-baseline and WORK/timing.json (resumable)
    python experiments/claim1.py --work WORK [--n 64]

The paper's Pusa used 1/2500 of Wan-I2V's data and 1/200 of its cost. Here the ratio is built from the
small side: the VTA LoRA gets Pusa-mini's recipe (p_cond 1, σ at shift 5, rank 32) but only a 40-clip
cache and 30 steps × 4 clips, and the Wan-I2V-style baseline (experiments/i2v_baseline.py: extra input
channels for the frame mask and the conditioning latent, every weight fine-tuned, one σ per clip)
gets 460 steps × 8 freshly rendered clips from the same base. The issue asks for at least 50× the data
and 20× the compute; the page computes the ratios from the training records and from the per-step CPU
seconds that experiments/claim1_timing.py measured for both models the same way (WORK/timing.json), and
says whether they hold. ``--also`` adds more LoRAs from WORK as rows (default: the 50 × 4 one).

Image-to-video (frame 0 given, the caption as prompt, 10 steps, CFG 3, free frames from pure noise as
in the paper) on held-out clips 0 … n−1, scored with ``pusa.mini.evaluate``'s i2v metrics, for the
LoRA, the baseline and the shipped Pusa-mini (600-step LoRA on 2,000 clips) for reference. Rows
"… − Pusa VTA LoRA" are paired per clip (same clip, same seed).
"""

from __future__ import annotations

import math
import time
from pathlib import Path

from flags import check_args, command, parser, torch_dtype
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline, train_record, variant_pipeline

NAME = "claim1"
PUSA, BASELINE, SHIPPED = "Pusa VTA LoRA", "I2V baseline (Wan-I2V style)", "shipped Pusa-mini"
PUSA_VARIANT = "c1-s5-r32-30x4"  # scripts/train_claim1.sh
ALSO = "c1-s5-r32-50x4"  # a longer run of the same recipe, shown as a row
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


def timing_record(work: Path) -> dict:
    """WORK/timing.json from experiments/claim1_timing.py, or {} when it was not measured."""
    import json

    path = work / "timing.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def ratios(pusa: dict, base: dict, timing: dict | None = None) -> dict[str, float]:
    """Baseline ÷ LoRA: distinct clips, clips seen, compute (forward-pass equivalents), the runs' recorded seconds
    and, from ``timing``, CPU seconds per sample measured the same way for both (× clips seen)."""
    def div(a, b):
        return a / b if a and b else float("nan")

    timing = timing or {}
    per_sample = {k: div(timing.get(f"{k}_step_s"), timing.get(f"{k}_batch")) for k in ("lora", "baseline")}
    return {"data": div(base.get("distinct_clips"), pusa.get("distinct_clips")),
            "seen": div(base.get("clips_seen"), pusa.get("clips_seen")),
            "compute": div(base.get("clips_seen", 0) * COST["full"], pusa.get("clips_seen", 0) * COST["lora"]),
            "seconds": div(base.get("seconds"), pusa.get("seconds")),
            "cpu": div(base.get("clips_seen", 0) * per_sample["baseline"], pusa.get("clips_seen", 0) * per_sample["lora"])}


def budget_table(pusa: dict, base: dict, timing: dict | None = None, also: dict[str, dict] | None = None) -> str:
    def row(name, rec, weights):
        return (f"| {name} | {weights} | {rec.get('steps')} × {rec.get('batch')} | {rec.get('distinct_clips')} | "
                f"{rec.get('clips_seen')} | {rec.get('seconds')} |")

    also = also or {}
    lines = ["| model | trained weights | steps × batch | distinct clips | clips seen | train s (recorded) |",
             "|---|---|---|---|---|---|",
             row(PUSA, pusa, f"LoRA rank {pusa.get('rank')}"),
             *(row(name, rec, f"LoRA rank {rec.get('rank')}") for name, rec in also.items()),
             row(BASELINE, base, "all + input channels"),
             row(SHIPPED, SHIPPED_BUDGET, "LoRA rank 32")]
    r, s = ratios(pusa, base, timing), ratios(SHIPPED_BUDGET, base, timing)
    measured = not math.isnan(r["cpu"])
    met = r["data"] >= DATA_RATIO and r["compute"] >= COMPUTE_RATIO and (not measured or r["cpu"] >= COMPUTE_RATIO)
    by = "every count above" if measured else "the forward-pass count (per-step timing not measured)"
    verdict = (f"the issue's ≥ {DATA_RATIO}× data and ≥ {COMPUTE_RATIO}× compute **hold** by {by}" if met else
               f"the issue's ≥ {DATA_RATIO}× data and ≥ {COMPUTE_RATIO}× compute do **not** both hold")
    cpu = (f"{r['cpu']:.3g}× the CPU seconds by per-step timing ({timing['lora_step_s']:g} s per LoRA step of "
           f"{timing['lora_batch']}, {timing['baseline_step_s']:g} s per baseline step of {timing['baseline_batch']}, "
           f"measured one after the other in one process by experiments/claim1_timing.py on {timing['date']}, "
           f"{timing['torch_threads']} torch thread), " if measured else "")
    extra = "".join(f" Against {name}: {a['data']:.3g}× the data, {a['compute']:.3g}× the compute by forward "
                    f"passes, {a['cpu']:.3g}× by per-step timing."
                    for name, a in ((name, ratios(rec, base, timing)) for name, rec in also.items()))
    return ("\n".join(lines) + f"\n\nBaseline ÷ {PUSA}: {r['data']:.3g}× the distinct clips, {r['seen']:.3g}× the "
            f"clips seen, {r['compute']:.3g}× the compute by forward passes (a LoRA step costs about "
            f"{COST['lora']:g} passes per sample, a full fine-tune {COST['full']:g}), {cpu}and {r['seconds']:.3g}× "
            f"the training seconds the runs recorded (wall time, under whatever else ran then): {verdict}.{extra} "
            f"Against the shipped Pusa-mini the baseline has only {s['data']:.2g}× the data and {s['compute']:.2g}× "
            "the compute, so that row is a reference, not the claim's comparison. All sample with Euler at shift 5 "
            "and CFG 3 on the text; the baseline's free frames and Pusa's start from pure noise (no warm start).")


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--work", required=True, type=Path, help="folder of the trained models (scripts/train_claim1.sh)")
    p.add_argument("--pusa", default=PUSA_VARIANT, help="the claim's VTA LoRA: its folder name in WORK")
    p.add_argument("--also", default=ALSO, help="comma-separated further LoRA folders in WORK shown as rows ('': none)")
    args = p.parse_args(argv)
    check_args(args)
    names = [args.pusa, *[a for a in args.also.split(",") if a]]
    for name in names:
        if not (args.work / name / "final").is_dir():
            raise SystemExit(f"{args.work / name / 'final'}: no trained LoRA here; train it with "
                             f"scripts/train_claim1.sh {args.work}")
    lora = args.work / args.pusa / "final"
    also = {f"VTA LoRA {name}": args.work / name / "final" for name in names[1:]}
    t0 = time.time()
    # The baseline last: with the baseline still training, a run fills the sample cache for the others.
    pipes = {PUSA: lambda: variant_pipeline(lora, args.dtype),
             **{name: (lambda path=path: variant_pipeline(path, args.dtype)) for name, path in also.items()},
             SHIPPED: lambda: load_pipeline(1.0, args.dtype),
             BASELINE: lambda: baseline_pipeline(args.work / "i2v-baseline", args.dtype)}
    progress = Progress(NAME, args.n * len(pipes))
    rows = {}
    for name, make in pipes.items():
        rows.update(run_cells(make(), [Cell(name, "i2v", args.steps)], args.n, args.cfg, args.cache,
                              progress=progress))
    rows |= paired_differences(rows, PUSA)

    def record(path):
        return {**train_record(path), "distinct_clips": cache_clips(args.work)}

    notes = budget_table(record(lora), train_record(args.work / "i2v-baseline"), timing_record(args.work),
                         {name: record(path) for name, path in also.items()})
    md, _ = write_results(NAME, args.out, "Claim 1: VTA LoRA against a dedicated I2V model (Pusa-mini world)",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
