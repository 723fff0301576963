"""Precision check behind every other experiment: Pusa-mini's transformer in bfloat16 against float32.

    python experiments/precision.py [--n 64] [--steps 10] [--out docs/results]

The other experiments sample with ``--dtype bfloat16`` by default (the LoRA fused in float32 first, then
the weights cast with the time embedding and norms kept in float32), which is about twice as fast on
CPUs with AMX. This experiment earns that default: the same image-to-video cells (frame 0 clean, the
caption as prompt, same seeds) in both precisions, scored with ``pusa.mini.evaluate``'s i2v metrics,
plus the per-clip difference "bfloat16 − float32" and the seconds per sample of each precision.
"""

from __future__ import annotations

import time

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "precision"
NOTES = """\
"bfloat16 − float32" rows are paired per clip (same clip, same seed); a CI that contains 0 means the
precisions cannot be told apart at this n. Speed: ``python benchmarks/mini_i2v.py`` times both."""


def main(argv: list[str] | None = None) -> None:
    args = parser(__doc__).parse_args(argv)
    check_args(args)
    t0 = time.time()
    rows = {}
    for dtype in ("float32", "bfloat16"):
        pipe = load_pipeline(1.0, dtype)
        progress = Progress(f"{NAME} {dtype}", args.n)
        rows[dtype] = run_cells(pipe, [Cell(dtype, "i2v", args.steps)], args.n, args.cfg, args.cache,
                                progress=progress)[dtype]
    rows |= paired_differences(rows, "float32")
    md, _ = write_results(NAME, args.out, "bfloat16 against float32 sampling (Pusa-mini I2V)", summarize(rows),
                          command(NAME, args), time.time() - t0, NOTES)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
