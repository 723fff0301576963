"""Weight-free proxy metrics for VBench dimensions (backend ``"proxy"``).

VBench scores most dimensions with neural networks (RAFT, AMT-S, CoTracker, ...) whose weights are
not available here. These functions reproduce VBench's *rules* on top of classical, weight-free
estimators, so their numbers are comparable between runs of this project but NOT with published
VBench numbers. A total built from them must be labelled "proxy total".

All functions take ``frames`` as a numpy ``uint8`` array ``[T, H, W, 3]`` (RGB) and return a float in
[0, 1] (``camera_motion_type`` returns a label). Only numpy is used.

Optical flow (shared by dynamic degree, motion smoothness and camera motion) is a dense
coarse-to-fine Lucas–Kanade: grey frames (mean-removed, so a global brightness change is not read as
motion), a Gaussian-like pyramid down to ~16 px, per level a few Gauss–Newton iterations of the
windowed 2×2 normal equations with bilinear backward warping. Pixels whose structure tensor is
degenerate (flat regions) get no update. Flow ``F`` between frames ``a`` and ``b`` satisfies
``a(x) ≈ b(x + F(x))``; ``F[..., 0]`` is horizontal (+ right), ``F[..., 1]`` vertical (+ down).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "CAMERA_MOTIONS",
    "camera_motion",
    "camera_motion_type",
    "dynamic_degree",
    "motion_smoothness",
    "optical_flow",
    "proxy_scores",
    "temporal_flickering",
]

CAMERA_MOTIONS = ("pan_left", "pan_right", "tilt_up", "tilt_down", "zoom_in", "zoom_out", "static")


# --------------------------------------------------------------------------------------- helpers
def _check(frames: np.ndarray, min_frames: int = 2) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be uint8 [T, H, W, 3], got {frames.dtype} {list(frames.shape)}")
    if frames.shape[0] < min_frames:
        raise ValueError(f"need at least {min_frames} frames, got {frames.shape[0]}")
    return frames


def _grey(frame: np.ndarray) -> np.ndarray:
    g = frame.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255.0
    return g - g.mean()


def _box(img: np.ndarray, r: int) -> np.ndarray:
    """Mean over a (2r+1)² window, edge-padded (summed-area table)."""
    k = 2 * r + 1
    p = np.pad(img, r, mode="edge")
    c = np.zeros((p.shape[0] + 1, p.shape[1] + 1), np.float64)
    c[1:, 1:] = p.cumsum(0).cumsum(1)
    s = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]
    return (s / (k * k)).astype(np.float32)


def _warp(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Bilinear sample ``img`` at ``x + flow(x)`` (borders clamped). Works for [H,W] or [H,W,C]."""
    h, w = img.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = np.clip(xx + flow[..., 0], 0, w - 1)
    y = np.clip(yy + flow[..., 1], 0, h - 1)
    x0 = np.floor(x).astype(np.int64)
    y0 = np.floor(y).astype(np.int64)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    wx = x - x0
    wy = y - y0
    if img.ndim == 3:
        wx = wx[..., None]
        wy = wy[..., None]
    top = img[y0, x0] * (1 - wx) + img[y0, x1] * wx
    bot = img[y1, x0] * (1 - wx) + img[y1, x1] * wx
    return (top * (1 - wy) + bot * wy).astype(np.float32)


def _median(flow: np.ndarray, r: int = 2) -> np.ndarray:
    """(2r+1)² median filter per flow component (removes isolated LK failures)."""
    p = np.pad(flow, ((r, r), (r, r), (0, 0)), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(p, (2 * r + 1, 2 * r + 1), axis=(0, 1))
    return np.median(win.reshape(*flow.shape, -1), axis=-1).astype(np.float32)


def _down(img: np.ndarray) -> np.ndarray:
    return _box(img, 1)[::2, ::2]


def optical_flow(a: np.ndarray, b: np.ndarray, *, radius: int = 4, iters: int = 5,
                 min_size: int = 16) -> np.ndarray:
    """Dense coarse-to-fine Lucas–Kanade flow from RGB uint8 frame ``a`` to ``b``: [H, W, 2] float32."""
    pa, pb = [_box(_grey(a), 1)], [_box(_grey(b), 1)]
    while min(pa[-1].shape) // 2 >= min_size and len(pa) < 6:
        pa.append(_down(pa[-1]))
        pb.append(_down(pb[-1]))
    flow = np.zeros(pa[-1].shape + (2,), np.float32)
    for level in range(len(pa) - 1, -1, -1):
        ia, ib = pa[level], pb[level]
        if flow.shape[:2] != ia.shape:
            up = np.repeat(np.repeat(flow, 2, axis=0), 2, axis=1) * 2.0
            flow = np.zeros(ia.shape + (2,), np.float32)
            hh, ww = min(up.shape[0], ia.shape[0]), min(up.shape[1], ia.shape[1])
            flow[:hh, :ww] = up[:hh, :ww]
        yy, xx = np.mgrid[0:ia.shape[0], 0:ia.shape[1]].astype(np.float32)
        for _ in range(iters):
            bw = _warp(ib, flow)
            iy, ix = np.gradient(0.5 * (ia + bw))
            # pixels whose match falls outside ``b`` carry no evidence (new content at the borders)
            inside = ((xx + flow[..., 0] >= 0) & (xx + flow[..., 0] <= ia.shape[1] - 1)
                      & (yy + flow[..., 1] >= 0) & (yy + flow[..., 1] <= ia.shape[0] - 1))
            ix, iy = ix * inside, iy * inside
            it = bw - ia
            sxx, syy, sxy = _box(ix * ix, radius), _box(iy * iy, radius), _box(ix * iy, radius)
            sxt, syt = _box(ix * it, radius), _box(iy * it, radius)
            det = sxx * syy - sxy * sxy
            tr = sxx + syy
            min_eig = 0.5 * (tr - np.sqrt(np.maximum(tr * tr - 4 * det, 0)))
            ok = min_eig > 1e-6
            safe = np.where(ok, det, 1.0)
            du = np.where(ok, -(syy * sxt - sxy * syt) / safe, 0.0)
            dv = np.where(ok, -(sxx * syt - sxy * sxt) / safe, 0.0)
            flow[..., 0] += np.clip(du, -2.0, 2.0)
            flow[..., 1] += np.clip(dv, -2.0, 2.0)
        flow = _median(flow)
    return flow


def _pair_flows(frames: np.ndarray) -> list[np.ndarray]:
    return [optical_flow(frames[i], frames[i + 1]) for i in range(len(frames) - 1)]


# --------------------------------------------------------------------------------------- metrics
def temporal_flickering(frames: np.ndarray) -> float:
    """VBench's temporal flickering rule, exactly (it needs no network).

    ``d = mean over consecutive pairs (t, t+1) of mean |frame_{t+1} − frame_t|`` on the 0–255 scale
    (all pixels and channels), ``score = (255 − d) / 255``. Identical to VBench's formula; VBench
    applies it to static-scene prompts only, whereas here it is applied to whatever clip is given.
    """
    frames = _check(frames)
    f = frames.astype(np.float32)
    d = float(np.mean([np.abs(f[i + 1] - f[i]).mean() for i in range(len(f) - 1)]))
    return (255.0 - d) / 255.0


def _dynamic_from_flows(flows: list[np.ndarray], t: int, h: int, w: int) -> float:
    thres = 6.0 * (min(h, w) / 256.0)
    count_num = round(4 * (t / 16.0))
    count = 0
    for flow in flows:
        rad = np.sqrt((flow.astype(np.float64) ** 2).sum(-1)).ravel()
        cut = max(int(rad.size * 0.05), 1)
        top = np.mean(-np.sort(-rad)[:cut])
        if top > thres:
            count += 1
        if count >= count_num:
            return 1.0
    return 0.0


def dynamic_degree(frames: np.ndarray) -> float:
    """1.0 if the clip is dynamic under VBench's rule, else 0.0 (dataset score: mean over videos).

    Per consecutive pair: flow magnitude ``|F|``, ``m = mean of the top 5%`` of ``|F|``. The clip is
    dynamic when at least ``count_num = round(4·T/16)`` pairs have ``m > thres = 6·min(H,W)/256``
    (VBench's thresholds). Difference from VBench: flow comes from the classical Lucas–Kanade of
    :func:`optical_flow` instead of RAFT, on the frames as given (VBench first resamples to ~8 fps);
    LK under-estimates large or textureless motion, so borderline clips may flip.
    """
    frames = _check(frames)
    t, h, w = frames.shape[:3]
    return _dynamic_from_flows(_pair_flows(frames), t, h, w)


def _midpoint_source(flow: np.ndarray, iters: int = 3) -> np.ndarray:
    """Offset d(x) with p = x + d, p + flow(p)/2 = x (where frame-1 content at x sits in the source)."""
    d = -0.5 * flow
    for _ in range(iters):
        d = -0.5 * _warp(flow, d)
    return d


def _interpolate(f0: np.ndarray, f2: np.ndarray, fw: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Middle frame from f0, f2 and flows fw = f0→f2, bw = f2→f0, occlusion-aware blending."""
    d0, d2 = _midpoint_source(fw), _midpoint_source(bw)
    # forward–backward consistency at each candidate's source pixel: small where the pixel is visible
    fb0 = fw + _warp(bw, fw)
    fb2 = bw + _warp(fw, bw)
    e0 = np.sqrt((_warp(fb0, d0) ** 2).sum(-1))
    e2 = np.sqrt((_warp(fb2, d2) ** 2).sum(-1))
    w0 = np.exp(-e0)[..., None]
    w2 = np.exp(-e2)[..., None]
    return (w0 * _warp(f0, d0) + w2 * _warp(f2, d2)) / np.maximum(w0 + w2, 1e-6)


def motion_smoothness(frames: np.ndarray, *, moving_threshold: float = 10.0) -> float:
    """Frame-interpolation error on moving pixels: ``1 − MAE / 255``.

    Every odd frame ``f1`` is dropped and rebuilt from its neighbours ``f0, f2`` by flow-based
    (not linear) interpolation: with ``F = flow(f0→f2)`` and ``G = flow(f2→f0)``,
    ``f̂1(x) = ½·(f0(x − F(x)/2) + f2(x − G(x)/2))``. Moving pixels are those where
    ``max_c |f2 − f0| > moving_threshold`` (0–255). Per triplet, the mean |f̂1 − f1| over moving pixels
    and channels; the score is ``1 − mean over triplets with moving pixels / 255``, and 1.0 when no
    triplet has moving pixels. Difference from VBench: VBench interpolates with the AMT-S network and
    averages the error over *all* pixels, so its scores sit much closer to 1; restricting to moving
    pixels keeps a static background from hiding bad motion.
    """
    frames = _check(frames, 3)
    errs = []
    for i in range(0, len(frames) - 2, 2):
        f0, f1, f2 = (frames[i + k].astype(np.float32) for k in range(3))
        mask = np.abs(f2 - f0).max(-1) > moving_threshold
        if not mask.any():
            continue
        fw = optical_flow(frames[i], frames[i + 2])
        bw = optical_flow(frames[i + 2], frames[i])
        est = _interpolate(f0, f2, fw, bw)
        errs.append(float(np.abs(est - f1)[mask].mean()))
    if not errs:
        return 1.0
    return float(np.clip(1.0 - np.mean(errs) / 255.0, 0.0, 1.0))


def _camera_from_flows(flows: list[np.ndarray], h: int, w: int) -> str:
    # Edge bands (1/8 of the frame each): total displacement of each band over the clip, taken as the
    # sum over pairs of the band's median flow.
    bh, bw = max(h // 8, 1), max(w // 8, 1)
    bands = {"top": (slice(0, bh), slice(None)), "bottom": (slice(h - bh, h), slice(None)),
             "left": (slice(None), slice(0, bw)), "right": (slice(None), slice(w - bw, w))}
    disp = {k: np.zeros(2) for k in bands}
    for flow in flows:
        for k, sl in bands.items():
            disp[k] += np.median(flow[sl].reshape(-1, 2), axis=0)
    thr = 0.03 * min(h, w)  # an edge "moves" if it travels ≥ 3% of the short side over the clip

    def sign(v: float) -> int:
        return 0 if abs(v) < thr else (1 if v > 0 else -1)

    sx = {k: sign(d[0]) for k, d in disp.items()}
    sy = {k: sign(d[1]) for k, d in disp.items()}
    if all(v == 0 for v in sx.values()) and all(v == 0 for v in sy.values()):
        return "static"
    # zoom: opposite edges move apart (in) or together (out)
    if sx["left"] == -1 and sx["right"] == 1 and sy["top"] == -1 and sy["bottom"] == 1:
        return "zoom_in"
    if sx["left"] == 1 and sx["right"] == -1 and sy["top"] == 1 and sy["bottom"] == -1:
        return "zoom_out"
    mx = np.mean([d[0] for d in disp.values()])
    my = np.mean([d[1] for d in disp.values()])
    # pan/tilt: all four edges move the same way. Content moving right = camera turning left.
    if abs(mx) >= abs(my):
        if all(v == 1 for v in sx.values()):
            return "pan_left"
        if all(v == -1 for v in sx.values()):
            return "pan_right"
    else:
        if all(v == 1 for v in sy.values()):
            return "tilt_up"
        if all(v == -1 for v in sy.values()):
            return "tilt_down"
    return "undetermined"


def camera_motion_type(frames: np.ndarray) -> str:
    """Classify the clip's camera motion: one of :data:`CAMERA_MOTIONS` or ``"undetermined"``.

    Rule (VBench-like edge rule): the flow is split into four edge bands (top, bottom, left, right;
    1/8 of the frame each); each band's displacement over the clip is the sum over pairs of its median
    flow. A band moves along an axis if that displacement exceeds 3% of min(H, W). No band moving →
    ``static``; all four bands moving right → ``pan_left`` (content moves right when the camera turns
    left), left → ``pan_right``, down → ``tilt_up``, up → ``tilt_down``; left/top bands moving out and
    right/bottom bands moving out → ``zoom_in`` (inwards → ``zoom_out``). Difference from VBench:
    VBench tracks a point grid with CoTracker and votes per point; here the median LK flow of each band
    stands in for the tracked points.
    """
    frames = _check(frames)
    h, w = frames.shape[1:3]
    return _camera_from_flows(_pair_flows(frames), h, w)


def camera_motion(frames: np.ndarray, expected: str) -> float:
    """1.0 if :func:`camera_motion_type` equals ``expected`` (VBench's per-video rule), else 0.0."""
    if expected not in CAMERA_MOTIONS:
        raise ValueError(f"expected must be one of {', '.join(CAMERA_MOTIONS)}; got {expected!r}")
    return 1.0 if camera_motion_type(frames) == expected else 0.0


def proxy_scores(frames: np.ndarray, expected_camera: str | None = None) -> dict[str, dict]:
    """All proxy metrics for one clip, each ``{"value": float, "backend": "proxy"}``.

    Keys: ``temporal_flickering``, ``dynamic_degree``, ``motion_smoothness`` (when T ≥ 3) and
    ``camera_motion`` (only when ``expected_camera`` is given). Pair flows are computed once.
    """
    frames = _check(frames)
    t, h, w = frames.shape[:3]
    flows = _pair_flows(frames)
    out = {
        "temporal_flickering": temporal_flickering(frames),
        "dynamic_degree": _dynamic_from_flows(flows, t, h, w),
    }
    if t >= 3:
        out["motion_smoothness"] = motion_smoothness(frames)
    if expected_camera is not None:
        if expected_camera not in CAMERA_MOTIONS:
            raise ValueError(f"expected_camera must be one of {', '.join(CAMERA_MOTIONS)}; "
                             f"got {expected_camera!r}")
        out["camera_motion"] = 1.0 if _camera_from_flows(flows, h, w) == expected_camera else 0.0
    return {k: {"value": float(v), "backend": "proxy"} for k, v in out.items()}
