"""Memory options for big models on one GPU: bf16, model CPU offload, group offload, VAE tiling.

All of them are diffusers hooks; pusa's VTA path keeps them working because the per-frame
modulation runs inside each block's own forward. See benchmarks/vram_estimate.py for the expected
peak memory of each option.
"""

from __future__ import annotations

from typing import Literal

import torch

Offload = Literal["none", "model", "group"]


def apply_memory_options(pipe, device: str | torch.device, offload: Offload = "none", vae_tiling: bool = False):
    """Place ``pipe`` on ``device`` with the chosen offloading; returns the pipeline.

    - "none": every component on the device.
    - "model": one component at a time on the GPU (``enable_model_cpu_offload``); needs CUDA.
    - "group": transformer blocks stream to the device one group at a time (``enable_group_offload``,
      block level); the other components stay on the device.
    """
    device = torch.device(device)
    if offload not in ("none", "model", "group"):
        raise ValueError(f"offload={offload!r}: use none, model or group")
    if vae_tiling:
        if not hasattr(pipe.vae, "enable_tiling"):
            raise ValueError(f"{type(pipe.vae).__name__} has no tiling; drop --vae-tiling")
        pipe.vae.enable_tiling()
    if offload == "model":
        if device.type != "cuda":
            raise ValueError("--offload model moves components between CPU and GPU; it needs a CUDA device")
        pipe.enable_model_cpu_offload(device=device)
        return pipe
    if offload == "group":
        from diffusers.hooks import apply_group_offloading

        stream = device.type == "cuda"
        for name in ("transformer", "transformer_2"):
            module = getattr(pipe, name, None)
            if module is not None:  # block-level: one Wan block on the device at a time
                apply_group_offloading(module, onload_device=device, offload_type="block_level",
                                       num_blocks_per_group=1, use_stream=stream)
        # the text encoder (UMT5-XXL: 10.6 GiB in bf16) streams layer by layer; the VAE is small
        apply_group_offloading(pipe.text_encoder, onload_device=device, offload_type="leaf_level", use_stream=stream)
        pipe.vae.to(device)
        return pipe
    return pipe.to(device)
