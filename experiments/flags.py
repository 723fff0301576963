"""The command line every experiment shares,

    python experiments/NAME.py [--n 64] [--steps 10] [--out docs/results] [--cache .cache/experiments]

scoring Pusa-mini samples on held-out world clips 0 … n−1 (sample seed = clip index) with
``pusa.mini.evaluate`` and writing exactly two files, ``OUT/NAME.md`` and ``OUT/NAME.png`` (report.py).
"""

from __future__ import annotations

import argparse

DEFAULT_CACHE = ".cache/experiments"
DTYPES = ("bfloat16", "float32")


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the docstring's layout and shows every default."""


def parser(doc: str, steps_default: str | int = 10) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=_Help)
    p.add_argument("--n", type=int, default=64, help="held-out clips (= samples) per cell")
    p.add_argument("--steps", default=steps_default, type=type(steps_default),
                   help="sampling steps" if isinstance(steps_default, int) else "comma-separated sampling step counts")
    p.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance scale")
    p.add_argument("--out", default="docs/results", help="folder for NAME.md and NAME.png")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="folder caching generated videos; '' turns it off")
    p.add_argument("--dtype", default="bfloat16", choices=DTYPES,
                   help="transformer precision; bfloat16 is about 2x faster on CPUs with AMX and scores the same "
                        "as float32 within the CIs (docs/results/precision.md)")
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.n < 1:
        raise SystemExit(f"--n must be >= 1, got {args.n}")


def command(name: str, args: argparse.Namespace) -> str:
    """The exact command line that regenerates a table: every flag spelt out."""
    def flag(k: str, v) -> str:
        if isinstance(v, list):  # a repeatable option: once per value, none when empty
            return " ".join(flag(k, x) for x in v)
        return f"--{k.replace('_', '-')} {v if v != '' else repr('')}"

    flags = " ".join(f for f in (flag(k, v) for k, v in vars(args).items()) if f)
    return f"python experiments/{name}.py {flags}"


def torch_dtype(name: str):
    import torch

    if name not in DTYPES:
        raise SystemExit(f"--dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return getattr(torch, name)
