"""Claim 1: a VTA LoRA beats a dedicated image-to-video model that used far more data and compute.

    bash scripts/train_ablations.sh WORK          # trains WORK/p1-r16 and WORK/i2v-baseline (resumable)
    python experiments/claim1.py --work WORK [--n 64]

Image-to-video (frame 0 given, the caption as prompt, 10 steps, CFG 3) on held-out clips 0 … n−1,
scored with ``pusa.mini.evaluate``'s i2v metrics, for:

- the VTA LoRA WORK/p1-r16 (rank 16, p_async 1; ``pusa.mini.recipe --stage lora``);
- the dedicated baseline WORK/i2v-baseline, built as Wan-I2V is (experiments/i2v_baseline.py: extra input
  channels for the frame mask and the conditioning latent, every weight fine-tuned, one σ per clip);
- the shipped Pusa-mini (its 800-step LoRA), for reference.

The issue asks for a baseline with at least 50× the LoRA's data and 20× its compute. The notes give
the budgets each row actually had, measured, and the ratio, so the table says which comparison it is.
Rows "… − Pusa VTA LoRA (p1-r16)" are paired per clip (same clip, same seed).
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
PUSA, BASELINE, SHIPPED = "Pusa VTA LoRA (p1-r16)", "I2V baseline (Wan-I2V style)", "shipped Pusa-mini (800 steps)"


def baseline_pipeline(folder: Path, dtype: str):
    from i2v_baseline import load_baseline

    from pusa.models.transformer import cast_keeping_fp32

    if not (folder / "transformer" / "config.json").is_file():
        raise SystemExit(f"{folder}: no trained baseline here; train it with scripts/train_ablations.sh")
    pipe = load_baseline(folder / "transformer")
    cast_keeping_fp32(pipe.transformer, torch_dtype(dtype))
    return pipe


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--work", required=True, type=Path, help="folder of the trained variants (scripts/train_ablations.sh)")
    args = p.parse_args(argv)
    check_args(args)
    t0 = time.time()
    pipes = {BASELINE: lambda: baseline_pipeline(args.work / "i2v-baseline", args.dtype),
             SHIPPED: lambda: load_pipeline(1.0, args.dtype),
             PUSA: lambda: variant_pipeline(args.work / "p1-r16" / "final", args.dtype)}
    progress = Progress(NAME, args.n * len(pipes))
    rows = {}
    for name, make in pipes.items():
        rows.update(run_cells(make(), [Cell(name, "i2v", args.steps)], args.n, args.cfg, args.cache,
                              progress=progress))
    rows |= paired_differences(rows, PUSA)
    pusa, base = train_record(args.work / "p1-r16" / "final"), train_record(args.work / "i2v-baseline")
    lines = ["| model | trained weights | steps × batch | distinct clips | clips seen | train s (measured) |",
             "|---|---|---|---|---|---|",
             (f"| {PUSA} | LoRA rank {pusa.get('rank')} | {pusa.get('steps')} × {pusa.get('batch')} | 2,000 (cache) | "
              f"{pusa.get('clips_seen')} | {pusa.get('seconds')} |"),
             (f"| {BASELINE} | all + input channels | {base.get('steps')} × {base.get('batch')} | "
              f"{base.get('distinct_clips')} (streamed) | {base.get('clips_seen')} | {base.get('seconds')} |")]
    ratio = (base.get("clips_seen", 0) / pusa["clips_seen"]) if pusa.get("clips_seen") else float("nan")
    notes = ("\n".join(lines) + f"\n\nBaseline / Pusa samples seen: {ratio:.2g}×. A full fine-tune step costs about "
             "1.5× a LoRA step (weight gradients for every layer), so the baseline's compute is about "
             f"{1.5 * ratio:.2g}× Pusa's, not the ≥ 20× the issue asks for: this CPU session could not afford "
             "it. The comparison is therefore Pusa against a Wan-I2V-style model at a similar budget; the "
             "claim's 'far more compute' half is untested here (`python experiments/i2v_baseline.py train "
             "WORK/i2v-baseline --minutes 9 --batch 128` on a GPU is the command for it).")
    md, _ = write_results(NAME, args.out, "Claim 1: VTA LoRA against a dedicated I2V model (Pusa-mini world)",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
