"""Frame conditions, task helpers and slot planning (pusa.conditions), checked against DESIGN §5 and
REFERENCE.md's cond_position examples for the 81-frame Wan geometry with r = 4."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from pusa import conditions as C
from pusa.conditions import (
    FrameCondition,
    canvas,
    complete,
    extend,
    fit_frames,
    i2v,
    keyframes,
    multipliers_from_plan,
    plan_conditions,
    start_end,
    t2v,
    to_frames,
    transition,
    v2v,
)

N, R = 81, 4
H = W = 8


def _image(value: int = 0) -> np.ndarray:
    return np.full((H, W, 3), value, dtype=np.uint8)


def _video(n: int, seed: int = 0) -> torch.Tensor:
    """n frames [n, H, W, 3] in [0, 1]; frame k is filled with k/n so frames are distinguishable."""
    return (torch.arange(n, dtype=torch.float32) / n)[:, None, None, None].expand(n, H, W, 3).clone()


def _slots(conditions) -> list[tuple[int, ...]]:
    return [p.slots for p in plan_conditions(conditions, N, R)]


# --- DESIGN §5 slot table ------------------------------------------------------------------------------


def test_t2v_has_no_conditions():
    assert t2v() == []
    assert plan_conditions(t2v(), N, R) == []


def test_plans_print_one_line_per_condition_naming_the_slots_and_no_tensor():
    plans = plan_conditions(start_end(_image(), _image(), N, end_noise=0.5) + [FrameCondition(_video(8), 40)], N, R)
    lines = ["condition 0: start @ pixel 0, m=0 -> latent 0",
             "condition 1: end @ pixel 80, m=0.5 -> latent 20",
             "condition 2: 8 frames @ pixel 40-47, m=0 -> latent 10-12"]
    assert str(plans).splitlines() == repr(plans).splitlines() == [p.describe(R) for p in plans] == lines
    assert repr(plans[2]) == str(plans[2]) == lines[2]
    assert repr(plans[2].condition) == "FrameCondition(8 frames @ pixel 40-47, m=0, frames [8, 8, 8, 3])"
    for text in (str(plans), repr(plans), str(list(plans)), repr(plans[0].condition)):
        assert "tensor" not in text and "[[" not in text
    assert str(plan_conditions(t2v(), N, R)) == "no conditions"


def test_i2v_slots():
    assert _slots(i2v(_image())) == [(0,)]


def test_start_end_slots():
    assert _slots(start_end(_image(1), _image(2), N)) == [(0,), (20,)]


def test_extend_slots():
    assert _slots(extend(_video(20), keep=13)) == [(0, 1, 2, 3)]
    assert _slots(extend(_video(13), keep=13)) == [(0, 1, 2, 3)]


def test_complete_slots():
    assert _slots(complete(_video(N))) == [(0,), (20,)]


def test_transition_slots():
    assert _slots(transition(_video(30), _video(25, seed=1), N)) == [(0, 1, 2), (18, 19, 20)]


def test_v2v_slots():
    plans = plan_conditions(v2v(_video(N)), N, R)
    assert len(plans) == 1
    assert plans[0].slots == tuple(range(21))


def test_keyframes_slots():
    conds = keyframes({80: _image(3), 0: _image(1), 40: _image(2)})
    assert _slots(conds) == [(0,), (10,), (20,)]
    assert [c.start for c in conds] == [0, 40, 80]


def test_helpers_keep_the_right_frames():
    video = _video(N)
    head, tail = complete(video)
    assert torch.equal(head.frames, video[:1]) and head.start == 0
    assert torch.equal(tail.frames, video[77:]) and tail.start == 77
    (prefix,) = extend(video, keep=13)
    assert torch.equal(prefix.frames, video[:13])
    a, b = _video(30), _video(25) * 0.5
    end_a, start_b = transition(a, b, N)
    assert torch.equal(end_a.frames, a[-9:]) and end_a.start == 0
    assert torch.equal(start_b.frames, b[:12]) and start_b.start == 69


def test_helpers_reject_bad_lengths():
    with pytest.raises(ValueError):
        extend(_video(10), keep=13)
    with pytest.raises(ValueError):
        complete(_video(4))  # head 1 + tail 4 does not fit
    with pytest.raises(ValueError):
        transition(_video(5), _video(30), N)  # A has fewer than 9 frames


# --- multipliers ------------------------------------------------------------------------------------


def test_multipliers_from_plan():
    plans = plan_conditions(start_end(_image(), _image(), N, start_noise=0.0, end_noise=0.5), N, R)
    assert multipliers_from_plan(plans) == {0: 0.0, 20: 0.5}
    plans = plan_conditions(extend(_video(13), keep=13, noise=0.3), N, R)
    assert multipliers_from_plan(plans) == pytest.approx({0: 0.3, 1: 0.3, 2: 0.3, 3: 0.3})
    assert multipliers_from_plan(plan_conditions(i2v(_image(), noise=0.2), N, R)) == pytest.approx({0: 0.2})
    assert multipliers_from_plan([]) == {}


def test_keyframes_per_frame_noise():
    conds = keyframes({0: _image(), 80: _image()}, noise={80: 0.5})
    assert multipliers_from_plan(plan_conditions(conds, N, R)) == {0: 0.0, 20: 0.5}


# --- validation ---------------------------------------------------------------------------------------


def test_overlapping_conditions_raise_naming_both():
    # pixel 9 and pixel 10 both land in latent 3 (pixels 9–12)
    conds = [FrameCondition(_image(), 0), FrameCondition(_image(), 9), FrameCondition(_image(), 10)]
    with pytest.raises(ValueError) as err:
        plan_conditions(conds, N, R)
    msg = str(err.value)
    assert re.search(r"\b1\b", msg) and re.search(r"\b2\b", msg), msg
    assert re.search(r"\b3\b", msg), msg  # and the slot


def test_condition_past_last_frame_raises():
    with pytest.raises(ValueError):
        plan_conditions([FrameCondition(_image(), 81)], N, R)
    with pytest.raises(ValueError):  # a clip that runs over the end
        plan_conditions([FrameCondition(_video(5), 78)], N, R)
    plan_conditions([FrameCondition(_video(4), 77)], N, R)  # exactly fits


def test_plan_rejects_non_conditions():
    with pytest.raises(TypeError):
        plan_conditions([_image()], N, R)  # type: ignore[list-item]


@pytest.mark.parametrize("noise", [-0.01, 1.01, 5.0])
def test_noise_outside_unit_interval_raises(noise):
    with pytest.raises(ValueError):
        FrameCondition(_image(), 0, noise)


@pytest.mark.parametrize("start", [-1, -80])
def test_negative_start_raises(start):
    with pytest.raises(ValueError):
        FrameCondition(_image(), start)


def test_conditions_compare_by_value():
    """FrameCondition is a frozen dataclass whose ``label`` is declared ``compare=False``, so two
    conditions with the same frames, start and noise are meant to compare equal (and unequal otherwise)."""
    a = FrameCondition(_image(7), 4, 0.2, "a")
    b = FrameCondition(_image(7), 4, 0.2, "b")
    assert a == b
    assert a != FrameCondition(_image(7), 8, 0.2)
    assert a != FrameCondition(_image(9), 4, 0.2)


def test_condition_properties():
    c = FrameCondition(_video(12), 69, 0.25)
    assert c.num_frames == 12 and c.end == 80 and c.noise == 0.25
    assert FrameCondition(_image(), 5).end == 5


# --- to_frames -----------------------------------------------------------------------------------------


def test_to_frames_uint8_image_scaled():
    img = np.zeros((H, W, 3), dtype=np.uint8)
    img[0, 0] = [255, 0, 51]
    x = to_frames(img)
    assert x.shape == (1, H, W, 3) and x.dtype == torch.float32
    torch.testing.assert_close(x[0, 0, 0], torch.tensor([1.0, 0.0, 0.2]), atol=1e-6, rtol=0)
    assert float(x.max()) <= 1.0 and float(x.min()) >= 0.0


def test_to_frames_float_video_and_tensor():
    v = np.random.default_rng(0).random((4, H, W, 3)).astype(np.float32)
    x = to_frames(v)
    assert x.shape == (4, H, W, 3)
    torch.testing.assert_close(x, torch.from_numpy(v), atol=0, rtol=0)
    t = torch.rand(3, H, W, 3, dtype=torch.float64)
    assert to_frames(t).dtype == torch.float32 and to_frames(t).shape == (3, H, W, 3)


def test_to_frames_list_of_arrays():
    frames = [_image(0), _image(255), np.full((H, W, 3), 0.5, dtype=np.float32)]
    x = to_frames(frames)
    assert x.shape == (3, H, W, 3)
    assert torch.all(x[0] == 0) and torch.all(x[1] == 1) and torch.all(x[2] == 0.5)


@pytest.mark.parametrize(
    "bad",
    [np.zeros((H, W), dtype=np.uint8), np.zeros((H, W, 4), dtype=np.uint8), np.zeros((2, H, W, 1), np.float32),
     np.zeros((1, 2, H, W, 3), np.float32), np.zeros((3, H, W), np.float32)],
)
def test_to_frames_rejects_wrong_shapes(bad):
    with pytest.raises(ValueError):
        to_frames(bad)


@pytest.mark.parametrize("value", [1.5, -0.1, 255.0])
def test_to_frames_rejects_out_of_range_floats(value):
    with pytest.raises(ValueError):
        to_frames(np.full((H, W, 3), value, dtype=np.float32))


def test_to_frames_rejects_empty_list():
    with pytest.raises(ValueError):
        to_frames([])


# --- canvas and fit_frames ------------------------------------------------------------------------------


def test_canvas_single_image_at_last_frame():
    img = _image(200)
    clip, first = canvas(FrameCondition(img, 80), R)
    assert first == 20
    assert clip.shape == (81, H, W, 3)
    expected = torch.full((H, W, 3), 200 / 255)
    for k in range(81):
        torch.testing.assert_close(clip[k], expected, atol=1e-6, rtol=0)


def test_canvas_image_at_zero_is_one_frame():
    clip, first = canvas(FrameCondition(_image(10), 0), R)
    assert first == 0 and clip.shape == (1, H, W, 3)


def test_canvas_clip_holds_first_frame_before_it():
    video = _video(12) + 0.05
    clip, first = canvas(FrameCondition(video, 69), R)
    assert first == 18
    assert clip.shape == (81, H, W, 3)
    for k in range(69):
        assert torch.equal(clip[k], video[0]), k
    for k in range(69, 81):
        assert torch.equal(clip[k], video[k - 69]), k


def test_canvas_pads_to_full_last_group():
    """A clip ending mid-group is held on its last frame up to the end of the group (pixels 9–12)."""
    video = _video(10)
    clip, first = canvas(FrameCondition(video, 0), R)
    assert first == 0 and clip.shape[0] == 13
    for k in range(10):
        assert torch.equal(clip[k], video[k])
    for k in range(10, 13):
        assert torch.equal(clip[k], video[-1])


def test_fit_frames_identity_when_sizes_match():
    v = torch.rand(3, H, W, 3)
    assert torch.equal(fit_frames(v, H, W), v)


def test_fit_frames_shape_and_constant_preserved():
    v = torch.full((2, 12, 20, 3), 0.3)
    out = fit_frames(v, 8, 8)
    assert out.shape == (2, 8, 8, 3)
    torch.testing.assert_close(out, torch.full((2, 8, 8, 3), 0.3), atol=1e-6, rtol=0)
    assert fit_frames(torch.rand(1, 16, 16, 3), 32, 24).shape == (1, 32, 24, 3)


def test_fit_frames_centre_crop_without_resize():
    v = torch.rand(2, 8, 16, 3)
    out = fit_frames(v, 8, 8)
    torch.testing.assert_close(out, v[:, :, 4:12], atol=1e-6, rtol=0)
    v = torch.rand(1, 12, 6, 3)
    torch.testing.assert_close(fit_frames(v, 6, 6), v[:, 3:9], atol=1e-6, rtol=0)


# --- warm start -----------------------------------------------------------------------------------


def _flat(value, size=8):
    return np.full((size, size, 3), value, dtype=np.uint8)


def test_warm_start_fills_every_free_slot_with_the_held_flat():
    image = _flat(200)
    out = C.warm_start(C.i2v(image), num_frames=17, temporal_factor=4, strength=0.9)
    assert out[0] == C.i2v(image)[0]  # the user's conditions come first, unchanged
    added = out[1:]  # one condition for the run of free slots 1–4, so a causal encoder encodes it once
    assert [(c.start, c.num_frames, c.noise, c.label) for c in added] == [(1, 16, 0.9, "warm start")]
    assert torch.all(added[0].frames == 200 / 255)
    assert [p.slots for p in C.plan_conditions(out, 17, 4)] == [(0,), (1, 2, 3, 4)]


def test_warm_start_takes_the_nearest_given_frame_earlier_on_ties():
    """start–end over 17 frames: pixels 1–8 are nearer frame 0 (8 is a tie: the earlier wins), 9–12 frame 16."""
    out = C.warm_start(C.start_end(_flat(10), _flat(250), 17), 17, 4, 0.8)
    (run,) = out[2:]  # slots 1–3; slot 4 (pixels 13–16) holds the end image already
    assert (run.start, run.num_frames) == (1, 12)
    assert [round(float(f.mean()) * 255) for f in run.frames] == [10] * 8 + [250] * 4


def test_warm_start_mixes_frames_inside_one_slot_and_fits_sizes():
    """Keyframes at pixels 0 and 6 (slot 2 covers 5–8): slot 1 (pixels 1–4) holds frame 0 for 1–3 and frame 6
    for pixel 4 (|4 − 6| < |4 − 0|); the 16-px keyframe is fitted to the first condition's 8 px."""
    out = C.warm_start(C.keyframes({0: _flat(0), 6: _flat(255, size=16)}), 9, 4, 0.5)
    (slot1,) = [c for c in out if c.label == "warm start"]  # slot 2 is the keyframe's: only slot 1 is free
    assert slot1.start == 1 and slot1.frames.shape == (4, 8, 8, 3)
    assert [float(f.mean()) for f in slot1.frames] == [0.0, 0.0, 0.0, 1.0]


def test_warm_start_without_conditions_changes_nothing_and_rejects_bad_strength():
    assert C.warm_start([], 17, 4, 0.9) == []
    for bad in (0.0, -0.1, 1.5):
        with pytest.raises(ValueError, match=r"warm start strength must be in \(0, 1\]"):
            C.warm_start(C.i2v(_flat(1)), 17, 4, bad)
