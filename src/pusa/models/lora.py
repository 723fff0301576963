"""LoRA files for the Wan transformer: layout detection and loading with the reference's strength.

Layouts handled here:
- diffusers/peft: ``transformer.blocks.N.attn1.to_q.lora_A.weight`` (loaded as is);
- original Wan names with a ``diffusion_model.`` prefix (ComfyUI/Kijai, lora_A/B or lora_down/up,
  optional ``.alpha``) and musubi ``lora_unet_`` names: converted by diffusers' own converters;
- the reference DiffSynth/PEFT layout ``blocks.N.self_attn.q.lora_A.default.weight``: renamed to
  the prefixed original layout, then converted the same way.

Strength semantics: the reference merges W ← W + α·(B·A) with no α/r factor. A DiffSynth file has no
alpha tensors, so diffusers' loader treats it as alpha = rank (peft scale 1) and an adapter weight
of α reproduces the reference merge exactly. Full multi-layout conversion lives in issue 5.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

_DIFFSYNTH = re.compile(r"^(diffusion_model\.)?blocks\.\d+\.(self_attn|cross_attn|ffn)\b.*\.lora_[AB](\.default)?\.weight$")


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """'diffsynth', 'original' (diffusion_model. prefix), 'musubi' or 'diffusers'."""
    keys = list(state_dict)
    if not keys:
        raise ValueError("the LoRA file holds no tensors")
    if any(k.startswith("lora_unet_") for k in keys):
        return "musubi"
    if all(_DIFFSYNTH.match(k) for k in keys):
        return "diffsynth"
    if any(k.startswith("diffusion_model.") for k in keys):
        return "original"
    return "diffusers"


def diffsynth_to_original(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``blocks.N.….lora_A.default.weight`` → ``diffusion_model.blocks.N.….lora_A.weight`` (same tensors)."""
    out = {}
    for key, value in state_dict.items():
        key = key.replace(".default.", ".")
        out[key if key.startswith("diffusion_model.") else f"diffusion_model.{key}"] = value
    return out


def read_lora(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a LoRA from safetensors only (never pickle)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LoRA file not found: {path}")
    if path.suffix != ".safetensors":
        raise ValueError(f"LoRA {path} must be a .safetensors file (pickled weights are not loaded)")
    return load_file(str(path))


def load_loras(pipe, paths: Sequence[str | os.PathLike], strengths: Sequence[float]) -> list[str]:
    """Load and activate LoRAs on ``pipe.transformer`` with reference strengths α (W + α·B·A each).

    Strengths can be changed later with ``pipe.set_adapters(names, weights)``: peft keeps the
    deltas separate, so nothing accumulates.
    """
    if len(strengths) not in (1, len(paths)):
        raise ValueError(f"give one --lora-alpha for all LoRAs or one per LoRA; got {len(strengths)} for {len(paths)}")
    alphas = list(strengths) * len(paths) if len(strengths) == 1 else list(strengths)
    names = []
    for i, path in enumerate(paths):
        sd = read_lora(path)
        if detect_layout(sd) == "diffsynth":
            sd = diffsynth_to_original(sd)
        name = f"lora_{i}_{Path(path).stem}"
        pipe.load_lora_weights(sd, adapter_name=name)
        names.append(name)
    pipe.set_adapters(names, adapter_weights=alphas)
    return names
