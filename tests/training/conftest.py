"""A tiny captioned video dataset, its latent cache and a tiny pipeline folder, built once per session."""

from __future__ import annotations

import csv

import numpy as np
import pytest

FRAMES, SIZE, MAX_LEN = 9, 32, 16
COLOURS = {"red": (220, 40, 40), "green": (40, 200, 60), "blue": (40, 60, 220), "yellow": (230, 210, 40)}


def moving_square(seed: int) -> tuple[np.ndarray, str]:
    """A coloured square sliding left or right over a dark background, with its caption."""
    rng = np.random.default_rng(seed)
    name = list(COLOURS)[seed % len(COLOURS)]
    direction = "left" if seed % 2 else "right"
    video = np.full((FRAMES, SIZE, SIZE, 3), 20, np.uint8)
    x, y = int(rng.integers(8, 16)), int(rng.integers(4, 20))
    for t in range(FRAMES):
        xt = x + (-t if direction == "left" else t)
        video[t, y:y + 8, max(0, xt):xt + 8] = COLOURS[name]
    return video, f"a {name} square moves {direction}"


def write_clips(folder, seeds) -> None:
    from pusa.io import write_video

    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "metadata.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "text"])
        for s in seeds:
            video, caption = moving_square(s)
            write_video(folder / f"clip{s:03d}.mp4", video, fps=16)
            writer.writerow([f"clip{s:03d}.mp4", caption])


@pytest.fixture(scope="session")
def train_setup(tmp_path_factory):
    """(model_dir, cache_dir, heldout_cache_dir) for tiny LoRA training runs."""
    from pusa.tiny import tiny_pipeline
    from pusa.training.cache_reader import Bucket
    from pusa.training.cache_writer import preprocess

    root = tmp_path_factory.mktemp("train")
    write_clips(root / "data", range(16))
    write_clips(root / "heldout", range(100, 104))
    pipe = tiny_pipeline("wan")
    pipe.save_pretrained(root / "model")
    for name in ("data", "heldout"):
        preprocess(root / name, root / f"cache-{name}", pipe, [Bucket(FRAMES, SIZE, SIZE)], max_sequence_length=MAX_LEN)
    return root / "model", root / "cache-data", root / "cache-heldout"
