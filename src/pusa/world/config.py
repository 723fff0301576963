"""World configuration: the palette, the shapes, and the knobs of the scene sampler.

Units. The world is the view rectangle [0, aspect] × [0, 1] (x right, y down); one world unit is the
frame height. Speeds are world units per frame, gravity is world units per frame². At 64 px high,
a speed of 0.03 is about 1.9 px per frame.

    python -c "from pusa.world import preset; print(preset('full'))"
"""

from __future__ import annotations

from dataclasses import dataclass, replace

SHAPES = ("circle", "square", "triangle")

# Saturated or bright colours (0–255). Backgrounds stay dark (≤ ~100 per channel), so every object
# colour is far from every background colour; that is what makes the trackers in pusa.world.track easy.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 200, 60),
    "blue": (50, 90, 240),
    "yellow": (240, 220, 40),
    "white": (245, 245, 245),
    "purple": (160, 60, 220),
    "orange": (250, 140, 30),
    "cyan": (40, 220, 230),
}

# Flat background colours (dark), with the words a caption may use for them.
BACKGROUNDS: dict[str, tuple[int, int, int]] = {
    "black": (14, 14, 16),
    "dark grey": (40, 40, 44),
    "navy": (16, 22, 52),
    "dark brown": (46, 30, 20),
    "dark green": (18, 40, 26),
    "charcoal": (30, 32, 36),
}

# Size of each shape relative to the object's `size` s (world units), chosen so the three have
# similar visual weight: circle radius s, square half-side 0.9 s, triangle circumradius 1.3 s.
SHAPE_SCALE = {"circle": 1.0, "square": 0.9, "triangle": 1.3}


@dataclass(frozen=True)
class WorldConfig:
    """What `sample_scene` may draw. Defaults are the "easy" preset: one object, flat background."""

    min_objects: int = 1
    max_objects: int = 1
    shapes: tuple[str, ...] = SHAPES
    colours: tuple[str, ...] = tuple(PALETTE)
    speed: tuple[float, float] = (0.025, 0.05)  # world units / frame
    size: tuple[float, float] = (0.09, 0.14)  # object size s, world units
    p_gravity: float = 0.0  # probability that a scene has gravity (such scenes hold at most 2 objects)
    gravity: float = 0.004  # world units / frame², downwards
    p_textured: float = 0.0  # probability of a textured (not flat) background
    p_pan: float = 0.0  # probability of a camera pan (the background scrolls)
    pan_speed: tuple[float, float] = (0.008, 0.02)
    free_frames: int = 4  # no wall is hit during the first frames, so the caption's direction is visible
    apart_frames: int = 17  # objects do not overlap during the first frames (best of 200 draws), so trackers see them

    def __post_init__(self) -> None:
        if not 1 <= self.min_objects <= self.max_objects <= 3:
            raise ValueError(f"need 1 ≤ min_objects ≤ max_objects ≤ 3, got {self.min_objects}, {self.max_objects}")
        bad = [s for s in self.shapes if s not in SHAPES]
        if bad or not self.shapes:
            raise ValueError(f"shapes={self.shapes!r}: expected a non-empty subset of {SHAPES}")
        bad = [c for c in self.colours if c not in PALETTE]
        if bad or len(self.colours) < self.max_objects:
            raise ValueError(f"colours={self.colours!r}: expected ≥ max_objects names from {tuple(PALETTE)}")
        for name in ("p_gravity", "p_textured", "p_pan"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}={getattr(self, name)}: expected a probability in [0, 1]")
        for name in ("speed", "size", "pan_speed"):
            lo, hi = getattr(self, name)
            if not 0.0 < lo <= hi:
                raise ValueError(f"{name}={(lo, hi)}: expected 0 < low ≤ high")
        if self.size[1] > 0.3:
            raise ValueError(f"size={self.size}: objects larger than 0.3 (of the frame height) do not fit")


PRESETS = {
    "easy": WorldConfig(),
    "medium": WorldConfig(max_objects=2, p_textured=0.3),
    "full": WorldConfig(max_objects=3, p_gravity=0.3, p_textured=0.5, p_pan=0.3),
}


def preset(name: str | WorldConfig, **overrides) -> WorldConfig:
    """A named preset ("easy", "medium", "full"), optionally with fields replaced."""
    if isinstance(name, WorldConfig):
        config = name
    elif name in PRESETS:
        config = PRESETS[name]
    else:
        raise ValueError(f"unknown world preset {name!r}; expected one of {sorted(PRESETS)} or a WorldConfig")
    return replace(config, **overrides) if overrides else config
