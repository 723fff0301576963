"""The trained Pusa-mini that ships inside the package: the default model of ``pusa generate`` and ``pusa ui``.

``weights/transformer`` is the transformer and ``weights/autoencoder`` the learned autoencoder (absent: the
packing one). A Pusa step beside them is optional, in one of two forms:
- ``weights/pusa_mini_lora.safetensors``, a VTA LoRA on a text-to-video base (Pusa-mini 1, the Wan recipe);
- ``weights/pusa_mini_vta.safetensors``, the difference Δ = W_VTA − W_base of a full VTA fine-tune, for every
  weight, applied as W_base + s·Δ at VTA strength s.

Without one, the transformer was itself trained on every task with FAFM. That is Pusa-mini 2, shipped since
2026-12-06 (since the night of that day with the 2,000-step direction phase of ``pusa.mini.recipe2``, its learning
rate decayed to 0 over the last 500 steps). The model cards are docs/mini2.md and docs/mini.md.
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
TRANSFORMER = WEIGHTS / "transformer"
AUTOENCODER = WEIGHTS / "autoencoder"  # Pusa-mini 2's learned autoencoder; absent: the packing one (Pusa-mini 1)
LORA = WEIGHTS / "pusa_mini_lora.safetensors"
VTA_DELTA = WEIGHTS / "pusa_mini_vta.safetensors"
EXAMPLE_IMAGE = Path(__file__).parent / "example.png"
EXAMPLE_PROMPT = "a video of a little red disc heading to the lower right"  # the caption of EXAMPLE_IMAGE's clip
NAME = "pusa-mini (embedded)"
# Conditioned tasks on Pusa-mini start their generated frames from the nearest given frame at σ = WARM_START
# (``pusa generate`` and ``pusa ui`` defaults); None: from pure noise, as the paper samples. Pusa-mini 1 and
# the first Pusa-mini 2 weights ran at 0.9 (docs/results/warm_start.md). The weights with the direction phase
# read the caption's direction from pure noise: over 64 held-out image-to-video clips, the 1,500-step weights
# moved within 45° of the caption in 64/64 clips with centroid error 4.1 px, against 64/64 and 4.8 px from a warm
# start at 0.95 (docs/results/release_mini2_direction1500_warm095.md); the shipped ones 3.6 px against 4.3 px
# (paired +0.66 [+0.33, +1.03], docs/results/release_mini2_direction2000_warm095.md, docs/mini2.md).
WARM_START = None
# The VTA strength plain text-to-video runs at (``pusa.request.rules_for``); None: the same model as every task.
# Pusa-mini 2 is one transformer trained on every task with FAFM (no separate VTA step), so it is None. Pusa-mini 1
# ran text-to-video at 0, its base weights (docs/results/non_destructive.md).
T2V_VTA_STRENGTH = None
# A chained long video's overlap latents enter the next window at noise multiplier m = LONG_OVERLAP_NOISE
# (``--overlap-noise``); None: kept exactly (m = 0). The first Pusa-mini 2 weights used m = 0.2, which brought their
# colour drift down to one window's level (docs/long_video.md). On the shipped weights, over 32 held-out
# 161-frame videos, m = 0.2 does not significantly help colour (12.4 against 14.8 at m = 0, paired −2.4 [−5.6,
# +0.8]) and costs background (6.9 against 3.3, paired +3.6 [+2.2, +5.2]):
# docs/results/long_video_direction2000/long_video.md.
LONG_OVERLAP_NOISE = None


def vta_step() -> Path | None:
    """The shipped Pusa step: the full fine-tune's Δ, or the VTA LoRA, or None where the transformer was itself
    trained on the tasks with FAFM from scratch (it is the whole model; the VTA strength has no effect)."""
    return next((p for p in (VTA_DELTA, LORA) if p.is_file()), None)


def shipped_files() -> list[Path]:
    return ([TRANSFORMER / "config.json"] + [p for p in (vta_step(),) if p is not None]
            + ([AUTOENCODER / "config.json"] if AUTOENCODER.is_dir() else []))


def weight_delta(tuned, base) -> dict:
    """Δ = W_tuned − W_base for every parameter (float32 state dicts of the same architecture)."""
    if tuned.keys() != base.keys():
        raise ValueError(f"the two models differ in their weights: {sorted(tuned.keys() ^ base.keys())[:4]}")
    return {k: (tuned[k].float() - base[k].float()).contiguous() for k in tuned}


def apply_weight_delta(model, delta: dict, strength: float) -> None:
    """W ← W + s·Δ in place, in float32 (the VTA strength s interpolates, and extrapolates past 1, between the
    base and the fine-tune)."""
    import torch

    params = dict(model.named_parameters())
    missing = sorted(set(params) ^ set(delta))
    if missing:
        raise ValueError(f"{VTA_DELTA.name} does not match this transformer: {missing[:4]}")
    with torch.no_grad():
        for name, p in params.items():
            p.add_(delta[name].to(p.device, torch.float32), alpha=float(strength))


def default_pipeline(lora_strength: float = 1.0, fuse: bool = True, device: str = "cpu", dtype=None, text=None):
    """Pusa-mini as a PusaPipeline. ``lora_strength`` 0 gives the base T2V model.

    The VTA LoRA is fused into the weights by default (faster); pass ``fuse=False`` to load further
    LoRAs or change the strength later with ``pusa.models.lora.set_lora_strengths``. ``dtype``
    (default float32) sets the transformer's precision: the LoRA is fused in float32 first, then the
    weights are cast, with the time embedding and norms kept in float32. ``torch.bfloat16`` samples
    about 2× faster on CPUs with AMX/AVX512-BF16 (measured in experiments/precision.py). ``text`` =
    (tokenizer, encoder) reuses a loaded MiniLM, e.g. another Pusa-mini pipeline's.
    """
    import math

    import torch

    from pusa.mini.components import MINI, MINI2, build_pipeline, load_autoencoder
    from pusa.models import PusaTransformer3DModel

    if isinstance(lora_strength, bool) or not isinstance(lora_strength, (int, float)) or not math.isfinite(lora_strength):
        raise ValueError(f"lora_strength must be a finite number, got {lora_strength!r}")
    missing = [str(p) for p in shipped_files() if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"Pusa-mini weights missing from the installed package: {', '.join(missing)}; "
                                "reinstall pusa or pass --model DIR")
    transformer = PusaTransformer3DModel.from_pretrained(str(TRANSFORMER), torch_dtype=torch.float32)
    learned = AUTOENCODER.is_dir()
    pipe = build_pipeline(transformer, config=MINI2 if learned else MINI, text=text,
                          vae=load_autoencoder(AUTOENCODER) if learned else None)
    if lora_strength and VTA_DELTA.is_file():  # a full VTA fine-tune: always in the weights (``fuse`` is moot)
        from safetensors.torch import load_file

        apply_weight_delta(pipe.transformer, load_file(str(VTA_DELTA)), lora_strength)
    elif lora_strength and LORA.is_file():
        from pusa.models.lora import fuse_loras, load_loras

        load_loras(pipe, [LORA], [lora_strength], names=["pusa_mini"])
        if fuse:
            fuse_loras(pipe)
    if dtype is not None and dtype != torch.float32:
        if lora_strength and not fuse and LORA.is_file() and not VTA_DELTA.is_file():
            raise ValueError("dtype other than float32 needs fuse=True (an unfused LoRA would run in float32)")
        from pusa.models.transformer import cast_keeping_fp32

        cast_keeping_fp32(pipe.transformer, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
