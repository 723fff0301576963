"""Writing a world dataset in the reference layout: clip_00000.mp4 … plus metadata.csv (file_name,text).

`world.jsonl` beside them records each file's clip seed and geometry, so `make_clip` can rebuild any
clip's ground truth without reading the video back.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from pusa.io import atomic_path, write_video
from pusa.world.clip import make_clip
from pusa.world.config import WorldConfig, preset


def clip_seed(seed: int, index: int) -> int:
    """Clip i of a dataset seeded `seed`: independent streams per (seed, i), no overlap between datasets."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def write_dataset(folder: str | os.PathLike, n: int, seed: int = 0, config: WorldConfig | str = "easy",
                  num_frames: int = 17, height: int = 64, width: int = 64, fps: float = 16.0,
                  overwrite: bool = False) -> Path:
    """Write n clips to `folder`; returns the path of metadata.csv."""
    if n < 1:
        raise ValueError(f"n={n}: expected ≥ 1 clip")
    config = preset(config)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows, records = [], []
    for i in range(n):
        s = clip_seed(seed, i)
        clip = make_clip(s, num_frames, height, width, config)
        name = f"clip_{i:05d}.mp4"
        write_video(folder / name, clip.frames, fps=fps, overwrite=overwrite)
        rows.append((name, clip.caption))
        records.append({"file_name": name, "seed": s, "num_frames": num_frames, "height": height,
                        "width": width, "config": dataclasses.asdict(config), "text": clip.caption})
    with atomic_path(folder / "world.jsonl", overwrite) as tmp:
        tmp.write_text("".join(json.dumps(r) + "\n" for r in records))
    with atomic_path(folder / "metadata.csv", overwrite) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file_name", "text"))
        writer.writerows(rows)
    return folder / "metadata.csv"
