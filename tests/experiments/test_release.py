"""experiments/release.py's paired comparison and its scoring of true clips (no model)."""

import importlib

import pytest


def test_paired_differences_are_per_clip_and_need_the_same_clips():
    release = importlib.import_module("release")
    rows = {"t2v": [{"caption_direction": 1.0}, {"caption_direction": 1.0}, {"caption_direction": 0.0}],
            "extend": [{"centroid_px": 3.0}, {"centroid_px": 5.0}, {"centroid_px": 4.0}]}
    reference = {"t2v": [{"caption_direction": 0.0}, {"caption_direction": 1.0}, {"caption_direction": 0.0}]}
    table = release.paired(rows, reference)
    assert set(table) == {"t2v − reference"}  # only tasks both runs have
    diff = table["t2v − reference"]["caption_direction"]
    assert diff.mean == pytest.approx(1 / 3) and diff.n == 3
    with pytest.raises(SystemExit, match="same --n"):
        release.paired(rows, {"t2v": reference["t2v"][:2]})


def test_a_true_clip_meets_the_image_to_video_bars():
    from pusa.mini.evaluate import heldout_clip

    release = importlib.import_module("release")
    clip = heldout_clip(0)
    row = release.score("i2v", clip.frames.copy(), clip)
    assert row["within_45"] == 1.0 and row["centroid_px"] < 0.5 and row["shape_ok"] == 1.0
    assert release.score("t2v", clip.frames.copy(), clip)["caption_colour"] == 1.0
