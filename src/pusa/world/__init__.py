"""pusa.world: a deterministic procedural video world with captions and ground truth (numpy only).

    clip = make_clip(seed=3, num_frames=17, height=64, width=64, config="full")
    clip.frames     # uint8 [T, H, W, 3]
    clip.caption    # "a red ball slides to the left and bounces off the left wall"
    clip.truth      # every frame's true centroid, velocity, size, colour and shape (px)

Modules: config (palette, WorldConfig, presets), scene (dataclasses, sampling, exact physics),
render (rasteriser, Truth), captions (templates and parser), clip (make_clip), dataset
(write_dataset), track (colour tracker), corrupt (broken videos), metrics (ground-truth metrics).
"""

from pusa.world.captions import CaptionObject, make_caption, parse_caption
from pusa.world.clip import Clip, make_clip
from pusa.world.config import PALETTE, PRESETS, SHAPES, WorldConfig, preset
from pusa.world.dataset import write_dataset
from pusa.world.render import Truth, background_frames, draw, render
from pusa.world.scene import (
    Background,
    ObjectState,
    SceneSpec,
    Shape,
    Trajectory,
    sample_scene,
    simulate,
    simulate_from,
)
from pusa.world.track import Tracks, track

__all__ = [
    "PALETTE", "PRESETS", "SHAPES", "Background", "CaptionObject", "Clip", "ObjectState", "SceneSpec", "Shape",
    "Tracks", "Trajectory", "Truth", "WorldConfig", "background_frames", "draw", "make_caption", "make_clip",
    "parse_caption", "preset", "render", "sample_scene", "simulate", "simulate_from", "track", "write_dataset",
]
