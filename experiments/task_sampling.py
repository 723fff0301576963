"""Pusa's p_cond option against the paper's sampling: does training on conditioning tasks help?

    bash scripts/train_ablations.sh WORK        # trains the five variants below among the others
    python experiments/task_sampling.py --work WORK [--n 64]

At inference every conditioned task has one shape: the given latent frames at σ = 0 and every free frame
on one schedule. With p_async = 1 (the paper) a 5-frame sample almost never has that shape. ``p_cond``
(``pusa.flow.task_sigmas``) draws it on purpose for a share of the samples: I2V, an extension prefix,
start+end or random keyframes given at σ = 0, the rest at one shared σ; the given frames carry no loss.

Variants, all from the shipped base at one budget (100 steps × 8 clips, rank 16, lr 1e-3, 20 warm-up
steps, continuous σ): "p_async 1" (the paper's sampling, σ uniform: shift 1, as in claim 5's
ablations), "p_cond 0.5" (half tasks, half p_async = 1), and the same two plus "p_cond 1" (tasks only)
with σ drawn at shift 5, the sampler's shift. The shipped 800-step LoRA frames them. Cells per variant:
I2V and extension (frames 0–8 given), 10 steps, CFG 3, warm start off. ``background_err`` (RGB
distance between the generated frames' median colour and the true background's, 0–255 units) asks
whether the free frames keep the given frames' background. Every variant is also shown as a paired
per-clip difference to "p_async 1".
"""

from __future__ import annotations

import time
from pathlib import Path

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import budget_notes, load_pipeline, trained_variants, variant_pipeline

NAME = "task_sampling"
VARIANTS = {"p_async 1": "p1-r16", "p_cond 0.5": "c0.5-p1-r16", "p_async 1, shift 5": "p1-s5-r16",
            "p_cond 0.5, shift 5": "c0.5-p1-s5-r16", "p_cond 1, shift 5": "c1-s5-r16"}  # row → WORK/NAME
SHIPPED = "shipped (800 steps, r32, p_async 1)"
REFERENCE = "p_async 1"
TASKS = ("i2v", "extend")
PAIRED = ("caption", "caption_colour", "caption_direction", "trajectory_px", "subject_consistency", "seam_px",
          "middle_px", "background_err")


def scored(pipe, model: str, args, progress: Progress) -> dict[str, list[dict[str, float]]]:
    """Rows "MODEL: TASK" → per-clip metrics (``pusa.mini.evaluate.score``, background_err included)."""
    cells = [Cell(f"{model}: {task}", task, args.steps) for task in TASKS]
    return run_cells(pipe, cells, args.n, args.cfg, args.cache, progress=progress)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--work", required=True, type=Path, help="folder of the trained variants (scripts/train_ablations.sh)")
    args = p.parse_args(argv)
    check_args(args)
    t0 = time.time()
    present, missing = trained_variants(args.work, VARIANTS)
    if REFERENCE not in present:
        raise SystemExit(f"{args.work / VARIANTS[REFERENCE]}/final is missing: train it with scripts/train_ablations.sh")
    progress = Progress(NAME, args.n * len(TASKS) * (len(present) + 1))
    rows: dict[str, list[dict[str, float]]] = {}
    for row, path in present.items():
        rows |= scored(variant_pipeline(path, args.dtype), row, args, progress)
    rows |= scored(load_pipeline(1.0, args.dtype), SHIPPED, args, progress)
    for task in TASKS:
        rows |= paired_differences({k: v for k, v in rows.items() if k.endswith(f": {task}")},
                                   f"{REFERENCE}: {task}", PAIRED)
    notes = budget_notes("Training budgets (one torch thread on the shared 2-core CPU):", present, missing,
                         ("steps", "batch", "p_async", "p_cond", "seconds"))
    md, _ = write_results(NAME, args.out, "Training on conditioning tasks (p_cond) against PTSS (Pusa-mini)",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
