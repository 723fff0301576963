"""pusa: vectorized-timestep video diffusion (Pusa / VTA) on Wan video transformers.

Light modules (``pusa.flow``, ``pusa.sampling``, ``pusa.frames``, ``pusa.conditions``) import only
torch. The heavy names below load diffusers on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "PusaPipeline": "pusa.pipeline",
    "PusaPipelineOutput": "pusa.pipeline",
    "PusaTransformer3DModel": "pusa.models",
    "PackingAutoencoder": "pusa.models",
    "FrameCondition": "pusa.conditions",
    "Request": "pusa.request",
    "generate": "pusa.request:generate_video",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        module, _, attribute = _LAZY[name].partition(":")
        return getattr(importlib.import_module(module), attribute or name)
    raise AttributeError(f"module 'pusa' has no attribute {name!r}")
