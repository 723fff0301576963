"""Warm start: free frames start from the nearest given frame noised to σ = m instead of from pure noise.

    python experiments/warm_start.py [--n 64] [--steps 10] [--out docs/results]

The paper's sampler starts every free latent frame from pure noise (σ = 1). ``warm_start`` = m
(``pusa.conditions.warm_start``, ``PusaPipeline(..., warm_start=m)``, ``pusa generate --warm-start m``)
fills each free slot with the nearest given pixel frame and starts it at σ = m on the schedule m·σ_i,
as SDEdit starts an edit from a noised image. No training; the shipped Pusa-mini throughout.

Cells: image-to-video at m ∈ {off, 0.95, 0.9, 0.8, 0.7, 0.5}, and start–end, keyframe@8, extension
and completion with it off and at 0.9. Scored with ``pusa.mini.evaluate``'s metrics, ``background_err``
among them (RGB distance of the generated frames' median colour from the true background's, 0–255
units), plus ``dynamic_degree`` (share of frame pairs with motion: a start that freezes the video
would show here). Paired per-clip differences are against the same task with warm start off.
"""

from __future__ import annotations

import time

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "warm_start"
I2V_STRENGTHS = (0.95, 0.9, 0.8, 0.7, 0.5)
OTHER_TASKS = ("start_end", "keyframe@8", "extend", "complete")
OTHER_STRENGTH = 0.9
PAIRED = ("caption", "caption_colour", "caption_direction", "subject_consistency", "trajectory_px", "seam_px",
          "middle_px", "neighbour_px", "background_err", "dynamic_degree")


def cell_name(task: str, m: float | None) -> str:
    return f"{task}, warm start {'off' if m is None else f'{m:g}'}"


def cells(steps: int) -> list[Cell]:
    out = [Cell(cell_name("i2v", m), "i2v", steps, options={} if m is None else {"warm_start": m})
           for m in (None, *I2V_STRENGTHS)]
    for task in OTHER_TASKS:
        out += [Cell(cell_name(task, m), task, steps, options={} if m is None else {"warm_start": m})
                for m in (None, OTHER_STRENGTH)]
    return out


def motion(video, clip) -> dict[str, float]:
    from pusa.world.metrics import dynamic_degree

    return {"dynamic_degree": dynamic_degree(video, clip.colours).value}


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__).parse_args(argv)
    check_args(args)
    t0 = time.time()
    pipe = load_pipeline(1.0, args.dtype)
    todo = cells(args.steps)
    progress = Progress(NAME, args.n * len(todo))
    rows: dict[str, list[dict[str, float]]] = {}
    for cell in todo:
        rows |= run_cells(pipe, [cell], args.n, args.cfg, args.cache, extra=motion, progress=progress)
    for task in ("i2v", *OTHER_TASKS):
        rows |= paired_differences({k: v for k, v in rows.items() if k.startswith(f"{task}, ")},
                                   cell_name(task, None), PAIRED)
    md, _ = write_results(NAME, args.out, "Warm start from the given frames (Pusa-mini, no training)",
                          summarize(rows), command(NAME, args), time.time() - t0)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
