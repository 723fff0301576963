"""An exact, training-free causal "autoencoder": space-to-depth plus causal grouping of frames.

It has the interface and frame layout of Wan's causal VAE (first frame alone, then groups of r
frames per latent), so the whole pipeline runs on it, but it loses nothing: decode(encode(x)) == x.
Diffusing in its latent space is pixel-space diffusion in packed form.

Latent channels: C = r·3·s². Latent 0 holds frame 0 repeated r times, so every latent has the
same statistics as a static group; decoding latent 0 averages the r copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from diffusers.utils import BaseOutput


@dataclass
class PackedLatents:
    """Stand-in for a latent distribution: the packing is deterministic, so mode = sample = latents."""

    latents: torch.Tensor

    def mode(self) -> torch.Tensor:
        return self.latents

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.latents


@dataclass
class PackingEncoderOutput(BaseOutput):
    latent_dist: PackedLatents


@dataclass
class PackingDecoderOutput(BaseOutput):
    sample: torch.Tensor


class PackingAutoencoder(ModelMixin, ConfigMixin):
    """Lossless causal packing with temporal factor r and spatial factor s."""

    decodes_each_latent_alone = True  # no state across latents: pusa.long decodes a long video in chunks, exactly

    @register_to_config
    def __init__(self, temporal_factor: int = 4, spatial_factor: int = 4, in_channels: int = 3) -> None:
        super().__init__()
        # A buffer so the model has a device and dtype, and saves like any other component.
        self.register_buffer("_anchor", torch.zeros(1), persistent=True)

    @property
    def latent_channels(self) -> int:
        c = self.config
        return c.temporal_factor * c.in_channels * c.spatial_factor**2

    def encode(self, x: torch.Tensor, return_dict: bool = True) -> PackingEncoderOutput:
        """[B, 3, T, H, W] with T = r·k + 1 → [B, r·3·s², k + 1, H/s, W/s]."""
        r, s = self.config.temporal_factor, self.config.spatial_factor
        b, c, t, h, w = x.shape
        if (t - 1) % r or h % s or w % s:
            raise ValueError(f"packing needs T = {r}·k+1 and H, W multiples of {s}; got T={t}, H={h}, W={w}")
        x = torch.cat([x[:, :, :1].expand(-1, -1, r, -1, -1), x[:, :, 1:]], dim=2)  # [B, C, r(k+1), H, W]
        x = x.unflatten(2, (-1, r)).unflatten(4, (h // s, s)).unflatten(6, (w // s, s))  # [B, C, F, r, h, s, w, s]
        x = x.permute(0, 3, 1, 5, 7, 2, 4, 6)  # [B, r, C, s, s, F, h, w]
        z = x.flatten(1, 4)  # [B, r·C·s·s, F, h, w]
        out = PackingEncoderOutput(latent_dist=PackedLatents(z))
        return out if return_dict else (out.latent_dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True) -> PackingDecoderOutput:
        """[B, r·3·s², F, h, w] → [B, 3, r·(F−1)+1, h·s, w·s]; latent 0's r copies are averaged."""
        r, s, c = self.config.temporal_factor, self.config.spatial_factor, self.config.in_channels
        b, _, f, h, w = z.shape
        x = z.unflatten(1, (r, c, s, s))  # [B, r, C, s, s, F, h, w]
        x = x.permute(0, 2, 5, 1, 6, 3, 7, 4)  # [B, C, F, r, h, s, w, s]
        x = x.flatten(6, 7).flatten(4, 5)  # [B, C, F, r, H, W]
        first = x[:, :, 0].mean(dim=2, keepdim=True)  # [B, C, 1, H, W]
        video = torch.cat([first, x[:, :, 1:].flatten(2, 3)], dim=2)  # [B, C, r(F−1)+1, H, W]
        out = PackingDecoderOutput(sample=video)
        return out if return_dict else (video,)
