"""Captions: templates with varied wording, and the parser that reads them back.

A caption says, for every object, its colour, its shape and its initial direction (one of 8 compass
words; for objects under gravity, left or right plus a word for falling), and may add the first wall
it bounces off, the background and the camera pan. The wording varies (shape synonyms, verbs,
direction phrasings, clause orders, joiners, prefixes) so a text encoder must generalise. Whatever
the wording, `parse_caption` recovers (colour, shape, direction, falls) per object, because:

- an object is always "<colour> <shape word>", with at most a size word before the colour;
- clauses are joined only by the separators in `_SEPARATOR`, and each clause holds one object;
- the motion direction is the first direction phrase of its clause (walls come after it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pusa.world.config import PALETTE
from pusa.world.scene import COMPASS, SceneSpec

SHAPE_WORDS = {
    "circle": ("circle", "ball", "disc", "dot", "round shape"),
    "square": ("square", "box", "block", "square shape"),
    "triangle": ("triangle", "triangular shape", "triangle shape"),
}
DIRECTION_WORDS = {
    "left": ("left", "to the left", "leftward", "towards the left"),
    "right": ("right", "to the right", "rightward", "towards the right"),
    "up": ("up", "upward", "upwards", "towards the top"),
    "down": ("down", "downward", "downwards", "towards the bottom"),
    "up-left": ("up and to the left", "to the upper left", "diagonally up and left", "up-left"),
    "up-right": ("up and to the right", "to the upper right", "diagonally up and right", "up-right"),
    "down-left": ("down and to the left", "to the lower left", "diagonally down and left", "down-left"),
    "down-right": ("down and to the right", "to the lower right", "diagonally down and right", "down-right"),
}
WALL_WORDS = {
    "left": ("the left wall", "the left edge", "the left side", "the wall"),
    "right": ("the right wall", "the right edge", "the right side", "the wall"),
    "top": ("the top wall", "the top edge", "the ceiling", "the wall"),
    "bottom": ("the bottom wall", "the bottom edge", "the floor", "the ground"),
}
VERBS = ("moves", "slides", "glides", "drifts", "travels", "floats", "heads", "is moving", "keeps moving")
VERBS_ING = ("moving", "sliding", "gliding", "drifting", "travelling", "floating", "heading")
FALLS = ("is thrown {d} and falls", "is tossed {d} and drops", "flies {d} and falls", "arcs {d}, falling under gravity")
FALLS_ING = ("thrown {d} and falling", "tossed {d}, dropping under gravity", "flying {d} and falling")
BOUNCES = ("and bounces off {w}", "and rebounds off {w}", "then bounces off {w}", "before bouncing off {w}",
           "and hits {w}, bouncing back")
BOUNCES_ING = ("and bouncing off {w}", "then rebounding off {w}", "before bouncing off {w}")
PREFIXES = ("a video of ", "an animation of ", "a clip showing ", "footage of ", "a simple scene with ")
SIZE_WORDS = {"small": ("small", "little", "tiny"), "large": ("large", "big")}
FLAT_BG = ("on a {n} background", "against a plain {n} backdrop", "over a {n} background")
TEXTURED_BG = ("over a textured background", "on a patterned {n} backdrop", "against a wavy {n} texture")
PANS = (" while the camera pans {d}", ", as the camera pans {d}", ". The camera pans {d}", "; the view scrolls {d}")

_SEPARATOR = re.compile(r"\.\s+|;\s*|,\s+and\s+|,?\s+while\s+|,\s+as\s+")


def _alternation(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(set(words), key=len, reverse=True))  # longest first


_OBJECT = re.compile(r"\b(%s)\s+(%s)\b" % (_alternation(list(PALETTE)),
                                           _alternation([w for ws in SHAPE_WORDS.values() for w in ws])))
_DIRECTION = re.compile(r"\b(%s)\b" % _alternation([w for ws in DIRECTION_WORDS.values() for w in ws]))
_FALLS = re.compile(r"\b(falls|falling|drops|dropping|gravity)\b")
_SHAPE_OF = {w: kind for kind, ws in SHAPE_WORDS.items() for w in ws}
_DIRECTION_OF = {w: d for d, ws in DIRECTION_WORDS.items() for w in ws}


@dataclass(frozen=True)
class CaptionObject:
    colour: str  # a PALETTE name
    shape: str  # circle | square | triangle
    direction: str | None  # a COMPASS key; for falling objects "left" or "right"
    falls: bool = False


def direction_of(vel: Sequence[float], falls: bool = False) -> str:
    """The caption word for a velocity (y down): the nearest of 8 compass directions, or left/right."""
    if falls:
        return "left" if vel[0] < 0 else "right"
    v = np.asarray(vel, dtype=np.float64)
    return max(COMPASS, key=lambda name: float(np.dot(COMPASS[name], v)))


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _clause(rng: np.random.Generator, obj, falls: bool, wall: str | None, size_word: str | None,
            nominal: bool, fronted: bool) -> str:
    """One object's clause, e.g. "a small red ball slides to the left and bounces off the left wall"."""
    pick = lambda options: str(options[rng.integers(len(options))])  # noqa: E731
    size = pick(SIZE_WORDS[size_word]) + " " if size_word else ""
    noun = f"{size}{obj.shape.colour} {pick(SHAPE_WORDS[obj.shape.kind])}"
    noun = f"{_article(noun)} {noun}"
    d = pick(DIRECTION_WORDS[direction_of(obj.vel, falls)])
    w = pick(WALL_WORDS[wall]) if wall else ""
    motion_ing = pick(FALLS_ING).format(d=d) if falls else f"{pick(VERBS_ING)} {d}"
    bounce_ing = " " + pick(BOUNCES_ING).format(w=w) if wall else ""
    form = 0 if nominal else int(rng.integers(1, 5))
    if form == 0:
        return f"{noun} {motion_ing}{bounce_ing}"
    if form == 1:
        return f"there is {noun} {motion_ing}{bounce_ing}"
    if form == 2:
        return f"{noun} can be seen {motion_ing}{bounce_ing}"
    if form == 3 and fronted and not falls:  # the direction comes before the object
        tail = (pick(("bounces off {w}", "rebounds off {w}", "hits {w} and bounces back")).format(w=w) if wall
                else pick(("crosses the frame", "keeps going", "goes on")))
        return f"{pick(VERBS_ING)} {d}, {noun} {tail}"
    motion = pick(FALLS).format(d=d) if falls else f"{pick(VERBS)} {d}"
    bounce = " " + pick(BOUNCES).format(w=w) if wall else ""
    return f"{noun} {motion}{bounce}"


def make_caption(scene: SceneSpec, bounces: Sequence[tuple[int, int, str]] = (), size_range=(0.09, 0.14),
                 seed: int | None = None) -> str:
    """A caption for `scene`; `bounces` (frame, object, wall) come from the rendered trajectory."""
    rng = np.random.default_rng(scene.seed if seed is None else seed)
    pick = lambda options: str(options[rng.integers(len(options))])  # noqa: E731
    first_wall = {}
    for _, k, wall in bounces:
        first_wall.setdefault(k, wall)
    lo, hi = size_range
    nominal = bool(rng.random() < 0.35)
    text = pick(PREFIXES) if nominal else ""
    for k, obj in enumerate(scene.objects):
        joiner = "" if k == 0 else pick(("; ", ", and ") if nominal else (". ", "; ", ", and ", " while "))
        s = obj.shape.size
        size_word = ("small" if s < lo + (hi - lo) / 3 else "large" if s > hi - (hi - lo) / 3 else None)
        size_word = size_word if rng.random() < 0.5 else None
        fronted = joiner in ("", ". ", "; ")  # "moving left, a red ball ..." only starts a sentence
        text += joiner + _clause(rng, obj, scene.gravity > 0, first_wall.get(k), size_word, nominal, fronted)
    if rng.random() < 0.5:
        bg = scene.background
        text += " " + pick(TEXTURED_BG if bg.kind == "textured" else FLAT_BG).format(n=bg.name)
    if any(scene.camera_vel):
        text += pick(PANS).format(d=pick(DIRECTION_WORDS[direction_of(scene.camera_vel)]))
    if rng.random() < 0.5:  # capitalise sentence starts
        text = re.sub(r"(^|\. )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)
    return text + ("." if rng.random() < 0.5 else "")


def parse_caption(text: str) -> list[CaptionObject]:
    """Read (colour, shape, direction, falls) per object back from a caption, in order of mention."""
    objects = []
    for clause in _SEPARATOR.split(text.lower()):
        found = list(_OBJECT.finditer(clause))
        if not found:
            continue  # e.g. "the camera pans left"
        direction = _DIRECTION.search(clause)  # the first one: walls are always named after it
        falls = bool(_FALLS.search(clause))
        for m in found:
            objects.append(CaptionObject(m.group(1), _SHAPE_OF[m.group(2)],
                                         _DIRECTION_OF[direction.group(1)] if direction else None, falls))
    return objects


OPPOSITE = {"left": "right", "right": "left", "up": "down", "down": "up", "up-left": "down-right",
            "down-right": "up-left", "up-right": "down-left", "down-left": "up-right"}
OPPOSITE_WALL = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
COUNTERFACTUALS = ("direction", "colour", "shape")
_WALL = re.compile(rf"\b({_alternation([w for ws in WALL_WORDS.values() for w in ws])})\b")


def _replace(text: str, span: tuple[int, int], new: str) -> str:
    """``text`` with ``span`` replaced by ``new``, keeping a capital and fixing a preceding "a"/"an"."""
    old = text[span[0]:span[1]]
    if old[:1].isupper():
        new = new[:1].upper() + new[1:]
    head = text[:span[0]]
    article = re.search(r"\b(an?) $", head, re.IGNORECASE)
    if article:
        want = "an" if new[:1].lower() in "aeiou" else "a"
        want = want.capitalize() if article.group(1)[0].isupper() else want
        head = head[:article.start(1)] + want + " "
    return head + new + text[span[1]:]


def counterfactual(text: str, attribute: str) -> str:
    """``text`` with one fact of its first object changed, the rest of the wording kept.

    ``attribute`` is "direction" (the first direction phrase becomes the opposite direction's phrase of
    the same form, "to the left" → "to the right", and every named wall the opposite wall, so a
    one-object caption stays consistent; other objects' walls flip too), "colour" (the palette colour
    half the palette away) or "shape" (the next shape's plain word). Raises ValueError where the caption
    has no such fact.
    """
    low = text.lower()  # same length as text: spans carry over
    if attribute == "direction":
        m = _DIRECTION.search(low)
        if m is None:
            raise ValueError(f"no direction in caption {text!r}")
        d = _DIRECTION_OF[m.group(1)]
        out = _replace(text, m.span(1), DIRECTION_WORDS[OPPOSITE[d]][DIRECTION_WORDS[d].index(m.group(1))])
        for w in reversed(list(_WALL.finditer(out.lower()))):  # right to left: earlier spans stay valid
            wall = next(k for k, ws in WALL_WORDS.items() if w.group(1) in ws)
            flipped = WALL_WORDS[OPPOSITE_WALL[wall]][WALL_WORDS[wall].index(w.group(1))]
            out = _replace(out, w.span(1), flipped)
        return out
    if attribute not in ("colour", "shape"):
        raise ValueError(f"attribute {attribute!r}: expected one of {', '.join(COUNTERFACTUALS)}")
    m = _OBJECT.search(low)
    if m is None:
        raise ValueError(f"no object in caption {text!r}")
    if attribute == "colour":
        names = list(PALETTE)
        return _replace(text, m.span(1), names[(names.index(m.group(1)) + len(names) // 2) % len(names)])
    kinds = list(SHAPE_WORDS)
    return _replace(text, m.span(2), SHAPE_WORDS[kinds[(kinds.index(_SHAPE_OF[m.group(2)]) + 1) % len(kinds)]][0])
