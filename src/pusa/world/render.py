"""Rasterising scenes: anti-aliased shapes over flat or textured backgrounds → uint8 [T, H, W, 3].

Pixel (row j, column i) covers [i, i+1) × [j, j+1) in pixel units and world point (x, y) lands at
pixel coordinates (x·H, y·H): one world unit is the frame height, so W must equal aspect·H.

Shapes are drawn by signed distance d (pixels, negative inside) with coverage a = clip(½ − d, 0, 1),
which is an anti-aliased edge one pixel wide. Each shape's distance is a max of half-plane distances
(circle: |q| − r; square: max(|qx|, |qy|) − r; triangle: max over its 3 edge normals of n·q − r/2),
so the level sets are concentric copies of the shape and the coverage-weighted centroid is the true
centroid. Objects are composited in order: I ← (1 − a)·I + a·rgb.

The textured background is a sum of sine waves, c(x, y) = c0 + tint · Σ_j A_j sin(2π(k_j·(x, y) + o_t) + φ_j),
sampled at the camera offset o_t of each frame, so a pan scrolls it by sub-pixel amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pusa.world.config import SHAPE_SCALE
from pusa.world.scene import SceneSpec, camera_offsets, simulate

SQRT3 = float(np.sqrt(3.0))


def shape_radius(kind: str, size: float) -> float:
    """The drawn radius r of a shape of size s (circle radius, square half-side, triangle circumradius)."""
    return SHAPE_SCALE[kind] * size


def shape_area(kind: str, radius: float) -> float:
    """Area of a shape of drawn radius r (same units squared)."""
    return {"circle": np.pi, "square": 4.0, "triangle": 3.0 * SQRT3 / 4.0}[kind] * radius * radius


def coverage(kind: str, radius: float, cx: float, cy: float, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Anti-aliased coverage [len(ys), len(xs)] of a shape centred (centroid) at (cx, cy), pixel units."""
    qx = (xs.astype(np.float32) + 0.5 - cx)[None, :]  # [1, w]
    qy = (ys.astype(np.float32) + 0.5 - cy)[:, None]  # [h, 1]
    if kind == "circle":
        d = np.sqrt(qx * qx + qy * qy) - radius
    elif kind == "square":
        d = np.maximum(np.abs(qx), np.abs(qy)) - radius
    elif kind == "triangle":  # apex up; outward normals (0, 1), (±√3/2, −1/2); inradius r/2
        d = np.maximum(qy + 0 * qx, np.maximum(SQRT3 / 2 * qx, -SQRT3 / 2 * qx) - qy / 2) - radius / 2
    else:
        raise ValueError(f"unknown shape kind {kind!r}")
    return np.clip(0.5 - d, 0.0, 1.0)


def check_size(scene: SceneSpec, height: int, width: int) -> None:
    if height < 8 or width < 8:
        raise ValueError(f"frame size {width}x{height}: expected at least 8x8")
    if abs(width - scene.aspect * height) > 1.0:
        raise ValueError(f"frame size {width}x{height} does not match the scene's aspect {scene.aspect:.4f}; "
                         f"use width={round(scene.aspect * height)} or sample the scene with "
                         f"aspect={width / height:.4f}")


def background_frames(scene: SceneSpec, num_frames: int, height: int, width: int) -> np.ndarray:
    """The background alone, float32 [T, H, W, 3] in 0–255 (what the objects are drawn over)."""
    check_size(scene, height, width)
    bg = scene.background
    base = np.asarray(bg.colour, dtype=np.float32)
    if bg.kind == "flat" or not bg.waves:
        return np.broadcast_to(base, (num_frames, height, width, 3)).copy()
    x = (np.arange(width) + 0.5) / height  # world units
    y = (np.arange(height) + 0.5) / height
    offsets = camera_offsets(scene, num_frames)  # [T, 2]
    field = np.zeros((num_frames, height, width), np.float32)
    for kx, ky, phase, amp in bg.waves:
        ox, oy = offsets[:, 0, None, None], offsets[:, 1, None, None]  # [T, 1, 1]
        arg = 2 * np.pi * (kx * (x[None, None, :] + ox) + ky * (y[None, :, None] + oy)) + phase  # [T, H, W]
        field += amp * np.sin(arg).astype(np.float32)
    return base + field[..., None] * np.asarray(bg.tint, dtype=np.float32)  # [T, H, W, 3]


def draw(scene: SceneSpec, pos: np.ndarray, height: int, width: int, colours: np.ndarray | None = None,
         background: np.ndarray | None = None) -> np.ndarray:
    """Draw the scene's objects at centroids `pos` [T, K, 2] (world units) → uint8 [T, H, W, 3].

    `colours` [T, K, 3] (0–255) overrides the palette colour per frame; `background` [T, H, W, 3]
    overrides the scene's background. Both exist so pusa.world.corrupt can break videos on purpose.
    """
    pos = np.asarray(pos, dtype=np.float64)
    num_frames = pos.shape[0]
    if background is None:
        background = background_frames(scene, num_frames, height, width)
    frames = np.array(background, dtype=np.float32, copy=True)  # [T, H, W, 3]
    scale = float(height)
    for k, obj in enumerate(scene.objects):
        r = shape_radius(obj.shape.kind, obj.shape.size) * scale
        for t in range(num_frames):
            cx, cy = pos[t, k] * scale
            x0, x1 = max(int(cx - r - 2), 0), min(int(cx + r + 3), width)
            y0, y1 = max(int(cy - r - 2), 0), min(int(cy + r + 3), height)
            if x0 >= x1 or y0 >= y1:
                continue
            a = coverage(obj.shape.kind, r, cx, cy, np.arange(x0, x1), np.arange(y0, y1))[..., None]  # [h, w, 1]
            rgb = np.asarray(obj.shape.rgb if colours is None else colours[t, k], dtype=np.float32)
            frames[t, y0:y1, x0:x1] = (1 - a) * frames[t, y0:y1, x0:x1] + a * rgb
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Truth:
    """Every frame's true object parameters, in pixels (index k follows scene.objects)."""

    pos: np.ndarray  # [T, K, 2] centroid (x, y), px
    vel: np.ndarray  # [T, K, 2] px / frame
    radius: np.ndarray  # [K] drawn radius r, px
    rgb: np.ndarray  # [K, 3] uint8
    shapes: tuple[str, ...]  # [K] circle | square | triangle
    colours: tuple[str, ...]  # [K] palette names
    bounces: tuple[tuple[int, int, str], ...]  # (frame, object, wall)
    camera: np.ndarray  # [T, 2] background offset, px
    scale: float  # px per world unit (= H)


def render(scene: SceneSpec, num_frames: int, height: int, width: int) -> tuple[np.ndarray, Truth]:
    """Simulate and draw: (uint8 frames [T, H, W, 3], Truth)."""
    check_size(scene, height, width)
    traj = simulate(scene, num_frames)
    frames = draw(scene, traj.pos, height, width)
    scale = float(height)
    truth = Truth(
        pos=traj.pos * scale,
        vel=traj.vel * scale,
        radius=np.array([shape_radius(o.shape.kind, o.shape.size) * scale for o in scene.objects]),
        rgb=np.array([o.shape.rgb for o in scene.objects], dtype=np.uint8).reshape(-1, 3),
        shapes=tuple(o.shape.kind for o in scene.objects),
        colours=tuple(o.shape.colour for o in scene.objects),
        bounces=traj.bounces,
        camera=camera_offsets(scene, num_frames) * scale,
        scale=scale,
    )
    return frames, truth
