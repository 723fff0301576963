"""Wan2.1 T2V base checkpoints (1.3B, 14B) in any of three folder layouts, loaded as Pusa components.

Layouts (``detect_base_layout``):
- ``pusa``: a ``PusaPipeline.save_pretrained`` folder.
- ``diffusers``: a diffusers WanPipeline folder (Wan-AI/Wan2.1-T2V-14B-Diffusers): model_index.json
  plus tokenizer/, text_encoder/ (UMT5EncoderModel), vae/ (AutoencoderKLWan), transformer/
  (WanTransformer3DModel, loaded as PusaTransformer3DModel: same parameter names). The scheduler is
  ignored: Pusa has its own per-frame sampler.
- ``wan``: the original release (Wan-AI/Wan2.1-T2V-14B): config.json (Wan's DiT names: dim,
  num_heads…), diffusion_pytorch_model*.safetensors (+ .index.json) with original DiT keys,
  models_t5_umt5-xxl-enc-bf16.pth (Wan's own T5 module names), Wan2.1_VAE.pth and google/umt5-xxl/.

DiT and VAE keys are renamed by diffusers' converters. diffusers has no converter for Wan's T5 (its
conversion script takes google/umt5-xxl from the Hub), so ``WAN_T5_TOP``/``WAN_T5_BLOCK`` map it onto
UMT5EncoderModel. Weights go tensor by tensor (safetensors streamed, .pth memory-mapped and read only
with ``weights_only=True``) into empty meta modules on the target device, cast as they land: no full
fp32 copy of a model is ever held. Modules that ``from_pretrained`` keeps in fp32 stay fp32 here too
(diffusers' ``_keep_in_fp32_modules``; T5's ``wo`` under float16).

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
                         "expected PusaPipeline or WanPipeline (Wan2.1 T2V)")
    if cls == "WanPipeline":
        if index.get("expand_timesteps"):
            raise ValueError(f"{root}: a Wan2.2 TI2V WanPipeline (expand_timesteps) is not a Wan2.1 T2V base")
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
        hint = " (a Wan2.2 A14B release: not a Wan2.1 T2V base)" if (root / "high_noise_model").is_dir() else ""
        raise ValueError(f"{root}: neither model_index.json (PusaPipeline/diffusers WanPipeline folder) "
                         f"nor config.json (original Wan release){hint}")
    config = _read_json(root / "config.json")
    if config.get("_class_name", "WanModel") != "WanModel" or "dim" not in config:
        raise ValueError(f"{root / 'config.json'}: a {config.get('_class_name', 'non-Wan')} model config, not the "
                         "original Wan DiT; pass the pipeline folder (with model_index.json) or the Wan release folder")
    if config.get("model_type", "t2v") != "t2v":
        raise ValueError(f"{root}: Wan model_type {config['model_type']!r}; only the T2V base ('t2v') is supported")
    _dit_files(root)
    missing = _missing(root, [WAN_T5, WAN_VAE, WAN_TOKENIZER])
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
    return dict(patch_size=tuple(wan.get("patch_size", (1, 2, 2))), num_attention_heads=wan["num_heads"],
                attention_head_dim=wan["dim"] // wan["num_heads"], in_channels=wan["in_dim"],
                out_channels=wan["out_dim"], text_dim=wan.get("text_dim", 4096), freq_dim=wan["freq_dim"],
                ffn_dim=wan["ffn_dim"], num_layers=wan["num_layers"],
                cross_attn_norm=wan.get("cross_attn_norm", True),
                qk_norm="rms_norm_across_heads" if wan.get("qk_norm", True) else None, eps=wan.get("eps", 1e-6))


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


def wan_vae_config(state_dict: Mapping[str, torch.Tensor]) -> dict[str, Any]:
    """AutoencoderKLWan kwargs for a Wan2.1_VAE state dict (Wan2.1 structure; widths read from shapes)."""
    try:
        base_dim, z_dim = state_dict["encoder.conv1.weight"].shape[0], state_dict["conv2.weight"].shape[0]
    except KeyError as err:
        raise ValueError(f"not a Wan2.1 VAE state dict: no {err.args[0]}") from None
    if z_dim != 16:
        raise ValueError(f"Wan VAE with z_dim {z_dim}: only the Wan2.1 VAE (z_dim 16, whose latent mean/std "
                         "are known) is supported")
    # The rest (dim_mult 1,2,4,4, 2 res blocks, temporal downsample F,T,T, latents_mean/std) are the
    # AutoencoderKLWan defaults, which are Wan2.1's; diffusers' key converter assumes that structure too.
    return dict(base_dim=base_dim, z_dim=z_dim)


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
            header = {k: torch.empty(f.get_slice(k).get_shape(), device="meta") for k in f.keys()}
            check_state_dict(model, convert_wan_transformer_to_diffusers(header), shard.name, complete=False)
            for key in f.keys():
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
    """AutoencoderKLWan from Wan2.1_VAE.pth, renamed by diffusers' convert_wan_vae_to_diffusers."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan
    from diffusers.loaders.single_file_utils import convert_wan_vae_to_diffusers

    original = _pth_tensors(path)
    with init_empty_weights():
        model = AutoencoderKLWan(**wan_vae_config(original))
    state = convert_wan_vae_to_diffusers(original)
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
    """Tokenizer, text encoder, VAE and transformer of a diffusers or original Wan folder, and its layout."""
    from transformers import AutoTokenizer

    from pusa.models.transformer import PusaTransformer3DModel

    root = Path(path)
    layout = detect_base_layout(root)
    if layout == "pusa":
        raise ValueError(f"{root} is a PusaPipeline folder; load it with load_pipeline or PusaPipeline.from_pretrained")
    if layout == "diffusers":
        index = _read_json(root / "model_index.json")
        parts = dict(tokenizer=AutoTokenizer.from_pretrained(root / "tokenizer"),
                     text_encoder=_library_class(root, index, "text_encoder").from_pretrained(
                         root / "text_encoder", dtype=dtype),
                     vae=_library_class(root, index, "vae").from_pretrained(root / "vae", torch_dtype=vae_dtype),
                     transformer=PusaTransformer3DModel.from_pretrained(root / "transformer", torch_dtype=dtype))
        if (index.get("transformer_2") or [None])[0] is not None:  # Wan2.2-A14B: the low-noise expert
            parts["transformer_2"] = PusaTransformer3DModel.from_pretrained(root / "transformer_2", torch_dtype=dtype)
            parts["boundary_ratio"] = index.get("boundary_ratio") or 0.875
        for name in ("text_encoder", "vae", "transformer", "transformer_2"):
            if name in parts:
                parts[name] = parts[name].to(device).eval()
        return parts, layout
    return dict(tokenizer=AutoTokenizer.from_pretrained(root / WAN_TOKENIZER),
                text_encoder=load_wan_t5(root / WAN_T5, dtype, device),
                vae=load_wan_vae(root / WAN_VAE, vae_dtype, device),
                transformer=load_wan_transformer(root, dtype, device)), layout
