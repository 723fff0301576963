"""LoRA loading with the reference's strength semantics: W ← W + α·(B·A), no α/r factor."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file

from pusa.models.lora import detect_layout, diffsynth_to_original, load_loras
from pusa.tiny import tiny_pipeline

RANK = 4


def _diffsynth_lora(transformer, seed=0, default=True):
    """A random LoRA in the reference DiffSynth layout for every target of every block."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    dim, ffn = transformer.config.num_attention_heads * transformer.config.attention_head_dim, transformer.config.ffn_dim
    mid = ".default" if default else ""
    for i in range(transformer.config.num_layers):
        targets = {f"{a}.{p}": (dim, dim) for a in ("self_attn", "cross_attn") for p in "qkvo"}
        targets.update({"ffn.0": (dim, ffn), "ffn.2": (ffn, dim)})
        for name, (d_in, d_out) in targets.items():
            sd[f"blocks.{i}.{name}.lora_A{mid}.weight"] = torch.randn(RANK, d_in, generator=g) * 0.1
            sd[f"blocks.{i}.{name}.lora_B{mid}.weight"] = torch.randn(d_out, RANK, generator=g) * 0.1
    return sd


def test_detects_layouts():
    pipe = tiny_pipeline("wan")
    sd = _diffsynth_lora(pipe.transformer)
    assert detect_layout(sd) == "diffsynth"
    assert detect_layout(_diffsynth_lora(pipe.transformer, default=False)) == "diffsynth"
    assert detect_layout({f"diffusion_model.{k}": v for k, v in sd.items()}) == "diffsynth"
    assert detect_layout({"diffusion_model.blocks.0.self_attn.q.lora_down.weight": torch.zeros(1)}) == "comfy"
    assert detect_layout({"lora_unet_blocks_0_self_attn_q.lora_down.weight": torch.zeros(1)}) == "musubi"
    assert detect_layout({"transformer.blocks.0.attn1.to_q.lora_A.weight": torch.zeros(1)}) == "diffusers"
    assert set(diffsynth_to_original(sd)) == {"diffusion_model." + k.replace(".default", "") for k in sd}


@pytest.mark.parametrize("alpha", [1.0, 1.4])
def test_merge_equals_w_plus_alpha_ba(tmp_path, alpha):
    pipe = tiny_pipeline("wan")
    sd = _diffsynth_lora(pipe.transformer)
    save_file(sd, tmp_path / "pusa_lora.safetensors")
    w0 = pipe.transformer.blocks[1].attn2.to_v.weight.detach().clone()
    w0_ffn = pipe.transformer.blocks[0].ffn.net[0].proj.weight.detach().clone()
    load_loras(pipe, [tmp_path / "pusa_lora.safetensors"], [alpha])
    pipe.fuse_lora(components=["transformer"])
    a, b = sd["blocks.1.cross_attn.v.lora_A.default.weight"], sd["blocks.1.cross_attn.v.lora_B.default.weight"]
    expected = w0 + alpha * (b @ a)
    assert torch.allclose(pipe.transformer.blocks[1].attn2.to_v.weight, expected, atol=1e-6)
    a, b = sd["blocks.0.ffn.0.lora_A.default.weight"], sd["blocks.0.ffn.0.lora_B.default.weight"]
    assert torch.allclose(pipe.transformer.blocks[0].ffn.net[0].proj.weight, w0_ffn + alpha * (b @ a), atol=1e-6)


def test_lora_changes_output_and_strength_does_not_accumulate(tmp_path):
    pipe = tiny_pipeline("wan")
    save_file(_diffsynth_lora(pipe.transformer), tmp_path / "l.safetensors")
    kw = dict(num_frames=9, height=32, width=32, num_inference_steps=2, max_sequence_length=16, output_type="latent")
    base = pipe("a ball", generator=torch.Generator().manual_seed(0), **kw).frames
    names = load_loras(pipe, [tmp_path / "l.safetensors"], [1.4])
    with_lora = pipe("a ball", generator=torch.Generator().manual_seed(0), **kw).frames
    assert (with_lora - base).abs().max() > 1e-4
    for weight in (0.5, 2.0, 1.4):  # change strength back and forth: no accumulated deltas
        pipe.set_adapters(names, adapter_weights=[weight])
    again = pipe("a ball", generator=torch.Generator().manual_seed(0), **kw).frames
    assert torch.allclose(again, with_lora, atol=1e-6)
    pipe.set_adapters(names, adapter_weights=[0.0])
    off = pipe("a ball", generator=torch.Generator().manual_seed(0), **kw).frames
    assert torch.allclose(off, base, atol=1e-6)


def test_rejects_pickles_and_missing_files(tmp_path):
    pipe = tiny_pipeline("wan")
    with pytest.raises(FileNotFoundError):
        load_loras(pipe, [tmp_path / "nope.safetensors"], [1.0])
    (tmp_path / "x.pt").write_bytes(b"\x80\x04")
    with pytest.raises(ValueError, match="safetensors"):
        load_loras(pipe, [tmp_path / "x.pt"], [1.0])
