"""Proxy VBench metrics on a synthetic suite built with numpy (no weights, no video files)."""

from __future__ import annotations

import numpy as np
import pytest

from pusa.eval.proxy import (
    camera_motion,
    camera_motion_type,
    dynamic_degree,
    motion_smoothness,
    optical_flow,
    proxy_scores,
    temporal_flickering,
)

T, H, W, SQ = 12, 96, 96, 28  # frames, height, width, square side


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    """Smooth random RGB texture, uint8, full contrast."""
    rng = np.random.default_rng(seed)
    x = rng.random((h + 8, w + 8, 3)).astype(np.float32)
    for _ in range(3):  # a few 3x3 box blurs ≈ Gaussian
        x = sum(np.roll(np.roll(x, dy, 0), dx, 1) for dy in (-1, 0, 1) for dx in (-1, 0, 1)) / 9.0
    x = x[4:-4, 4:-4]
    x = (x - x.min()) / (x.max() - x.min())
    return (x * 255).astype(np.uint8)


BG = _texture(H, W, 0)
FG = _texture(SQ, SQ, 1)
BIG = _texture(H, W + 8 * T, 2)  # wide background for the pan


def _square(xs: list[int], ys: list[int]) -> np.ndarray:
    out = np.repeat(BG[None], len(xs), 0).copy()
    for t, (x, y) in enumerate(zip(xs, ys)):
        out[t, y:y + SQ, x:x + SQ] = FG
    return out


def _hue(frame: np.ndarray, angle: float) -> np.ndarray:
    """Rotate RGB about the grey axis (a hue shift)."""
    k = np.ones(3) / np.sqrt(3)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    r = np.eye(3) + np.sin(angle) * kx + (1 - np.cos(angle)) * kx @ kx
    return np.clip(frame.astype(np.float32) @ r.T, 0, 255).astype(np.uint8)


def build_suite() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    xs = [8 + 4 * t for t in range(T)]  # 4 px / frame to the right
    ys = [34] * T
    jx = [int(np.clip(x + rng.integers(-6, 7), 0, W - SQ)) for x in xs]
    jy = [int(np.clip(y + rng.integers(-6, 7), 0, H - SQ)) for y in ys]
    ty = [14 if t < T // 2 else 54 for t in range(T)]  # same path as smooth, one 40 px jump down
    static = np.repeat(BG[None], T, 0)
    flick = static.astype(np.int16) + np.array([40 if t % 2 else -40 for t in range(T)])[:, None, None, None]
    return {
        "smooth": _square(xs, ys),
        "jitter": _square(jx, jy),
        "teleport": _square(xs, ty),
        "static": static,
        "flicker": np.clip(flick, 0, 255).astype(np.uint8),
        "colour_drift": np.stack([_hue(BG, 0.12 * t) for t in range(T)]),
        # camera turns right: content moves left by 4 px per frame
        "pan_right": np.stack([BIG[:, 4 * t:4 * t + W] for t in range(T)]),
        # camera turns left: content moves right
        "pan_left": np.stack([BIG[:, 4 * (T - t):4 * (T - t) + W] for t in range(T)]),
    }


@pytest.fixture(scope="module")
def suite() -> dict[str, np.ndarray]:
    return build_suite()


@pytest.fixture(scope="module")
def scores(suite) -> dict[str, dict[str, float]]:
    return {k: {n: r["value"] for n, r in proxy_scores(v).items()} for k, v in suite.items()}


def test_flow_recovers_a_shift():
    a = BIG[:, 10:10 + W]
    b = BIG[:, 7:7 + W]  # content moves 3 px right
    f = optical_flow(a, b)
    inner = f[16:-16, 16:-16]
    assert np.median(inner[..., 0]) == pytest.approx(3.0, abs=0.3)
    assert np.median(inner[..., 1]) == pytest.approx(0.0, abs=0.3)


def test_temporal_flickering_exact_formula(suite):
    v = suite["flicker"].astype(np.float64)
    d = np.mean([np.abs(v[i + 1] - v[i]).mean() for i in range(T - 1)])
    assert temporal_flickering(suite["flicker"]) == pytest.approx((255 - d) / 255, abs=1e-6)


def test_temporal_flickering_ranking(scores):
    tf = {k: s["temporal_flickering"] for k, s in scores.items()}
    assert tf["static"] == 1.0
    assert tf["flicker"] == min(tf.values())
    assert all(tf[k] < 1.0 for k in tf if k != "static")
    assert tf["colour_drift"] > tf["flicker"] + 0.1


def test_dynamic_degree(scores):
    dd = {k: s["dynamic_degree"] for k, s in scores.items()}
    assert dd["static"] == 0.0
    assert dd["smooth"] == 1.0
    assert dd["pan_left"] == 1.0 and dd["pan_right"] == 1.0


def test_motion_smoothness_ranking(scores):
    ms = {k: s["motion_smoothness"] for k, s in scores.items()}
    assert ms["static"] == 1.0  # no moving pixels
    assert ms["smooth"] > ms["jitter"] + 0.05
    assert ms["smooth"] > ms["teleport"] + 0.01
    assert all(0.0 <= v <= 1.0 for v in ms.values())


def test_camera_motion(suite):
    assert camera_motion_type(suite["static"]) == "static"
    assert camera_motion_type(suite["smooth"]) == "static"  # the object moves, not the camera
    assert camera_motion_type(suite["pan_left"]) == "pan_left"
    assert camera_motion_type(suite["pan_right"]) == "pan_right"
    tilt = np.ascontiguousarray(suite["pan_left"].transpose(0, 2, 1, 3))  # content moves down
    assert camera_motion_type(tilt) == "tilt_up"
    assert camera_motion(suite["pan_right"], "pan_right") == 1.0
    assert camera_motion(suite["pan_right"], "pan_left") == 0.0
    with pytest.raises(ValueError):
        camera_motion(suite["static"], "spin")


def test_proxy_scores_labelled(suite):
    out = proxy_scores(suite["pan_left"], expected_camera="pan_left")
    assert set(out) == {"temporal_flickering", "dynamic_degree", "motion_smoothness", "camera_motion"}
    assert all(r["backend"] == "proxy" and isinstance(r["value"], float) for r in out.values())
    assert out["camera_motion"]["value"] == 1.0


def test_bad_input():
    with pytest.raises(ValueError, match="uint8"):
        temporal_flickering(np.zeros((4, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="at least 3"):
        motion_smoothness(np.zeros((2, 8, 8, 3), np.uint8))
    assert dynamic_degree(np.zeros((4, 32, 32, 3), np.uint8)) == 0.0
