"""The results plot: one panel per metric, each cell's mean with its 95% CI; paired differences in panels of
their own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from stats import PAIRED_SEP, Table, lower_is_better, shared_reference


def panels(table: Table) -> list[tuple[str, list[str], str]]:
    """The plot's panels in order: (metric, cells, title). Each metric gets one panel of its cells' values
    and, when the table has paired differences of it, one of those beside it (tick labels drop a shared
    reference, which moves into the title)."""
    out = []
    for metric in dict.fromkeys(m for cells in table.values() for m in cells):
        having = [c for c in table if metric in table[c]]
        plain = [c for c in having if PAIRED_SEP not in c]
        paired = [c for c in having if PAIRED_SEP in c]
        better = "lower" if lower_is_better(metric) else "higher"
        if plain:
            out.append((metric, plain, f"{metric} ({better} is better)"))
        if paired:
            ref = shared_reference(paired)
            out.append((metric, paired, f"{metric}: paired, cell − {ref}" if ref else f"{metric}: paired differences"))
    return out


def plot(path: Path, title: str, table: Table) -> None:
    """One panel per metric: each cell's mean with its 95% CI as an error bar; paired differences in a panel
    of their own, around a zero line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    todo = panels(table)
    cols = min(4, len(todo))
    rows = -(-len(todo) // cols)
    widest = max(len(cells) for _, cells, _ in todo)
    fig, axes = plt.subplots(rows, cols, figsize=(max(3.2, 0.32 * widest + 1.2) * cols, 3.0 * rows), squeeze=False)
    for ax, (metric, cells, panel_title) in zip(axes.flat, todo):
        s = [table[c][metric] for c in cells]
        mean = np.array([x.mean for x in s])
        lo, hi = np.array([x.lo for x in s]), np.array([x.hi for x in s])
        paired = PAIRED_SEP in cells[0]
        if paired:
            ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
            if shared_reference(cells):  # named in the title
                cells = [c.split(PAIRED_SEP, 1)[0] for c in cells]
        # intervals drawn on their own: a bootstrap FD interval need not contain the full-set point
        x, colour = np.arange(len(cells)), "C1" if paired else "C0"
        ax.vlines(x, lo, hi, color=colour, lw=1.2)
        ax.plot(np.repeat(x, 2), np.ravel([lo, hi], "F"), "_", color=colour, ms=6)
        ax.plot(x, mean, "o", color=colour)
        ax.set_xticks(range(len(cells)), cells, rotation=35, ha="right", fontsize=6.5)
        ax.set_title(panel_title, fontsize=7.5)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(todo):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)
