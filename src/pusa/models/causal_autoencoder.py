"""A small learned causal video autoencoder with Wan's frame layout (first frame alone, then groups of r).

Each pixel frame goes through the same 2D convolutional encoder (s = 2^stages spatial compression);
the r frames of a causal group are folded into one latent by concatenating their feature maps along
channels and mixing them with a 1×1 convolution. Latent 0 holds frame 0 repeated r times, exactly as
:class:`~pusa.models.PackingAutoencoder` does, so every latent sees a full group. The decoder mirrors
it: a 1×1 convolution unfolds a latent into r feature maps, each decoded to a frame by the same 2D
decoder; latent 0's r frames are averaged.

    [B, 3, r·k+1, H, W] in [−1, 1]  →  raw latents [B, C, k+1, H/s, W/s]  →  [B, 3, r·k+1, H, W]

Unlike the packing autoencoder it is lossy (Pusa-mini's is trained to ≥ 32 dB on world clips), so a
given frame comes back close to, not equal to, what was given, as with Wan's VAE. ``latents_mean`` and
``latents_std`` in the config normalise the raw latents for diffusion (``pusa.pipeline.latent_stats``).
"""

from __future__ import annotations

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from pusa.models.packing_autoencoder import PackedLatents, PackingDecoderOutput, PackingEncoderOutput


class ResBlock(nn.Module):
    """x + conv(silu(norm(conv(silu(norm(x)))))): GroupNorm inside the body only (an output head with
    GroupNorm greyed the colours in the probe of issue 18)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        groups = 8 if channels % 8 == 0 else 1
        self.body = nn.Sequential(nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1),
                                  nn.GroupNorm(groups, channels), nn.SiLU(), nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def _encoder(in_channels: int, widths: tuple[int, ...]) -> nn.Sequential:
    """Per-frame encoder: stem, then per stage a stride-2 conv (÷2), with a residual block after all but the first."""
    layers: list[nn.Module] = [nn.Conv2d(in_channels, widths[0], 3, padding=1), nn.SiLU()]
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers += [nn.Conv2d(a, b, 4, stride=2, padding=1), nn.SiLU()]
        if i:  # residual blocks at the coarse stages only, where they are cheap
            layers.append(ResBlock(b))
    return nn.Sequential(*layers)


def _decoder(out_channels: int, widths: tuple[int, ...]) -> nn.Sequential:
    """Mirror of :func:`_encoder`: per stage a residual block (not at the finest) and a ×2 nearest upsample + conv."""
    rev = widths[::-1]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(rev[:-1], rev[1:])):
        if i < len(rev) - 2:
            layers.append(ResBlock(a))
        layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(a, b, 3, padding=1), nn.SiLU()]
    layers += [nn.Conv2d(rev[-1], rev[-1], 3, padding=1), nn.SiLU(), nn.Conv2d(rev[-1], out_channels, 3, padding=1)]
    return nn.Sequential(*layers)


class CausalConvAutoencoder(ModelMixin, ConfigMixin):
    """Learned causal autoencoder: temporal factor r, spatial factor s = 2^(len(widths) − 1)."""

    decodes_each_latent_alone = True  # no state across latents: pusa.long decodes a long video in chunks, exactly

    @register_to_config
    def __init__(self, temporal_factor: int = 4, spatial_factor: int = 8, widths: tuple[int, ...] = (16, 32, 64, 128),
                 latent_channels: int = 16, in_channels: int = 3, latents_mean: list[float] | None = None,
                 latents_std: list[float] | None = None) -> None:
        super().__init__()
        widths = tuple(widths)
        if len(widths) < 2 or temporal_factor < 1 or latent_channels < 1:
            raise ValueError(f"need ≥ 2 widths, temporal_factor ≥ 1, latent_channels ≥ 1; got {widths}, "
                             f"{temporal_factor}, {latent_channels}")
        if spatial_factor != 2 ** (len(widths) - 1):
            raise ValueError(f"spatial_factor={spatial_factor} does not match {len(widths) - 1} stride-2 stages "
                             f"(widths {widths}): use {2 ** (len(widths) - 1)}")
        r, top = temporal_factor, widths[-1]
        self.encoder = _encoder(in_channels, widths)
        self.fold = nn.Conv2d(r * top, latent_channels, 1)  # r frames' features → one latent
        self.unfold = nn.Conv2d(latent_channels, r * top, 1)  # one latent → r frames' features
        self.decoder = _decoder(in_channels, widths)

    @property
    def latent_channels(self) -> int:
        return self.config.latent_channels

    def _check(self, t: int, h: int, w: int) -> None:
        r, s = self.config.temporal_factor, self.config.spatial_factor
        if (t - 1) % r or h % s or w % s:
            raise ValueError(f"this autoencoder needs T = {r}·k+1 frames and H, W multiples of {s}; "
                             f"got T={t}, H={h}, W={w}")

    def encode(self, x: torch.Tensor, return_dict: bool = True) -> PackingEncoderOutput:
        """[B, 3, T, H, W] with T = r·k + 1 → raw latents [B, C, k + 1, H/s, W/s] (deterministic)."""
        b, c, t, h, w = x.shape
        self._check(t, h, w)
        r = self.config.temporal_factor
        f = (t - 1) // r + 1
        feats = self.encoder(x.transpose(1, 2).flatten(0, 1)).unflatten(0, (b, t))  # [B, T, D, h, w], once per frame
        feats = torch.cat([feats[:, :1].expand(-1, r, -1, -1, -1), feats[:, 1:]], dim=1)  # frame 0 as a full group
        feats = feats.flatten(0, 1).unflatten(0, (b * f, r)).flatten(1, 2)  # [B·F, r·D, h, w]
        z = self.fold(feats).unflatten(0, (b, f)).transpose(1, 2)  # [B, C, F, h, w]
        out = PackingEncoderOutput(latent_dist=PackedLatents(z))
        return out if return_dict else (out.latent_dist,)

    def decode(self, z: torch.Tensor, return_dict: bool = True) -> PackingDecoderOutput:
        """Raw latents [B, C, F, h, w] → [B, 3, r·(F − 1) + 1, H, W]; latent 0's r frames are averaged."""
        b, _, f, h, w = z.shape
        r = self.config.temporal_factor
        feats = self.unfold(z.transpose(1, 2).flatten(0, 1))  # [B·F, r·D, h, w]
        frames = self.decoder(feats.unflatten(1, (r, -1)).flatten(0, 1))  # [B·F·r, 3, H, W]
        frames = frames.unflatten(0, (b, f, r)).permute(0, 3, 1, 2, 4, 5)  # [B, 3, F, r, H, W]
        first = frames[:, :, 0].mean(dim=2, keepdim=True)  # [B, 3, 1, H, W]
        video = torch.cat([first, frames[:, :, 1:].flatten(2, 3)], dim=2)
        out = PackingDecoderOutput(sample=video)
        return out if return_dict else (video,)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x).latent_dist.mode()).sample
