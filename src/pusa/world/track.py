"""Tracking known-colour objects in frames: per frame and object, area, centroid, colour and shape.

For pixel value p over background b, and object colour c, write d = p − b and e = c − b. A pixel
that the object covers by a fraction α is p = b + α·e, so

    label  = argmin_k |d − α_k e_k|,  α_k = clip(⟨d, e_k⟩ / |e_k|², 0, 1)   (nearest colour line)
    weight = clip(|d| / |e_label|, 0, 1)   where |d| > threshold, else 0      (≈ coverage α)

The weight does not depend on the pixel's hue, so an object whose colour drifts is still found and
its drift shows in its measured colour. Per object: mass m = Σ w (area, px²), centroid Σ w·(x, y) / m
with pixel centres at (i + ½, j + ½), over the pixels within 2·√(m/π) + 2 of the weights' median
(so stray pixels far away do not pull it), colour = mean of core pixels (w ≥ 0.9). The shape is the
template (circle, square, triangle, area-matched to m, drawn at the centroid) with the highest soft
IoU Σ min(w, τ) / Σ max(w, τ) against the weights. The background is known for world clips
(Clip.background); for other videos with a static background `estimate_background` recovers it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pusa.world.config import PALETTE, SHAPES
from pusa.world.render import coverage, shape_area


@dataclass(frozen=True)
class Tracks:
    mass: np.ndarray  # [T, K] area, px² (0 when absent)
    centroid: np.ndarray  # [T, K, 2] (x, y) px, nan when absent
    colour: np.ndarray  # [T, K, 3] mean core colour 0–255, nan when absent
    shape: np.ndarray  # [T, K] index into SHAPES, −1 when absent
    shape_iou: np.ndarray  # [T, K] soft IoU of the best template, 0 when absent
    radius: np.ndarray  # [T, K] drawn radius of the best template, px

    @property
    def found(self) -> np.ndarray:
        return ~np.isnan(self.centroid[..., 0])  # [T, K]


def palette_rgb(colours: Sequence[str | Sequence[float]]) -> np.ndarray:
    """Names (or RGB triples) → float32 [K, 3]."""
    out = []
    for c in colours:
        if isinstance(c, str):
            if c not in PALETTE:
                raise ValueError(f"unknown colour {c!r}; expected one of {tuple(PALETTE)} or an RGB triple")
            c = PALETTE[c]
        out.append(c)
    return np.asarray(out, dtype=np.float32).reshape(-1, 3)


def nearest_colour(rgb: Sequence[float]) -> str:
    """The palette name closest to an RGB colour."""
    names = list(PALETTE)
    dist = np.linalg.norm(palette_rgb(names) - np.asarray(rgb, dtype=np.float32), axis=1)
    return names[int(np.argmin(dist))]


def estimate_background(frames: np.ndarray, tolerance: float = 12.0) -> np.ndarray:
    """A static background, float32 [H, W, 3]: per pixel, the mean of its samples within `tolerance`
    (0–255) of the sample nearest the video's dominant colour g (the spatial median of the temporal
    median). Right wherever a pixel is uncovered in at least one frame, even for slow objects that
    cover it most of the time. A panning background needs the known one (Clip.background).
    """
    f = np.asarray(frames, dtype=np.float32)  # [T, H, W, 3]
    g = np.median(np.median(f, axis=0).reshape(-1, 3), axis=0)  # [3]
    dist = np.linalg.norm(f - g, axis=-1)  # [T, H, W]
    keep = dist <= dist.min(0, keepdims=True) + tolerance
    return (f * keep[..., None]).sum(0) / keep.sum(0)[..., None]


def _classify(w: np.ndarray, mass: float, cx: float, cy: float) -> tuple[int, float, float]:
    """Best area-matched template for weights w [H, W] → (shape index, soft IoU, radius)."""
    h, wd = w.shape
    best = (0, -1.0, 0.0)
    for i, kind in enumerate(SHAPES):
        r = float(np.sqrt(mass / shape_area(kind, 1.0)))
        x0, x1 = max(int(cx - 1.5 * r - 2), 0), min(int(cx + 1.5 * r + 3), wd)
        y0, y1 = max(int(cy - 1.5 * r - 2), 0), min(int(cy + 1.5 * r + 3), h)
        tpl = coverage(kind, r, cx, cy, np.arange(x0, x1), np.arange(y0, y1))
        obs = w[y0:y1, x0:x1]
        iou = float(np.minimum(obs, tpl).sum() / max(np.maximum(obs, tpl).sum(), 1e-6))
        if iou > best[1]:
            best = (i, iou, r)
    return best


def _weighted_median(w: np.ndarray) -> float:
    """Median coordinate (pixel centre) of 1-D weights."""
    cum = np.cumsum(w)
    return float(np.searchsorted(cum, cum[-1] / 2)) + 0.5


def _compact(w: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Keep the weights [H, W] within 2·r + 2 px of their weighted median, r the radius of a disc of equal
    area: drops stray pixels far from the object (faint edges of another object, noise)."""
    cx, cy = _weighted_median(w.sum(0)), _weighted_median(w.sum(1))
    reach = 2.0 * np.sqrt(w.sum() / np.pi) + 2.0
    return np.where((xs - cx) ** 2 + (ys - cy) ** 2 <= reach * reach, w, 0.0)


def _labels(frame: np.ndarray, bg: np.ndarray, rgb: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest colour line and coverage weight per pixel of one frame [H, W, 3] → (label [H, W], weight [H, W])."""
    d = frame - bg  # [H, W, 3]
    e = rgb[None, None] - bg[..., None, :]  # [H, W, K, 3]
    e2 = np.maximum((e * e).sum(-1), 1.0)  # [H, W, K]
    alpha = np.clip((d[..., None, :] * e).sum(-1) / e2, 0.0, 1.0)
    residual = np.linalg.norm(d[..., None, :] - alpha[..., None] * e, axis=-1)  # [H, W, K]
    label = residual.argmin(-1)
    dn = np.linalg.norm(d, axis=-1)
    weight = np.clip(dn / np.sqrt(np.take_along_axis(e2, label[..., None], -1)[..., 0]), 0.0, 1.0)
    return label, np.where(dn > threshold, weight, 0.0)


def track(frames: np.ndarray, colours: Sequence[str | Sequence[float]], background: np.ndarray | None = None,
          threshold: float = 30.0, min_mass: float = 4.0) -> Tracks:
    """Track one object per colour in frames [T, H, W, 3] (uint8 or 0–255 floats).

    background: [H, W, 3] or [T, H, W, 3] (0–255), or None for `estimate_background`.
    threshold: |p − b| below this (0–255 units, RGB distance) is background. min_mass: px² to count as found.
    """
    f = np.asarray(frames, dtype=np.float32)  # [T, H, W, 3]
    if f.ndim != 4 or f.shape[-1] != 3:
        raise ValueError(f"frames of shape {f.shape}: expected [T, H, W, 3]")
    bg = estimate_background(f) if background is None else np.asarray(background, dtype=np.float32)
    bg = np.broadcast_to(bg, f.shape)
    rgb = palette_rgb(colours)  # [K, 3]
    t_n, h, wd, _ = f.shape
    k_n = len(rgb)
    ys, xs = np.mgrid[0:h, 0:wd].astype(np.float32) + 0.5  # pixel centres
    out = dict(mass=np.zeros((t_n, k_n)), centroid=np.full((t_n, k_n, 2), np.nan),
               colour=np.full((t_n, k_n, 3), np.nan), shape=np.full((t_n, k_n), -1),
               shape_iou=np.zeros((t_n, k_n)), radius=np.zeros((t_n, k_n)))
    for t in range(t_n):  # frame by frame: memory O(H·W·K), fine at 832×480 too
        label, weight = _labels(f[t], bg[t], rgb, threshold)
        for k in range(k_n):
            w = np.where(label == k, weight, 0.0)  # [H, W]
            if w.sum() < min_mass:
                continue
            w = _compact(w, xs, ys)
            m = w.sum()
            if m < min_mass:
                continue
            cx, cy = (w * xs).sum() / m, (w * ys).sum() / m
            out["mass"][t, k], out["centroid"][t, k] = m, (cx, cy)
            core = w >= 0.9
            core = core if core.any() else w >= w.max()
            out["colour"][t, k] = f[t][core].mean(0)
            out["shape"][t, k], out["shape_iou"][t, k], out["radius"][t, k] = _classify(w, m, cx, cy)
    return Tracks(**out)
