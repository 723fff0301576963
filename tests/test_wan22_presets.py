"""Wan2.2-A14B's two experts with per-frame timesteps, and the sampling presets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pusa import conditions as C
from pusa.pipeline import PRESETS
from pusa.sampling import expert_index, step_sigma
from pusa.tiny import tiny_pipeline, tiny_transformer

KW = dict(num_frames=17, height=32, width=32, max_sequence_length=16, guidance_scale=1.0)


def _two_expert_pipe(boundary_ratio=0.875):
    pipe = tiny_pipeline("wan")
    pipe.register_modules(transformer_2=tiny_transformer(4, seed=1))
    pipe.register_to_config(boundary_ratio=boundary_ratio)
    return pipe


def _spy(pipe):
    calls = []
    for name in ("transformer", "transformer_2"):
        module = getattr(pipe, name)
        original = module.forward

        def spy(x, t, *a, _name=name, _original=original, **k):
            calls.append((_name, float(t.max())))
            return _original(x, t, *a, **k)

        module.forward = spy
    return calls


def test_step_sigma_ignores_clean_frames_and_recovers_v2v():
    m = torch.tensor([0.0, 1.0, 1.0, 0.5])
    assert step_sigma(torch.tensor([0.0, 0.9, 0.9, 0.45]), m) == pytest.approx(0.9)
    all_cond = torch.tensor([0.5, 0.5])
    assert step_sigma(torch.tensor([0.45, 0.45]), all_cond) == pytest.approx(0.9)
    assert expert_index(torch.tensor([0.0, 0.9]), torch.tensor([0.0, 1.0]), 875.0) == 0
    assert expert_index(torch.tensor([0.0, 0.8]), torch.tensor([0.0, 1.0]), 875.0) == 1


def test_experts_switch_at_the_boundary_with_a_clean_condition():
    pipe = _two_expert_pipe()
    calls = _spy(pipe)
    img = np.full((32, 32, 3), 128, np.uint8)
    pipe("a ball", conditions=C.i2v(img), num_inference_steps=10, generator=torch.Generator().manual_seed(0), **KW)
    # N = 10, shift 5: t = 1000, 978.3, 952.4, 921.1, 882.4 (≥ 875: high-noise), then 833.3 … (low-noise)
    assert [c[0] for c in calls] == ["transformer"] * 5 + ["transformer_2"] * 5


def test_v2v_switches_by_the_base_schedule():
    pipe = _two_expert_pipe()
    calls = _spy(pipe)
    video = np.full((17, 32, 32, 3), 100, np.uint8)
    pipe("a ball", conditions=C.v2v(video, noise=0.5), num_inference_steps=10,
         generator=torch.Generator().manual_seed(0), **KW)
    assert [c[0] for c in calls] == ["transformer"] * 5 + ["transformer_2"] * 5
    assert max(c[1] for c in calls) <= 500.0  # the model itself was told m·t


def test_presets():
    assert PRESETS["fast"] == {"num_inference_steps": 4, "guidance_scale": 1.0, "shift": 5.0}
    pipe = tiny_pipeline("wan")
    seen = []
    pipe("a ball", num_frames=9, height=32, width=32, max_sequence_length=16, **PRESETS["fast"],
         callback=lambda d: seen.append(round(float(d["sigma"][0]) * 1000, 1)), generator=torch.Generator().manual_seed(0))
    assert seen == [1000.0, 937.5, 833.3, 625.0]


def test_second_expert_gets_its_own_lora():
    from pusa.models.lora import ExpertView, fuse_loras, load_loras

    pipe = _two_expert_pipe()
    g = torch.Generator().manual_seed(0)
    dim = 16
    sd = {"blocks.0.self_attn.q.lora_A.default.weight": torch.randn(2, dim, generator=g),
          "blocks.0.self_attn.q.lora_B.default.weight": torch.randn(dim, 2, generator=g)}
    w1 = pipe.transformer.blocks[0].attn1.to_q.weight.detach().clone()
    w2 = pipe.transformer_2.blocks[0].attn1.to_q.weight.detach().clone()
    view = ExpertView(pipe)
    load_loras(view, [sd], [1.4], names=["low_noise"])
    fuse_loras(view)
    expected = w2 + 1.4 * sd["blocks.0.self_attn.q.lora_B.default.weight"] @ sd["blocks.0.self_attn.q.lora_A.default.weight"]
    assert torch.allclose(pipe.transformer_2.blocks[0].attn1.to_q.weight, expected, atol=1e-6)
    assert torch.equal(pipe.transformer.blocks[0].attn1.to_q.weight, w1)
    with pytest.raises(ValueError, match="two-expert"):
        ExpertView(tiny_pipeline("wan"))
