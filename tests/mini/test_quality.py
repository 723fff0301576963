"""Quality of the shipped Pusa-mini on held-out world clips (seed 99_000, never trained on), scored with
the ground-truth metrics of pusa.world.metrics at fixed seeds (sample seed = clip index).

Thresholds sit below the values measured on this machine (see the comments below; docs/mini2.md for n = 64); the
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

# Measured on the shipped weights (Pusa-mini 2 with its 2,000-step direction phase, 2026-12-06), first 4 held-out
# clips, 10 steps, CFG 3, float32, this CPU, no warm start: I2V colour 1.00, shape 1.00, direction 1.00 (4 of 4),
# trajectory 3.7 / 2.5 / 2.3 / 3.8 px (mean 3.1), subject consistency 0.53 (0.42 / 0.75 / 0.35 / 0.61), frame-0
# PSNR 34.3–37.5 dB through the learned autoencoder; start–end 0.05–0.15 px, end-frame PSNR 34.6–36.0 dB;
# extension seam 1.4 / 2.9 / 2.4 / 1.7 px (mean 2.1). (The 1,500-step weights: trajectory mean 3.5, subject
# consistency 0.50, seam mean 2.6.) The first Pusa-mini 2 weights read no direction (0 of 4
# here); a random-weight transformer scores colour 0 and a seam near the 90 px diagonal. These bars catch
# regressions; the goals are in docs/mini2.md (n = 64).
COLOUR_I2V, SHAPE_I2V, SUBJECT_I2V = 0.75, 0.2, 0.10
DIRECTION_I2V, TRAJECTORY_I2V_PX = 0.75, 8.0
START_END_PX, SEAM_PX = 1.0, 10.0
# T2V, n = 64 through the request path (docs/results/release_mini2_direction2000.md): colour 1.00 [1.00, 1.00];
# Pusa-mini 2 is one transformer, so the "base weights" run (VTA strength 0) is the same model.
COLOUR_T2V = 0.8

# What `pusa generate` runs on the mini for conditioned tasks (pusa.mini.shipped.WARM_START: since the direction
# phase none, so these rows equal the plain ones). Measured, first 4 clips, float32: I2V background_err 5.4 / 3.4 /
# 2.5 / 2.6 (mean 3.5), extension background_err mean 3.2. The first Pusa-mini 2 weights at warm start 0.9: 3.3
# and 2.9 too; Pusa-mini 1 needed the warm start for its background (16.8 → 7.9).
BACKGROUND_I2V_WARM, SEAM_PX_WARM = 6.0, 10.0


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
    assert min(r["psnr_frame0"] for r in i2v) >= 30.0  # frame 0 is given clean (m = 0), through the learned autoencoder
    assert mean(i2v, "caption_colour") >= COLOUR_I2V
    assert mean(i2v, "caption_shape") >= SHAPE_I2V
    assert mean(i2v, "subject_consistency") >= SUBJECT_I2V
    assert mean(i2v, "caption_direction") >= DIRECTION_I2V  # moves the caption's way (the direction phase)
    assert mean(i2v, "trajectory_px") <= TRAJECTORY_I2V_PX


def test_start_end_reaches_the_end_frame(rows):
    se = rows["start_end"]
    assert mean(se, "start_end_px") <= START_END_PX
    assert min(r["psnr_end"] for r in se) >= 28.0  # the end frame is given clean


def test_extension_continues_the_clip(rows):
    ext = rows["extend"]
    assert mean(ext, "seam_px") <= SEAM_PX


def test_the_default_start_keeps_the_given_background_and_the_seam(rows, warm_rows):
    i2v, ext = warm_rows["i2v"], warm_rows["extend"]
    assert min(r["psnr_frame0"] for r in i2v) >= 30.0  # the given frame stays as the autoencoder gives it
    assert mean(i2v, "background_err") <= BACKGROUND_I2V_WARM
    assert mean(ext, "background_err") <= BACKGROUND_I2V_WARM
    assert mean(ext, "seam_px") <= SEAM_PX_WARM
    assert mean(i2v, "caption_colour") >= COLOUR_I2V


@pytest.mark.slow
@pytest.mark.timeout(900)  # 32 samples, about a minute on an idle 2-core CPU
def test_t2v_follows_the_caption_colour_on_32_clips():
    from pusa.mini import default_pipeline

    t2v = evaluate_rows(default_pipeline(), n=32, tasks=("t2v",))["t2v"]
    assert mean(t2v, "caption_colour") >= COLOUR_T2V
