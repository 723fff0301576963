"""Wan base checkpoints (Wan2.1-T2V 1.3B / 14B, Wan2.2-TI2V-5B, Wan2.2-A14B in diffusers layout) in any of
three folder layouts, loaded as Pusa components.

Layouts (``detect_base_layout``):
- ``pusa``: a ``PusaPipeline.save_pretrained`` folder.
- ``diffusers``: a diffusers WanPipeline folder (Wan-AI/Wan2.1-T2V-14B-Diffusers,
  Wan-AI/Wan2.2-TI2V-5B-Diffusers): model_index.json plus tokenizer/, text_encoder/ (UMT5EncoderModel),
  vae/ (AutoencoderKLWan), transformer/ (WanTransformer3DModel, loaded as PusaTransformer3DModel: same
  parameter names). The scheduler is ignored: Pusa has its own per-frame sampler. TI2V's
  ``expand_timesteps`` (one timestep per token, the first frame's at 0 for image-to-video) is what
  Pusa's per-frame path does natively, so it needs nothing else.
- ``wan``: the original release (Wan-AI/Wan2.1-T2V-14B, Wan-AI/Wan2.2-TI2V-5B): config.json (Wan's DiT
  names: dim, num_heads…, model_type t2v or ti2v), diffusion_pytorch_model*.safetensors (+ .index.json)
  with original DiT keys, models_t5_umt5-xxl-enc-bf16.pth (Wan's own T5 module names), the VAE
  (Wan2.1_VAE.pth, or Wan2.2_VAE.pth for ti2v) and google/umt5-xxl/.

DiT and Wan2.1-VAE keys are renamed by diffusers' converters. diffusers has no converter for Wan's T5
(its conversion script takes google/umt5-xxl from the Hub) nor, in the library, for the Wan2.2 VAE
(only its conversion script has one), so ``WAN_T5_TOP``/``WAN_T5_BLOCK`` map the T5 onto
UMT5EncoderModel and :func:`convert_wan22_vae` maps the Wan2.2 VAE onto AutoencoderKLWan. Weights go
tensor by tensor (safetensors streamed, .pth memory-mapped and read only with ``weights_only=True``)
into empty meta modules on the target device, cast as they land: no full fp32 copy of a model is ever
held. Modules that ``from_pretrained`` keeps in fp32 stay fp32 here too (diffusers'
``_keep_in_fp32_modules``; T5's ``wo`` under float16).

The pipeline's default geometry comes from the model: a PusaPipeline folder stores it; for the other
layouts :func:`native_defaults` reads the family from the VAE config (Wan2.2's 48-channel 16× VAE is
TI2V-5B: 121 frames at 704×1280, 24 fps; otherwise Wan2.1: 81 frames at 480×832, 16 fps).

Everything here is models-level: ``load_components`` returns the components, and
``pusa.loading.load_pipeline`` assembles them into a PusaPipeline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

LAYOUTS = {"pusa": "PusaPipeline folder", "diffusers": "diffusers WanPipeline folder",
           "wan": "original Wan release layout"}
WAN_T5 = "models_t5_umt5-xxl-enc-bf16.pth"
WAN_VAE = "Wan2.1_VAE.pth"
WAN22_VAE = "Wan2.2_VAE.pth"
WAN_VAE_FILES = {"t2v": WAN_VAE, "ti2v": WAN22_VAE}  # original release: config.json model_type → its VAE file
WAN_TOKENIZER = "google/umt5-xxl"
WAN_DIT_INDEX = "diffusion_pytorch_model.safetensors.index.json"
WAN_DIT_SINGLE = "diffusion_pytorch_model.safetensors"
COMPONENTS = ("tokenizer", "text_encoder", "vae", "transformer")

# Wan's T5 encoder (wan/modules/t5.py; umt5-xxl has a relative-position table in every block) →
# UMT5EncoderModel. Wan's FFN is fc2(fc1(x) · gelu_tanh(gate(x))); HF's gated-gelu is wo(gelu_new(wi_0(x)) · wi_1(x)).
WAN_T5_TOP = {"token_embedding.weight": "shared.weight", "norm.weight": "encoder.final_layer_norm.weight"}
WAN_T5_BLOCK = {  # blocks.N.<wan> → encoder.block.N.<umt5>
    **{f"attn.{n}.weight": f"layer.0.SelfAttention.{n}.weight" for n in "qkvo"},
    "pos_embedding.embedding.weight": "layer.0.SelfAttention.relative_attention_bias.weight",
    "norm1.weight": "layer.0.layer_norm.weight",
    "norm2.weight": "layer.1.layer_norm.weight",
    "ffn.gate.0.weight": "layer.1.DenseReluDense.wi_0.weight",
    "ffn.fc1.weight": "layer.1.DenseReluDense.wi_1.weight",
    "ffn.fc2.weight": "layer.1.DenseReluDense.wo.weight",
}
_WAN_T5_BLOCK_KEY = re.compile(r"blocks\.(\d+)\.(.+)")


# --- layout detection ------------------------------------------------------------------------

def _missing(root: Path, names: Iterable[str]) -> list[str]:
    return [n for n in names if not (root / n).exists()]


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"{path}: unreadable JSON ({err})") from None


def _dit_files(root: Path) -> list[Path]:
    """The DiT safetensors of an original folder, from the index when there is one."""
    if (root / WAN_DIT_INDEX).is_file():
        names = sorted(set(_read_json(root / WAN_DIT_INDEX).get("weight_map", {}).values()))
        if not names:
            raise ValueError(f"{root / WAN_DIT_INDEX}: empty weight_map")
        missing = _missing(root, names)
        if missing:
            raise ValueError(f"{root}: original Wan layout is missing DiT shard(s) {', '.join(missing)} "
                             f"listed in {WAN_DIT_INDEX}")
        return [root / n for n in names]
    if (root / WAN_DIT_SINGLE).is_file():
        return [root / WAN_DIT_SINGLE]
    raise ValueError(f"{root}: original Wan layout is missing the DiT weights "
                     f"({WAN_DIT_INDEX} + shards, or {WAN_DIT_SINGLE})")


def _check_index(root: Path, index: dict) -> str:
    cls = index.get("_class_name")
    if cls not in ("PusaPipeline", "WanPipeline"):
        raise ValueError(f"{root / 'model_index.json'}: pipeline {cls!r} is not supported; "
                         "expected PusaPipeline or WanPipeline (Wan2.1 T2V, Wan2.2 TI2V-5B or A14B)")
    if cls == "WanPipeline":
        transformer = (index.get("transformer") or [None, None])[1]
        if transformer not in (None, "WanTransformer3DModel", "PusaTransformer3DModel"):
            raise ValueError(f"{root}: transformer class {transformer!r} is not WanTransformer3DModel")
    named = [c for c in COMPONENTS if (index.get(c) or [None])[0] is not None]
    absent = [c for c in COMPONENTS if c not in named] + _missing(root, named)
    if absent:
        raise ValueError(f"{root}: {cls} folder is missing component(s) {', '.join(absent)}")
    return "pusa" if cls == "PusaPipeline" else "diffusers"


def detect_base_layout(path: str | Path) -> str:
    """'pusa', 'diffusers' or 'wan'; a ValueError naming what is missing for anything else."""
    root = Path(path)
    if not root.is_dir():
        raise ValueError(f"model folder {root} does not exist or is not a folder")
    if (root / "model_index.json").is_file():
        return _check_index(root, _read_json(root / "model_index.json"))
    if not (root / "config.json").is_file():
        hint = (" (the original Wan2.2-A14B release; use its diffusers layout)"
                if (root / "high_noise_model").is_dir() else "")
        raise ValueError(f"{root}: neither model_index.json (PusaPipeline/diffusers WanPipeline folder) "
                         f"nor config.json (original Wan release){hint}")
    config = _read_json(root / "config.json")
    if config.get("_class_name", "WanModel") != "WanModel" or "dim" not in config:
        raise ValueError(f"{root / 'config.json'}: a {config.get('_class_name', 'non-Wan')} model config, not the "
                         "original Wan DiT; pass the pipeline folder (with model_index.json) or the Wan release folder")
    model_type = config.get("model_type", "t2v")
    if model_type not in WAN_VAE_FILES:
        raise ValueError(f"{root}: Wan model_type {model_type!r}; only the T2V base ('t2v') and Wan2.2-TI2V-5B "
                         "('ti2v') are supported")
    _dit_files(root)
    missing = _missing(root, [WAN_T5, WAN_VAE_FILES[model_type], WAN_TOKENIZER])
    if missing:
        raise ValueError(f"{root}: original Wan layout is missing {', '.join(missing)}")
    return "wan"


# --- state dicts -------------------------------------------------------------------------------

def _pth_tensors(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: expected a flat state dict of tensors")
    return dict(state)


def check_state_dict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], what: str,
                     complete: bool = True, present: Iterable[str] = ()) -> None:
    """Raise one ValueError line if keys are unexpected, of the wrong shape or (when complete) missing.

    `present` names keys that count as there without being in `state_dict` (loaded earlier, or tied).
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict) - set(present)) if complete else []
    unexpected = sorted(set(state_dict) - set(expected))
    shapes = [f"{k} {tuple(v.shape)} vs {tuple(expected[k].shape)}" for k, v in state_dict.items()
              if k in expected and v.shape != expected[k].shape]
    problems = [f"{len(x)} {name} (e.g. {', '.join(x[:3])})" for name, x in
                (("missing", missing), ("unexpected", unexpected), ("with the wrong shape", shapes)) if x]
    if problems:
        raise ValueError(f"{what} does not match {type(model).__name__}: {'; '.join(problems)}")


def assign_state_dict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], dtype: torch.dtype | None,
                      device: str | torch.device, keep_fp32: Iterable[str] = ()) -> None:
    """Put tensors into a (meta) model on `device`, casting floats to `dtype` except `keep_fp32` modules."""
    from accelerate.utils import set_module_tensor_to_device

    keep = tuple(keep_fp32)
    for name, tensor in state_dict.items():
        target = tensor.dtype
        if tensor.is_floating_point() and dtype is not None:
            target = torch.float32 if any(m in name.split(".") for m in keep) else dtype
        # dtype given explicitly: without it accelerate casts back to the (fp32) meta parameter's dtype.
        value = tensor.to(device, target, copy=True)
        set_module_tensor_to_device(model, name, device, value=value, dtype=target)


def wan_transformer_config(wan: Mapping[str, Any]) -> dict[str, Any]:
    """Wan's DiT config.json (dim, num_heads, in_dim…) → PusaTransformer3DModel/WanTransformer3DModel kwargs."""
    required = ("dim", "num_heads", "num_layers", "ffn_dim", "freq_dim", "in_dim", "out_dim")
    missing = [k for k in required if k not in wan]
    if missing:
        raise ValueError(f"Wan config.json lacks {', '.join(missing)}")
    if wan["dim"] % wan["num_heads"]:
        raise ValueError(f"Wan config.json: dim {wan['dim']} is not a multiple of num_heads {wan['num_heads']}")
    if tuple(wan.get("window_size", (-1, -1))) != (-1, -1):
        raise ValueError(f"Wan config.json: window_size {wan['window_size']} (local attention) is not supported")
    # patch_size, text_dim, qk_norm and cross_attn_norm are WanModel's ignore_for_config: absent means default.
    return {"patch_size": tuple(wan.get("patch_size", (1, 2, 2))), "num_attention_heads": wan["num_heads"],
            "attention_head_dim": wan["dim"] // wan["num_heads"], "in_channels": wan["in_dim"],
            "out_channels": wan["out_dim"], "text_dim": wan.get("text_dim", 4096), "freq_dim": wan["freq_dim"],
            "ffn_dim": wan["ffn_dim"], "num_layers": wan["num_layers"],
            "cross_attn_norm": wan.get("cross_attn_norm", True),
            "qk_norm": "rms_norm_across_heads" if wan.get("qk_norm", True) else None, "eps": wan.get("eps", 1e-6)}


def convert_wan_t5(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Wan T5 encoder keys → UMT5EncoderModel keys; unknown keys pass through (and fail the check)."""
    out = {}
    for key, value in state_dict.items():
        block = _WAN_T5_BLOCK_KEY.fullmatch(key)
        if block and block[2] in WAN_T5_BLOCK:
            key = f"encoder.block.{block[1]}.{WAN_T5_BLOCK[block[2]]}"
        out[WAN_T5_TOP.get(key, key)] = value
    return out


def umt5_config_from_wan_t5(state_dict: Mapping[str, torch.Tensor]):
    """The UMT5Config of a Wan T5 encoder state dict, read from its shapes (umt5-xxl: 24×4096, 64 heads)."""
    from transformers import UMT5Config

    try:
        vocab, d_model = state_dict["token_embedding.weight"].shape
        buckets, heads = state_dict["blocks.0.pos_embedding.embedding.weight"].shape
        d_attn, d_ff = state_dict["blocks.0.attn.q.weight"].shape[0], state_dict["blocks.0.ffn.fc1.weight"].shape[0]
    except KeyError as err:
        raise ValueError(f"not a Wan UMT5 encoder state dict: no {err.args[0]}") from None
    layers = len({k.split(".")[1] for k in state_dict if k.startswith("blocks.")})
    # Wan: T5RelativeEmbedding(max_dist=128), T5LayerNorm eps 1e-6, tanh GELU gate, no attention scaling.
    return UMT5Config(vocab_size=vocab, d_model=d_model, d_kv=d_attn // heads, d_ff=d_ff, num_layers=layers,
                      num_decoder_layers=layers, num_heads=heads, relative_attention_num_buckets=buckets,
                      relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
                      layer_norm_epsilon=1e-6, tie_word_embeddings=False, pad_token_id=0, eos_token_id=1)


# The Wan2.2 VAE's latent statistics (Wan's vae2_2.py; diffusers' Wan2.2-TI2V-5B vae/config.json).
WAN22_LATENTS_MEAN = [
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542, 0.2813, 0.0891,
    0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109, 0.2665, -0.2108, -0.2158, 0.2502,
    -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899, -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723,
    -0.2839, -0.2083, -0.0520, 0.3748, 0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667]
WAN22_LATENTS_STD = [
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
    0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
    0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
    0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744]
_WAN22_VAE_KEY = "encoder.downsamples.0.downsamples.0.residual.0.gamma"  # nested blocks: the Wan2.2 VAE


def is_wan22_vae(state_dict: Mapping[str, Any]) -> bool:
    """Whether an original VAE state dict is Wan2.2's (Down_/Up_ResidualBlock nesting) rather than Wan2.1's."""
    return _WAN22_VAE_KEY in state_dict


def wan_vae_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """AutoencoderKLWan kwargs for a Wan2.1_VAE or Wan2.2_VAE state dict (widths read from shapes)."""
    try:
        base_dim, z_dim = state_dict["encoder.conv1.weight"].shape[0], state_dict["conv2.weight"].shape[0]
        decoder_in = state_dict["decoder.conv1.weight"].shape[0]
        in_channels = state_dict["encoder.conv1.weight"].shape[1]
    except KeyError as err:
        raise ValueError(f"not a Wan VAE state dict: no {err.args[0]}") from None
    if is_wan22_vae(state_dict):
        # Wan2.2 (vae2_2.py): pixels patchified 2×2 into 12 channels, residual down/up blocks, 16× space.
        if z_dim != 48 or in_channels != 12:
            raise ValueError(f"Wan2.2 VAE with z_dim {z_dim} and {in_channels} input channels: only the released "
                             "one (z_dim 48 on 2x2-patchified RGB, whose latent mean/std are known) is supported")
        return {"base_dim": base_dim, "decoder_base_dim": decoder_in // 4, "z_dim": z_dim, "is_residual": True,
                "in_channels": 12, "out_channels": 12, "patch_size": 2, "scale_factor_temporal": 4,
                "scale_factor_spatial": 16, "latents_mean": list(WAN22_LATENTS_MEAN),
                "latents_std": list(WAN22_LATENTS_STD)}
    if z_dim != 16:
        raise ValueError(f"Wan VAE with z_dim {z_dim}: only the Wan2.1 VAE (z_dim 16) and the Wan2.2 VAE (z_dim 48), "
                         "whose latent mean/std are known, are supported")
    # The rest (dim_mult 1,2,4,4, 2 res blocks, temporal downsample F,T,T, latents_mean/std) are the
    # AutoencoderKLWan defaults, which are Wan2.1's; diffusers' key converter assumes that structure too.
    return {"base_dim": base_dim, "z_dim": z_dim}


_RESNET = (("residual.0.", "norm1."), ("residual.2.", "conv1."), ("residual.3.", "norm2."),
           ("residual.6.", "conv2."), ("shortcut.", "conv_shortcut."))  # Wan's ResidualBlock → WanResidualBlock


def _resnet_key(rest: str) -> str | None:
    for old, new in _RESNET:
        if rest.startswith(old):
            return new + rest[len(old):]
    return None


def _wan22_vae_key(key: str) -> str:
    """One Wan2.2_VAE.pth key → its AutoencoderKLWan(is_residual=True) name; unknown keys pass through."""
    part, _, rest = key.partition(".")
    if part in ("conv1", "conv2"):  # WanVAE_.conv1/conv2: the 1×1×1 convolutions around the latent
        return f"{'quant_conv' if part == 'conv1' else 'post_quant_conv'}.{rest}"
    if part not in ("encoder", "decoder"):
        return key
    coder, (part, _, rest) = part, rest.partition(".")
    if part == "conv1":
        return f"{coder}.conv_in.{rest}"
    if part == "head":  # Sequential(RMS_norm, SiLU, CausalConv3d)
        index, _, rest = rest.partition(".")
        names = {"0": "norm_out", "2": "conv_out"}
        return f"{coder}.{names[index]}.{rest}" if index in names else key
    if part == "middle":  # Sequential(ResidualBlock, AttentionBlock, ResidualBlock)
        index, _, rest = rest.partition(".")
        if index == "1":
            return f"{coder}.mid_block.attentions.0.{rest}"
        resnets = {"0": 0, "2": 1}
        return f"{coder}.mid_block.resnets.{resnets[index]}.{_resnet_key(rest) or rest}" if index in resnets else key
    if part in ("downsamples", "upsamples"):  # {Down,Up}_ResidualBlock i: .{down,up}samples.j = blocks, then Resample
        block, _, rest = rest.partition(".")
        inner, _, rest = rest.partition(".")
        index, _, rest = rest.partition(".")
        blocks = "down_blocks" if part == "downsamples" else "up_blocks"
        if inner != part:
            return key
        resnet = _resnet_key(rest)
        if resnet is not None:
            return f"{coder}.{blocks}.{block}.resnets.{index}.{resnet}"
        return f"{coder}.{blocks}.{block}.{'downsampler' if part == 'downsamples' else 'upsampler'}.{rest}"
    return key


def convert_wan22_vae(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Wan2.2_VAE.pth keys (Wan's vae2_2.py module names) → AutoencoderKLWan(is_residual=True) keys."""
    return {_wan22_vae_key(k): v for k, v in state_dict.items()}


# Each family's native geometry, from its release's own sample configs (wan/configs): frames, size, file fps.
NATIVE_GEOMETRY = {
    "wan2.1": {"fps": 16, "default_num_frames": 81, "default_height": 480, "default_width": 832},
    "wan2.2-ti2v": {"fps": 24, "default_num_frames": 121, "default_height": 704, "default_width": 1280},
}


def model_family(vae_config: Mapping[str, Any] | Any) -> str:
    """'wan2.2-ti2v' for the Wan2.2 VAE (48 channels, 16× space: only Wan2.2-TI2V-5B uses it), else 'wan2.1'."""
    from pusa.frames import vae_factors

    z_dim = vae_config.get("z_dim") if isinstance(vae_config, Mapping) else getattr(vae_config, "z_dim", None)
    return "wan2.2-ti2v" if z_dim == 48 and vae_factors(vae_config)[1] == 16 else "wan2.1"


def native_defaults(vae_config: Mapping[str, Any] | Any) -> dict[str, int]:
    """PusaPipeline defaults (fps, default_num_frames, default_height, default_width) for a Wan base, read from
    its VAE config: Wan2.2-TI2V-5B 121 frames at 704×1280 and 24 fps, Wan2.1 81 frames at 480×832 and 16 fps."""
    return dict(NATIVE_GEOMETRY[model_family(vae_config)])


# --- components --------------------------------------------------------------------------------

def load_wan_transformer(root: Path, dtype: torch.dtype | None, device: str | torch.device):
    """PusaTransformer3DModel from an original folder's config.json and DiT safetensors, shard by shard."""
    from accelerate import init_empty_weights
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers
    from safetensors import safe_open

    from pusa.models.transformer import PusaTransformer3DModel

    with init_empty_weights():
        model = PusaTransformer3DModel(**wan_transformer_config(_read_json(root / "config.json")))
    seen: set[str] = set()
    for shard in _dit_files(root):
        with safe_open(str(shard), framework="pt", device="cpu") as f:
            # Check names and shapes of the whole shard first (from its header), then stream tensors.
            header = {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in f.keys()}  # noqa: SIM118
            check_state_dict(model, convert_wan_transformer_to_diffusers(header), shard.name, complete=False)
            for key in f.keys():  # noqa: SIM118 (safe_open is not iterable)
                converted = convert_wan_transformer_to_diffusers({key: f.get_tensor(key)})
                assign_state_dict(model, converted, dtype, device, model._keep_in_fp32_modules or ())
                seen.update(converted)
    check_state_dict(model, {}, f"{root.name} DiT", present=seen)
    return model.eval()


def load_wan_t5(path: Path, dtype: torch.dtype | None, device: str | torch.device):
    """UMT5EncoderModel from Wan's models_t5_umt5-xxl-enc-bf16.pth."""
    from accelerate import init_empty_weights
    from transformers import UMT5EncoderModel

    original = _pth_tensors(path)
    with init_empty_weights():
        model = UMT5EncoderModel(umt5_config_from_wan_t5(original))
    state = convert_wan_t5(original)
    check_state_dict(model, state, path.name, present=["encoder.embed_tokens.weight"])
    # As UMT5EncoderModel.from_pretrained: `wo` stays fp32 under float16, nothing does under bfloat16.
    keep = (model._keep_in_fp32_modules or ()) if dtype == torch.float16 else ()
    assign_state_dict(model, state, dtype, device, keep)
    model.encoder.embed_tokens.weight = model.shared.weight  # tied: one tensor, as in from_pretrained
    return model.eval()


def load_wan_vae(path: Path, dtype: torch.dtype | None, device: str | torch.device):
    """AutoencoderKLWan from Wan2.1_VAE.pth (renamed by diffusers' convert_wan_vae_to_diffusers) or
    Wan2.2_VAE.pth (renamed by :func:`convert_wan22_vae`)."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    original = _pth_tensors(path)
    with init_empty_weights():
        model = AutoencoderKLWan(**wan_vae_config(original))
    state = convert_wan22_vae(original) if is_wan22_vae(original) else convert_wan_vae_to_diffusers(original)
    check_state_dict(model, state, path.name)
    assign_state_dict(model, state, dtype, device)
    return model.eval()


def _library_class(root: Path, index: dict, name: str):
    import importlib

    library, cls = index[name]
    if library not in ("diffusers", "transformers"):
        raise ValueError(f"{root}: component {name} comes from {library!r}; expected diffusers or transformers")
    return getattr(importlib.import_module(library), cls)


def load_components(path: str | Path, dtype: torch.dtype | None = torch.float32, device: str | torch.device = "cpu",
                    vae_dtype: torch.dtype | None = torch.float32) -> tuple[dict[str, Any], str]:
    """Tokenizer, text encoder, VAE and transformer of a diffusers or original Wan folder, and its layout; also the
    model's native geometry (fps, default_num_frames, default_height, default_width: :func:`native_defaults`)."""
    from transformers import AutoTokenizer

    from pusa.models.transformer import PusaTransformer3DModel

    root = Path(path)
    layout = detect_base_layout(root)
    if layout == "pusa":
        raise ValueError(f"{root} is a PusaPipeline folder; load it with load_pipeline or PusaPipeline.from_pretrained")
    if layout == "diffusers":
        index = _read_json(root / "model_index.json")
        parts = {"tokenizer": AutoTokenizer.from_pretrained(root / "tokenizer"),
                 "text_encoder": _library_class(root, index, "text_encoder").from_pretrained(
                     root / "text_encoder", dtype=dtype),
                 "vae": _library_class(root, index, "vae").from_pretrained(root / "vae", torch_dtype=vae_dtype),
                 "transformer": PusaTransformer3DModel.from_pretrained(root / "transformer", torch_dtype=dtype)}
        if (index.get("transformer_2") or [None])[0] is not None:  # Wan2.2-A14B: the low-noise expert
            parts["transformer_2"] = PusaTransformer3DModel.from_pretrained(root / "transformer_2", torch_dtype=dtype)
            parts["boundary_ratio"] = index.get("boundary_ratio") or 0.875
        for name in ("text_encoder", "vae", "transformer", "transformer_2"):
            if name in parts:
                parts[name] = parts[name].to(device).eval()
        return parts | native_defaults(parts["vae"].config), layout
    model_type = _read_json(root / "config.json").get("model_type", "t2v")
    vae = load_wan_vae(root / WAN_VAE_FILES[model_type], vae_dtype, device)
    return {"tokenizer": AutoTokenizer.from_pretrained(root / WAN_TOKENIZER),
            "text_encoder": load_wan_t5(root / WAN_T5, dtype, device), "vae": vae,
            "transformer": load_wan_transformer(root, dtype, device), **native_defaults(vae.config)}, layout
