"""The go/no-go probe of a training run: does the model read the caption's direction?

On n held-out one-object clips, with the same noise, the flow-matching loss with the true caption is
compared with the loss under the same caption with its direction reversed
(:func:`pusa.world.captions.counterfactual`). A model that reads direction words pays for the wrong
one: gap = L(reversed) − L(true) > 0. Cheap (two batched forwards), so a run logs it at every
checkpoint, long before sampling is worth running (issue 18: minutes, not hours).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

PROBE_SEED = 98_000  # world seed of the probe's clips (no training stream uses it)


@dataclass(frozen=True)
class Gap:
    mean: float
    low: float
    high: float
    loss: float  # mean loss with the true caption

    def __str__(self) -> str:
        return f"{self.mean:+.4f} [{self.low:+.4f}, {self.high:+.4f}] (loss {self.loss:.4f})"


class DirectionProbe:
    """Fixed clips, captions and noise, built once; ``__call__(model)`` measures the gap at σ."""

    def __init__(self, vae, text, n: int = 32, sigma: float = 0.9, given_first: bool = False,
                 num_frames: int = 17, size: int = 64, device: str | torch.device = "cpu") -> None:
        from pusa.mini.pretrain import pack
        from pusa.world import make_clip
        from pusa.world.captions import counterfactual
        from pusa.world.dataset import clip_seed

        clips = [make_clip(clip_seed(PROBE_SEED, i), num_frames, size, size, "easy") for i in range(n)]
        frames = torch.from_numpy(np.stack([c.frames for c in clips]))
        self.x0 = pack(frames, vae, torch.device(device))
        self.true = text([c.caption for c in clips])
        self.reversed = text([counterfactual(c.caption, "direction") for c in clips])
        self.x1 = torch.randn(self.x0.shape, generator=torch.Generator().manual_seed(0)).to(self.x0.device)
        b, _, f = self.x0.shape[:3]
        self.tau = torch.full((b, f), float(sigma), device=self.x0.device)
        if given_first:
            self.tau[:, 0] = 0.0
        self.given_first = given_first

    @torch.no_grad()
    def __call__(self, model) -> Gap:
        from pusa.flow import fafm_target, interpolate

        was_training = model.training
        model.eval()
        x = interpolate(self.x0, self.x1, self.tau)
        t = 1000.0 * (self.tau if self.given_first else self.tau[:, 0])
        free = (self.tau > 0).float()[:, None, :, None, None]
        target = fafm_target(self.x0, self.x1)
        losses = []
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            for text in (self.true, self.reversed):
                v = model(x, t, text, return_dict=False)[0].float()
                err = ((v - target) ** 2 * free).sum(dim=(1, 2, 3, 4)) / (free.sum(dim=(1, 2, 3, 4)) * v.shape[1]
                                                                          * v.shape[3] * v.shape[4])
                losses.append(err)
        model.train(was_training)
        diff = (losses[1] - losses[0]).double()
        half = 1.96 * float(diff.std()) / math.sqrt(len(diff))
        return Gap(float(diff.mean()), float(diff.mean()) - half, float(diff.mean()) + half, float(losses[0].mean()))
