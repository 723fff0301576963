"""Scenes and their physics: shapes moving at constant velocity, bouncing off the frame edges, optional gravity.

State of object k at frame t: position p_t (its area centroid) and velocity v_t, world units (frame
height = 1). Each axis moves at constant acceleration, g = (0, gravity):

    p(τ) = p + v·τ + ½·g·τ²,   v(τ) = v + g·τ,   τ ∈ [0, 1] within a frame,

and reflects elastically off the walls: the wall for the centroid is the frame edge minus the shape's
extent on that side; at the exact hit time the velocity on that axis is reversed. Without gravity this
is the fold p_t = fold(p_0 + v·t) into [lo, hi]. Objects do not collide with each other (they would
pass, the later one drawn on top; the sampler keeps them apart instead). The camera pan only scrolls
the background: objects live in view coordinates, so the walls are the frame edges and the truth is
what the viewer sees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pusa.world.config import BACKGROUNDS, PALETTE, SHAPE_SCALE, WorldConfig, preset

WALLS = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class Shape:
    kind: str  # circle | square | triangle
    colour: str  # a PALETTE name
    size: float  # s, world units: circle radius s, square half-side 0.9 s, triangle circumradius 1.3 s

    @property
    def rgb(self) -> tuple[int, int, int]:
        return PALETTE[self.colour]

    def extents(self) -> tuple[float, float, float, float]:
        """Distances (left, right, top, bottom) from the centroid to the bounding box, world units."""
        r = SHAPE_SCALE[self.kind] * self.size
        if self.kind == "triangle":  # pointing up: apex r above the centroid, base r/2 below
            half = r * np.sqrt(3.0) / 2.0
            return (half, half, r, r / 2.0)
        return (r, r, r, r)


@dataclass(frozen=True)
class ObjectState:
    shape: Shape
    pos: tuple[float, float]  # centroid (x, y), world units
    vel: tuple[float, float]  # world units / frame


@dataclass(frozen=True)
class Background:
    kind: str  # flat | textured
    name: str  # the colour word a caption may use
    colour: tuple[float, float, float]  # base colour, 0–255
    waves: tuple[tuple[float, float, float, float], ...] = ()  # (kx, ky, phase, amplitude) per sine wave
    tint: tuple[float, float, float] = (0.0, 0.0, 0.0)  # colour the waves add, 0–255 at amplitude 1


@dataclass(frozen=True)
class SceneSpec:
    objects: tuple[ObjectState, ...]  # states at frame 0
    background: Background
    aspect: float = 1.0  # view width / height
    gravity: float = 0.0  # world units / frame², + is down
    camera_vel: tuple[float, float] = (0.0, 0.0)  # background scroll, world units / frame
    seed: int = 0  # drives the caption's wording


@dataclass(frozen=True)
class Trajectory:
    pos: np.ndarray  # [T, K, 2] centroids, world units
    vel: np.ndarray  # [T, K, 2] world units / frame
    bounces: tuple[tuple[int, int, str], ...]  # (frame, object, wall) for every reflection


def walls(states: Sequence[ObjectState], aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Lowest and highest allowed centroid per object, [K, 2] each."""
    ext = np.array([s.shape.extents() for s in states], dtype=np.float64)  # [K, 4] = l, r, t, b
    lo = ext[:, [0, 2]]
    hi = np.array([aspect, 1.0]) - ext[:, [1, 3]]
    return lo, hi


def _advance(p: float, v: float, a: float, lo: float, hi: float) -> tuple[float, float, list[int]]:
    """Move one axis through one frame of p(τ) = p + vτ + ½aτ², reflecting exactly at lo and hi.

    Returns the new (p, v) and the walls hit (0 = lo, 1 = hi) in order. At a hit time τ (the smallest
    positive root of ½aτ² + vτ + p − w = 0) the velocity v + aτ is reversed and the rest of the frame runs on.
    """
    remaining, hits = 1.0, []
    for _ in range(16):
        end = p + v * remaining + 0.5 * a * remaining**2
        peak = p - v * v / (2 * a) if a and 0.0 < -v / a < remaining else end  # extreme point inside the frame
        if lo <= min(end, peak) and max(end, peak) <= hi:
            return end, v + a * remaining, hits
        wall = 0 if min(end, peak) < lo else 1
        c = p - (lo, hi)[wall]
        if a:
            disc = math.sqrt(max(v * v - 2 * a * c, 0.0))
            roots = [r for r in ((-v - disc) / a, (-v + disc) / a) if r > 1e-12]
            tau = min(roots) if roots else 0.0
        else:
            tau = -c / v if v else 0.0
        tau = min(max(tau, 0.0), remaining)
        p, v, remaining = (lo, hi)[wall], -(v + a * tau), remaining - tau
        hits.append(wall)
    return min(max(p, lo), hi), v, hits


def simulate_from(states: Sequence[ObjectState], num_frames: int, gravity: float = 0.0,
                  aspect: float = 1.0) -> Trajectory:
    """Run the physics from `states` (frame 0 of the result) for `num_frames` frames in all. Exact."""
    if num_frames < 1:
        raise ValueError(f"num_frames={num_frames}: expected ≥ 1")
    lo, hi = walls(states, aspect)
    p = [list(s.pos) for s in states]
    v = [list(s.vel) for s in states]
    as_array = lambda rows: np.array(rows, dtype=np.float64).reshape(-1, 2)  # noqa: E731  [K, 2]
    pos, vel, bounces = [as_array(p)], [as_array(v)], []
    for t in range(1, num_frames):
        for k in range(len(states)):
            for axis, a in ((0, 0.0), (1, gravity)):
                p[k][axis], v[k][axis], hits = _advance(p[k][axis], v[k][axis], a, lo[k, axis], hi[k, axis])
                bounces += [(t, k, WALLS[2 * axis + wall]) for wall in hits]
        pos.append(as_array(p))
        vel.append(as_array(v))
    return Trajectory(np.stack(pos), np.stack(vel), tuple(bounces))


def simulate(scene: SceneSpec, num_frames: int) -> Trajectory:
    """The scene's own trajectory from its frame-0 states."""
    return simulate_from(scene.objects, num_frames, scene.gravity, scene.aspect)


def camera_offsets(scene: SceneSpec, num_frames: int) -> np.ndarray:
    """[T, 2] background offset of each frame, world units (the pan is constant velocity)."""
    return np.arange(num_frames)[:, None] * np.asarray(scene.camera_vel, dtype=np.float64)[None, :]


# ---- sampling ---------------------------------------------------------------------------------------

COMPASS = {  # unit direction per caption word (y down)
    "right": (1.0, 0.0), "left": (-1.0, 0.0), "down": (0.0, 1.0), "up": (0.0, -1.0),
    "up-right": (0.7071, -0.7071), "up-left": (-0.7071, -0.7071),
    "down-right": (0.7071, 0.7071), "down-left": (-0.7071, 0.7071),
}


def _sample_object(rng: np.random.Generator, config: WorldConfig, colour: str, gravity: float,
                   aspect: float) -> ObjectState:
    shape = Shape(str(rng.choice(config.shapes)), colour, float(rng.uniform(*config.size)))
    speed = float(rng.uniform(*config.speed))
    if gravity:  # tossed sideways, slightly upwards; the fall is the vertical motion
        vel = (speed * float(rng.choice([-1.0, 1.0])), -speed * float(rng.uniform(0.0, 0.6)))
    else:  # one of 8 compass directions, ±8°
        ux, uy = COMPASS[str(rng.choice(list(COMPASS)))]
        a = np.deg2rad(rng.uniform(-8.0, 8.0))
        vel = (speed * (ux * np.cos(a) - uy * np.sin(a)), speed * (ux * np.sin(a) + uy * np.cos(a)))
    lo, hi = walls([ObjectState(shape, (0.0, 0.0), (0.0, 0.0))], aspect)
    y_hi = lo[0, 1] + 0.5 * (hi[0, 1] - lo[0, 1]) if gravity else hi[0, 1]  # falling objects start high
    for _ in range(100):  # rejection: no wall during the first free_frames frames
        pos = (float(rng.uniform(lo[0, 0], hi[0, 0])), float(rng.uniform(lo[0, 1], y_hi)))
        state = ObjectState(shape, pos, vel)
        if not simulate_from([state], config.free_frames + 1, gravity, aspect).bounces:
            break
    return state


def _overlap(objects: Sequence[ObjectState], num_frames: int, gravity: float, aspect: float,
             margin: float = 0.02) -> float:
    """Σ over frames and pairs of how deep the objects' bounding boxes (grown by `margin`) intersect."""
    if len(objects) < 2 or num_frames < 1:
        return 0.0
    pos = simulate_from(objects, num_frames, gravity, aspect).pos  # [T, K, 2]
    ext = np.array([o.shape.extents() for o in objects]) + margin  # [K, 4] = l, r, t, b
    low = pos - ext[None, :, [0, 2]]  # [T, K, 2] box corners
    high = pos + ext[None, :, [1, 3]]
    depth = np.minimum(high[:, :, None], high[:, None]) - np.maximum(low[:, :, None], low[:, None])  # [T, K, K, 2]
    depth = np.clip(depth, 0.0, None).min(-1)  # boxes intersect only if they do on both axes
    iu = np.triu_indices(len(objects), 1)
    return float(depth[:, iu[0], iu[1]].sum())


def _sample_background(rng: np.random.Generator, config: WorldConfig) -> Background:
    name = str(rng.choice(list(BACKGROUNDS)))
    colour = tuple(float(c) for c in np.clip(np.array(BACKGROUNDS[name]) + rng.uniform(-5, 5, 3), 0, 255))
    if rng.random() >= config.p_textured:
        return Background("flat", name, colour)
    waves = []
    for _ in range(4):
        freq, angle = rng.uniform(2.0, 7.0), rng.uniform(0, np.pi)
        waves.append((float(freq * np.cos(angle)), float(freq * np.sin(angle)),
                      float(rng.uniform(0, 2 * np.pi)), float(rng.uniform(0.15, 0.3))))
    tint = tuple(float(c) for c in rng.uniform(20.0, 45.0, 3))
    return Background("textured", name, colour, tuple(waves), tint)


def sample_scene(seed: int | np.random.Generator, config: WorldConfig | str = "easy",
                 aspect: float = 1.0) -> SceneSpec:
    """A random scene: 1–3 objects of distinct colours, a background, maybe gravity and a camera pan."""
    config = preset(config)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    wording_seed = int(rng.integers(2**31))
    gravity = config.gravity if rng.random() < config.p_gravity else 0.0
    count = int(rng.integers(config.min_objects, config.max_objects + 1))
    count = min(count, 2) if gravity else count  # 3 falling objects nearly always meet on the floor
    colours = rng.choice(config.colours, size=count, replace=False)
    objects, best = (), np.inf
    for _ in range(200 if count > 1 else 1):  # redraw until no two objects overlap (or keep the least overlap)
        draw = tuple(_sample_object(rng, config, str(c), gravity, aspect) for c in colours)
        overlap = _overlap(draw, config.apart_frames, gravity, aspect)
        if overlap < best:
            objects, best = draw, overlap
        if best == 0.0:
            break
    background = _sample_background(rng, config)
    camera_vel = (0.0, 0.0)
    if rng.random() < config.p_pan and background.kind == "textured":  # a flat background cannot show a pan
        ux, uy = COMPASS[str(rng.choice(["left", "right", "up", "down"]))]
        speed = float(rng.uniform(*config.pan_speed))
        camera_vel = (ux * speed, uy * speed)
    return SceneSpec(objects, background, aspect, gravity, camera_vel, wording_seed)
