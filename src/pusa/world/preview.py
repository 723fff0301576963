"""A captioned contact sheet of world clips: one row per clip, every `step`-th frame.

    python -c "from pusa.world.preview import write_examples; write_examples('docs/world_examples.png', overwrite=True)"
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pusa.io import atomic_path, contact_sheet_array
from pusa.world.clip import make_clip


def write_examples(path: str | os.PathLike, seeds: Sequence[int] = (0, 1, 2, 3, 5, 17, 19),
                   configs: Sequence[str] = ("easy", "easy", "medium", "full", "full", "full", "full"),
                   num_frames: int = 17, size: int = 64, step: int = 2, zoom: int = 2,
                   overwrite: bool = False) -> Path:
    """Render clips (seed i with configs[i]) and save one PNG with each caption above its row."""
    from PIL import Image, ImageDraw

    rows = []
    for seed, config in zip(seeds, configs):
        clip = make_clip(seed, num_frames, size, size, config)
        frames = clip.frames[::step].repeat(zoom, axis=1).repeat(zoom, axis=2)
        strip = contact_sheet_array(frames, columns=len(frames))
        lines = textwrap.wrap(f"seed {seed} · {config}: {clip.caption}", width=strip.shape[1] // 6)
        label = Image.new("RGB", (strip.shape[1], 12 * len(lines) + 6), (32, 32, 32))
        ImageDraw.Draw(label).multiline_text((4, 3), "\n".join(lines), fill=(235, 235, 235), spacing=2)
        rows += [np.asarray(label), strip]
    with atomic_path(path, overwrite) as tmp:
        Image.fromarray(np.concatenate(rows)).save(tmp, format="PNG")
    return Path(path)
