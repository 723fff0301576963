"""Memory options for big models on one GPU: bf16, model CPU offload, group offload, VAE tiling.

All of them are diffusers hooks; pusa's VTA path keeps them working because the per-frame
modulation runs inside each block's own forward. See benchmarks/vram_estimate.py for the expected
peak memory of each option.
"""

from __future__ import annotations

from dataclasses import dataclass
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


# --- the memory a request needs, estimated from config files before anything loads ----------------------------


@dataclass(frozen=True)
class ModelGeometry:
    """What bounds and sizes a request, read from the transformer's and autoencoder's configs."""

    dim: int  # heads · head dim
    ffn_dim: int
    layers: int
    in_channels: int
    patch: tuple[int, int, int]
    rope_max_seq_len: int  # positions per axis (frames, rows, columns of patches) the rotary tables hold
    temporal_factor: int
    spatial_factor: int
    text_dim: int = 4096

    @property
    def params(self) -> int:
        """Approximate parameter count: per block two attentions and the FFN, plus the text projection."""
        d = self.dim
        return self.layers * (8 * d * d + 2 * d * self.ffn_dim) + self.text_dim * d + d * d

    def max_pixels(self) -> tuple[int, int]:
        """(most pixel frames, largest side in pixels) the rotary tables cover."""
        pf, ph, _ = self.patch
        frames = self.temporal_factor * (self.rope_max_seq_len * pf - 1) + 1
        return frames, self.rope_max_seq_len * ph * self.spatial_factor


def geometry_from_configs(transformer: dict, vae: dict) -> ModelGeometry:
    """:class:`ModelGeometry` from the two config dicts (any Wan / Pusa transformer; any causal autoencoder)."""
    from pusa.frames import vae_factors

    r, s = vae_factors(vae)
    return ModelGeometry(dim=int(transformer["num_attention_heads"]) * int(transformer["attention_head_dim"]),
                         ffn_dim=int(transformer["ffn_dim"]), layers=int(transformer["num_layers"]),
                         in_channels=int(transformer["in_channels"]), patch=tuple(transformer["patch_size"]),
                         rope_max_seq_len=int(transformer.get("rope_max_seq_len", 1024)), temporal_factor=r,
                         spatial_factor=s, text_dim=int(transformer.get("text_dim", 4096)))


def estimate_bytes(g: ModelGeometry, frames: int, height: int, width: int, weight_bytes: int = 4) -> dict[str, int]:
    """Peak memory of one generation, by part (bytes): weights, the transformer's activations for one forward
    (tokens × (8·dim + ffn) values, attention in O(tokens) as flash/SDPA kernels run it), the latents and the
    decoded video (float32 frames, twice: the decoder's output and the [0, 1] copy)."""
    f = (frames - 1) // g.temporal_factor + 1
    h, w = height // g.spatial_factor, width // g.spatial_factor
    pf, ph, pw = g.patch
    tokens = -(-f // pf) * -(-h // ph) * -(-w // pw)
    return {"weights": g.params * weight_bytes,
            "activations": tokens * (8 * g.dim + g.ffn_dim) * 4,
            "latents": 6 * g.in_channels * f * h * w * 4,
            "video": 2 * frames * height * width * 3 * 4}


def available_bytes(device: str) -> tuple[int, str]:
    """(bytes a generation may use, where that number came from): ``$PUSA_MEMORY_BUDGET_GB`` if set, else the
    GPU's free memory or the system's available memory (MemAvailable)."""
    import os

    budget = os.environ.get("PUSA_MEMORY_BUDGET_GB")
    if budget:
        return int(float(budget) * 2**30), "PUSA_MEMORY_BUDGET_GB"
    if str(device).startswith("cuda"):
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free), f"free memory on {device}"
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "available system memory"
    except OSError:
        pass
    return 1 << 62, "unknown (not checked)"


def check_request_fits(g: ModelGeometry, frames: int, height: int, width: int, device: str,
                       weight_bytes: int = 4, offload: str = "none") -> dict[str, int]:
    """Refuse a geometry past the model's rotary tables, or a request whose estimate exceeds what ``device``
    has, with the estimate and a way out. Returns the estimate."""
    max_frames, max_side = g.max_pixels()
    if frames > max_frames:
        raise ValueError(f"frames {frames}: this model's position tables end at {max_frames} frames; use fewer "
                         "(longer videos: pusa.long, --window)")
    for name, value in (("height", height), ("width", width)):
        if value > max_side:
            raise ValueError(f"{name} {value}: this model's position tables end at {max_side} pixels; use a smaller size")
    parts = estimate_bytes(g, frames, height, width, weight_bytes)
    need = sum(parts.values()) - (parts["weights"] if offload != "none" else 0)
    have, source = available_bytes(device)
    if need > have:
        detail = ", ".join(f"{k} {_size(v)}" for k, v in parts.items())
        raise ValueError(f"this request needs about {_size(need)} ({detail}) but {source} is {_size(have)}; use "
                         "fewer --frames, a smaller --height/--width, --dtype bfloat16 or --offload group")
    return parts


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.0f} MiB"
