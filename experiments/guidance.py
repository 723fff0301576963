"""Guidance scale: what classifier-free guidance does to Pusa-mini's caption adherence and motion.

    python experiments/guidance.py [--n 64] [--scales 1,2,3,5,8] [--cfg 3] [--out docs/results]

Users ask what CFG to set, and the mini's weakest number is caption direction. Each scale runs the two
tasks as ``pusa generate`` runs them: text-to-video on the base weights (the LoRA off, as for every
unconditioned prompt) and image-to-video with the VTA LoRA and warm start 0.9 (``WARM_START``).
At scale 1 the pipeline skips the unconditional pass, so a step costs one forward instead of two.
Scored with ``pusa.mini.evaluate``'s metrics plus ``dynamic_degree`` and ``direction_err`` (degrees
between the tracked early motion and the captioned direction: 0 exact, about 90 for a video that ignores
the direction word, 180 reversed; ``pusa.world.metrics.direction_error``); paired per-clip differences are
against ``--cfg`` (3, the default of the CLI and the UI).
"""

from __future__ import annotations

import time

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "guidance"
PAIRED = ("caption", "caption_colour", "caption_shape", "caption_direction", "subject_consistency",
          "trajectory_px", "background_err", "dynamic_degree", "direction_err")
NOTES = """\
T2V runs on the base weights and I2V on the shipped LoRA with warm start 0.9: what `pusa generate` and
the UI do with each. caption_direction counts motion within 45° of the captioned compass direction, so a
moving object in a random direction scores 0.25, not 1/8; direction_err is 90° for a random direction."""


def scales(text: str) -> list[float]:
    try:
        out = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--scales must be comma-separated numbers, got {text!r}") from None
    if not out or any(s < 1 for s in out):
        raise SystemExit(f"--scales must be numbers >= 1 (1 turns guidance off), got {text!r}")
    return out


def cell_name(task: str, scale: float) -> str:
    return f"{task}, cfg {scale:g}"


def cells(task: str, steps: int, grid: list[float], warm_start: float | None) -> list[Cell]:
    options = {} if warm_start is None else {"warm_start": warm_start}
    return [Cell(cell_name(task, s), task, steps, options=options, guidance=s) for s in grid]


def motion(video, clip) -> dict[str, float]:
    from pusa.world.metrics import direction_error, dynamic_degree

    return {"dynamic_degree": dynamic_degree(video, clip.colours).value,
            "direction_err": direction_error(video, clip.caption).value}


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--scales", default="1,2,3,5,8", help="comma-separated guidance scales (1: no guidance)")
    args = p.parse_args(argv)
    check_args(args)
    from pusa.mini.shipped import WARM_START

    grid = sorted(set(scales(args.scales)) | {args.cfg})
    t0 = time.time()
    plan = [("t2v", 0.0, None), ("i2v", 1.0, WARM_START)]
    progress = Progress(NAME, args.n * len(grid) * len(plan))
    rows: dict[str, list[dict[str, float]]] = {}
    for task, lora_strength, warm_start in plan:
        pipe = load_pipeline(lora_strength, args.dtype)
        task_rows = run_cells(pipe, cells(task, args.steps, grid, warm_start), args.n, args.cfg, args.cache,
                              extra=motion, progress=progress)
        rows |= task_rows | paired_differences(task_rows, cell_name(task, args.cfg), PAIRED)
        del pipe
    md, _ = write_results(NAME, args.out, "Guidance scale (Pusa-mini: T2V on the base, I2V with warm start)",
                          summarize(rows), command(NAME, args), time.time() - t0, NOTES)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
