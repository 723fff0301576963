"""pusa.world captions: they say the true colour, shape and direction, in varied words, and parse back."""

from __future__ import annotations

import re

import numpy as np

from pusa.world import make_clip, parse_caption
from pusa.world.captions import direction_of

WALL_PHRASE = re.compile(r"the (left|right|top|bottom) (wall|edge|side)")


def test_captions_parse_back_to_the_truth():
    for seed in range(300):
        clip = make_clip(seed, num_frames=17, height=32, width=32, config="full" if seed % 2 else "easy")
        falls = clip.scene.gravity > 0
        want = [(o.shape.colour, o.shape.kind, direction_of(o.vel, falls), falls) for o in clip.scene.objects]
        got = [(o.colour, o.shape, o.direction, o.falls) for o in parse_caption(clip.caption)]
        assert got == want, clip.caption


def test_caption_words_match_the_motion():
    """Checked without the parser: colour word present, and left/right/up/down words agree with the velocity."""
    for seed in range(100):
        clip = make_clip(seed, num_frames=17, height=32, width=32)
        text = WALL_PHRASE.sub("", clip.caption.lower())
        obj = clip.scene.objects[0]
        assert obj.shape.colour in text
        vx, vy = np.asarray(obj.vel) / np.linalg.norm(obj.vel)
        horizontal = "left" if vx < -0.4 else "right" if vx > 0.4 else None
        vertical = re.compile(r"\b(up|upward|upwards|top|upper|up-left|up-right)\b") if vy < -0.4 else (
            re.compile(r"\b(down|downward|downwards|bottom|lower|down-left|down-right)\b") if vy > 0.4 else None)
        if horizontal:
            assert horizontal in text and {"left": "right", "right": "left"}[horizontal] not in text, clip.caption
        if vertical:
            assert vertical.search(text), clip.caption


def test_captions_mention_bounces_only_when_they_happen():
    for seed in range(60):
        clip = make_clip(seed, num_frames=17, height=32, width=32)
        mentions = bool(re.search(r"bounc|rebound", clip.caption))
        assert mentions == bool(clip.truth.bounces), clip.caption


def test_captions_vary():
    captions = [make_clip(s, num_frames=9, height=32, width=32).caption for s in range(200)]
    assert len(set(captions)) >= 190
    # wording, not just content: mask the colour, shape and direction words and count what is left
    masked = {re.sub(r"\b(red|green|blue|yellow|white|purple|orange|cyan|circle|ball|disc|dot|square|box|block|"
                     r"triangle|left|right|up|down|upward|downward|leftward|rightward)\b", "_", c.lower())
              for c in captions}
    assert len(masked) >= 60


def test_parse_handwritten_captions():
    cases = {
        "A red circle moves left and bounces off the right wall.": [("red", "circle", "left")],
        "moving up, a small blue box crosses the frame": [("blue", "square", "up")],
        "a video of a green triangle drifting down and to the right; a white ball heading towards the top":
            [("green", "triangle", "down-right"), ("white", "circle", "up")],
        "There is an orange dot gliding to the upper left while the camera pans right":
            [("orange", "circle", "up-left")],
    }
    for text, want in cases.items():
        assert [(o.colour, o.shape, o.direction) for o in parse_caption(text)] == want, text
    assert parse_caption("the camera pans left over a dark background") == []


def test_counterfactual_captions_change_one_fact_of_the_first_object():
    from pusa.world.captions import OPPOSITE, counterfactual

    for seed in range(200):
        clip = make_clip(seed, num_frames=17, height=32, width=32, config="full" if seed % 2 else "easy")
        truth = parse_caption(clip.caption)
        direction, colour, shape = (parse_caption(counterfactual(clip.caption, a)) for a in ("direction", "colour",
                                                                                             "shape"))
        t = truth[0]
        assert (direction[0].direction, direction[0].colour, direction[0].shape) == (OPPOSITE[t.direction], t.colour,
                                                                                     t.shape), clip.caption
        assert colour[0].colour != t.colour and (colour[0].shape, colour[0].direction) == (t.shape, t.direction)
        assert shape[0].shape != t.shape and (shape[0].colour, shape[0].direction) == (t.colour, t.direction)
        assert direction[1:] == truth[1:] and colour[1:] == truth[1:] and shape[1:] == truth[1:]
        assert not re.search(r"\ban [^aeiou]|\ba [aeiou]", counterfactual(clip.caption, "colour").lower())
        walls = WALL_PHRASE.findall(clip.caption.lower())
        flipped = WALL_PHRASE.findall(counterfactual(clip.caption, "direction").lower())
        flip = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
        assert [(flip[w], k) for w, k in walls] == flipped, clip.caption


def test_counterfactual_keeps_capitals_and_refuses_what_it_cannot_change():
    import pytest

    from pusa.world.captions import counterfactual

    assert counterfactual("A red circle moves left.", "colour") == "A white circle moves left."
    assert counterfactual("Left, a red circle drifts", "direction") == "Right, a red circle drifts"
    assert counterfactual("a red box moves up and bounces off the ceiling", "direction") == \
        "a red box moves down and bounces off the floor"
    with pytest.raises(ValueError, match="no direction"):
        counterfactual("a red circle", "direction")
    with pytest.raises(ValueError, match="no object"):
        counterfactual("nothing here", "colour")
    with pytest.raises(ValueError, match="expected one of"):
        counterfactual("a red circle moves left", "size")
