"""The Score every world metric returns, and PSNR."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PSNR_CAP = 100.0  # dB reported for identical images


@dataclass(frozen=True)
class Score:
    """A metric's value; `per_frame` where natural; `parts` for its components."""

    value: float
    per_frame: np.ndarray | None = None
    parts: dict[str, float] = field(default_factory=dict)
    higher_is_better: bool = True

    def __float__(self) -> float:
        return self.value


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR = 10·log10(255² / MSE) in dB over all pixels of two uint8 (or 0–255) images; capped at PSNR_CAP."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"PSNR needs equal shapes, got {a.shape} and {b.shape}")
    mse = float(np.mean((a - b) ** 2))
    return PSNR_CAP if mse == 0.0 else min(PSNR_CAP, 10.0 * np.log10(255.0**2 / mse))


def check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) < 2:
        raise ValueError(f"frames of shape {frames.shape}: expected [T ≥ 2, H, W, 3]")
    return frames


def diagonal(frames: np.ndarray) -> float:
    """Frame diagonal, px: the error charged for an object that cannot be found."""
    return float(np.hypot(frames.shape[1], frames.shape[2]))
