"""The direction probe over a recipe run: the base, then the direction phase (docs/mini2.md).

    python scripts/plot_direction_gap.py WORK [--out docs/direction_gap.png]

Reads WORK/base/probe.csv and WORK/direction/probe.csv (``pusa.mini.recipe2.probe_logger``; older base logs
have no σ column and were measured at σ = 0.9), and WORK/direction/probe_t2v.csv (the text-to-video probe,
no frame given) where the run has one, and plots the gap L(reversed caption) − L(true caption) with its 95% CI
against the samples seen, one line per probe and σ.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path


def read_probe(path: Path) -> dict[float, list[tuple[int, float, float, float]]]:
    """{σ: [(step, gap, low, high), …]} from a probe.csv."""
    out: dict[float, list[tuple[int, float, float, float]]] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            sigma = float(row.get("sigma") or 0.9)
            out.setdefault(sigma, []).append((int(row["step"]), float(row["gap"]), float(row["low"]),
                                              float(row["high"])))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/direction_gap.png"))
    p.add_argument("--batch", type=int, default=32, help="clips per step")
    a = p.parse_args()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from pusa.io import atomic_path

    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    base_steps = 0
    for stage, name, task, style in (("base", "probe.csv", "", "--"), ("direction", "probe.csv", "", "-"),
                                     ("direction", "probe_t2v.csv", "T2V, ", ":")):
        path = a.work / stage / name
        if not path.exists():
            continue
        probe = read_probe(path)
        for sigma, rows in sorted(probe.items()):
            x = [(base_steps + s) * a.batch / 1000 for s, *_ in rows]
            line, = ax.plot(x, [g for _, g, _, _ in rows], style, marker=".", label=f"{stage}, {task}σ = {sigma:g}")
            ax.fill_between(x, [lo for *_, lo, _ in rows], [hi for *_, hi in rows], color=line.get_color(), alpha=0.2)
        if stage == "base" and name == "probe.csv":
            base_steps = max(s for rows in probe.values() for s, *_ in rows)
            ax.axvline(base_steps * a.batch / 1000, color="grey", lw=0.8)
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xlabel("thousand training clips")
    ax.set_ylabel("loss gap, reversed − true caption")
    ax.set_title("Does the model read the caption's direction? (32 held-out clips; frame 0 given, but in T2V)",
                 fontsize=10)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    with atomic_path(a.out, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
