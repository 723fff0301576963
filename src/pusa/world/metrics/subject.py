"""Object-level metrics: subject consistency and caption adherence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pusa.world.captions import parse_caption
from pusa.world.config import SHAPES
from pusa.world.metrics.score import Score, check_frames
from pusa.world.scene import COMPASS
from pusa.world.track import nearest_colour, track


def subject_consistency(frames: np.ndarray, colours: Sequence, background: np.ndarray | None = None,
                        colour_scale: float = 40.0) -> Score:
    """1 = every object keeps its colour, size and shape. Per frame t ≥ 1 and object k, against frame 0:

        s = exp(−(|c_t − c_0| / colour_scale)²) · min(m_t, m_0) / max(m_t, m_0) · [shape_t = shape_0]

    with c the measured colour (0–255), m the area; an object missing in a frame scores 0.
    per_frame [T − 1] averages over objects; parts hold each factor's mean.
    """
    tr = track(check_frames(frames), colours, background)
    ref = np.argmax(tr.found, axis=0)  # [K] first frame where each object is seen
    k_idx = np.arange(tr.mass.shape[1])
    c0, m0, s0 = tr.colour[ref, k_idx], tr.mass[ref, k_idx], tr.shape[ref, k_idx]
    colour = np.exp(-(np.linalg.norm(tr.colour - c0, axis=-1) / colour_scale) ** 2)  # [T, K]
    size = np.minimum(tr.mass, m0) / np.maximum(np.maximum(tr.mass, m0), 1e-6)
    shape = (tr.shape == s0).astype(np.float64)
    found = tr.found & tr.found[ref, k_idx]
    factors = [np.where(found, f, 0.0)[1:] for f in (colour, size, shape)]  # [T − 1, K] each
    per_frame = (factors[0] * factors[1] * factors[2]).mean(1)
    parts = {name: float(f.mean()) for name, f in zip(("colour", "size", "shape"), factors)}
    return Score(float(per_frame.mean()), per_frame, parts)


def _direction_ok(d: np.ndarray, direction: str | None, falls: bool, min_px: float) -> bool:
    """Does displacement d (px, y down) go the captioned way? Within 45° of it, or for falling objects
    only the horizontal sign (the fall is vertical)."""
    if direction is None:
        return False
    if falls:
        return bool(abs(d[0]) >= min_px and np.sign(d[0]) == np.sign(COMPASS[direction][0]))
    norm = float(np.linalg.norm(d))
    return norm >= min_px and float(np.dot(d, COMPASS[direction])) / norm > np.cos(np.pi / 4)


def caption_adherence(frames: np.ndarray, caption: str, background: np.ndarray | None = None,
                      window: int = 4, min_px: float = 1.0) -> Score:
    """Fraction of captioned objects whose colour, shape and direction the video shows (1 = all).

    The caption is parsed back into (colour, shape, direction) per object and the video is tracked for
    those colours. colour: the object is seen in ≥ half the frames and its median measured colour is
    nearest to the captioned palette colour. shape: the most frequent template match. direction: the
    displacement over the first `window` frames it is seen (the world keeps walls away that long) goes
    the captioned way and is at least `min_px`. value = mean of the three accuracies.
    """
    frames = check_frames(frames)
    objects = parse_caption(caption)
    if not objects:
        raise ValueError(f"caption {caption!r} names no object that parse_caption understands")
    tr = track(frames, [o.colour for o in objects], background)
    ok = {"colour": [], "shape": [], "direction": []}
    for k, obj in enumerate(objects):
        seen = np.nonzero(tr.found[:, k])[0]
        present = len(seen) >= len(frames) / 2
        colour = nearest_colour(np.median(tr.colour[seen, k], axis=0)) if len(seen) else None
        ok["colour"].append(present and colour == obj.colour)
        shapes = tr.shape[seen, k]
        ok["shape"].append(present and SHAPES[int(np.bincount(shapes, minlength=3).argmax())] == obj.shape)
        d = _early_displacement(seen, tr.centroid[:, k], window)
        ok["direction"].append(d is not None and _direction_ok(d, obj.direction, obj.falls, min_px))
    parts = {name: float(np.mean(v)) for name, v in ok.items()}
    return Score(float(np.mean(list(parts.values()))), None, parts)


def _early_displacement(seen: np.ndarray, centroid: np.ndarray, window: int) -> np.ndarray | None:
    """Displacement (px, y down) over the first ``window`` frames an object is seen; None if seen < 2 times."""
    if len(seen) < 2:
        return None
    t0, t1 = seen[0], seen[min(len(seen) - 1, np.searchsorted(seen, seen[0] + window))]
    return centroid[t1] - centroid[t0]


def direction_error(frames: np.ndarray, caption: str, background: np.ndarray | None = None,
                    window: int = 4, min_px: float = 1.0) -> Score:
    """Mean angle (degrees, 0–180) between each captioned object's early motion and its captioned direction.

    The motion is caption_adherence's displacement over the first `window` frames the object is seen.
    An object that is not seen twice or moves less than `min_px` scores 90°, the mean error of a random
    direction, so a video that ignores the caption's direction scores about 90 and reversed motion 180.
    Falling objects (whose caption gives only left/right) are left out; value is NaN if no object is left.
    Continuous, so its confidence intervals are tighter than the 0/1 direction accuracy's.
    """
    frames = check_frames(frames)
    objects = parse_caption(caption)
    if not objects:
        raise ValueError(f"caption {caption!r} names no object that parse_caption understands")
    tr = track(frames, [o.colour for o in objects], background)
    angles = []
    for k, obj in enumerate(objects):
        if obj.falls or obj.direction is None:
            continue
        d = _early_displacement(np.nonzero(tr.found[:, k])[0], tr.centroid[:, k], window)
        norm = 0.0 if d is None else float(np.linalg.norm(d))
        if norm < min_px:
            angles.append(90.0)
            continue
        cos = float(np.dot(d, COMPASS[obj.direction])) / norm
        angles.append(float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))))
    return Score(float(np.mean(angles)) if angles else float("nan"), None, {}, higher_is_better=False)


def aligned_shape_iou(frames: np.ndarray, reference: np.ndarray, colour: str | Sequence[float],
                      threshold: float = 80.0) -> np.ndarray:
    """Per-frame IoU of the object's mask with its mask in ``reference`` after moving it so their centroids
    meet (whole pixels): 1 is the same shape, whatever the position. A pixel belongs to the object when its
    RGB distance to the object's colour is below ``threshold``. A frame without the object scores 0.
    frames [T, H, W, 3] uint8; reference [H, W, 3]. Returns [T] in [0, 1] (NaN if the reference lacks it)."""
    from pusa.world.track import palette_rgb

    frames = check_frames(frames)
    rgb = palette_rgb([colour])[0]

    def mask(frame: np.ndarray) -> np.ndarray:
        return np.linalg.norm(frame.astype(np.float32) - rgb, axis=-1) < threshold

    ref = mask(reference)
    if not ref.any():
        return np.full(len(frames), np.nan)
    ry, rx = (float(c.mean()) for c in np.nonzero(ref))
    out = np.zeros(len(frames))
    for t, frame in enumerate(frames):
        m = mask(frame)
        if not m.any():
            continue
        ys, xs = np.nonzero(m)
        dy, dx = int(round(ry - ys.mean())), int(round(rx - xs.mean()))
        moved = np.zeros_like(m)
        ys, xs = ys + dy, xs + dx
        keep = (ys >= 0) & (ys < m.shape[0]) & (xs >= 0) & (xs < m.shape[1])
        moved[ys[keep], xs[keep]] = True
        out[t] = (moved & ref).sum() / (moved | ref).sum()
    return out
