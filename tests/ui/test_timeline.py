"""The per-frame timeline against hand-computed slots and noise levels (no gradio needed)."""

from __future__ import annotations

import numpy as np
import pytest

from pusa import conditions as C
from pusa.flow import inference_sigmas
from pusa.sampling import schedule_matrix
from pusa.ui.timeline import Slot, message_html, noise_levels, slots, timeline_html

IMG = np.zeros((2, 2, 3), np.uint8)


def test_start_end_slots_at_9_frames():
    # r = 4: latent 0 = pixel 0, latent 1 = pixels 1-4, latent 2 = pixels 5-8; pixel 8 -> ceil(8/4) = 2
    plans = C.plan_conditions(C.start_end(IMG, IMG, 9, 0.0, 0.5), 9, 4)
    assert slots(plans, 9, 4) == [Slot(0, range(0, 1), "start", 0.0), Slot(1, range(1, 5), "", 1.0),
                                  Slot(2, range(5, 9), "end", 0.5)]


def test_keyframes_land_in_ceil_p_over_r():
    # 17 frames, r = 4: pixel 5 -> latent 2 (pixels 5-8), pixel 16 -> latent 4; latents 1 and 3 are free
    plans = C.plan_conditions(C.keyframes({0: IMG, 5: IMG, 16: IMG}, {5: 0.3}), 17, 4)
    got = [(s.index, s.pixel_span, s.label, s.multiplier) for s in slots(plans, 17, 4)]
    assert got == [(0, "0", "keyframe 0", 0.0), (1, "1–4", "", 1.0), (2, "5–8", "keyframe 5", 0.3),
                   (3, "9–12", "", 1.0), (4, "13–16", "keyframe 16", 0.0)]


def test_a_video_prefix_fills_several_slots():
    # extend with 6 kept frames: pixels 0-5 touch latents 0, 1 (1-4) and 2 (5-8)
    plans = C.plan_conditions(C.extend(np.zeros((9, 2, 2, 3), np.uint8), keep=6, noise=0.2), 9, 4)
    assert [(s.index, s.label, s.multiplier) for s in slots(plans, 9, 4)] == [
        (0, "prefix", 0.2), (1, "prefix", 0.2), (2, "prefix", 0.2)]


def test_levels_before_and_during_sampling():
    planned = slots(C.plan_conditions(C.start_end(IMG, IMG, 9, 0.0, 0.5), 9, 4), 9, 4)
    assert noise_levels(planned) == [0.0, 1.0, 0.5]  # before sampling: the multipliers
    # 2 steps, shift 1: sigma = 1, 0.5, 0; a frame with m follows m * sigma -> after step 1: 0, 0.5, 0.25
    S = schedule_matrix(inference_sigmas(2, shift=1.0), 3, {0: 0.0, 2: 0.5})
    assert noise_levels(planned, S[1].tolist()) == [0.0, 0.5, 0.25]
    # 4 steps, shift 5: sigma_1 = 5*0.75 / (1 + 4*0.75) = 0.9375; at m = 0.2 that is 0.1875
    S = schedule_matrix(inference_sigmas(4, shift=5.0), 3, {0: 0.2})
    assert noise_levels(planned, S[1].tolist()) == pytest.approx([0.1875, 0.9375, 0.9375])
    with pytest.raises(ValueError, match="2 values for 3 latent slots"):
        noise_levels(planned, [0.0, 1.0])


def test_html_shows_plan_and_step():
    planned = slots(C.plan_conditions(C.start_end(IMG, IMG, 9, 0.0, 0.5), 9, 4), 9, 4)
    before = timeline_html(planned)
    assert before.count("pusa-slot") == 3 and "m=0.5" in before and "px 1–4" in before and "plan:" in before
    during = timeline_html(planned, [0.0, 0.5, 0.25], step=1, num_steps=2)
    assert "step 1/2" in during and "σ=0.25" in during and "m=" not in during


def test_html_escapes_labels_and_messages():
    cond = C.FrameCondition(IMG, 0, 0.0, label="<script>x</script>")
    html = timeline_html(slots(C.plan_conditions([cond], 5, 4), 5, 4))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;" in message_html("<b>bad</b>")
