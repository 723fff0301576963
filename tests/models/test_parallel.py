"""Sequence parallel on 2 CPU processes (gloo) equals the single-process transformer."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pusa.models.parallel import frame_split

CONFIG = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4,
              text_dim=12, freq_dim=32, ffn_dim=32, num_layers=2, rope_max_seq_len=32)


def _inputs():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 5, 8, 6, generator=g)  # 5 latent frames: split 3 + 2
    text = torch.randn(2, 7, 12, generator=g)
    t = torch.tensor([[0.0, 1000.0, 833.3, 200.0, 625.0], [500.0, 0.0, 10.0, 999.0, 357.1]])
    return x, t, text


def _model():
    from pusa.models import PusaTransformer3DModel

    torch.manual_seed(0)
    model = PusaTransformer3DModel(**CONFIG).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    return model


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    from pusa.models.parallel import enable_sequence_parallel

    model = _model()
    enable_sequence_parallel(model)
    x, t, text = _inputs()
    with torch.no_grad():
        per_frame = model(x, t, text).sample
        scalar = model(x, t[:, 1], text).sample
    torch.save({"per_frame": per_frame, "scalar": scalar}, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_frame_split():
    assert frame_split(21, 2) == [(0, 11), (11, 21)]
    assert frame_split(5, 3) == [(0, 2), (2, 4), (4, 5)]
    with pytest.raises(ValueError):
        frame_split(1, 2)


def test_two_processes_equal_one(tmp_path):
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    model = _model()
    x, t, text = _inputs()
    with torch.no_grad():
        ref = model(x, t, text).sample
        ref_scalar = model(x, t[:, 1], text).sample
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        assert (got["per_frame"] - ref).abs().max() <= 1e-5
        assert (got["scalar"] - ref_scalar).abs().max() <= 1e-5
