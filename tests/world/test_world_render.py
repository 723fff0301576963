"""pusa.world rendering: the frames show exactly what the truth says."""

from __future__ import annotations

import numpy as np

from pusa.world import PALETTE, background_frames, make_clip, preset
from pusa.world.render import shape_area
from pusa.world.track import track


def _centroid(frame: np.ndarray, bg: np.ndarray, rgb) -> tuple[float, float, float]:
    """Test-local tracker for one object on a known background: weights |p − b| / |c − b| (= coverage)."""
    bg = np.rint(bg)  # frames are rounded, so uncovered pixels then match exactly
    d = np.linalg.norm(frame.astype(float) - bg, axis=-1)
    w = np.clip(d / np.linalg.norm(np.asarray(rgb, float) - bg, axis=-1), 0, 1)
    ys, xs = np.mgrid[0:frame.shape[0], 0:frame.shape[1]] + 0.5
    return (w * xs).sum() / w.sum(), (w * ys).sum() / w.sum(), w.sum()


def test_truth_matches_the_frames_single_object():
    for seed in range(20):
        clip = make_clip(seed)
        for t in range(len(clip.frames)):
            cx, cy, area = _centroid(clip.frames[t], clip.background[t], clip.truth.rgb[0])
            assert np.hypot(cx - clip.truth.pos[t, 0, 0], cy - clip.truth.pos[t, 0, 1]) < 0.3  # measured ≤ 0.11 px
            assert abs(area / shape_area(clip.truth.shapes[0], clip.truth.radius[0]) - 1) < 0.03


def test_truth_matches_the_frames_full_world():
    checked = 0
    for seed in range(20):
        clip = make_clip(seed, config="full")
        tr = track(clip.frames, clip.colours, clip.background)
        err = np.linalg.norm(tr.centroid - clip.truth.pos, axis=-1)
        assert np.nanmax(err) < 0.3, seed  # measured ≤ 0.14 px on 60 seeds (objects never overlap here)
        checked += err.size
    assert checked > 500


def test_object_colour_is_the_palette_colour():
    for seed in range(10):
        clip = make_clip(seed, config="full")
        for k, name in enumerate(clip.truth.colours):
            x, y = clip.truth.pos[0, k].astype(int)
            assert tuple(clip.frames[0, y, x]) == PALETTE[name]


def test_frames_are_uint8_and_sized():
    clip = make_clip(1, num_frames=9, height=32, width=48)
    assert clip.frames.dtype == np.uint8 and clip.frames.shape == (9, 32, 48, 3)
    assert clip.truth.pos.shape == (9, len(clip.scene.objects), 2)
    assert (clip.truth.pos[..., 0] < 48).all() and (clip.truth.pos[..., 1] < 32).all()


def test_anti_aliased_edges():
    clip = make_clip(2, height=64, width=64)
    bg, rgb = clip.background[0, 0, 0], clip.truth.rgb[0].astype(float)
    w = np.clip(np.linalg.norm(clip.frames[0] - bg, axis=-1) / np.linalg.norm(rgb - bg), 0, 1)
    assert ((w > 0.05) & (w < 0.95)).sum() >= 8  # edge pixels with partial coverage


def test_textured_background_pans():
    config = preset("full", p_textured=1.0, p_pan=1.0, max_objects=1)
    scene = make_clip(4, config=config).scene
    bg = background_frames(scene, 5, 64, 64)
    assert bg.std() > 3  # a texture, not a flat colour
    assert np.abs(bg[1] - bg[0]).mean() > 0.5  # and it scrolls
    flat = background_frames(make_clip(4).scene, 5, 64, 64)
    assert (np.ptp(flat, axis=(0, 1, 2)) == 0).all()
