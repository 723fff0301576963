"""Wan2.1 base checkpoints in three layouts (Pusa, diffusers WanPipeline, original Wan release).

Tiny components are written to disk with the real key names of each layout, loaded back, and must
give bit-identical weights and pipeline outputs. The original names are written here from Wan's own
module definitions (wan/modules/{model,t5,vae}.py), independently of the converters under test; a
functional re-statement of Wan's T5 encoder checks that the T5 mapping means the same computation.
Full-size 1.3B / 14B / UMT5-XXL / Wan2.1-VAE mappings are checked shape-only on the meta device.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest
import torch
import torch.nn.functional as F
from accelerate import init_empty_weights
from safetensors.torch import save_file

from pusa.conditions import FrameCondition
from pusa.loading import load_pipeline
from pusa.models import PusaTransformer3DModel
from pusa.models.checkpoints import (
    LAYOUTS,
    WAN_DIT_INDEX,
    WAN_T5,
    WAN_TOKENIZER,
    WAN_VAE,
    check_state_dict,
    convert_wan_t5,
    detect_base_layout,
    umt5_config_from_wan_t5,
    wan_transformer_config,
    wan_vae_config,
)
from pusa.models.transformer import PUSA_CONFIG_KEYS
from pusa.pipeline import PusaPipeline
from pusa.tiny import tiny_tokenizer, tiny_transformer
from tests.models.test_transformer import _original_key

T5 = dict(d_model=32, d_kv=8, d_ff=64, num_layers=2, num_heads=2, relative_attention_num_buckets=8)
WAN_CONFIG = {"_class_name": "WanModel", "_diffusers_version": "0.30.0", "dim": 16, "eps": 1e-06, "ffn_dim": 64,
              "freq_dim": 32, "in_dim": 16, "model_type": "t2v", "num_heads": 2, "num_layers": 2, "out_dim": 16,
              "text_len": 512, "text_dim": 32}  # the release omits text_dim (default 4096); tiny needs 32
MODEL_INDEX = {"_class_name": "WanPipeline", "_diffusers_version": "0.33.0.dev0",
               "scheduler": ["diffusers", "UniPCMultistepScheduler"],
               "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5TokenizerFast"],
               "transformer": ["diffusers", "WanTransformer3DModel"], "vae": ["diffusers", "AutoencoderKLWan"]}


# --- original names, written from Wan's module definitions ----------------------------------------

def wan_dit_shapes(cfg: dict) -> dict[str, tuple]:
    """Every key of Wan's WanModel (t2v) and its shape (wan/modules/model.py)."""
    d, ffn, text, freq = cfg["dim"], cfg["ffn_dim"], cfg.get("text_dim", 4096), cfg["freq_dim"]
    patch = tuple(cfg.get("patch_size", (1, 2, 2)))
    out = math.prod(patch) * cfg["out_dim"]
    shapes = {"patch_embedding.weight": (d, cfg["in_dim"], *patch), "patch_embedding.bias": (d,),
              "text_embedding.0.weight": (d, text), "text_embedding.0.bias": (d,), "text_embedding.2.weight": (d, d),
              "text_embedding.2.bias": (d,), "time_embedding.0.weight": (d, freq), "time_embedding.0.bias": (d,),
              "time_embedding.2.weight": (d, d), "time_embedding.2.bias": (d,),
              "time_projection.1.weight": (6 * d, d), "time_projection.1.bias": (6 * d,),
              "head.head.weight": (out, d), "head.head.bias": (out,), "head.modulation": (1, 2, d)}
    for i in range(cfg["num_layers"]):
        b = f"blocks.{i}."
        for attn in ("self_attn", "cross_attn"):
            for n in "qkvo":
                shapes |= {f"{b}{attn}.{n}.weight": (d, d), f"{b}{attn}.{n}.bias": (d,)}
            shapes |= {f"{b}{attn}.norm_q.weight": (d,), f"{b}{attn}.norm_k.weight": (d,)}
        shapes |= {f"{b}norm3.weight": (d,), f"{b}norm3.bias": (d,), f"{b}modulation": (1, 6, d),
                   f"{b}ffn.0.weight": (ffn, d), f"{b}ffn.0.bias": (ffn,), f"{b}ffn.2.weight": (d, ffn),
                   f"{b}ffn.2.bias": (d,)}
    return shapes


def wan_t5_shapes(vocab, dim, dim_attn, dim_ffn, num_heads, num_layers, num_buckets) -> dict[str, tuple]:
    """Every key of Wan's T5Encoder with per-block position tables (shared_pos=False, wan/modules/t5.py)."""
    shapes = {"token_embedding.weight": (vocab, dim), "norm.weight": (dim,)}
    for i in range(num_layers):
        b = f"blocks.{i}."
        shapes |= {f"{b}norm1.weight": (dim,), f"{b}norm2.weight": (dim,), f"{b}attn.o.weight": (dim, dim_attn),
                   f"{b}ffn.gate.0.weight": (dim_ffn, dim), f"{b}ffn.fc1.weight": (dim_ffn, dim),
                   f"{b}ffn.fc2.weight": (dim, dim_ffn), f"{b}pos_embedding.embedding.weight": (num_buckets, num_heads)}
        shapes |= {f"{b}attn.{n}.weight": (dim_attn, dim) for n in "qkv"}
    return shapes


_T5_TO_WAN = [("shared.weight", "token_embedding.weight"), ("encoder.final_layer_norm.", "norm."),
              ("encoder.block.", "blocks."),
              ("layer.0.SelfAttention.relative_attention_bias.", "pos_embedding.embedding."),
              ("layer.0.SelfAttention.", "attn."), ("layer.0.layer_norm.", "norm1."), ("layer.1.layer_norm.", "norm2."),
              ("layer.1.DenseReluDense.wi_0.", "ffn.gate.0."), ("layer.1.DenseReluDense.wi_1.", "ffn.fc1."),
              ("layer.1.DenseReluDense.wo.", "ffn.fc2.")]


def t5_to_wan(state_dict: dict) -> dict:
    out = {}
    for key, value in state_dict.items():
        if key == "encoder.embed_tokens.weight":
            continue  # tied to shared.weight; Wan stores it once
        for new, old in _T5_TO_WAN:
            key = key.replace(new, old)
        out[key] = value
    return out


def vae_to_wan(state_dict: dict, num_res_blocks: int = 2) -> dict:
    """AutoencoderKLWan names → Wan2.1_VAE names (WanVAE_: encoder/decoder Sequentials, conv1/conv2)."""
    resnet = [("norm1.", "residual.0."), ("conv1.", "residual.2."), ("norm2.", "residual.3."),
              ("conv2.", "residual.6."), ("conv_shortcut.", "shortcut.")]
    per_level = num_res_blocks + 2  # decoder: num_res_blocks + 1 residual blocks, then a Resample
    out = {}
    for key, value in state_dict.items():
        k = "conv1." + key.removeprefix("quant_conv.") if key.startswith("quant_conv.") else key
        k = "conv2." + k.removeprefix("post_quant_conv.") if k.startswith("post_quant_conv.") else k
        k = k.replace(".conv_in.", ".conv1.").replace(".norm_out.", ".head.0.").replace(".conv_out.", ".head.2.")
        k = k.replace("mid_block.resnets.0.", "middle.0.").replace("mid_block.attentions.0.", "middle.1.")
        k = k.replace("mid_block.resnets.1.", "middle.2.").replace("encoder.down_blocks.", "encoder.downsamples.")
        parts = k.split(".")
        if k.startswith("decoder.up_blocks."):
            level = int(parts[2])
            index = level * per_level + (int(parts[4]) if parts[3] == "resnets" else num_res_blocks + 1)
            k = ".".join(["decoder", "upsamples", str(index), *parts[5:]])
        if k.startswith(("encoder.downsamples.", "decoder.upsamples.", "encoder.middle.", "decoder.middle.")):
            for new, old in resnet:
                k = k.replace(f".{new}", f".{old}")
        out[k] = value
    return out


# --- Wan's T5 encoder, restated as a function over its own state dict ------------------------------

def wan_t5_forward(sd: dict, ids: torch.Tensor, mask: torch.Tensor, heads: int, buckets: int) -> torch.Tensor:
    """Wan's T5Encoder: pre-RMS-norm blocks, unscaled attention plus a per-block bucketed position bias,
    and the FFN fc2(fc1(h) · gelu_tanh(gate(h)))."""
    def norm(x, w):
        return w * x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)

    length = ids.shape[1]
    rel = torch.arange(length)[None, :] - torch.arange(length)[:, None]  # key − query, [Lq, Lk]
    half = buckets // 2
    exact, far = half // 2, rel.abs()
    large = exact + (torch.log(far.float().clamp(min=1) / exact) / math.log(128 / exact) * (half - exact)).long()
    bucket = (rel > 0).long() * half + torch.where(far < exact, far, large.clamp(max=half - 1))
    x = sd["token_embedding.weight"][ids]  # [B, L, D]
    masked = (mask[:, None, None, :] == 0) * torch.finfo(x.dtype).min  # [B, 1, 1, Lk]
    layers = len({k.split(".")[1] for k in sd if k.startswith("blocks.")})
    for i in range(layers):
        w = {k.removeprefix(f"blocks.{i}."): v for k, v in sd.items() if k.startswith(f"blocks.{i}.")}
        h = norm(x, w["norm1.weight"])
        q, k, v = ((h @ w[f"attn.{n}.weight"].T).unflatten(-1, (heads, -1)) for n in "qkv")  # [B, L, N, C]
        bias = w["pos_embedding.embedding.weight"][bucket].permute(2, 0, 1)[None]  # [1, N, Lq, Lk]
        attn = torch.softmax(torch.einsum("bqnc,bknc->bnqk", q, k) + bias + masked, dim=-1)
        x = x + torch.einsum("bnqk,bknc->bqnc", attn, v).flatten(2) @ w["attn.o.weight"].T
        h = norm(x, w["norm2.weight"])
        gate = F.gelu(h @ w["ffn.gate.0.weight"].T, approximate="tanh")
        x = x + ((h @ w["ffn.fc1.weight"].T) * gate) @ w["ffn.fc2.weight"].T
    return norm(x, sd["norm.weight"])


# --- fixtures ---------------------------------------------------------------------------------------

def _jitter(model, seed):
    """Move every weight off its initial value (ones, zeros) so that each tensor's place matters."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return model.eval()


def tiny_wan_parts(vae, latent_channels: int) -> dict:
    """Tiny Wan components in the real layouts: tokenizer, UMT5 encoder, ``vae``, a transformer on its latents."""
    from transformers import UMT5Config, UMT5EncoderModel

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer), feed_forward_proj="gated-gelu",
                                               pad_token_id=0, eos_token_id=1, **T5))
    return dict(tokenizer=tokenizer, text_encoder=_jitter(text_encoder, 1), vae=_jitter(vae, 2),
                transformer=_jitter(tiny_transformer(latent_channels, text_dim=32), 3))


@pytest.fixture(scope="module")
def parts():
    from diffusers import AutoencoderKLWan

    return tiny_wan_parts(AutoencoderKLWan(base_dim=4, z_dim=16), 16)  # Wan2.1 structure, narrow


def _run(pipe):
    image = torch.linspace(0, 1, 32 * 32 * 3).reshape(32, 32, 3)
    return pipe("a red ball bounces", negative_prompt="blue", conditions=[FrameCondition(image, 0, 0.2)],
                num_frames=9, height=32, width=32, num_inference_steps=2, guidance_scale=3.0,
                generator=torch.Generator().manual_seed(0), output_type="latent", max_sequence_length=16).frames


@pytest.fixture(scope="module")
def reference(parts):
    return _run(PusaPipeline(**parts))


def _write_diffusers(root, parts):
    from diffusers import UniPCMultistepScheduler, WanTransformer3DModel

    config = {k: v for k, v in parts["transformer"].config.items() if not k.startswith("_") and k not in PUSA_CONFIG_KEYS}
    transformer = WanTransformer3DModel(**config)
    transformer.load_state_dict(parts["transformer"].state_dict())
    transformer.save_pretrained(root / "transformer", max_shard_size="100KB")  # sharded, as the real one
    parts["vae"].save_pretrained(root / "vae")
    parts["text_encoder"].save_pretrained(root / "text_encoder")
    parts["tokenizer"].save_pretrained(root / "tokenizer")
    UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0).save_pretrained(
        root / "scheduler")
    (root / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2))


def _write_original(root, parts):
    root.mkdir()
    dit = {_original_key(k): v.contiguous() for k, v in parts["transformer"].state_dict().items()}
    keys = sorted(dit)
    shards = {f"diffusion_pytorch_model-0000{i + 1}-of-00002.safetensors": keys[i::2] for i in range(2)}
    for name, names in shards.items():
        save_file({k: dit[k] for k in names}, root / name)
    (root / WAN_DIT_INDEX).write_text(json.dumps({"metadata": {"total_size": sum(v.numel() * 4 for v in dit.values())},
                                                  "weight_map": {k: n for n, ks in shards.items() for k in ks}}))
    (root / "config.json").write_text(json.dumps(WAN_CONFIG, indent=2))
    torch.save(t5_to_wan(parts["text_encoder"].state_dict()), root / WAN_T5)
    torch.save(vae_to_wan(parts["vae"].state_dict()), root / WAN_VAE)
    parts["tokenizer"].save_pretrained(root / WAN_TOKENIZER)


@pytest.fixture(scope="module")
def folders(parts, tmp_path_factory):
    base = tmp_path_factory.mktemp("layouts")
    PusaPipeline(**parts).save_pretrained(base / "pusa")
    _write_diffusers(base / "diffusers", parts)
    _write_original(base / "wan", parts)
    return {name: base / name for name in ("pusa", "diffusers", "wan")}


# --- the written names are the real ones ---------------------------------------------------------

def test_written_original_names_are_wans(parts):
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    dit = {_original_key(k): tuple(v.shape) for k, v in parts["transformer"].state_dict().items()}
    assert dit == wan_dit_shapes(WAN_CONFIG)
    t5 = {k: tuple(v.shape) for k, v in t5_to_wan(parts["text_encoder"].state_dict()).items()}
    assert t5 == wan_t5_shapes(len(parts["tokenizer"]), 32, 16, 64, 2, 2, 8)
    vae = parts["vae"].state_dict()
    original = vae_to_wan(vae)
    assert "decoder.upsamples.4.shortcut.weight" in original and "encoder.downsamples.5.time_conv.weight" in original
    assert convert_wan_vae_to_diffusers(dict(original)).keys() == vae.keys()


def test_wan_t5_mapping_computes_wans_encoder(parts, folders):
    pipe, _ = load_pipeline(folders["wan"])
    original = torch.load(folders["wan"] / WAN_T5, weights_only=True)
    tokens = parts["tokenizer"](["a red ball bounces off the wall", "blue"], padding="max_length", max_length=16,
                                return_tensors="pt")
    ref = wan_t5_forward(original, tokens.input_ids, tokens.attention_mask, heads=2, buckets=8)
    with torch.no_grad():
        out = pipe.text_encoder(tokens.input_ids, tokens.attention_mask).last_hidden_state
    assert (out - ref).abs().max() < 1e-5
    # and the check has teeth: the two FFN inputs swapped give another encoder
    swapped = dict(original)
    swapped["blocks.0.ffn.fc1.weight"], swapped["blocks.0.ffn.gate.0.weight"] = (
        original["blocks.0.ffn.gate.0.weight"], original["blocks.0.ffn.fc1.weight"])
    assert (wan_t5_forward(swapped, tokens.input_ids, tokens.attention_mask, 2, 8) - ref).abs().max() > 1e-3


# --- loading ------------------------------------------------------------------------------------------

def test_detects_each_layout(folders):
    assert {name: detect_base_layout(path) for name, path in folders.items()} == {
        "pusa": "pusa", "diffusers": "diffusers", "wan": "wan"}


@pytest.mark.parametrize("layout", ["pusa", "diffusers", "wan"])
def test_layouts_load_identical_weights_and_outputs(layout, folders, parts, reference):
    pipe, found = load_pipeline(folders[layout])
    assert found == layout and isinstance(pipe.transformer, PusaTransformer3DModel)
    for name in ("text_encoder", "vae", "transformer"):
        loaded, original = pipe.components[name].state_dict(), parts[name].state_dict()
        assert loaded.keys() == original.keys(), name
        assert all(torch.equal(loaded[k], original[k]) for k in original), name
    assert torch.equal(_run(pipe), reference)


def test_bf16_keeps_the_same_fp32_modules_as_from_pretrained(folders):
    wan, _ = load_pipeline(folders["wan"], dtype=torch.bfloat16)
    diffusers, _ = load_pipeline(folders["diffusers"], dtype=torch.bfloat16)
    for name in ("text_encoder", "transformer", "vae"):
        got = {k: v.dtype for k, v in wan.components[name].state_dict().items()}
        assert got == {k: v.dtype for k, v in diffusers.components[name].state_dict().items()}, name
    kept = {k for k, v in wan.transformer.state_dict().items() if v.dtype == torch.float32}
    assert "scale_shift_table" in kept and "blocks.0.attn1.to_q.weight" not in kept
    assert wan.vae.dtype == torch.float32 and wan.transformer.dtype == torch.bfloat16


def _broken(folders, tmp_path, layout, remove):
    root = tmp_path / layout
    shutil.copytree(folders[layout], root)
    target = root / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    return root


@pytest.mark.parametrize("layout, remove, message", [
    ("wan", WAN_T5, WAN_T5), ("wan", WAN_VAE, WAN_VAE), ("wan", "google", WAN_TOKENIZER),
    ("wan", "diffusion_pytorch_model-00002-of-00002.safetensors", "missing DiT shard.*00002-of-00002"),
    ("wan", WAN_DIT_INDEX, "missing the DiT weights"), ("wan", "config.json", "neither model_index.json"),
    ("diffusers", "vae", "missing component.*vae"), ("pusa", "transformer", "missing component.*transformer"),
])
def test_incomplete_folder_names_the_missing_piece(folders, tmp_path, layout, remove, message):
    root = _broken(folders, tmp_path, layout, remove)
    with pytest.raises(ValueError, match=message) as err:
        load_pipeline(root)
    assert "\n" not in str(err.value)


def test_mismatched_weights_are_reported(folders, tmp_path):
    root = tmp_path / "wan"
    shutil.copytree(folders["wan"], root)
    t5 = torch.load(root / WAN_T5, weights_only=True)
    t5.pop("blocks.1.ffn.fc2.weight")
    torch.save(t5, root / WAN_T5)
    with pytest.raises(ValueError, match=r"1 missing \(e.g. encoder.block.1.layer.1.DenseReluDense.wo.weight\)"):
        load_pipeline(root)
    shutil.copy(folders["wan"] / WAN_T5, root / WAN_T5)
    (root / "config.json").write_text(json.dumps(WAN_CONFIG | {"ffn_dim": 48}))
    with pytest.raises(ValueError, match=r"diffusion_pytorch_model-0000\d-of-00002.safetensors does not match "
                                         r"PusaTransformer3DModel: \d+ with the wrong shape \(e.g. blocks"):
        load_pipeline(root)


def test_other_folders_are_refused(tmp_path, folders):
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="neither model_index.json"):
        detect_base_layout(tmp_path / "empty")
    with pytest.raises(ValueError, match="not the original Wan DiT"):
        detect_base_layout(folders["diffusers"] / "transformer")
    root = tmp_path / "i2v"
    shutil.copytree(folders["wan"], root)
    (root / "config.json").write_text(json.dumps(WAN_CONFIG | {"model_type": "i2v"}))
    with pytest.raises(ValueError, match="only the T2V base"):
        detect_base_layout(root)


def test_cli_loader_says_which_layout(folders, capsys):
    from pusa.cli import _load_pipeline

    _load_pipeline(folders["wan"], "float32")
    assert "original Wan release layout" in capsys.readouterr().err


@pytest.mark.parametrize("layout", [
    "diffusers",
    "wan",
])
def test_cli_generate_from_a_wan_folder(layout, folders, tmp_path):
    from typer.testing import CliRunner

    from pusa.cli import app

    out = tmp_path / "t2v.mp4"
    result = CliRunner().invoke(app, ["generate", "--model", str(folders[layout]), "--prompt", "a red ball",
                                      "--steps", "1", "--frames", "5", "--height", "32", "--width", "32",
                                      "--seed", "0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert LAYOUTS[layout] in result.stderr and out.is_file()


# --- full size, shapes only -----------------------------------------------------------------------------

# The original release config.json of each base (Wan-AI/Wan2.1-T2V-{1.3B,14B}).
RELEASE = {"1.3B": dict(dim=1536, ffn_dim=8960, num_heads=12, num_layers=30),
           "14B": dict(dim=5120, ffn_dim=13824, num_heads=40, num_layers=40)}


def _meta(shapes: dict) -> dict:
    return {k: torch.empty(s, device="meta") for k, s in shapes.items()}


@pytest.mark.parametrize("size", ["1.3B", "14B"])
def test_full_size_dit_maps_onto_the_transformer(size):
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    wan = {"_class_name": "WanModel", "eps": 1e-06, "freq_dim": 256, "in_dim": 16, "model_type": "t2v",
           "out_dim": 16, "text_len": 512, **RELEASE[size]}
    config = wan_transformer_config(wan)
    # diffusers' scripts/convert_wan_to_diffusers.py uses these for Wan-T2V-1.3B / 14B
    release = RELEASE[size]
    assert config == dict(patch_size=(1, 2, 2), num_attention_heads=release["num_heads"], attention_head_dim=128,
                          in_channels=16, out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=release["ffn_dim"],
                          num_layers=release["num_layers"], cross_attn_norm=True, qk_norm="rms_norm_across_heads",
                          eps=1e-6)
    with init_empty_weights():
        model = PusaTransformer3DModel(**config)
    original = _meta(wan_dit_shapes(wan))
    check_state_dict(model, convert_wan_transformer_to_diffusers(original), size)  # every key, every shape
    n = sum(math.prod(s) for s in wan_dit_shapes(wan).values())
    assert n == sum(p.numel() for p in model.parameters())
    assert 0.9 < n / {"1.3B": 1.42e9, "14B": 14.29e9}[size] < 1.1


def test_full_size_umt5_xxl_maps_onto_umt5_encoder():
    from transformers import UMT5EncoderModel

    original = _meta(wan_t5_shapes(vocab=256384, dim=4096, dim_attn=4096, dim_ffn=10240, num_heads=64, num_layers=24,
                                   num_buckets=32))  # Wan's umt5_xxl()
    config = umt5_config_from_wan_t5(original)
    got = (config.vocab_size, config.d_model, config.d_kv, config.d_ff, config.num_heads, config.num_layers,
           config.relative_attention_num_buckets, config.relative_attention_max_distance, config.dense_act_fn)
    assert got == (256384, 4096, 64, 10240, 64, 24, 32, 128, "gelu_new")  # google/umt5-xxl's config
    with init_empty_weights():
        model = UMT5EncoderModel(config)
    check_state_dict(model, convert_wan_t5(original), "umt5-xxl", present=["encoder.embed_tokens.weight"])


def test_full_size_wan21_vae_maps_onto_autoencoder():
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    with init_empty_weights():
        reference = AutoencoderKLWan()  # diffusers' defaults are the Wan2.1 VAE
    original = vae_to_wan(reference.state_dict())
    assert len(original) == len(reference.state_dict()) and "decoder.upsamples.14.residual.6.weight" in original
    with init_empty_weights():
        model = AutoencoderKLWan(**wan_vae_config(original))
    public = lambda config: {k: v for k, v in config.items() if not k.startswith("_")}  # noqa: E731
    assert public(model.config) == public(reference.config)
    check_state_dict(model, convert_wan_vae_to_diffusers(original), "Wan2.1_VAE")


def test_wan22_two_expert_diffusers_folder(parts, tmp_path):
    """A diffusers Wan2.2-A14B folder (transformer + transformer_2, boundary_ratio) loads both experts."""
    from diffusers import WanTransformer3DModel

    root = tmp_path / "wan22"
    _write_diffusers(root, parts)
    config = {k: v for k, v in parts["transformer"].config.items() if not k.startswith("_") and k not in PUSA_CONFIG_KEYS}
    low = WanTransformer3DModel(**config)
    _jitter(low, 7)
    low.save_pretrained(root / "transformer_2")
    index = {**MODEL_INDEX, "transformer_2": ["diffusers", "WanTransformer3DModel"], "boundary_ratio": 0.875}
    (root / "model_index.json").write_text(json.dumps(index, indent=2))
    pipe, layout = load_pipeline(root)
    assert layout == "diffusers" and pipe.config.boundary_ratio == 0.875
    assert isinstance(pipe.transformer_2, PusaTransformer3DModel)
    for name, p in low.state_dict().items():
        assert torch.equal(pipe.transformer_2.state_dict()[name], p)
