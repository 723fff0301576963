"""experiments/direction_synthetic.py: its world moves the blob as the caption says."""

import importlib

import torch


def test_the_blob_moves_one_cell_per_latent_frame_the_way_the_caption_says():
    mod = importlib.import_module("direction_synthetic")
    pattern = torch.ones(mod.CHANNELS)
    x, captions = mod.synthetic_batch(64, pattern, torch.Generator().manual_seed(0))
    assert x.shape == (64, mod.CHANNELS, mod.FRAMES, mod.GRID, mod.GRID)
    for clip, caption in zip(x, captions):
        dy, dx = mod.DIRECTIONS[caption.rsplit(" ", 1)[1]]
        cells = [torch.nonzero(clip[0, f]).float().mean(0) for f in range(mod.FRAMES)]
        assert all(int(clip[0, f].sum()) == mod.BLOB ** 2 for f in range(mod.FRAMES))  # whole blob, inside
        for f in range(1, mod.FRAMES):
            assert torch.equal(cells[f] - cells[f - 1], torch.tensor([float(dy), float(dx)]))
    assert {c.rsplit(" ", 1)[1] for c in captions} == set(mod.DIRECTIONS)


def test_a_reversed_caption_names_the_opposite_direction():
    mod = importlib.import_module("direction_synthetic")
    assert mod.reversed_caption("a red ball moves up-left") == "a red ball moves down-right"
    assert all(mod.reversed_caption(mod.reversed_caption(f"x {d}")) == f"x {d}" for d in mod.DIRECTIONS)
