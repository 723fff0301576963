"""One world clip: frames, caption, ground truth and the scene that made them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pusa.world.captions import make_caption
from pusa.world.config import WorldConfig, preset
from pusa.world.render import Truth, background_frames, render
from pusa.world.scene import SceneSpec, sample_scene


@dataclass(frozen=True)
class Clip:
    frames: np.ndarray  # uint8 [T, H, W, 3]
    caption: str
    truth: Truth
    scene: SceneSpec
    background: np.ndarray  # float32 [T, H, W, 3], 0–255: the frames without objects
    seed: int

    @property
    def colours(self) -> tuple[str, ...]:
        """The objects' palette names, what the trackers in pusa.world.track look for."""
        return self.truth.colours


def make_clip(seed: int, num_frames: int = 17, height: int = 64, width: int = 64,
              config: WorldConfig | str = "easy") -> Clip:
    """Sample a scene from `seed`, render it and caption it. Same seed, same clip, bit for bit."""
    if num_frames < 2:
        raise ValueError(f"num_frames={num_frames}: expected ≥ 2")
    config = preset(config)
    scene = sample_scene(seed, config, aspect=width / height)
    frames, truth = render(scene, num_frames, height, width)
    caption = make_caption(scene, truth.bounces, size_range=config.size)
    return Clip(frames, caption, truth, scene, background_frames(scene, num_frames, height, width), seed)
