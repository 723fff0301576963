"""Quality of the shipped Pusa-mini on held-out world clips (seed 99_000, never trained on), scored with
the ground-truth metrics of pusa.world.metrics at fixed seeds (sample seed = clip index).

Thresholds sit below the values measured on this machine (docs/mini.md, "Measured quality"); the
fast tests use the first N_FAST clips, the slow one the first 32.

    python -m pusa.mini.evaluate --n 32 --json mini-eval.json    # the model card's numbers
"""

import numpy as np
import pytest

from pusa.mini.evaluate import evaluate_rows

N_FAST = 4
# The shared fixtures sample 20 videos in float32 (about 2 minutes idle); on a loaded 2-core machine that
# passed the 300 s default, so this file gets more.
pytestmark = pytest.mark.timeout(900)

# Measured on the shipped weights (the 600-step p_cond LoRA of 2026-12-02), first 4 held-out clips, 10 steps,
# CFG 3, float32, this CPU, warm start off: I2V colour 1.00, shape 0.25, direction 1.00, subject consistency
# 0.118, frame-0 PSNR ∞ (exact); start–end 0.0 px, end-frame PSNR ∞; extension seam 4.4 / 4.3 / 3.3 / 7.1 px
# (mean 4.8; the LoRA before scored 23.8). A random-weight transformer scores colour and direction 0 and a
# seam near the 90 px diagonal. These bars catch regressions; the goals are not met (a random
# direction scores 0.25 on the direction metric, which accepts motion within 45°).
COLOUR_I2V, SHAPE_I2V, DIRECTION_I2V, SUBJECT_I2V = 0.75, 0.25, 0.5, 0.10
START_END_PX, SEAM_PX = 1.0, 10.0
# T2V with the LoRA on, n = 32: the LoRA before measured colour 0.719, direction 0.281; the current one,
# n = 64 in bf16 (docs/results/candidate.md), colour 0.92 [0.84, 0.98], direction 0.25.
COLOUR_T2V, DIRECTION_T2V = 0.6, 0.2
# T2V on the base weights (what `pusa generate` runs without conditions), measured in bf16 on 64 clips
# (docs/results/guidance.md, CFG 3): colour 1.00 [1.00, 1.00], direction 0.30, subject consistency 0.47.
COLOUR_T2V_BASE, SUBJECT_T2V_BASE = 0.9, 0.3


# What `pusa generate` runs on the mini for conditioned tasks: warm start at σ = 0.9 (pusa.mini.shipped.WARM_START).
# Measured, first 4 clips, float32: I2V background_err 8.7 / 1.7 / 12.9 / 8.2 (mean 7.9; without warm start
# 16.8), extension seam 4.6 / 4.4 / 4.8 / 6.3 px (mean 5.0), extension background_err mean 6.8 (without 10.7).
# n = 64 in docs/results/candidate.md.
BACKGROUND_I2V_WARM, SEAM_PX_WARM = 12.0, 10.0


@pytest.fixture(scope="module")
def pipe():
    from pusa.mini import default_pipeline

    return default_pipeline()


@pytest.fixture(scope="module")
def rows(pipe):
    return evaluate_rows(pipe, n=N_FAST, tasks=("i2v", "start_end", "extend"))


@pytest.fixture(scope="module")
def warm_rows(pipe):
    from pusa.mini.shipped import WARM_START

    return evaluate_rows(pipe, n=N_FAST, tasks=("i2v", "extend"), warm_start=WARM_START)


def mean(rows, key):
    return float(np.mean([r[key] for r in rows]))


def test_i2v_keeps_the_frame_its_object_and_the_captioned_motion(rows):
    i2v = rows["i2v"]
    assert min(r["psnr_frame0"] for r in i2v) >= 28.0  # frame 0 is given clean (m = 0): exact up to the mp4-free uint8 path
    assert mean(i2v, "caption_colour") >= COLOUR_I2V
    assert mean(i2v, "caption_shape") >= SHAPE_I2V
    assert mean(i2v, "caption_direction") >= DIRECTION_I2V
    assert mean(i2v, "subject_consistency") >= SUBJECT_I2V


def test_start_end_reaches_the_end_frame(rows):
    se = rows["start_end"]
    assert mean(se, "start_end_px") <= START_END_PX
    assert min(r["psnr_end"] for r in se) >= 28.0  # the end frame is given clean


def test_extension_continues_the_clip(rows):
    ext = rows["extend"]
    assert mean(ext, "seam_px") <= SEAM_PX


def test_the_default_warm_start_keeps_the_given_background_and_the_seam(rows, warm_rows):
    i2v, ext = warm_rows["i2v"], warm_rows["extend"]
    assert min(r["psnr_frame0"] for r in i2v) >= 28.0  # the given frame stays exact
    assert mean(i2v, "background_err") <= BACKGROUND_I2V_WARM
    assert mean(i2v, "background_err") < mean(rows["i2v"], "background_err")
    assert mean(ext, "background_err") < mean(rows["extend"], "background_err")
    assert mean(ext, "seam_px") <= SEAM_PX_WARM
    assert mean(i2v, "caption_colour") >= COLOUR_I2V


@pytest.mark.slow
@pytest.mark.timeout(900)  # 32 samples, about 2 minutes on an idle 2-core CPU
def test_t2v_follows_the_caption_on_32_clips():
    from pusa.mini import default_pipeline

    t2v = evaluate_rows(default_pipeline(), n=32, tasks=("t2v",))["t2v"]
    assert mean(t2v, "caption_colour") >= COLOUR_T2V
    assert mean(t2v, "caption_direction") >= DIRECTION_T2V


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_t2v_on_the_base_weights_keeps_the_caption_colour_and_the_object():
    from pusa.mini import default_pipeline

    t2v = evaluate_rows(default_pipeline(lora_strength=0.0), n=32, tasks=("t2v",))["t2v"]
    assert mean(t2v, "caption_colour") >= COLOUR_T2V_BASE
    assert mean(t2v, "subject_consistency") >= SUBJECT_T2V_BASE
    assert mean(t2v, "caption_direction") >= DIRECTION_T2V
