"""Pusa-mini's streaming pretraining: the world stream, the schedule, and a resumable tiny run."""

import math
from dataclasses import asdict

import numpy as np
import pytest
import torch

from pusa.mini import MiniConfig
from pusa.mini.pretrain import PretrainConfig, WorldStream, lr_at, pretrain

TINY = MiniConfig(dim_head=8, heads=2, layers=1, patch=(1, 2, 2), max_sequence_length=16)


def test_stream_is_deterministic_and_workers_keep_batch_order():
    stream = WorldStream(seed=3, batch_size=2, num_frames=5, height=32, width=32)
    it = iter(stream)
    first = [next(it) for _ in range(3)]
    assert first[1][1] == [stream.clip(2).caption, stream.clip(3).caption]
    again = next(iter(WorldStream(seed=3, batch_size=2, num_frames=5, height=32, width=32, start_batch=2)))
    assert torch.equal(first[2][0], again[0]) and first[2][1] == again[1]  # start_batch=2 resumes at batch 2
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=2)
    batches = [b for _, b in zip(range(3), loader)]
    for (f, c), (g, d) in zip(batches, first):
        assert torch.equal(f, g) and c == d
    assert batches[0][0].dtype == torch.uint8 and batches[0][0].shape == (2, 5, 32, 32, 3)


def test_stream_mixes_presets_by_weight():
    stream = WorldStream(seed=0, mixture=(("easy", 0.5), ("full", 0.5)), num_frames=3, height=32, width=32)
    counts = [len(stream.clip(i).scene.objects) for i in range(200)]
    assert 0.25 < np.mean([c > 1 for c in counts]) < 0.6  # "full" scenes hold 1-3 objects, "easy" one


def test_lr_warms_up_then_decays_to_the_floor():
    cfg = PretrainConfig(out="x", lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)
    assert lr_at(0, cfg, 100) == pytest.approx(1e-4)
    assert lr_at(9, cfg, 100) == pytest.approx(1e-3)
    assert lr_at(55, cfg, 100) == pytest.approx(1e-3 * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5))))
    assert lr_at(100, cfg, 100) == pytest.approx(1e-4)


def test_lr_decay_steps_give_warmup_stable_decay():
    cfg = PretrainConfig(out="x", lr=1e-3, warmup_steps=10, min_lr_ratio=1.0, decay_steps=40)
    assert lr_at(30, cfg, 100) == pytest.approx(1e-3)  # stable
    assert lr_at(59, cfg, 100) == pytest.approx(1e-3)  # the step before the decay
    assert lr_at(60, cfg, 100) == pytest.approx(1e-3)  # the decay's first step, (100 - 60) / 40 of the rate
    assert lr_at(80, cfg, 100) == pytest.approx(0.5e-3)
    assert lr_at(99, cfg, 100) == pytest.approx(1e-3 / 40)
    assert lr_at(100, cfg, 100) == 0.0
    # without decay_steps the constant rate runs to the end
    assert lr_at(99, PretrainConfig(out="x", lr=1e-3, warmup_steps=10, min_lr_ratio=1.0), 100) == pytest.approx(1e-3)


def test_tiny_pretraining_learns_resumes_and_exports(tmp_path):
    from pusa.models import PusaTransformer3DModel

    cfg = dict(out=str(tmp_path / "run"), batch_size=2, workers=0, warmup_steps=2, checkpoint_every=3, log_every=1,
               model=asdict(TINY), caption_dropout=0.5)
    pretrain(PretrainConfig(**cfg, max_steps=3), progress=lambda m: None)
    lines = (tmp_path / "run" / "loss.csv").read_text().splitlines()
    assert len(lines) == 1 + 3
    folder = pretrain(PretrainConfig(**cfg, max_steps=5), progress=lambda m: None)  # resumes from step 3
    steps = [int(line.split(",")[0]) for line in (tmp_path / "run" / "loss.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5]
    model = PusaTransformer3DModel.from_pretrained(str(folder))
    assert model.config.prediction_type == "x0-skip" and tuple(model.config.patch_size) == (1, 2, 2)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert model.proj_out.weight.abs().sum() > 0  # trained away from the zero init
