"""Claim 4: about 10 sampling steps suffice (paper, VBench-I2V total: 5 → 86.03, 10 → 87.69, 20 → 87.84).

    python experiments/steps.py [--n 64] [--steps 4,5,10,20,50] [--out docs/results]

Image-to-video (frame 0 clean) with Pusa-mini at each step count, CFG 3, shift 5; scored with
``pusa.mini.evaluate``'s i2v metrics: caption adherence (colour, shape, direction), subject
consistency, PSNR at frame 0 and trajectory error against the simulator (px).
"""

from __future__ import annotations

import time

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "steps"
NOTES = """\
The paper's number is a VBench-I2V total on 750 real videos; ours are ground-truth metrics of the
miniature world, so compare the shape of the curve (where it stops improving), not the values.
Rows "N steps − 10 steps" are paired per clip (same clip, same seed): a CI that excludes 0 is a real
difference even where the unpaired CIs overlap."""


def step_counts(text: str) -> list[int]:
    try:
        counts = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--steps must be comma-separated integers such as 4,5,10,20,50, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise SystemExit(f"--steps must list step counts >= 1, got {text!r}")
    return counts


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__, steps_default="4,5,10,20,50").parse_args(argv)
    check_args(args)
    todo = [Cell(f"{s} steps", "i2v", s) for s in step_counts(args.steps)]
    t0 = time.time()
    pipe = load_pipeline(1.0, args.dtype)
    rows = run_cells(pipe, todo, args.n, args.cfg, args.cache, progress=Progress(NAME, args.n * len(todo)))
    reference = "10 steps" if "10 steps" in rows else todo[0].name
    rows |= paired_differences(rows, reference)
    md, _ = write_results(NAME, args.out, "Claim 4: I2V quality against sampling steps (Pusa-mini)", summarize(rows),
                          command(NAME, args), time.time() - t0, NOTES)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
