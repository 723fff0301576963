"""PusaTransformer3DModel against diffusers' WanTransformer3DModel on shared weights (fp32)."""

from __future__ import annotations

import pytest
import torch
from diffusers import WanTransformer3DModel

from pusa.models import PusaTransformer3DModel

CONFIG = dict(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=8, in_channels=4, out_channels=4,
              text_dim=12, freq_dim=32, ffn_dim=32, num_layers=2, rope_max_seq_len=32)
B, C, F, H, W = 2, 4, 5, 8, 6  # latent video; tokens L = F · (H/2) · (W/2) = 60


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    base = WanTransformer3DModel(**CONFIG).eval()
    # Random modulation tables and head so that every per-frame term matters.
    with torch.no_grad():
        for p in base.parameters():
            p.add_(0.05 * torch.randn_like(p))
    pusa = PusaTransformer3DModel(**CONFIG).eval()
    pusa.load_state_dict(base.state_dict())
    return base, pusa


@pytest.fixture(scope="module")
def inputs():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, C, F, H, W, generator=g)
    text = torch.randn(B, 7, CONFIG["text_dim"], generator=g)
    return x, text


def _run(model, x, t, text):
    with torch.no_grad():
        return model(x, t, text, return_dict=False)[0]


def test_same_parameter_names(models):
    base, pusa = models
    assert list(base.state_dict()) == list(pusa.state_dict())


def test_equal_frames_match_scalar_wan(models, inputs):
    base, pusa = models
    x, text = inputs
    t = torch.tensor([937.5, 250.0])
    ref = _run(base, x, t, text)
    out = _run(pusa, x, t[:, None].expand(B, F).contiguous(), text)
    assert (out - ref).abs().max() <= 1e-5


def test_scalar_timestep_is_the_base_model(models, inputs):
    base, pusa = models
    x, text = inputs
    t = torch.tensor([500.0, 12.0])
    assert torch.equal(_run(pusa, x, t, text), _run(base, x, t, text))


def test_per_frame_matches_per_token_path(models, inputs):
    base, pusa = models
    x, text = inputs
    t = torch.tensor([[1000.0, 0.0, 833.3, 200.0, 625.0], [0.0, 0.0, 10.0, 999.0, 357.1]])  # [B, F]
    tokens_per_frame = (H // 2) * (W // 2)
    t_tokens = t.repeat_interleave(tokens_per_frame, dim=1)  # frame-major [B, L]
    ref = _run(base, x, t_tokens, text)
    out = _run(pusa, x, t, text)
    assert (out - ref).abs().max() <= 1e-5
    # and the per-frame values really change the output (the test could fail)
    assert (out - _run(pusa, x, t[:, :1].expand(B, F).contiguous(), text)).abs().max() > 1e-3


def test_per_token_timestep_passes_through(models, inputs):
    base, pusa = models
    x, text = inputs
    t = torch.rand(B, F * (H // 2) * (W // 2)) * 1000
    assert torch.equal(_run(pusa, x, t, text), _run(base, x, t, text))


def test_frames_are_modulated_independently(models, inputs):
    """Changing frame 3's timestep changes frame 3's output; with all else fixed other frames move only via attention."""
    _, pusa = models
    x, text = inputs
    t1 = torch.full((B, F), 500.0)
    t2 = t1.clone()
    t2[:, 3] = 10.0
    d = (_run(pusa, x, t1, text) - _run(pusa, x, t2, text)).abs().amax(dim=(0, 1, 3, 4))  # per frame
    assert d[3] > 0


def test_bad_timestep_shape_is_rejected(models, inputs):
    _, pusa = models
    x, text = inputs
    with pytest.raises(ValueError, match=r"timestep must have shape"):
        _run(pusa, x, torch.zeros(B, F + 1), text)


def test_gradient_checkpointing_matches(models, inputs):
    _, pusa = models
    x, text = inputs
    t = torch.tensor([[1000.0, 0.0, 833.3, 200.0, 625.0]] * B)
    model = PusaTransformer3DModel(**CONFIG)
    model.load_state_dict(pusa.state_dict())
    xs = x.clone().requires_grad_(True)
    model(xs, t, text).sample.square().mean().backward()
    grad = xs.grad.clone()
    model.enable_gradient_checkpointing()
    xs.grad = None
    model(xs, t, text).sample.square().mean().backward()
    assert torch.allclose(xs.grad, grad, atol=1e-6)


# --- original Wan release layout -------------------------------------------------------------

# diffusers name → original Wan name, written from the published Wan key list (REFERENCE.md), not
# from the converter under test.
_TO_ORIGINAL = [
    ("condition_embedder.time_embedder.linear_1", "time_embedding.0"),
    ("condition_embedder.time_embedder.linear_2", "time_embedding.2"),
    ("condition_embedder.text_embedder.linear_1", "text_embedding.0"),
    ("condition_embedder.text_embedder.linear_2", "text_embedding.2"),
    ("condition_embedder.time_proj", "time_projection.1"),
    ("attn1.to_out.0", "self_attn.o"), ("attn1.to_q", "self_attn.q"), ("attn1.to_k", "self_attn.k"),
    ("attn1.to_v", "self_attn.v"), ("attn1.norm_q", "self_attn.norm_q"), ("attn1.norm_k", "self_attn.norm_k"),
    ("attn2.to_out.0", "cross_attn.o"), ("attn2.to_q", "cross_attn.q"), ("attn2.to_k", "cross_attn.k"),
    ("attn2.to_v", "cross_attn.v"), ("attn2.norm_q", "cross_attn.norm_q"), ("attn2.norm_k", "cross_attn.norm_k"),
    ("ffn.net.0.proj", "ffn.0"), ("ffn.net.2", "ffn.2"), (".norm2.", ".norm3."),
    ("proj_out", "head.head"),
]


def _original_key(key: str) -> str:
    if key == "scale_shift_table":
        return "head.modulation"
    if key.endswith(".scale_shift_table"):
        return key.replace("scale_shift_table", "modulation")
    for new, old in _TO_ORIGINAL:
        key = key.replace(new, old)
    return key


def test_loads_original_wan_layout(models, inputs):
    base, _ = models
    x, text = inputs
    original = {_original_key(k): v.clone() for k, v in base.state_dict().items()}
    assert "blocks.0.self_attn.q.weight" in original and "head.modulation" in original
    model = PusaTransformer3DModel(**CONFIG).eval()
    model.load_wan_state_dict({f"model.diffusion_model.{k}": v for k, v in original.items()})
    t = torch.tensor([[1000.0, 0.0, 833.3, 200.0, 625.0]] * B)
    assert torch.equal(_run(model, x, t, text), _run(models[1], x, t, text))


def test_original_layout_mismatch_is_reported(models):
    base, _ = models
    original = {_original_key(k): v for k, v in base.state_dict().items()}
    original.pop("blocks.1.ffn.2.weight")
    with pytest.raises(ValueError, match="missing"):
        PusaTransformer3DModel(**CONFIG).load_wan_state_dict(original)


def test_full_size_configs_on_meta_device():
    """Wan2.1 1.3B and 14B build at full size with no memory, and keep diffusers' parameter count."""
    from accelerate import init_empty_weights

    for dim_heads, ffn, layers, expected in ((12, 8960, 30, 1.3e9), (40, 13824, 40, 14e9)):
        with init_empty_weights():
            model = PusaTransformer3DModel(num_attention_heads=dim_heads, attention_head_dim=128, ffn_dim=ffn,
                                           num_layers=layers, in_channels=16, out_channels=16, text_dim=4096)
        n = sum(p.numel() for p in model.parameters())
        assert 0.9 * expected < n < 1.15 * expected, n


@pytest.mark.parametrize("heads, ffn, layers", [(12, 8960, 30), (40, 13824, 40)])
def test_full_size_per_frame_forward_on_meta(heads, ffn, layers):
    """Wan2.1 1.3B / 14B at 480p×81 (21×60×104 latents): the VTA path runs shape-only on the meta device."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = PusaTransformer3DModel(num_attention_heads=heads, attention_head_dim=128, ffn_dim=ffn,
                                       num_layers=layers, in_channels=16, out_channels=16, text_dim=4096)
    model = model.to("meta")
    x = torch.empty(1, 16, 21, 60, 104, device="meta")
    with torch.no_grad():
        out = model(x, torch.empty(1, 21, device="meta"), torch.empty(1, 512, 4096, device="meta")).sample
    assert out.shape == x.shape


def test_x0_prediction_turns_into_the_exact_velocity():
    """prediction_type 'x0': a perfect x0 prediction gives v = x1 − x0 per frame (σ above the floor)."""
    model = PusaTransformer3DModel(**CONFIG, prediction_type="x0")
    g = torch.Generator().manual_seed(0)
    x0, x1 = torch.randn(B, C, F, H, W, generator=g), torch.randn(B, C, F, H, W, generator=g)
    sigma = torch.tensor([[1.0, 0.5, 0.2, 0.06, 0.9], [0.3, 0.3, 1.0, 0.7, 0.1]])
    x = (1 - sigma[:, None, :, None, None]) * x0 + sigma[:, None, :, None, None] * x1
    v = model.velocity_from_x0(x, x0, 1000 * sigma)
    assert torch.allclose(v, x1 - x0, atol=1e-4)
    assert model.config.prediction_type == "x0"
    with pytest.raises(ValueError, match="prediction_type"):
        PusaTransformer3DModel(**CONFIG, prediction_type="eps")


def test_x0_skip_preconditioning_is_exact_and_passes_the_input_at_low_sigma():
    """x0-skip: x̂0 = c_skip·x + c_out·F. The output F that makes x̂0 = x0 gives v = x1 − x0; F = 0 at
    σ → 0 returns the input (the network only carries the correction); at σ = 1, x̂0 = σ_d·F."""
    sd = 0.7
    model = PusaTransformer3DModel(**CONFIG, prediction_type="x0-skip", sigma_data=sd)
    g = torch.Generator().manual_seed(3)
    B, C, F, H, W = 2, CONFIG["in_channels"], 3, 4, 4
    x0, x1 = torch.randn(B, C, F, H, W, generator=g), torch.randn(B, C, F, H, W, generator=g)
    sigma = torch.tensor([[0.1, 0.5, 0.9], [0.3, 0.7, 1.0]])
    s = sigma[:, None, :, None, None]
    x = (1 - s) * x0 + s * x1
    var = (1 - s) ** 2 * sd**2 + s**2
    c_skip, c_out = (1 - s) * sd**2 / var, s * sd / var.sqrt()
    v = model.velocity_from_x0(x, (x0 - c_skip * x) / c_out, 1000 * sigma)
    assert torch.allclose(v, x1 - x0, atol=1e-4)
    tiny = torch.full((B, F), 1e-4)
    assert torch.allclose(model.x0_from_output(x, torch.zeros_like(x), tiny), x, atol=1e-3)
    ones = torch.ones(B, F)
    assert torch.allclose(model.x0_from_output(x, x1, ones), sd * x1, atol=1e-6)
    assert PusaTransformer3DModel.from_config(model.config).config.sigma_data == sd
    with pytest.raises(ValueError, match="sigma_data"):
        PusaTransformer3DModel(**CONFIG, prediction_type="x0-skip", sigma_data=0.0)
