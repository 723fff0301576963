"""pusa.world.metrics: near perfect on ground truth, and each drops on the breakages that should move it.

Thresholds come from measurements on these seeds (easy world, 17 frames at 64×64, known background);
each test states the measured range and leaves a margin. Breakages come from pusa.world.corrupt.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from pusa.world import corrupt, make_clip
from pusa.world import metrics as M
from pusa.world.captions import parse_caption

SEEDS = range(8)


@pytest.fixture(scope="module")
def clips():
    return [make_clip(s) for s in SEEDS]


def _values(clips, metric, breakage=None, **kw):
    out = []
    for c in clips:
        frames = c.frames if breakage is None else breakage(c)
        out.append(metric(frames, c, **kw).value)
    return np.array(out)


# ---- conditioning-frame fidelity --------------------------------------------------------------------

def _fidelity(frames, c, cond=(0,)):
    return M.conditioning_fidelity(frames, {i: c.frames[i] for i in cond})


def test_fidelity(clips):
    assert (_values(clips, _fidelity) == M.PSNR_CAP).all()
    # noise σ = 20 on the conditioning frame: measured 22.3–24.0 dB
    assert (_values(clips, _fidelity, lambda c: corrupt.perturb(c.frames, [0])) < 28).all()
    extension = dict(cond=range(13))  # frames 0–12 given, as in an extension task
    for breakage in (lambda c: corrupt.flicker(c.frames), lambda c: corrupt.colour_drift(c),
                     lambda c: corrupt.frozen(c.frames), corrupt.jitter):
        assert (_values(clips, _fidelity, breakage, **extension) < 40).all()  # measured ≤ 31.2 dB


# ---- background error -------------------------------------------------------------------------------

def test_background_error(clips):
    truth = np.array([M.background_error(c.frames, c.background).value for c in clips])
    assert (truth < 1.0).all()  # the objects do not move the median: measured 0 on these seeds
    # a uniform RGB offset of (30, 20, 0) on every pixel moves each frame's median by that much (36.1 units;
    # the backgrounds are dark, so nothing clips at 255)
    shifted = [(c.frames.astype(int) + [30, 20, 0]).astype(np.uint8) for c in clips]
    err = np.array([M.background_error(f, c.background, range(1, 17)).value for f, c in zip(shifted, clips)])
    assert np.all(np.abs(err - np.hypot(30, 20)) < 1.0), err
    # frozen frames and a drifting object colour keep the background (measured ≤ 0.8); darkening every other
    # frame by 35% does not (measured 3.9–12.4: the darkest background moves least)
    assert all(M.background_error(corrupt.frozen(c.frames), c.background).value < 1.0 for c in clips)
    assert all(M.background_error(corrupt.colour_drift(c), c.background).value < 1.0 for c in clips)
    assert all(M.background_error(corrupt.flicker(c.frames), c.background).value > 3.0 for c in clips)
    score = M.background_error(clips[0].frames, clips[0].background, [0, 5])
    assert not score.higher_is_better and score.per_frame.shape == (2,)
    with pytest.raises(ValueError, match="indices is empty"):
        M.background_error(clips[0].frames, clips[0].background, [])
    with pytest.raises(ValueError, match="expected the frames' shape"):
        M.background_error(clips[0].frames, clips[0].background[:3])


# ---- subject consistency ----------------------------------------------------------------------------

def _subject(frames, c):
    return M.subject_consistency(frames, c.colours, c.background)


def test_subject_consistency(clips):
    assert (_values(clips, _subject) > 0.97).all()  # measured ≥ 0.990
    assert (_values(clips, _subject, corrupt.colour_drift) < 0.3).all()  # measured ≤ 0.12
    assert (_values(clips, _subject, lambda c: corrupt.flicker(c.frames)) < 0.7).all()  # measured ≤ 0.51
    assert (_values(clips, _subject, corrupt.jitter) > 0.95).all()  # moving is not changing


# ---- trajectory error -------------------------------------------------------------------------------

def _trajectory(frames, c, cond=None):
    return M.trajectory_error(frames, c.scene, cond, c.background)


def test_trajectory_error_against_the_scene(clips):
    assert (_values(clips, _trajectory) < 0.2).all()  # px; measured ≤ 0.04
    assert (_values(clips, _trajectory, corrupt.jitter) > 1.0).all()  # σ = 1.5 px; measured ≥ 1.47
    assert (_values(clips, _trajectory, corrupt.teleport) > 5.0).all()  # measured ≥ 9.2
    assert (_values(clips, _trajectory, corrupt.reverse_motion) > 5.0).all()  # mirrored path: measured ≥ 16.7
    assert (_values(clips, _trajectory, lambda c: corrupt.frozen(c.frames)) > 5.0).all()  # measured ≥ 9.7
    assert (_values(clips, _trajectory, lambda c: corrupt.time_flip(c.frames)) > 2.0).all()  # measured ≥ 5.4


def test_trajectory_error_restarted_from_conditioning_frames(clips):
    kw = dict(cond=[0, 1, 2])
    assert (_values(clips, _trajectory, **kw) < 1.0).all()  # measured ≤ 0.41 px
    assert (_values(clips, _trajectory, corrupt.jitter, **kw) > 2.0).all()  # measured ≥ 5.1
    assert (_values(clips, _trajectory, corrupt.teleport, **kw) > 5.0).all()  # measured ≥ 10.4


def test_state_estimate_is_exact_on_true_positions():
    for seed in range(20):
        c = make_clip(seed, config="full")
        for ids in ([0, 1], [4, 5, 6], list(range(13))):
            states = M.estimate_states(c.truth.pos[ids], ids, c.scene, c.truth.scale)
            np.testing.assert_allclose([s.pos for s in states], c.truth.pos[ids[-1]] / c.truth.scale, atol=1e-9)
            np.testing.assert_allclose([s.vel for s in states], c.truth.vel[ids[-1]] / c.truth.scale, atol=1e-9)


# ---- start–end adherence ----------------------------------------------------------------------------

def _start_end(frames, c):
    return M.start_end_adherence(frames, c.frames[0], c.frames[-1], c.colours, c.background)


def test_start_end_adherence(clips):
    assert (_values(clips, _start_end) < 0.05).all()  # px; the frames are the targets
    assert (_values(clips, _start_end, lambda c: corrupt.frozen(c.frames)) > 1.0).all()  # measured ≥ 3.1
    assert (_values(clips, _start_end, lambda c: corrupt.time_flip(c.frames)) > 2.0).all()  # measured ≥ 6.3
    assert (_values(clips, _start_end, corrupt.teleport) > 2.0).all()  # measured ≥ 5.0


# ---- seam continuity (extension) --------------------------------------------------------------------

SEAM = 9


def _seam(frames, c):
    return M.seam_continuity(frames, SEAM, c.scene, c.background)


def _stuck_after_seam(c):
    frames = c.frames.copy()
    frames[SEAM:] = frames[SEAM - 1]
    return frames


def test_seam_continuity(clips):
    assert (_values(clips, _seam) < 0.5).all()  # px; measured ≤ 0.17
    assert (_values(clips, _seam, lambda c: corrupt.teleport(c, at=SEAM)) > 5.0).all()
    assert (_values(clips, _seam, _stuck_after_seam) > 1.0).all()  # measured ≥ 2.5
    assert (_values(clips, _seam, corrupt.jitter) > 1.0).all()  # measured ≥ 1.4


# ---- caption adherence ------------------------------------------------------------------------------

def _caption(frames, c, caption=None):
    return M.caption_adherence(frames, caption or c.caption, c.background)


def _parts(clips, breakage=None, **kw):
    scores = [_caption(c.frames if breakage is None else breakage(c), c, **kw) for c in clips]
    return {name: np.mean([s.parts[name] for s in scores]) for name in ("colour", "shape", "direction")}


def test_caption_adherence(clips):
    assert (_values(clips, _caption) == 1.0).all()
    assert _parts(clips, corrupt.reverse_motion)["direction"] == 0.0  # measured 0.0 on 80 clips
    # played backwards, a clip that bounced can end moving the captioned way: measured 0.25 (8 and 40 seeds)
    assert _parts(clips, lambda c: corrupt.time_flip(c.frames))["direction"] <= 0.5
    assert _parts(clips, lambda c: corrupt.frozen(c.frames))["direction"] == 0.0
    assert _parts(clips, corrupt.colour_drift)["colour"] <= 0.25  # measured 0.025 on 40 seeds


def test_caption_adherence_catches_wrong_words(clips):
    for c in clips:
        colour, shape = c.truth.colours[0], c.truth.shapes[0]
        other_colour = "blue" if colour != "blue" else "red"
        wrong = re.sub(rf"\b{colour}\b", other_colour, c.caption)
        assert _caption(c.frames, c, wrong).parts["colour"] == 0.0
        other = {"circle": "square", "square": "triangle", "triangle": "circle"}[shape]
        wrong = re.sub(r"\b(circle|ball|disc|dot|round shape|square shape|square|box|block|triangular shape|"
                       r"triangle shape|triangle)\b", other, c.caption, count=1)
        assert _caption(c.frames, c, wrong).parts["shape"] == 0.0, wrong


def _direction(frames, c, caption=None):
    return M.direction_error(frames, caption or c.caption, c.background)


def test_direction_error(clips):
    truth = _values(clips, _direction)
    assert (truth < 15.0).all()  # degrees; the world turns each velocity up to 8° off its caption word
    assert (_values(clips, _direction, corrupt.reverse_motion) > 150.0).all()
    assert (_values(clips, _direction, lambda c: corrupt.frozen(c.frames)) == 90.0).all()  # no motion: chance
    turn = {"left": "up", "up": "right", "right": "down", "down": "left", "up-left": "up-right",
            "up-right": "down-right", "down-right": "down-left", "down-left": "up-left"}  # 90° clockwise
    for c in clips:  # a caption naming the perpendicular direction is 90° off, give or take the 8°
        obj = parse_caption(c.caption)[0]
        wrong = f"a {obj.colour} {obj.shape} moves {turn[obj.direction]}"
        assert 75.0 < _direction(c.frames, c, wrong).value < 105.0, wrong


# ---- motion smoothness, dynamic degree, flicker -----------------------------------------------------

def _smooth(frames, c):
    return M.motion_smoothness(frames, c.colours, c.background)


def test_motion_smoothness(clips):
    assert (_values(clips, _smooth) > 0.97).all()  # measured ≥ 0.990, bounces included
    assert (_values(clips, _smooth, corrupt.jitter) < 0.5).all()  # measured ≤ 0.26
    assert (_values(clips, _smooth, corrupt.teleport) < 0.93).all()  # 2 of 15 frames break: measured ≤ 0.867


def _dynamic(frames, c):
    return M.dynamic_degree(frames, c.colours, c.background)


def test_dynamic_degree(clips):
    assert (_values(clips, _dynamic) == 1.0).all()
    assert (_values(clips, _dynamic, lambda c: corrupt.frozen(c.frames)) == 0.0).all()
    assert (_values(clips, _dynamic, _stuck_after_seam) < 0.6).all()  # 8 of 16 pairs move: 0.5


def _flicker(frames, c):
    return M.temporal_flicker(frames)


def test_temporal_flicker(clips):
    assert (_values(clips, _flicker) > 0.98).all()  # measured ≥ 0.99 (textured pans included, 30 seeds)
    assert (_values(clips, _flicker, lambda c: corrupt.flicker(c.frames)) < 0.1).all()  # measured 0.000
    assert (_values(clips, _flicker, lambda c: corrupt.flicker(c.frames, 0.1)) < 0.5).all()


# ---- robustness: a round trip through H.264, the full world, an estimated background -----------------

def test_metrics_survive_mp4_and_the_full_world(tmp_path):
    from pusa.io import read_video, write_video

    for seed in range(4):
        c = make_clip(seed, config="full")
        write_video(tmp_path / f"{seed}.mp4", c.frames, fps=16)
        frames, _ = read_video(tmp_path / f"{seed}.mp4")
        # measured on 20 seeds: caption 1.0, trajectory ≤ 0.13 px, smoothness ≥ 0.96, consistency ≥ 0.96
        assert M.caption_adherence(frames, c.caption, c.background).value == 1.0
        assert M.trajectory_error(frames, c.scene, None, c.background).value < 0.5
        assert M.motion_smoothness(frames, c.colours, c.background).value > 0.9
        assert M.subject_consistency(frames, c.colours, c.background).value > 0.9


def test_estimated_background(clips):
    """Without the known background, estimate_background recovers a static one (measured: caption 1.0, ≤ 0.04 px)."""
    for c in clips[:4]:
        assert M.caption_adherence(c.frames, c.caption).value == 1.0
        assert M.trajectory_error(c.frames, c.scene).value < 0.2


def test_bad_inputs_raise(clips):
    c = clips[0]
    with pytest.raises(ValueError, match="targets"):
        M.conditioning_fidelity(c.frames, {})
    with pytest.raises(ValueError, match="outside"):
        M.conditioning_fidelity(c.frames, {40: c.frames[0]})
    with pytest.raises(ValueError, match="cond_frames"):
        M.trajectory_error(c.frames, c.scene, cond_frames=[15, 16])
    with pytest.raises(ValueError, match="seam"):
        M.seam_continuity(c.frames, 1, c.scene)
    with pytest.raises(ValueError, match="names no object"):
        M.caption_adherence(c.frames, "the camera pans left")
    with pytest.raises(ValueError, match="frames"):
        M.motion_smoothness(c.frames[0], c.colours)
