"""Pixel-level metrics: conditioning-frame fidelity, background fidelity, start–end adherence, temporal flicker."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pusa.world.metrics.score import Score, check_frames, diagonal, psnr
from pusa.world.track import estimate_background, track


def conditioning_fidelity(frames: np.ndarray, targets: Mapping[int, np.ndarray]) -> Score:
    """PSNR (dB) of the conditioned frames against their targets, {frame index: image [H, W, 3]}.

    value: the PSNR of all conditioned frames pooled (one MSE over them all), so one bad frame among
    many is not hidden by capped perfect ones. per_frame: each frame's PSNR, in sorted index order.
    """
    frames = check_frames(frames)
    if not targets:
        raise ValueError("targets is empty: expected {frame index: image [H, W, 3]}")
    bad = [i for i in targets if not -len(frames) <= i < len(frames)]
    if bad:
        raise ValueError(f"target frames {bad} are outside the video's {len(frames)} frames")
    idx = sorted(targets)
    values = np.array([psnr(frames[i], targets[i]) for i in idx])
    pooled = psnr(np.stack([frames[i] for i in idx]), np.stack([np.asarray(targets[i]) for i in idx]))
    return Score(pooled, values, {"min": float(values.min())})


def background_error(frames: np.ndarray, background: np.ndarray, indices: Sequence[int] | None = None) -> Score:
    """How far the frames' background colour is from the known background (RGB distance, 0–255 units).

    Per frame t: ‖median_px(frames[t]) − median_px(background[t])‖, the median taken per channel over all
    pixels, so the objects (a few percent of the pixels) do not move it. value: the mean over ``indices``
    (default: every frame). Lower is better; 0 when a generated frame keeps the scene's background.
    """
    frames = check_frames(frames)
    background = np.asarray(background, dtype=np.float64)
    if background.shape != frames.shape:
        raise ValueError(f"background of shape {background.shape}: expected the frames' shape {frames.shape}")
    idx = list(range(len(frames))) if indices is None else list(indices)
    if not idx:
        raise ValueError("indices is empty: name the frames to score")
    got = np.median(frames[idx].reshape(len(idx), -1, 3).astype(np.float64), axis=1)  # [n, 3]
    want = np.median(background[idx].reshape(len(idx), -1, 3), axis=1)
    per_frame = np.linalg.norm(got - want, axis=-1)
    return Score(float(per_frame.mean()), per_frame, higher_is_better=False)


def start_end_adherence(frames: np.ndarray, start: np.ndarray, end: np.ndarray, colours: Sequence,
                        background: np.ndarray | None = None) -> Score:
    """How close the first and last frames come to the start and end images.

    value: mean distance (px) between each object's centroid in frames[0] / frames[−1] and in the target
    image (an object missing on either side costs the frame diagonal). Lower is better. parts: the
    distances per end and the PSNR per end.
    """
    frames = check_frames(frames)
    bg = estimate_background(frames) if background is None else np.asarray(background, dtype=np.float32)
    bg_first, bg_last = (bg[0], bg[-1]) if bg.ndim == 4 else (bg, bg)
    pair = lambda a, b, b_bg: track(np.stack([a, b]), colours, np.stack([b_bg, b_bg]))  # noqa: E731
    dist = {}
    for name, got, want, b in (("start", frames[0], start, bg_first), ("end", frames[-1], end, bg_last)):
        c = pair(got, want, b).centroid  # [2, K, 2]
        d = np.linalg.norm(c[0] - c[1], axis=-1)  # [K]
        dist[name] = float(np.where(np.isnan(d), diagonal(frames), d).mean())
    parts = {"dist_start": dist["start"], "dist_end": dist["end"],
             "psnr_start": psnr(frames[0], start), "psnr_end": psnr(frames[-1], end)}
    return Score((dist["start"] + dist["end"]) / 2, None, parts, higher_is_better=False)


def temporal_flicker(frames: np.ndarray, scale: float = 2.0) -> Score:
    """1 = steady brightness. With μ_t the mean grey level of frame t (0–255), m_t = |μ_{t+1} − 2μ_t + μ_{t−1}|:
    objects moving in frame and a panning texture keep μ nearly constant, a flicker alternates it.
    Per frame exp(−(m_t / scale)²)."""
    mu = check_frames(frames).astype(np.float64).mean(axis=(1, 2, 3))  # [T]
    if len(mu) < 3:
        raise ValueError("temporal_flicker needs at least 3 frames")
    m = np.abs(mu[2:] - 2 * mu[1:-1] + mu[:-2])  # [T − 2]
    per_frame = np.exp(-((m / scale) ** 2))
    return Score(float(per_frame.mean()), per_frame, {"mean_second_difference": float(m.mean())})
