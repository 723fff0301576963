"""Pixel ↔ latent frame mapping for a causal video autoencoder with temporal factor r.

A causal VAE (Wan's: r = 4) encodes the first pixel frame on its own and every following group of r
frames into one latent frame:

    latent 0      ← pixel 0
    latent j ≥ 1  ← pixels r(j−1)+1 … r·j

so a clip of r·k + 1 pixel frames has k + 1 latents (81 → 21), and pixel frame p lands in latent
ceil(p / r). The factors are always read from the autoencoder's config, never assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def latent_index(pixel_frame: int, temporal_factor: int) -> int:
    """Latent slot j = ceil(p / r) that holds pixel frame p."""
    if pixel_frame < 0:
        raise ValueError(f"pixel frame must be >= 0, got {pixel_frame}")
    return -(-pixel_frame // temporal_factor)


def pixel_range(latent_frame: int, temporal_factor: int) -> range:
    """Pixel frames covered by latent j: [0] for j = 0, else r(j−1)+1 … r·j."""
    if latent_frame == 0:
        return range(1)
    return range(temporal_factor * (latent_frame - 1) + 1, temporal_factor * latent_frame + 1)


def is_valid_frame_count(num_frames: int, temporal_factor: int) -> bool:
    """Pixel frame counts a causal VAE accepts: r·k + 1, k ≥ 0."""
    return num_frames >= 1 and (num_frames - 1) % temporal_factor == 0


def nearest_frame_counts(num_frames: int, temporal_factor: int) -> tuple[int, int]:
    """The valid counts just below and just above num_frames (equal when it is valid)."""
    below = max(1, (num_frames - 1) // temporal_factor * temporal_factor + 1)
    above = below if below >= num_frames else below + temporal_factor
    return below, above


def check_frame_count(num_frames: int, temporal_factor: int) -> None:
    """Raise a ValueError naming the nearest valid counts when num_frames is not r·k + 1."""
    if not is_valid_frame_count(num_frames, temporal_factor):
        below, above = nearest_frame_counts(num_frames, temporal_factor)
        raise ValueError(
            f"num_frames={num_frames} is not {temporal_factor}·k+1 for this autoencoder; "
            f"use {below} or {above}"
        )


def num_latent_frames(num_frames: int, temporal_factor: int) -> int:
    """Latent frame count F = (n − 1)/r + 1 for a valid pixel count n."""
    check_frame_count(num_frames, temporal_factor)
    return (num_frames - 1) // temporal_factor + 1


def _get(config: Any, key: str) -> Any:
    if isinstance(config, Mapping):
        return config.get(key)
    return getattr(config, key, None)


def _layer_factors(config: Any) -> tuple[int, int] | None:
    """(r, s) an AutoencoderKLWan compresses by, from its layers: 2 per downsampling stage (the
    ``temperal_downsample`` flags say which also halve time) times the pixel ``patch_size`` a patchified
    VAE (Wan2.2's, 16×) folds into channels first. None for configs without those keys."""
    downsample = _get(config, "temperal_downsample")
    if downsample is None:
        return None
    dim_mult = _get(config, "dim_mult")
    stages = len(dim_mult) - 1 if dim_mult else len(downsample)
    patch = _get(config, "patch_size") or 1
    return 2 ** sum(bool(d) for d in list(downsample)[:stages]), 2 ** stages * int(patch)


def vae_factors(config: Any) -> tuple[int, int]:
    """(temporal factor r, spatial factor s) from an autoencoder config.

    Understands diffusers' AutoencoderKLWan (``scale_factor_temporal``/``scale_factor_spatial``, or
    older configs with only ``temperal_downsample``; Wan2.1's VAE is (4, 8), Wan2.2's patchified
    48-channel VAE (4, 16)) and pusa's own autoencoders (``temporal_factor``/``spatial_factor``).
    An AutoencoderKLWan config whose stated factors disagree with its layers is refused: every
    latent shape would be wrong.
    """
    r = _get(config, "scale_factor_temporal") or _get(config, "temporal_factor")
    s = _get(config, "scale_factor_spatial") or _get(config, "spatial_factor")
    layers = _layer_factors(config)
    if layers is not None:
        for name, stated, actual in (("scale_factor_temporal", r, layers[0]), ("scale_factor_spatial", s, layers[1])):
            if stated is not None and int(stated) != actual:
                raise ValueError(f"autoencoder config {name}={stated} but its layers compress {actual}x "
                                 "(temperal_downsample, dim_mult, patch_size); fix the VAE's config.json")
        r, s = layers
    if r is None or s is None:
        raise ValueError(
            "cannot read the temporal and spatial factors from the autoencoder config; "
            "it needs scale_factor_temporal/scale_factor_spatial or temporal_factor/spatial_factor"
        )
    return int(r), int(s)


def latent_slots(start: int, length: int, temporal_factor: int) -> list[int]:
    """Latent slots touched by pixel frames start … start+length−1 (sorted, unique)."""
    first, last = latent_index(start, temporal_factor), latent_index(start + length - 1, temporal_factor)
    return list(range(first, last + 1))
