"""The trained Pusa-mini that ships inside the package: the default model of ``pusa generate`` and ``pusa ui``.

``weights/transformer`` is the base text-to-video transformer; ``weights/pusa_mini_lora.safetensors``
is its VTA LoRA (the Pusa step). How both were trained: docs/mini.md (the model card).
"""

from __future__ import annotations

from pathlib import Path

WEIGHTS = Path(__file__).parent / "weights"
TRANSFORMER = WEIGHTS / "transformer"
AUTOENCODER = WEIGHTS / "autoencoder"  # Pusa-mini 2's learned autoencoder; absent: the packing one (Pusa-mini 1)
LORA = WEIGHTS / "pusa_mini_lora.safetensors"
EXAMPLE_IMAGE = Path(__file__).parent / "example.png"
EXAMPLE_PROMPT = "a video of a little red disc heading to the lower right"  # the caption of EXAMPLE_IMAGE's clip
NAME = "pusa-mini (embedded)"
# Conditioned tasks on Pusa-mini start their generated frames from the nearest given frame at σ = WARM_START
# (``pusa generate`` and ``pusa ui`` defaults; ``--warm-start 1`` is the paper's start from pure noise).
# Measured over 64 held-out clips in docs/results/warm_start.md.
WARM_START = 0.9
# The VTA LoRA strength plain text-to-video runs at (``pusa.request.rules_for``): 0, the base weights, which
# follow the caption better on this model (docs/results/non_destructive.md).
T2V_VTA_STRENGTH = 0.0


def shipped_files() -> list[Path]:
    return [TRANSFORMER / "config.json", LORA] + ([AUTOENCODER / "config.json"] if AUTOENCODER.is_dir() else [])


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
    if lora_strength:
        from pusa.models.lora import fuse_loras, load_loras

        load_loras(pipe, [LORA], [lora_strength], names=["pusa_mini"])
        if fuse:
            fuse_loras(pipe)
    if dtype is not None and dtype != torch.float32:
        if lora_strength and not fuse:
            raise ValueError("dtype other than float32 needs fuse=True (an unfused LoRA would run in float32)")
        from pusa.models.transformer import cast_keeping_fp32

        cast_keeping_fp32(pipe.transformer, dtype)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device)
