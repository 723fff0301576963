"""The experiments' statistics: bootstrap confidence intervals of means and of the Fréchet distance,
paired per-clip differences, and which way each metric is better."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
BOOTSTRAP_SEED = 0
PAIRED_SEP = " − "  # paired_differences names its cells "cell − reference"


@dataclass(frozen=True)
class Stat:
    """A mean with its percentile-bootstrap confidence interval [lo, hi] over n samples."""

    mean: float
    lo: float
    hi: float
    n: int


def bootstrap_ci(values: Sequence[float], level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Stat:
    """Percentile bootstrap of the mean: the (1 ± level)/2 quantiles of the means of ``resamples``
    resamples with replacement (Efron & Tibshirani 1993, §13.3). Same values and seed, same interval."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"values must be a non-empty 1-D sequence of finite numbers, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    idx = np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))  # [R, n]
    lo, hi = np.quantile(x[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return Stat(float(x.mean()), float(lo), float(hi), len(x))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows a [n, d] and b [m, d] (Heusel et al. 2017):

        FD = |μ_a − μ_b|² + tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½)

    The symmetric form has the same trace as (Σ_a Σ_b)^½ and needs only eigh, no complex sqrtm."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need feature rows [n >= 2, d] with equal d, got {a.shape} and {b.shape}")
    ca, cb = np.cov(a, rowvar=False).reshape(a.shape[1], -1), np.cov(b, rowvar=False).reshape(b.shape[1], -1)
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # Σ_a^½
    m = root_a @ cb @ root_a
    tr_root = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * tr_root)


def bootstrap_fd(a: np.ndarray, b: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Stat:
    """FD(a, b) with a percentile-bootstrap interval: both sets resampled with replacement, independently.
    ``mean`` holds the FD of the full sets (the point estimate), n the size of ``a``."""
    rng = np.random.default_rng(seed)
    fds = [frechet_distance(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
           for _ in range(resamples)]
    lo, hi = np.quantile(fds, [(1 - level) / 2, (1 + level) / 2])
    return Stat(frechet_distance(a, b), float(lo), float(hi), len(a))


Table = dict[str, dict[str, Stat]]  # cell → metric → Stat


def paired_differences(rows: dict[str, list[dict[str, float]]], reference: str,
                       metrics: Sequence[str] | None = None) -> dict[str, list[dict[str, float]]]:
    """Per-clip differences "cell − reference" for every other cell (same clip, same seed), so their CIs
    see the effect of the cell and not the spread between clips. Metrics that are constant in the
    reference (e.g. a PSNR at its cap) are left out, and so are any not in ``metrics`` when given."""
    ref = rows[reference]
    keys = [k for k in ref[0] if (metrics is None or k in metrics) and len({r[k] for r in ref}) > 1]
    return {f"{cell}{PAIRED_SEP}{reference}": [{k: r[k] - b[k] for k in keys} for r, b in zip(rs, ref)]
            for cell, rs in rows.items() if cell != reference and keys}


def summarize(rows: dict[str, list[dict[str, float]]]) -> Table:
    """Per-clip metric rows, grouped by cell → the bootstrap Stat of every metric of every cell."""
    return {cell: {k: bootstrap_ci([r[k] for r in rs]) for k in rs[0]} for cell, rs in rows.items() if rs}


def shared_reference(paired_cells: Sequence[str]) -> str | None:
    """The reference of paired cells ("cell − reference") when they all share one, else None."""
    refs = {c.split(PAIRED_SEP, 1)[1] for c in paired_cells}
    return refs.pop() if len(refs) == 1 else None


def lower_is_better(metric: str) -> bool:
    """Distances (…_px), errors (…_err, x0_err…), losses and Fréchet distances are better low; everything
    else (PSNR, accuracies, gains) high."""
    return metric.endswith(("_px", "_err")) or metric.startswith(("loss", "fd", "x0_err"))
