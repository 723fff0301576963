"""Trajectory metrics: error against the restarted simulator, seam continuity, smoothness, dynamic degree.

All positions are tracked centroids in pixels; the world's unit is the frame height H, so world = px / H.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from pusa.world.config import SHAPES
from pusa.world.metrics.score import Score, check_frames, diagonal
from pusa.world.scene import ObjectState, SceneSpec, simulate, simulate_from, walls
from pusa.world.track import track


def _candidates(pa: float, pb: float, dt: float, a: float, lo: float, hi: float) -> list[float]:
    """Velocities at frame a that carry pa to pb in dt frames: straight (pb = pa + v·dt + ½a·dt²),
    or reflected once off lo or hi (2w − (pa + v·dt) = pb)."""
    return [(pb - pa) / dt - 0.5 * a * dt, (2 * lo - pb - pa) / dt, (2 * hi - pb - pa) / dt]


def estimate_states(centroids: np.ndarray, frame_ids: Sequence[int], scene: SceneSpec, scale: float,
                    max_frames: int = 8) -> list[ObjectState | None]:
    """Object states at the last of `frame_ids` from tracked centroids [n, K, 2] (px, nan = not seen).

    Candidates per object: from its last two seen frames (a, b) and from its first and last (a long
    baseline, less noisy), each axis takes the straight velocity or one bounce off either wall (9
    combinations per pair), run forward to the last frame. Kept: the candidate whose run backwards
    (elastic motion reversed in time is the same physics with −v) best passes through all used frames
    (the last `max_frames`). Exact on noise-free tracks, bounces and gravity included. None for an
    object seen in fewer than 2 of the frames.
    """
    ids = list(frame_ids)
    if len(ids) < 2 or len(ids) != len(centroids) or sorted(set(ids)) != ids:
        raise ValueError(f"frame_ids={ids}: need ≥ 2 increasing frames, one per row of centroids ({len(centroids)})")
    ids, p = ids[-max_frames:], np.asarray(centroids, dtype=np.float64)[-max_frames:] / scale  # [n, K, 2] world
    lo, hi = walls(scene.objects, scene.aspect)
    g, aspect, last = scene.gravity, scene.aspect, ids[-1]
    states = []
    for k, obj in enumerate(scene.objects):
        seen = [i for i in range(len(ids)) if not np.isnan(p[i, k]).any()]
        best, best_err = None, np.inf
        if len(seen) < 2:
            states.append(None)
            continue
        back_at = [last - ids[i] for i in seen]  # frame offsets into the backward run
        for i in sorted({seen[-2], seen[0]}):  # pairs (a, b) = (second last, last seen) and (first, last seen)
            b, dt = seen[-1], ids[seen[-1]] - ids[i]
            vx_c = _candidates(p[i, k, 0], p[b, k, 0], dt, 0.0, lo[k, 0], hi[k, 0])
            vy_c = _candidates(p[i, k, 1], p[b, k, 1], dt, g, lo[k, 1], hi[k, 1])
            for vx, vy in itertools.product(vx_c, vy_c):
                run = last - ids[i] + 1  # on to the last conditioning frame, seen or not
                fwd = simulate_from([ObjectState(obj.shape, tuple(p[i, k]), (vx, vy))], run, g, aspect)
                end = ObjectState(obj.shape, tuple(fwd.pos[-1, 0]), tuple(fwd.vel[-1, 0]))
                back = simulate_from([replace(end, vel=(-end.vel[0], -end.vel[1]))], back_at[0] + 1, g, aspect)
                err = float(np.linalg.norm(back.pos[back_at, 0] - p[seen, k], axis=-1).sum())
                if err < best_err - 1e-9:
                    best, best_err = end, err
        states.append(best)
    return states


def _restart(states: Sequence[ObjectState | None], num_frames: int, scene: SceneSpec, scale: float) -> np.ndarray:
    """Simulated centroids [num_frames, K, 2] (px) from estimated states; nan for an object without one."""
    out = np.full((num_frames, len(states), 2), np.nan)
    known = [k for k, s in enumerate(states) if s is not None]
    if known:
        out[:, known] = simulate_from([states[k] for k in known], num_frames, scene.gravity, scene.aspect).pos * scale
    return out


def _errors(tracked: np.ndarray, reference: np.ndarray, penalty: float) -> np.ndarray:
    """Per-frame mean over objects of |tracked − reference| (px); a missing object (or reference) costs `penalty`."""
    d = np.linalg.norm(tracked - reference, axis=-1)  # [T', K]
    return np.where(np.isnan(d), penalty, d).mean(1)


def trajectory_error(frames: np.ndarray, scene: SceneSpec, cond_frames: Sequence[int] | None = None,
                     background: np.ndarray | None = None) -> Score:
    """Mean distance (px) between tracked centroids and the simulator restarted from the conditions.

    cond_frames None: the reference is the scene's own motion from frame 0 (its true velocity, as for
    I2V or T2V with a known scene); frames 1 … T−1 are compared. Otherwise the states at the last
    conditioning frame c are estimated from the tracked conditioning frames (≥ 2) and frames after c
    are compared. A missing object, or one without a state, costs the frame diagonal. Lower is better;
    per_frame holds the compared frames' errors.
    """
    frames = check_frames(frames)
    ids = None if cond_frames is None else sorted(cond_frames)
    if ids is not None and not (ids and 0 <= ids[0] and ids[-1] < len(frames) - 1):
        raise ValueError(f"cond_frames={cond_frames}: expected frame indices in [0, {len(frames) - 2}], "
                         "so that frames are left after them to compare")
    tr = track(frames, [o.shape.colour for o in scene.objects], background)
    scale = float(frames.shape[1])
    if ids is None:
        start, ref = 0, simulate(scene, len(frames)).pos * scale
    else:
        start = ids[-1]
        ref = _restart(estimate_states(tr.centroid[ids], ids, scene, scale), len(frames) - start, scene, scale)
    per_frame = _errors(tr.centroid[start + 1:], ref[1:], diagonal(frames))
    return Score(float(per_frame.mean()), per_frame, {"final": float(per_frame[-1])}, higher_is_better=False)


def seam_continuity(frames: np.ndarray, seam: int, scene: SceneSpec, background: np.ndarray | None = None,
                    window: int = 3) -> Score:
    """Does the motion carry on across the seam between given frames [0, seam) and generated [seam, T)?

    The state at seam − 1 is estimated from the last 3 given frames, the simulator runs `window` frames
    on, and the tracked centroids of frames seam … seam + window − 1 are compared. value: their mean
    error (px, lower is better). parts: `jump`, the error at the seam frame, and `velocity`, the error
    of the displacement p_{seam+1} − p_seam against the simulated one.
    """
    frames = check_frames(frames)
    if not 2 <= seam <= len(frames) - 2:
        raise ValueError(f"seam={seam}: expected 2 ≤ seam ≤ T − 2 = {len(frames) - 2}")
    window = min(window, len(frames) - seam)
    tr = track(frames, [o.shape.colour for o in scene.objects], background)
    scale = float(frames.shape[1])
    ids = list(range(max(0, seam - 3), seam))
    ref = _restart(estimate_states(tr.centroid[ids], ids, scene, scale), window + 1, scene, scale)[1:]  # [window, K, 2]
    got = tr.centroid[seam:seam + window]
    per_frame = _errors(got, ref, diagonal(frames))
    vel = _errors(got[1:2] - got[0:1], ref[1:2] - ref[0:1], diagonal(frames))
    parts = {"jump": float(per_frame[0]), "velocity": float(vel[0])}
    return Score(float(per_frame.mean()), per_frame, parts, higher_is_better=False)


def _extents_px(kind: str, radius: float) -> np.ndarray:
    """(left, right, top, bottom) from centroid to bounding box for a drawn radius r (see Shape.extents)."""
    if kind == "triangle":
        return np.array([radius * np.sqrt(3) / 2, radius * np.sqrt(3) / 2, radius, radius / 2])
    return np.full(4, radius)


def _acceleration(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Second difference of 3 positions [3, 2], per axis the smallest over unfoldings about a near wall.

    A bounce between the frames folds the path; reflecting the later points about the wall w
    (q → 2w − q) unfolds it, and a straight path then has zero second difference again.
    """
    acc = p[2] - 2 * p[1] + p[0]
    reach = np.abs(p[2] - p[1]) + np.abs(p[1] - p[0]) + 1.0
    for axis in range(2):
        for w in (lo[axis], hi[axis]):
            if abs(p[1, axis] - w) > reach[axis] and abs(p[2, axis] - w) > reach[axis]:
                continue
            q = p[:, axis]
            for unfolded in ((q[0], q[1], 2 * w - q[2]), (q[0], 2 * w - q[1], 2 * w - q[2])):
                a = unfolded[2] - 2 * unfolded[1] + unfolded[0]
                if abs(a) < abs(acc[axis]):
                    acc[axis] = a
    return acc


def motion_smoothness(frames: np.ndarray, colours: Sequence, background: np.ndarray | None = None,
                      tau: float | None = None) -> Score:
    """1 = smooth. r_t = max over objects of |Δ²p_t − ĝ| (px / frame²), with Δ²p_t = p_{t+1} − 2p_t + p_{t−1}
    unfolded at wall bounces and ĝ the object's median Δ²p (gravity); per frame exp(−(r_t / τ)²),
    τ = H / 32 px unless given (2 px at 64: video-codec noise passes, 1.5 px jitter does not). A triple
    with the object missing scores 0."""
    frames = check_frames(frames)
    tr = track(frames, colours, background)
    h, w = frames.shape[1:3]
    tau = tau if tau is not None else h / 32.0
    t_n, k_n = tr.mass.shape
    r = np.zeros(t_n - 2)
    missing = np.zeros(t_n - 2, bool)
    for k in range(k_n):
        c, seen = tr.centroid[:, k], tr.found[:, k]
        if seen.sum() < 3:
            missing[:] = True
            continue
        shape = SHAPES[int(np.bincount(tr.shape[seen, k], minlength=3).argmax())]
        ext = _extents_px(shape, float(np.median(tr.radius[seen, k])))
        lo, hi = ext[[0, 2]], np.array([w, h]) - ext[[1, 3]]
        acc = np.full((t_n - 2, 2), np.nan)
        for t in range(1, t_n - 1):
            if seen[t - 1:t + 2].all():
                acc[t - 1] = _acceleration(c[t - 1:t + 2], lo, hi)
        g = np.nanmedian(acc, axis=0) if not np.isnan(acc).all() else np.zeros(2)
        missing |= np.isnan(acc[:, 0])
        r = np.maximum(r, np.nan_to_num(np.linalg.norm(acc - g, axis=1)))
    per_frame = np.where(missing, 0.0, np.exp(-(r / tau) ** 2))
    return Score(float(per_frame.mean()), per_frame, {"mean_residual_px": float(r.mean())})


def dynamic_degree(frames: np.ndarray, colours: Sequence, background: np.ndarray | None = None,
                   threshold: float | None = None) -> Score:
    """Fraction of consecutive frame pairs in which some object moves more than `threshold` px
    (default H / 200). parts: mean_speed, px / frame over objects seen in both frames."""
    frames = check_frames(frames)
    tr = track(frames, colours, background)
    threshold = threshold if threshold is not None else frames.shape[1] / 200.0
    step = np.linalg.norm(np.diff(tr.centroid, axis=0), axis=-1)  # [T − 1, K], nan if missing
    moving = (np.nan_to_num(step) > threshold).any(1)
    speed = float(np.nanmean(step)) if not np.isnan(step).all() else 0.0
    return Score(float(moving.mean()), moving.astype(np.float64), {"mean_speed": speed})
