"""Flow-matching math for vectorized timesteps. Pure functions, torch only.

One time convention, used everywhere in pusa (Wan / SD3 rectified flow):

    x_σ = (1 − σ)·x0 + σ·x1,    σ ∈ [0, 1],  σ = 1 is noise x1, σ = 0 is data x0
    v   = dx_σ/dσ = x1 − x0

The model's timestep input is t = 1000·σ. Pusa (VTA) gives every latent frame f its own σ_f, so
σ becomes a vector τ ∈ [0, 1]^F and x_τ = (1 − τ) ⊙ x0 + τ ⊙ x1, broadcast over the frame axis of a
[B, C, F, H, W] latent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

NUM_TRAIN_TIMESTEPS = 1000


def shift_sigma(sigma: torch.Tensor, shift: float) -> torch.Tensor:
    """Resolution shift of the flow schedule: σ' = s·σ / (1 + (s − 1)·σ). s = 1 is the identity."""
    if shift <= 0:
        raise ValueError(f"shift must be > 0, got {shift}")
    return shift * sigma / (1 + (shift - 1) * sigma)


def inference_sigmas(num_steps: int, shift: float = 5.0) -> torch.Tensor:
    """Sampling schedule σ_0 … σ_N, shape (N+1,), float64 → float32.

    σ_i = shift(1 − i/N) for i = 0…N−1 and σ_N = 0 (the reference's linspace(1, 0, N+1)[:-1]
    warped by the shift, with sigma_min 0). N = 4, s = 5 gives 1000·σ = 1000, 937.5, 833.3, 625, 0.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    base = 1 - torch.arange(num_steps, dtype=torch.float64) / num_steps
    sigmas = torch.cat([shift_sigma(base, shift), torch.zeros(1, dtype=torch.float64)])
    return sigmas.to(torch.float32)


def training_sigma_grid(shift: float = 5.0, num_train_timesteps: int = NUM_TRAIN_TIMESTEPS) -> torch.Tensor:
    """The reference's discrete training grid: 1000 shifted sigmas from 1 down to 1/1000, shape (1000,)."""
    return inference_sigmas(num_train_timesteps, shift)[:-1]


def training_sigmas(
    batch_size: int,
    num_frames: int,
    p_async: float = 1.0,
    shift: float = 5.0,
    mode: Literal["grid", "continuous"] = "grid",
    generator: torch.Generator | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Per-frame training sigmas τ with the probabilistic timestep sampling strategy (PTSS), shape [B, F].

    For each sample, with probability p_async every latent frame draws its own σ independently
    (asynchronous, the paper's setting p_async = 1); otherwise one σ is drawn and shared by all frames
    (synchronous, plain video flow matching).

    mode "grid" draws an index uniformly from the 1000-step shifted grid (the reference);
    mode "continuous" draws u ~ U(0, 1) and returns shift(u).
    """
    if not 0.0 <= p_async <= 1.0:
        raise ValueError(f"p_async must be in [0, 1], got {p_async}")
    if mode == "grid":
        grid = training_sigma_grid(shift)
        idx = torch.randint(0, len(grid), (batch_size, num_frames), generator=generator)
        sigma = grid[idx]  # [B, F]
    elif mode == "continuous":
        u = torch.rand(batch_size, num_frames, generator=generator, dtype=torch.float64)
        sigma = shift_sigma(u, shift).to(torch.float32)  # [B, F]
    else:
        raise ValueError(f"mode must be 'grid' or 'continuous', got {mode!r}")
    is_async = torch.rand(batch_size, generator=generator) < p_async  # [B]
    shared = sigma[:, :1].expand(-1, num_frames)  # [B, F]: first frame's draw for everyone
    sigma = torch.where(is_async[:, None], sigma, shared)
    return sigma.to(device) if device is not None else sigma


CONDITION_PATTERNS = ("i2v", "prefix", "start_end", "keyframes")


def check_patterns(patterns: Sequence[str]) -> None:
    if not patterns or any(p not in CONDITION_PATTERNS for p in patterns):
        raise ValueError(f"condition patterns must be a non-empty subset of {', '.join(CONDITION_PATTERNS)}; "
                         f"got {list(patterns)}")


def condition_mask(num_frames: int, generator: torch.Generator | None = None,
                   patterns: Sequence[str] = CONDITION_PATTERNS) -> torch.Tensor:
    """Which latent frames a conditioning task gives clean, drawn at random: bool [F], at least one
    True and at least one False (needs F ≥ 2).

    The pattern is one of ``patterns`` (default: all of CONDITION_PATTERNS), each equally likely:
    "i2v" frame 0; "prefix" frames 0 … k−1 with k ~ U{2, …, F−1} (extension; frame 0 alone when F = 2);
    "start_end" the first and last frame (frame 0 alone when F = 2); "keyframes" every frame
    independently with probability 1/2, redrawn until some but not all are given.
    """
    if num_frames < 2:
        raise ValueError(f"a conditioning pattern needs at least 2 latent frames, got {num_frames}")
    check_patterns(patterns)
    mask = torch.zeros(num_frames, dtype=torch.bool)
    kind = patterns[int(torch.randint(0, len(patterns), (1,), generator=generator))]
    if kind == "i2v" or num_frames == 2:
        mask[0] = True
    elif kind == "prefix":
        mask[: int(torch.randint(2, num_frames, (1,), generator=generator))] = True
    elif kind == "start_end":
        mask[[0, -1]] = True
    else:
        while mask.all() or not mask.any():
            mask = torch.rand(num_frames, generator=generator) < 0.5
    return mask


# p_high's band (task_sigmas): the σ of text-to-video's first sampling steps (10 steps at shift 5 visit 1, 0.98,
# 0.95, 0.92, 0.88), where Pusa-mini's text-to-video reads the caption's direction least (docs/mini2.md).
HIGH_BAND = (0.85, 1.0)


def task_sigmas(
    batch_size: int,
    num_frames: int,
    p_cond: float,
    p_async: float = 1.0,
    shift: float = 5.0,
    mode: Literal["grid", "continuous"] = "grid",
    generator: torch.Generator | None = None,
    patterns: Sequence[str] = CONDITION_PATTERNS,
    p_pure: float = 0.0,
    p_high: float = 0.0,
    high_band: tuple[float, float] = HIGH_BAND,
) -> torch.Tensor:
    """Training sigmas τ [B, F] that also draw the conditioning tasks the sampler runs (pusa's option,
    not the paper's; p_cond = p_high = 0 is exactly :func:`training_sigmas`).

    With probability p_cond a sample is a conditioning task: the frames of :func:`condition_mask` get
    σ = 0 (given clean, as an m = 0 condition is at inference) and all other frames share one σ drawn
    as in PTSS's synchronous case. Otherwise the sample is PTSS with p_async. At inference every
    conditioned task is exactly this shape (given frames at 0, free frames on one schedule), a shape
    independent per-frame draws almost never produce for F ≥ 3.

    With probability p_pure a conditioning task's free frames are pure noise (σ = 1), the state sampling
    starts from. Only there do the free frames say nothing, so only there must the model read from the
    given frames and the caption where things go; below σ ≈ 0.95 the noisy frames already show it (issue 18:
    Pusa-mini learnt the caption's direction only once such samples were common). p_pure = 0 draws exactly
    as before.

    With probability p_high a sample that is not a conditioning task (text-to-video) has every frame at one σ
    drawn uniformly from ``high_band``: the first sampling steps of text-to-video, where nothing but the caption
    can say which way the object goes and the noisy frames must be made to agree with it. p_high = 0 draws
    exactly as before.
    """
    if not 0.0 <= p_cond <= 1.0:
        raise ValueError(f"p_cond must be in [0, 1], got {p_cond}")
    if not 0.0 <= p_pure <= 1.0:
        raise ValueError(f"p_pure must be in [0, 1], got {p_pure}")
    if not 0.0 <= p_high <= 1.0:
        raise ValueError(f"p_high must be in [0, 1], got {p_high}")
    low, high = high_band
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"high_band must be 0 ≤ low < high ≤ 1, got {high_band}")
    sigma = training_sigmas(batch_size, num_frames, p_async, shift, mode, generator)
    if p_cond == 0.0 and p_high == 0.0:
        return sigma
    shared = training_sigmas(batch_size, num_frames, 0.0, shift, mode, generator)  # [B, F], rows constant
    for b in range(batch_size):
        if float(torch.rand(1, generator=generator)) < p_cond:
            row = shared[b]
            if p_pure > 0 and float(torch.rand(1, generator=generator)) < p_pure:
                row = torch.ones_like(row)
            sigma[b] = row.masked_fill(condition_mask(num_frames, generator, patterns), 0.0)
        elif p_high > 0 and float(torch.rand(1, generator=generator)) < p_high:
            u = float(torch.rand(1, generator=generator))
            sigma[b] = low + (high - low) * u
    return sigma


def _frame_broadcast(tau: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """View τ [B, F] (or [F]) as [B, 1, F, 1, 1] against a [B, C, F, H, W] latent."""
    if tau.ndim == 1:
        tau = tau[None]
    if tau.shape[-1] != like.shape[2]:
        raise ValueError(f"tau has {tau.shape[-1]} frames but the latent has {like.shape[2]}")
    return tau[:, None, :, None, None].to(like.dtype)


def interpolate(x0: torch.Tensor, x1: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
    """Frame-wise interpolation x_τ = (1 − τ) ⊙ x0 + τ ⊙ x1; x0, x1 [B, C, F, H, W], τ [B, F]."""
    t = _frame_broadcast(tau, x0)
    return (1 - t) * x0 + t * x1


def fafm_target(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    """Frame-aware flow-matching target: the velocity v = x1 − x0 (noise minus data)."""
    return x1 - x0


def fafm_loss(
    v_pred: torch.Tensor,
    x0: torch.Tensor,
    x1: torch.Tensor,
    frame_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """FAFM loss: mean over all elements of ‖v_θ(x_τ, τ) − (x1 − x0)‖².

    frame_weights [B, F] (optional, off by default) weights each frame's squared error; the reference
    instead scales the scalar MSE by a mean per-frame weight, which this generalises.
    """
    err = (v_pred.float() - fafm_target(x0, x1).float()) ** 2  # [B, C, F, H, W]
    if frame_weights is None:
        return err.mean()
    w = _frame_broadcast(frame_weights.float(), err)
    if not bool((w > 0).any()):
        return (err * w).sum()  # nothing to learn from: a zero that keeps the graph
    return (err * w).mean() / w.mean()


def loss_frame_weights(tau: torch.Tensor, sigma_weighting: bool = False) -> torch.Tensor:
    """Per-frame loss weights [B, F] for τ [B, F]: 0 for frames at σ = 0, else 1 (or σ with sigma_weighting).

    A frame at σ = 0 is the data itself: its target x1 − x0 holds noise the model cannot see, so its
    error is irreducible, and the sampler never uses the model's output there (an m = 0 condition is
    kept as given). Such frames still serve as clean context for the others.
    """
    weights = tau.float() if sigma_weighting else torch.ones_like(tau, dtype=torch.float32)
    return weights * (tau > 0)
