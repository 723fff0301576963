"""Deliberately broken world videos, to check that every metric notices what it should.

Object-level breakages re-draw the clip from perturbed truth (so nothing else changes); frame-level
ones edit the frames. Each returns new uint8 frames [T, H, W, 3] and leaves the clip untouched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pusa.world.clip import Clip
from pusa.world.config import PALETTE
from pusa.world.render import draw
from pusa.world.scene import ObjectState, simulate, simulate_from, walls


def jitter(clip: Clip, sigma_px: float = 1.5, seed: int = 0) -> np.ndarray:
    """Random position noise N(0, σ²) per frame and object (kept inside the walls)."""
    rng = np.random.default_rng(seed)
    pos = simulate(clip.scene, len(clip.frames)).pos  # [T, K, 2]
    lo, hi = walls(clip.scene.objects, clip.scene.aspect)
    pos = np.clip(pos + rng.normal(0.0, sigma_px / clip.truth.scale, pos.shape), lo, hi)
    return draw(clip.scene, pos, *clip.frames.shape[1:3])


def teleport(clip: Clip, at: int | None = None, distance: float = 0.3) -> np.ndarray:
    """From frame `at` (default T // 2) every object jumps `distance` (world units), then moves on normally."""
    num_frames = len(clip.frames)
    at = num_frames // 2 if at is None else at
    traj = simulate(clip.scene, num_frames)
    lo, hi = walls(clip.scene.objects, clip.scene.aspect)
    jumped = []
    for k, obj in enumerate(clip.scene.objects):
        p = traj.pos[at, k]
        centre = (lo[k] + hi[k]) / 2
        away = np.sign(centre - p) + (centre == p)  # towards the centre, so the jump stays inside
        jumped.append(ObjectState(obj.shape, tuple(np.clip(p + distance * away / np.sqrt(2), lo[k], hi[k])),
                                  tuple(traj.vel[at, k])))
    after = simulate_from(jumped, num_frames - at, clip.scene.gravity, clip.scene.aspect).pos
    return draw(clip.scene, np.concatenate([traj.pos[:at], after]), *clip.frames.shape[1:3])


def colour_drift(clip: Clip, amount: float = 1.0) -> np.ndarray:
    """Each object's colour slides linearly towards the palette colour farthest from it (amount at the last frame)."""
    num_frames = len(clip.frames)
    rgb = clip.truth.rgb.astype(np.float64)  # [K, 3]
    palette = np.array(list(PALETTE.values()), dtype=np.float64)
    target = palette[np.linalg.norm(rgb[:, None] - palette[None], axis=-1).argmax(1)]  # [K, 3]
    ramp = amount * np.linspace(0.0, 1.0, num_frames)[:, None, None]  # [T, 1, 1]
    colours = rgb[None] + ramp * (target - rgb)[None]  # [T, K, 3]
    return draw(clip.scene, simulate(clip.scene, num_frames).pos, *clip.frames.shape[1:3], colours=colours)


def reverse_motion(clip: Clip) -> np.ndarray:
    """Every object moves the opposite way to its caption, for the whole clip.

    Each start is mirrored inside its walls (p → lo + hi − p) and its velocity negated, so the new path
    is the mirror image of the old one and keeps its wall-free first frames. Under gravity only the
    horizontal axis is mirrored (the fall stays downwards; the caption's direction is horizontal then).
    """
    lo, hi = walls(clip.scene.objects, clip.scene.aspect)
    axes = np.array([1.0, 0.0 if clip.scene.gravity else 1.0])  # 1 = mirrored axis
    objects = []
    for k, o in enumerate(clip.scene.objects):
        pos = np.where(axes > 0, lo[k] + hi[k] - np.asarray(o.pos), o.pos)
        vel = np.where(axes > 0, -np.asarray(o.vel), o.vel)
        objects.append(replace(o, pos=tuple(pos), vel=tuple(vel)))
    scene = replace(clip.scene, objects=tuple(objects))
    return draw(scene, simulate(scene, len(clip.frames)).pos, *clip.frames.shape[1:3])


def frozen(frames: np.ndarray) -> np.ndarray:
    """Every frame equals the first."""
    return np.repeat(frames[:1], len(frames), axis=0)


def flicker(frames: np.ndarray, amount: float = 0.35) -> np.ndarray:
    """Odd frames darkened by `amount` (brightness alternates)."""
    gain = np.where(np.arange(len(frames)) % 2 == 1, 1.0 - amount, 1.0)[:, None, None, None]
    return np.clip(np.rint(frames * gain), 0, 255).astype(np.uint8)


def time_flip(frames: np.ndarray) -> np.ndarray:
    """The video played backwards."""
    return np.ascontiguousarray(frames[::-1])


def perturb(frames: np.ndarray, indices: Sequence[int], sigma: float = 20.0, seed: int = 0) -> np.ndarray:
    """Gaussian pixel noise (0–255 units) on the given frames only, e.g. a conditioning frame."""
    rng = np.random.default_rng(seed)
    out = frames.astype(np.float64)
    for i in indices:
        out[i] += rng.normal(0.0, sigma, out[i].shape)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)
