"""Memory options keep the VTA output unchanged (group offload exercised on CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pusa import conditions as C
from pusa.memory import apply_memory_options
from pusa.tiny import tiny_pipeline

KW = dict(num_frames=9, height=32, width=32, num_inference_steps=2, max_sequence_length=16, output_type="latent")


def test_group_offload_matches_plain():
    img = np.full((32, 32, 3), 90, np.uint8)
    plain = tiny_pipeline("wan")("a ball", conditions=C.i2v(img), generator=torch.Generator().manual_seed(0), **KW)
    pipe = apply_memory_options(tiny_pipeline("wan"), "cpu", offload="group", vae_tiling=True)
    out = pipe("a ball", conditions=C.i2v(img), generator=torch.Generator().manual_seed(0), **KW)
    assert torch.allclose(out.frames, plain.frames, atol=1e-6)


def test_model_offload_needs_cuda_and_bad_values():
    with pytest.raises(ValueError, match="needs a CUDA device"):
        apply_memory_options(tiny_pipeline("wan"), "cpu", offload="model")
    with pytest.raises(ValueError, match="use none, model or group"):
        apply_memory_options(tiny_pipeline("wan"), "cpu", offload="all")
    with pytest.raises(ValueError, match="no tiling"):
        apply_memory_options(tiny_pipeline("packing"), "cpu", vae_tiling=True)
