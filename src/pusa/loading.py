"""Load a PusaPipeline from any supported folder: a PusaPipeline, a diffusers WanPipeline (Wan2.1, or
Wan2.2-A14B with its two experts) or the original Wan release layout. The model-level readers live in
``pusa.models.checkpoints``; this module only assembles the pipeline.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pusa.models.checkpoints import LAYOUTS, detect_base_layout, load_components
from pusa.pipeline import PusaPipeline

__all__ = ["LAYOUTS", "detect_base_layout", "load_pipeline"]


def load_pipeline(path: str | Path, dtype: torch.dtype | None = torch.float32, device: str | torch.device = "cpu",
                  vae_dtype: torch.dtype | None = torch.float32) -> tuple[PusaPipeline, str]:
    """(PusaPipeline, layout) from a PusaPipeline, diffusers WanPipeline or original Wan release folder.

    The transformer(s) and text encoder get ``dtype``; the VAE gets ``vae_dtype`` (float32 by default,
    as Wan and diffusers run it).
    """
    layout = detect_base_layout(path)
    if layout == "pusa":
        pipe = PusaPipeline.from_pretrained(str(path), dtype={"default": dtype, "vae": vae_dtype})
        return pipe.to(device), layout
    parts, layout = load_components(path, dtype, device, vae_dtype)
    return PusaPipeline(**parts), layout
