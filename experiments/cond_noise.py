"""Conditioning noise: what the noise multiplier m of an I2V frame does to fidelity and motion.

    python experiments/cond_noise.py [--n 64] [--steps 10] [--out docs/results]

Image-to-video with frame 0 given at m = 0, 0.2 (the reference UI's default) and 0.5: m > 0 starts
the frame at σ = m·σ_0 and lets the model rework it. Metrics: ``pusa.mini.evaluate``'s i2v set (PSNR
at frame 0, caption adherence, subject consistency, trajectory error against the simulator) plus
``dynamic_degree`` (fraction of frame pairs in which the object moves more than H/200 px; the world's
objects always move, so the truth is 1) and ``speed_error_px``, |tracked mean speed − true mean speed|
in px per frame.
"""

from __future__ import annotations

import time

import numpy as np
from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "cond_noise"
MULTIPLIERS = (0.0, 0.2, 0.5)
NOTES = """\
At m = 0 frame 0 is exact (the 100 dB cap). A frozen video has dynamic_degree 0 and a speed error equal
to the true speed. Rows "m = … − m = 0" are paired per clip (same clip, same seed)."""


def motion(video: np.ndarray, clip) -> dict[str, float]:
    from pusa.world.metrics import dynamic_degree

    d = dynamic_degree(video, clip.colours)
    true_speed = float(np.linalg.norm(clip.truth.vel, axis=-1).mean())
    return {"dynamic_degree": d.value, "speed_error_px": abs(d.parts["mean_speed"] - true_speed)}


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__).parse_args(argv)
    check_args(args)
    t0 = time.time()
    pipe = load_pipeline(1.0, args.dtype)
    todo = [Cell(f"m = {m:g}", "i2v", args.steps, m) for m in MULTIPLIERS]
    rows = run_cells(pipe, todo, args.n, args.cfg, args.cache, extra=motion,
                     progress=Progress(NAME, args.n * len(todo)))
    rows |= paired_differences(rows, todo[0].name)
    md, _ = write_results(NAME, args.out, "Conditioning noise multiplier on I2V (Pusa-mini)", summarize(rows),
                          command(NAME, args), time.time() - t0, NOTES)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
