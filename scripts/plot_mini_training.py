"""Plot Pusa-mini's training curves (docs/mini_training.png) from the run logs in WORK.

    python scripts/plot_mini_training.py /work/pusa-mini-work/v4 [--base-first DIR_OF_FIRST_RUN]

Reads WORK/base/loss.csv (pretraining; with --base-first, that earlier run's loss.csv comes first and
this one's steps are shifted after it) and WORK/lora/log.csv (the VTA LoRA).
"""

import argparse
import csv
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path) as f:
        rows = list({r["step"]: r for r in csv.DictReader(f)}.values())  # a resumed run repeats steps: keep the last
    return np.array([float(r["step"]) for r in rows]), np.array([float(r["loss"]) for r in rows])


def smooth(y: np.ndarray, k: int = 5) -> np.ndarray:
    return np.convolve(y, np.ones(k) / k, mode="valid") if len(y) > k else y


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", type=Path)
    p.add_argument("--base-first", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/mini_training.png"))
    a = p.parse_args()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    offset = 0
    if a.base_first:
        s, y = read(a.base_first / "base" / "loss.csv")
        ax1.plot(s[4:], smooth(y)[: len(s[4:])], label="pretraining, run 1 (from scratch)")
        offset = int(s[-1])
        ax1.axvline(offset, color="grey", lw=0.8, ls="--")
    s, y = read(a.work / "base" / "loss.csv")
    ax1.plot(s[4:] + offset, smooth(y)[: len(s[4:])], label="pretraining, run 2 (warm start)")
    ax1.set(xlabel="step (batch 128)", ylabel="flow-matching loss (5-point mean)", title="base T2V, GPU", yscale="log")
    ax1.legend(fontsize=8)
    s, y = read(a.work / "lora" / "log.csv")
    ax2.plot(s, y, color="C2")
    ax2.axvline(200, color="grey", lw=0.8, ls="--")
    ax2.text(205, ax2.get_ylim()[1] * 0.92, "σ: shift-5 grid → uniform", fontsize=8, color="grey")
    ax2.set(xlabel="step (batch 8)", ylabel="FAFM loss, p_async = 1 (per batch)", title="VTA LoRA (rank 32), CPU")
    fig.tight_layout()
    fig.savefig(a.out, dpi=110)
    print(a.out)


if __name__ == "__main__":
    main()
