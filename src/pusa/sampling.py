"""Per-frame schedules and samplers over a velocity callable. Pure functions, torch only.

The schedule matrix S has shape (N+1, F): row i holds every latent frame's σ at step i.
A free frame follows the base schedule, S[i, f] = σ_i; a conditioning frame with noise multiplier
m_f follows a scaled copy, S[i, f] = m_f·σ_i, so m = 0 keeps it exactly clean. The matrix form
also covers diffusion-forcing style schedules: the sampler only ever reads S.

Samplers keep no state. ``model(x, sigma_row)`` returns the velocity v ≈ x1 − x0 for
x [B, C, F, H, W] and sigma_row = S[i] of shape (F,). Classifier-free guidance and the mapping
from σ to the model's timestep input belong to that callable, not to the sampler.

Timestep modes (what the model is told, see :func:`model_timesteps`):

- ``"float"`` (default): t = 1000·S[i, f] in float32. Use it for everything pusa trains itself
  and whenever you want the exact schedule.
- ``"reference"``: reproduces the Pusa V1 reference's rounding bit for bit (t cast to bf16, then
  truncated to an integer in conditioned pipelines; conditioning frames told trunc(bf16(t)·m)).
  Use it only to reproduce published Pusa V1 outputs; the released LoRA was trained and tuned
  with those values, and small models are sensitive to them.

The Euler update always uses the unrounded S, in both modes, as the reference does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import torch

TimestepMode = Literal["float", "reference"]
Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def schedule_matrix(sigmas: torch.Tensor, num_frames: int, multipliers: Mapping[int, float]) -> torch.Tensor:
    """S[i, f] = m_f·σ_i, with m_f = 1 for free frames; shape (N+1, F), float32.

    multipliers maps a latent frame index to its noise multiplier m ∈ [0, 1].
    """
    m = frame_multipliers(num_frames, multipliers)
    return sigmas.to(torch.float32)[:, None] * m[None, :]  # (N+1, 1)·(1, F) → (N+1, F)


def frame_multipliers(num_frames: int, multipliers: Mapping[int, float]) -> torch.Tensor:
    """Dense vector m of shape (F,): 1 for free frames, the given multiplier for conditioned ones."""
    m = torch.ones(num_frames, dtype=torch.float32)
    for frame, mult in multipliers.items():
        if not 0 <= frame < num_frames:
            raise ValueError(f"latent frame {frame} is outside 0..{num_frames - 1}")
        if not 0.0 <= mult <= 1.0:
            raise ValueError(f"noise multiplier for latent frame {frame} must be in [0, 1], got {mult}")
        m[frame] = mult
    return m


def noised_start(noise: torch.Tensor, clean: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """x_f = (1 − S[0, f])·c_f + S[0, f]·ε_f for x [B, C, F, H, W].

    Free frames have S[0, f] = σ_0 = 1 and start as pure noise whatever ``clean`` holds there.
    Where S[0, f] is exactly 0 or 1 the result is a copy of the clean or noise frame (no rounding).
    """
    s0 = S[0].to(noise.dtype)[None, None, :, None, None]  # [1, 1, F, 1, 1]
    x = (1 - s0) * clean + s0 * noise
    x = torch.where(s0 == 0, clean, x)
    return torch.where(s0 == 1, noise, x)


def sample_euler(
    model: Velocity,
    x: torch.Tensor,
    S: torch.Tensor,
    callback: Callable[[dict[str, Any]], None] | None = None,
) -> torch.Tensor:
    """Per-frame Euler integration of dx/dσ = v from row 0 to row N of S.

    x_f ← x_f + (S[i+1, f] − S[i, f])·v_f. A frame whose step is 0 is not touched at all, so an
    m = 0 conditioning frame comes back bit-identical. The callback receives
    {"i", "num_steps", "x", "sigma", "sigma_next", "v", "denoised"} after every step, where
    denoised = x − σ·v is the current estimate of x0 (before the update).
    """
    num_steps = S.shape[0] - 1
    for i in range(num_steps):
        sigma, sigma_next = S[i], S[i + 1]  # (F,)
        v = model(x, sigma)
        dsigma = (sigma_next - sigma).to(x.dtype)[None, None, :, None, None]  # [1, 1, F, 1, 1]
        frozen = (sigma_next == sigma)[None, None, :, None, None]
        denoised = x - sigma.to(x.dtype)[None, None, :, None, None] * v
        x = torch.where(frozen, x, x + dsigma * v.to(x.dtype))
        if callback is not None:
            callback({"i": i, "num_steps": num_steps, "x": x, "sigma": sigma, "sigma_next": sigma_next,
                      "v": v, "denoised": denoised})
    return x


def float_timesteps(sigma_row: torch.Tensor) -> torch.Tensor:
    """The clean default: t_f = 1000·σ_f in float32, shape (F,)."""
    return sigma_row.to(torch.float32) * 1000.0


def reference_timesteps(
    sigma_row: torch.Tensor,
    sigmas: torch.Tensor,
    multipliers: torch.Tensor,
    conditioned: bool,
) -> torch.Tensor:
    """What the Pusa V1 reference tells its model at one step, shape (F,), float32.

    The reference looks up the step by the nearest match of the largest frame timestep, then:
    free frames get bf16(t_i), truncated to an integer when the pipeline is conditioned
    (T2V passes bf16(t_i) as is); a conditioning frame gets trunc(bf16(t_i)·m_f).
    Here t_i = 1000·σ_i is recovered from sigma_row and the dense multipliers m (F,).
    """
    m = multipliers.to(torch.float32)
    live = m > 0
    if not bool(live.any()):
        return torch.zeros_like(sigma_row, dtype=torch.float32)
    est = (sigma_row.to(torch.float32)[live] / m[live]).max()  # σ_i as seen through any live frame
    i = int(torch.argmin((sigmas.to(torch.float32) - est).abs()))
    t = (sigmas[i].to(torch.float32) * 1000.0).to(torch.bfloat16).to(torch.float32)
    free = m == 1.0
    cond_t = torch.trunc(t * m)
    free_t = torch.trunc(t) if conditioned else t
    return torch.where(free, free_t.expand_as(m), cond_t)


def model_timesteps(
    sigma_row: torch.Tensor,
    mode: TimestepMode = "float",
    sigmas: torch.Tensor | None = None,
    multipliers: torch.Tensor | None = None,
) -> torch.Tensor:
    """Map one row of S to the timesteps the model sees, per :data:`TimestepMode` (module docstring)."""
    if mode == "float":
        return float_timesteps(sigma_row)
    if mode == "reference":
        if sigmas is None or multipliers is None:
            raise ValueError("reference timesteps need the base sigmas and the per-frame multipliers")
        conditioned = bool((multipliers != 1.0).any())
        return reference_timesteps(sigma_row, sigmas, multipliers, conditioned)
    raise ValueError(f"timestep mode must be 'float' or 'reference', got {mode!r}")


def step_sigma(sigma_row: torch.Tensor, multipliers: torch.Tensor) -> float:
    """The base schedule's σ_i at this step: the largest σ of a free frame (m = 1).

    With every frame conditioned (v2v), it is recovered as max σ_f / m_f over frames with m_f > 0.
    Clean conditioning frames (σ = 0) never pull it down.
    """
    m = multipliers.to(sigma_row.dtype)
    free = m == 1.0
    if bool(free.any()):
        return float(sigma_row[free].max())
    live = m > 0
    return float((sigma_row[live] / m[live]).max()) if bool(live.any()) else 0.0


def expert_index(sigma_row: torch.Tensor, multipliers: torch.Tensor, boundary: float) -> int:
    """Wan2.2 two-expert switch: 0 (high-noise expert) while 1000·σ_i ≥ boundary, else 1 (low-noise).

    σ_i is :func:`step_sigma`, so one step runs one expert even when frames hold different
    timesteps; the reference boundary is t = 875 (0.875 of the 1000-step range).
    """
    return 0 if 1000.0 * step_sigma(sigma_row, multipliers) >= boundary else 1
