"""VBench-I2V's aggregation of per-dimension scores into Quality, I2V and Total.

Each dimension is min–max normalised, n = (s − min)/(max − min), then
Quality = Σ w·n over {SC, BC, MS, DD, AQ, IQ} / Σ w,  I2V = Σ w·n over {CM, i2v_subject, i2v_background} / Σ w,
Total = (Quality + I2V) / 2, with every weight 1 except dynamic degree 0.5 and camera motion 0.1.
Inputs and outputs are in percent.
"""

from __future__ import annotations

from collections.abc import Mapping

# dimension: (min, max, weight)
DIMENSIONS: dict[str, tuple[float, float, float]] = {
    "subject_consistency": (0.1462, 1.0, 1.0),
    "background_consistency": (0.2615, 1.0, 1.0),
    "motion_smoothness": (0.706, 0.9975, 1.0),
    "dynamic_degree": (0.0, 1.0, 0.5),
    "aesthetic_quality": (0.0, 1.0, 1.0),
    "imaging_quality": (0.0, 1.0, 1.0),
    "i2v_subject": (0.1462, 1.0, 1.0),
    "i2v_background": (0.2615, 1.0, 1.0),
    "camera_motion": (0.0, 1.0, 0.1),
}
QUALITY = ("subject_consistency", "background_consistency", "motion_smoothness", "dynamic_degree",
           "aesthetic_quality", "imaging_quality")
I2V = ("i2v_subject", "i2v_background", "camera_motion")

# Published VBench-I2V rows in percent (REFERENCE.md): the nine dimensions, then the reported total, quality, i2v.
PUBLISHED: dict[str, dict[str, float]] = {
    "Pusa V1.0": dict(zip((*DIMENSIONS, "total", "quality", "i2v"),
                          (92.27, 96.02, 98.49, 52.60, 63.15, 68.27, 97.64, 99.24, 29.46, 87.32, 79.80, 94.84))),
    "Wan-I2V-14B": dict(zip((*DIMENSIONS, "total", "quality", "i2v"),
                            (94.86, 97.07, 97.90, 51.38, 64.75, 70.44, 96.95, 96.44, 34.76, 86.86, 80.82, 92.90))),
}


def normalise(dimension: str, percent: float) -> float:
    """(s − min)/(max − min) for a score s given in percent; returns a fraction."""
    lo, hi, _ = DIMENSIONS[dimension]
    return (percent / 100.0 - lo) / (hi - lo)


def _weighted(names: tuple[str, ...], scores: Mapping[str, float]) -> float:
    total = sum(DIMENSIONS[n][2] * normalise(n, scores[n]) for n in names)
    return total / sum(DIMENSIONS[n][2] for n in names)


def aggregate_i2v(scores: Mapping[str, float]) -> dict[str, float]:
    """{"total", "quality", "i2v"} in percent from the nine per-dimension scores in percent."""
    missing = [d for d in DIMENSIONS if d not in scores]
    if missing:
        raise ValueError(f"missing VBench-I2V dimension(s): {', '.join(missing)}; expected {', '.join(DIMENSIONS)}")
    for name in DIMENSIONS:
        if not 0.0 <= float(scores[name]) <= 100.0:
            raise ValueError(f"{name}={scores[name]}: scores are percentages in [0, 100]")
    quality, i2v = _weighted(QUALITY, scores), _weighted(I2V, scores)
    return {"total": 100 * (quality + i2v) / 2, "quality": 100 * quality, "i2v": 100 * i2v}
