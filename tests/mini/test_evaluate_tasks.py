"""pusa.mini.evaluate's task table: layouts of every task, and the ground truth scoring perfectly on its own clip."""

import numpy as np
import pytest

from pusa.frames import latent_slots
from pusa.mini.evaluate import (
    TASKS,
    generated_frames,
    heldout_clip,
    keyframe_at,
    partner_clip,
    score,
    task_conditions,
    task_prompt,
)


@pytest.fixture(scope="module")
def clip():
    return heldout_clip(0)


@pytest.mark.parametrize("task, starts, frames", [
    ("t2v", [], []), ("i2v", [0], [1]), ("start_end", [0, 16], [1, 1]), ("extend", [0], [9]),
    ("keyframe@0", [0], [1]), ("keyframe@8", [8], [1]), ("complete", [0, 13], [1, 4]), ("transition", [0, 13], [5, 4]),
])
def test_task_layouts(clip, task, starts, frames):
    conds = task_conditions(task, clip, noise=0.2)
    assert [c.start for c in conds] == starts and [c.num_frames for c in conds] == frames
    assert all(c.noise == pytest.approx(0.2) for c in conds)


def test_every_listed_task_has_conditions_and_a_score(clip):
    for task in TASKS:
        task_conditions(task, clip)
        assert score(task, clip.frames, clip)


def test_keyframe_task_names_are_checked(clip):
    assert keyframe_at("keyframe@12") == 12 and keyframe_at("i2v") is None
    with pytest.raises(ValueError, match="keyframe@K"):
        task_conditions("keyframe@x", clip)
    with pytest.raises(ValueError, match="outside"):
        task_conditions("keyframe@17", clip)
    with pytest.raises(ValueError, match="unknown task"):
        task_conditions("inpaint", clip)


def test_transition_goes_from_clip_a_to_its_partner(clip):
    b = partner_clip(clip)
    assert b.seed != clip.seed and b.frames.shape == clip.frames.shape
    assert partner_clip(clip).seed == b.seed  # deterministic
    tail, head = task_conditions("transition", clip)
    assert np.array_equal((tail.frames.numpy() * 255).round(), clip.frames[12:].astype(np.float32))
    assert np.array_equal((head.frames.numpy() * 255).round(), b.frames[:4].astype(np.float32))
    assert task_prompt("transition", clip) == b.caption and task_prompt("i2v", clip) == clip.caption
    # each end's given frames, as a latent layout: A's tail in latents 0–1, B's head in the last latent
    assert list(latent_slots(tail.start, tail.num_frames, 4)) == [0, 1]
    assert list(latent_slots(head.start, head.num_frames, 4)) == [4]


def test_the_true_clip_scores_perfectly_on_keyframes_and_completion(clip):
    kf = score("keyframe@8", clip.frames, clip)
    assert kf["psnr_key"] == 100.0 and kf["key_px"] == 0.0 and kf["neighbour_px"] == 0.0
    assert kf["trajectory_px"] < 0.5
    done = score("complete", clip.frames, clip)
    assert done["psnr_given"] == 100.0 and done["middle_px"] == 0.0 and done["subject_consistency"] > 0.9


@pytest.mark.parametrize("task", TASKS)
def test_generated_frames_are_the_ones_the_task_does_not_give(clip, task):
    """The frames a task scores as generated are exactly those no condition covers (a keyframe task gives one)."""
    given = {p for c in task_conditions(task, clip) for p in range(c.start, c.start + c.num_frames)}
    assert generated_frames(task, 17) == [t for t in range(17) if t not in given]


def test_background_err_is_zero_on_the_truth_and_absent_where_it_cannot_apply(clip):
    for task in ("i2v", "start_end", "extend", "keyframe@8", "complete"):
        assert score(task, clip.frames, clip)["background_err"] < 1.0
    assert "background_err" not in score("t2v", clip.frames, clip)
    assert "background_err" not in score("transition", clip.frames, clip)
    dimmed = (clip.frames * 0.5).astype(np.uint8)
    assert score("i2v", dimmed, clip)["background_err"] > 5.0
