"""Export a trained adapter in the diffusers/peft layout and in the reference DiffSynth layout.

Alpha semantics:
- peft computes W + (lora_alpha / r)·B·A. The diffusers export keeps A, B and the adapter config
  (``lora_alpha``, ``r``), so ``pipe.load_lora_weights`` reproduces that scale.
- The reference (DiffSynth) merges W + α·B·A with **no α/r factor**, where α is the user's
  strength. Our DiffSynth export therefore folds the peft scale into B (B' = (lora_alpha/r)·B),
  so merging it at α = 1 gives exactly the trained model, and α = 1.4 amplifies the delta by 40%.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch

_DIFFUSERS_TO_WAN = (("attn1.to_out.0", "self_attn.o"), ("attn1.to_q", "self_attn.q"), ("attn1.to_k", "self_attn.k"),
                     ("attn1.to_v", "self_attn.v"), ("attn2.to_out.0", "cross_attn.o"), ("attn2.to_q", "cross_attn.q"),
                     ("attn2.to_k", "cross_attn.k"), ("attn2.to_v", "cross_attn.v"), ("ffn.net.0.proj", "ffn.0"),
                     ("ffn.net.2", "ffn.2"))
_KEY = re.compile(r"^(?:transformer\.)?blocks\.(\d+)\.(.+)\.lora_([AB])(?:\.default)?\.weight$")


def lora_state_dict(transformer) -> dict[str, torch.Tensor]:
    """The trained LoRA tensors in diffusers naming (``blocks.N.attn1.to_q.lora_A.weight``)."""
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(transformer).items()}


def lora_scale(transformer, adapter: str = "default") -> float:
    """peft's scale lora_alpha / r for an adapter."""
    cfg = transformer.peft_config[adapter]
    return float(cfg.lora_alpha) / float(cfg.r)


def to_diffsynth(state_dict: dict[str, torch.Tensor], scale: float) -> dict[str, torch.Tensor]:
    """diffusers LoRA keys → ``blocks.N.self_attn.q.lora_A.default.weight``, with the peft scale folded into B."""
    out = {}
    for key, value in state_dict.items():
        m = _KEY.match(key)
        if not m:
            raise ValueError(f"cannot map LoRA key {key!r} to the DiffSynth layout (only Wan block targets are)")
        block, module, ab = m.groups()
        for new, old in _DIFFUSERS_TO_WAN:
            if module == new:
                module = old
                break
        else:
            raise ValueError(f"LoRA target {module!r} in {key!r} has no DiffSynth name")
        out[f"blocks.{block}.{module}.lora_{ab}.default.weight"] = value * scale if ab == "B" else value
    return out


def export_lora(transformer, out_dir: str | os.PathLike, overwrite: bool = False) -> dict[str, Path]:
    """Write ``diffusers/pytorch_lora_weights.safetensors`` (+ config) and ``pusa_lora_diffsynth.safetensors``."""
    from diffusers.loaders import WanLoraLoaderMixin
    from safetensors.torch import save_file

    from pusa.io import atomic_path

    out_dir = Path(out_dir)
    sd = lora_state_dict(transformer)
    diffusers_dir = out_dir / "diffusers"
    target = diffusers_dir / "pytorch_lora_weights.safetensors"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
    diffusers_dir.mkdir(parents=True, exist_ok=True)
    cfg = transformer.peft_config["default"]
    WanLoraLoaderMixin.save_lora_weights(str(diffusers_dir), transformer_lora_layers=sd,
                                         transformer_lora_adapter_metadata=cfg.to_dict())
    diffsynth = out_dir / "pusa_lora_diffsynth.safetensors"
    with atomic_path(diffsynth, overwrite) as tmp:
        save_file(to_diffsynth(sd, lora_scale(transformer)), str(tmp),
                  metadata={"format": "pt", "merge": "W + alpha * B @ A (no alpha/r)"})
    return {"diffusers": target, "diffsynth": diffsynth}


def export_checkpoint(run_dir: str | os.PathLike, step: int | None = None, out_dir: str | os.PathLike | None = None,
                      ema: bool = False, overwrite: bool = False) -> Path:
    """Export one checkpoint of a ``pusa train`` run as the run's ``final/`` would be: a LoRA (diffusers and
    DiffSynth layouts) or, for a full fine-tune, ``transformer/``. ``step`` None takes the newest checkpoint;
    ``ema`` exports its EMA weights. ``out_dir`` defaults to ``RUN/export-step-NNNNNNNN`` (``-ema``).
    Returns ``out_dir``. The adapter is rebuilt from the config stored in the checkpoint, so the base
    model folder it names must still exist."""
    from pusa.training.checkpoint import checkpoint_dir, list_checkpoints, load_checkpoint
    from pusa.training.config import load_config
    from pusa.training.trainer import build_transformer

    run_dir = Path(run_dir)
    if out_dir is not None and Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise ValueError(f"output {out_dir} is a file, expected a folder (the export writes diffusers/ and "
                         f"pusa_lora_diffsynth.safetensors into it); choose another path")
    found = list_checkpoints(run_dir / "checkpoints")
    if not found:
        raise FileNotFoundError(f"{run_dir}: no complete checkpoint under checkpoints/ (is it a `pusa train` output_dir?)")
    path = found[-1] if step is None else checkpoint_dir(run_dir / "checkpoints", step)
    if path not in found:
        raise FileNotFoundError(f"{run_dir}: no complete checkpoint for step {step}; "
                                f"have {', '.join(str(int(p.name[5:])) for p in found)}")
    ckpt = load_checkpoint(path)
    weights = ckpt.ema if ema else ckpt.trainable
    if weights is None:
        raise ValueError(f"{path}: the run kept no EMA (ema_decay = 0); export without --ema")
    config = load_config(None, ckpt.state["config"])  # an unknown key (a newer pusa's run) is one clear line
    out = Path(out_dir) if out_dir is not None else run_dir / f"export-{path.name}{'-ema' if ema else ''}"
    transformer = build_transformer(config)
    result = transformer.load_state_dict({k: v.to(torch.float32) for k, v in weights.items()}, strict=False)
    named = dict(transformer.named_parameters())
    if result.unexpected_keys or any(k not in weights for k, p in named.items() if p.requires_grad):
        raise ValueError(f"{path} does not match the adapter its config builds "
                         f"(unexpected {result.unexpected_keys[:3]}); was the config edited?")
    if config.adapter == "lora":
        export_lora(transformer, out, overwrite=overwrite)
    else:
        target = out / "transformer"
        if target.exists() and not overwrite:
            raise FileExistsError(f"{target} already exists; pass overwrite=True to replace it")
        transformer.save_pretrained(str(target))
    return out
