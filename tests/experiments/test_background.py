"""experiments/common.py: which frames a task generates, and the background error of generated frames."""

import numpy as np
import pytest
from common import background_error, free_frames

from pusa.mini.evaluate import heldout_clip


def test_free_frames_are_the_ones_the_task_does_not_give():
    assert free_frames("i2v", 17) == list(range(1, 17))
    assert free_frames("extend", 17) == list(range(9, 17))
    assert free_frames("complete", 17) == list(range(1, 13))
    assert free_frames("t2v", 17) == list(range(17))
    assert free_frames("start_end", 17) == list(range(1, 16))
    assert free_frames("keyframe@8", 17) == [*range(8), *range(9, 17)]


@pytest.fixture(scope="module")
def clip():
    return heldout_clip(0, "easy", 17, 64)


def test_background_error_is_zero_on_the_truth_and_the_colour_shift_when_repainted(clip):
    frames = list(range(1, 17))
    assert background_error(clip.frames, clip, frames) < 1.0  # the objects do not move the median
    repainted = clip.frames.copy()
    bg = np.median(clip.background[1].reshape(-1, 3), axis=0)
    shift = np.array([30.0, -20.0, 0.0])
    repainted[1:] = np.clip(bg + shift, 0, 255).astype(np.uint8)
    expected = np.linalg.norm(np.clip(bg + shift, 0, 255).astype(np.uint8) - bg)
    assert background_error(repainted, clip, frames) == pytest.approx(expected, abs=1.0)
    assert background_error(repainted, clip, [0]) < 1.0  # frame 0 was left as it was
