"""Pusa-mini: a small Wan-style model trained on a procedural world of moving shapes, shipped inside pusa.

- :mod:`pusa.mini.components`: its configuration and components (text encoder, autoencoders, transformer);
- :mod:`pusa.mini.shipped`: the trained weights in the package, :func:`default_pipeline`, its run rules;
- :mod:`pusa.mini.recipe2`: the CPU recipe that trains it (autoencoder, base, VTA LoRA); the first model's
  recipe is :mod:`pusa.mini.recipe`.
"""

from pusa.mini.components import (
    MINI,
    MINI2,
    TEXT_DIM,
    MiniConfig,
    build_pipeline,
    load_autoencoder,
    minilm_path,
    new_transformer,
    new_vae,
    text_components,
)
from pusa.mini.shipped import default_pipeline

__all__ = ["MINI", "MINI2", "TEXT_DIM", "MiniConfig", "build_pipeline", "default_pipeline", "load_autoencoder",
           "minilm_path", "new_transformer", "new_vae", "text_components"]
