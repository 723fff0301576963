"""Redraw the plots of results pages from their tables, without sampling anything.

    python experiments/replot.py [docs/results]

Every page an experiment writes (``report.markdown``) holds each cell's mean, 95% CI and n; this reads
them back (``report.read_markdown``) and rewrites NAME.png beside NAME.md with the current ``plots.plot``.
Use it after a change to the plot's layout; the numbers and the page itself are left as they are.
"""

from __future__ import annotations

import sys
from pathlib import Path

from plots import plot
from report import read_markdown


def replot(folder: Path) -> list[Path]:
    from pusa.io import atomic_path

    done = []
    for md in sorted(folder.glob("*.md")):
        title, table = read_markdown(md.read_text())
        if not table:
            continue
        png = md.with_suffix(".png")
        with atomic_path(png, overwrite=True) as tmp:
            plot(tmp, title, table)
        done.append(png)
    return done


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0] if args else "docs/results")
    if not folder.is_dir():
        raise SystemExit(f"{folder}: no such folder (expected the results pages, e.g. docs/results)")
    for png in replot(folder):
        print(f"wrote {png}")


if __name__ == "__main__":
    main()
