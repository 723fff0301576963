"""experiments/long_video.py's scoring, on true world clips (no model)."""

import importlib

import numpy as np


def _clip_and_video():
    from pusa.mini.evaluate import heldout_clip

    clip = heldout_clip(0, "easy", 33, 64)
    return clip, clip.frames.copy()


def test_a_true_clip_keeps_its_colour_and_is_tracked():
    long_video = importlib.import_module("long_video")
    clip, video = _clip_and_video()
    row = long_video.score(video, clip, join_frames=[17])
    assert row["tracked"] == 1.0
    assert row["colour_drift_err"] < 5 and row["colour_window0_err"] < 5
    assert row["background_drift_err"] < 1


def test_a_colour_change_late_in_the_video_is_drift_not_a_first_window_error():
    long_video = importlib.import_module("long_video")
    clip, video = _clip_and_video()
    bg = np.asarray(clip.background[0], np.int16)
    late = video[-4:].astype(np.int16)
    obj = np.abs(late - bg).sum(-1) > 60  # the object's pixels
    late[obj] = np.clip(late[obj] - 40, 0, 255)  # darken it by 40 per channel
    video[-4:] = late.astype(np.uint8)
    row = long_video.score(video, clip, join_frames=[17])
    assert row["colour_window0_err"] < 5
    assert row["colour_drift_err"] > 30
