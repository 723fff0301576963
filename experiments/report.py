"""The results page every experiment writes: ``OUT/NAME.md`` (metric, mean, 95% percentile-bootstrap CI, n,
the command that regenerates it, wall and CPU time, weights) and its plot ``OUT/NAME.png``; and the table read
back from a page, so its plot can be redrawn without sampling (replot.py)."""

from __future__ import annotations

import datetime
import hashlib
import re
import time
from pathlib import Path

from plots import plot
from stats import Stat, Table, lower_is_better


def fmt(v: float) -> str:
    """3 significant digits below 1 (small differences stay visible), else 3 or 1 decimals."""
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def weights_id(model: Path | None = None) -> str:
    """Short sha256 of the weight files a table measured, so it names them: the shipped transformer, autoencoder
    and VTA LoRA, or (``model``, a PusaPipeline folder) that folder's transformer and autoencoder ("vae")."""
    from pusa.mini.shipped import AUTOENCODER, LORA, TRANSFORMER

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"

    weights = "diffusion_pytorch_model.safetensors"
    if model is not None:
        return f"{model}: transformer {sha(model / 'transformer' / weights)}, autoencoder {sha(model / 'vae' / weights)}"
    return (f"transformer {sha(TRANSFORMER / weights)}, autoencoder {sha(AUTOENCODER / weights)}, "
            f"VTA LoRA {sha(LORA)}")


def cpu_note() -> str:
    import os

    import torch

    return f"{torch.get_num_threads()} torch threads on {os.cpu_count()} CPUs"


def markdown(title: str, table: Table, command: str, seconds: float, notes: str = "", image: str = "",
             weights: str | None = None) -> str:
    """The results page: one row per (cell, metric), then notes, the plot, the command, wall time and weights
    (``weights``: their name; default: the shipped ones, :func:`weights_id`)."""
    lines = [f"# {title}", "", "| cell | metric | mean | 95% CI | n |", "|---|---|---|---|---|"]
    for cell, metrics in table.items():
        for metric, s in metrics.items():
            arrow = "↓" if lower_is_better(metric) else "↑"
            lines.append(f"| {cell} | {metric} {arrow} | {fmt(s.mean)} | [{fmt(s.lo)}, {fmt(s.hi)}] | {s.n} |")
    lines += ["", ("95% CI: percentile bootstrap of the mean, 1,000 resamples, seed 0. Sample seed = clip index; "
                   "held-out clips of world seed 99,000 (never trained on)."), ""]
    if notes:
        lines += [notes.strip(), ""]
    if image:
        lines += [f"![{Path(image).stem}]({image})", ""]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    cost = f"Wall time {seconds / 60:.1f} min, CPU time {time.process_time() / 60:.1f} min"  # CPU: this process, all threads
    lines += ["Regenerate:", "", f"    {command}", "", f"{cost} ({stamp}, {cpu_note()}); "
              f"weights: {weights or weights_id()}.", ""]
    return "\n".join(lines)


_ROW = re.compile(r"^\| (.+?) \| (\S+) [↑↓] \| (\S+) \| \[(\S+), (\S+)\] \| (\d+) \|$")


def read_markdown(text: str) -> tuple[str, Table]:
    """(title, table) back from a page :func:`markdown` wrote, so its plot can be redrawn without sampling."""
    title = text.splitlines()[0].removeprefix("# ").strip()
    table: Table = {}
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            cell, metric, *values, n = m.groups()
            table.setdefault(cell, {})[metric] = Stat(*(float(v) for v in values), int(n))
    return title, table


def write_results(name: str, out: str | Path, title: str, table: Table, command: str, seconds: float,
                  notes: str = "", weights: str | None = None) -> tuple[Path, Path]:
    """Write OUT/NAME.md and OUT/NAME.png atomically (replacing older ones); returns both paths."""
    from pusa.io import atomic_path

    out = Path(out)
    md, png = out / f"{name}.md", out / f"{name}.png"
    with atomic_path(png, overwrite=True) as tmp:
        plot(tmp, title, table)
    with atomic_path(md, overwrite=True) as tmp:
        tmp.write_text(markdown(title, table, command, seconds, notes, png.name, weights))
    return md, png
