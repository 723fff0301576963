"""PusaPipeline: text + frame conditions → video, with one timestep per latent frame.

Steps of ``__call__``: (1) check inputs and plan where each condition lands, (2) encode the text,
(3) encode the conditions into clean latents, (4) build the schedule matrix S, (5) start from the
per-frame noised latents, (6) integrate with the per-frame Euler sampler, (7) decode.
The numerics live in ``pusa.flow`` and ``pusa.sampling``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from diffusers import DiffusionPipeline
from diffusers.loaders import WanLoraLoaderMixin
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import get_module_execution_device

import pusa.models  # noqa: F401  (diffusers resolves saved components only from imported modules)
from pusa import conditions as C
from pusa.conditions import FrameCondition, SlotPlan, canvas, fit_frames, multipliers_from_plan, plan_conditions
from pusa.flow import inference_sigmas
from pusa.frames import check_frame_count, num_latent_frames, vae_factors
from pusa.presets import PRESETS  # noqa: F401  (re-exported: pusa.pipeline.PRESETS)
from pusa.sampling import (
    TimestepMode,
    expert_index,
    frame_multipliers,
    model_timesteps,
    noised_start,
    sample_euler,
    schedule_matrix,
)

logger = logging.getLogger(__name__)

ImageEncoding = Literal["hold", "first_frame"]


@dataclass
class PusaPipelineOutput(BaseOutput):
    """frames: [B, T, H, W, 3] in [0, 1] (np or pt), or latents [B, C, F, h, w] for output_type "latent"."""

    frames: Any
    plans: list[SlotPlan] = field(default_factory=list)
    schedule: torch.Tensor | None = None


def latent_stats(vae: Any, channels: int, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean, std) that normalise raw autoencoder latents: z = (raw − mean) / std, [1, C, 1, 1, 1]."""
    cfg = vae.config
    mean, std = getattr(cfg, "latents_mean", None), getattr(cfg, "latents_std", None)
    if mean is not None and std is not None:
        m, s = torch.tensor(mean), torch.tensor(std)
    else:
        scale, shift = getattr(cfg, "scaling_factor", None) or 1.0, getattr(cfg, "shift_factor", None) or 0.0
        m, s = torch.full((channels,), float(shift)), torch.full((channels,), 1.0 / float(scale))
    view = (1, channels, 1, 1, 1)
    return m.view(view).to(device, dtype), s.view(view).to(device, dtype)


class PusaPipeline(DiffusionPipeline, WanLoraLoaderMixin):
    """Vectorized-timestep video generation with a Wan transformer (Pusa / VTA).

    Components: a tokenizer and text encoder (any encoder returning ``last_hidden_state``), a causal
    video autoencoder (AutoencoderKLWan, or anything with ``encode``/``decode`` and a config giving
    its temporal and spatial factors) and a :class:`~pusa.models.PusaTransformer3DModel`.
    """

    model_cpu_offload_seq = "text_encoder->transformer->transformer_2->vae"
    _optional_components: list[str] = ["transformer_2"]

    def __init__(self, tokenizer: Any, text_encoder: Any, vae: Any, transformer: Any, transformer_2: Any = None,
                 fps: int = 16, default_num_frames: int = 81, default_height: int = 480,
                 default_width: int = 832, boundary_ratio: float | None = None,
                 max_sequence_length: int = 512) -> None:
        super().__init__()
        self.register_modules(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer,
                              transformer_2=transformer_2)
        self.register_to_config(fps=fps, default_num_frames=default_num_frames, default_height=default_height,
                                default_width=default_width, boundary_ratio=boundary_ratio,
                                max_sequence_length=max_sequence_length)

    def expert(self, sigma_row: torch.Tensor, multipliers: torch.Tensor) -> Any:
        """The transformer for this step: Wan2.1 has one; Wan2.2-A14B switches experts at boundary_ratio·1000."""
        if self.transformer_2 is None:
            return self.transformer
        boundary = 1000.0 * (self.config.boundary_ratio if self.config.boundary_ratio is not None else 0.875)
        return (self.transformer, self.transformer_2)[expert_index(sigma_row, multipliers, boundary)]

    @property
    def _device(self) -> torch.device:
        """Where the denoising runs: the transformer's execution device (offload hooks included)."""
        return get_module_execution_device(self.transformer)

    # --- geometry -----------------------------------------------------------------------------

    @property
    def temporal_factor(self) -> int:
        return vae_factors(self.vae.config)[0]

    @property
    def spatial_factor(self) -> int:
        return vae_factors(self.vae.config)[1]

    def plan(self, conditions: Sequence[FrameCondition], num_frames: int) -> list[SlotPlan]:
        """Which latent slots each condition will occupy (raises ValueError on a bad layout)."""
        check_frame_count(num_frames, self.temporal_factor)
        return plan_conditions(conditions, num_frames, self.temporal_factor)

    def check_inputs(self, prompt: Any, negative_prompt: Any, conditions: Sequence[FrameCondition],
                     num_frames: int, height: int, width: int, num_inference_steps: int,
                     guidance_scale: float, shift: float) -> list[SlotPlan]:
        """Validate every argument before any work; each error names the argument and its value."""
        if not isinstance(prompt, (str, list)) or (isinstance(prompt, list) and not all(isinstance(p, str) for p in prompt)):
            raise ValueError(f"prompt must be a string or a list of strings, got {type(prompt).__name__}")
        if negative_prompt is not None and not isinstance(negative_prompt, (str, list)):
            raise ValueError(f"negative_prompt must be a string or a list of strings, got {type(negative_prompt).__name__}")
        if isinstance(num_inference_steps, bool) or not isinstance(num_inference_steps, int) or num_inference_steps < 1:
            raise ValueError(f"num_inference_steps must be an integer >= 1, got {num_inference_steps!r}")
        if guidance_scale < 0:
            raise ValueError(f"guidance_scale must be >= 0, got {guidance_scale}")
        if shift <= 0:
            raise ValueError(f"shift must be > 0, got {shift}")
        multiple = self.spatial_factor * self.transformer.config.patch_size[1]
        for name, value in (("height", height), ("width", width)):
            if value < multiple or value % multiple:
                lower, upper = max(multiple, value // multiple * multiple), (value // multiple + 1) * multiple
                raise ValueError(f"{name}={value} must be a multiple of {multiple}; use {lower} or {upper}")
        return self.plan(conditions, num_frames)

    # --- encoders -----------------------------------------------------------------------------

    @torch.no_grad()
    def encode_prompt(self, prompt: str | list[str], max_sequence_length: int | None = None) -> torch.Tensor:
        """Text states [B, L, D]; positions past each prompt's length are zero (as Wan does).

        L is ``max_sequence_length`` (default: the pipeline's, 512 for Wan): the transformer must see the
        same padded length it was trained with, since Wan's cross-attention has no mask.
        """
        max_sequence_length = max_sequence_length or self.config.get("max_sequence_length", 512)
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        tokens = self.tokenizer(prompts, padding="max_length", max_length=max_sequence_length, truncation=True,
                                add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        device = get_module_execution_device(self.text_encoder)
        mask = tokens.attention_mask.to(device)
        states = self.text_encoder(tokens.input_ids.to(device), mask).last_hidden_state  # [B, L, D]
        states = states * mask[..., None].to(states.dtype)
        return states.to(self.transformer.dtype)

    def _latent_stats(self, channels: int) -> tuple[torch.Tensor, torch.Tensor]:
        return latent_stats(self.vae, channels, self._device, torch.float32)

    @torch.no_grad()
    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Pixels [T, H, W, 3] in [0, 1] → normalised latents [1, C, F, h, w] (float32)."""
        x = (frames.permute(3, 0, 1, 2)[None] * 2 - 1).to(self._device, self.vae.dtype)  # [1, 3, T, H, W]
        enc = self.vae.encode(x)
        dist = getattr(enc, "latent_dist", enc)
        raw = (dist.mode() if hasattr(dist, "mode") else dist).float()
        mean, std = self._latent_stats(raw.shape[1])
        return (raw - mean) / std

    @torch.no_grad()
    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Normalised latents [B, C, F, h, w] → pixels [B, T, H, W, 3] in [0, 1] (float32)."""
        mean, std = self._latent_stats(latents.shape[1])
        raw = (latents.float() * std + mean).to(self.vae.dtype)
        video = self.vae.decode(raw).sample.float()  # [B, 3, T, H, W] in [-1, 1]
        return ((video + 1) / 2).clamp(0, 1).permute(0, 2, 3, 4, 1)

    def encode_conditions(self, plans: Sequence[SlotPlan], latent_shape: tuple[int, ...], height: int,
                          width: int, image_encoding: ImageEncoding = "hold") -> torch.Tensor:
        """Clean latents c [1, C, F, h, w]: each condition's slots filled, zeros elsewhere.

        "hold" encodes a clip that holds the condition's frames across its whole group (and
        before it), so a causal encoder sees a full group; "first_frame" encodes a lone image at
        slot j ≥ 1 as a one-frame clip (the reference's choice).
        """
        r = self.temporal_factor
        clean = torch.zeros(latent_shape, device=self._device, dtype=torch.float32)
        for plan in plans:
            frames = fit_frames(plan.condition.frames, height, width)
            cond = FrameCondition(frames, plan.condition.start, plan.condition.noise)
            if image_encoding == "first_frame" and cond.num_frames == 1:
                z = self.encode_frames(frames)  # [1, C, 1, h, w]
                clean[:, :, plan.slots[0]] = z[:, :, 0]
                continue
            clip, first = canvas(cond, r)
            z = self.encode_frames(clip)  # [1, C, last+1, h, w]
            clean[:, :, first:plan.slots[-1] + 1] = z[:, :, first:]
        return clean

    # --- the velocity callable ----------------------------------------------------------------

    def velocity_model(self, text: torch.Tensor, text_uncond: torch.Tensor | None, guidance_scale: float,
                       timestep_mode: TimestepMode, sigmas: torch.Tensor,
                       multipliers: torch.Tensor) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        """model(x, sigma_row) → v with per-frame timesteps and classifier-free guidance."""
        def model(x: torch.Tensor, sigma_row: torch.Tensor) -> torch.Tensor:
            transformer = self.expert(sigma_row, multipliers)
            t = model_timesteps(sigma_row, timestep_mode, sigmas, multipliers).to(x.device)  # (F,)
            t = t[None].expand(x.shape[0], -1)  # [B, F]
            v = transformer(x.to(transformer.dtype), t, text, return_dict=False)[0].float()
            if text_uncond is None:
                return v
            v_u = transformer(x.to(transformer.dtype), t, text_uncond, return_dict=False)[0].float()
            return v_u + guidance_scale * (v - v_u)

        return model

    # --- __call__ -----------------------------------------------------------------------------

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] = "",
        negative_prompt: str | list[str] | None = None,
        conditions: Sequence[FrameCondition] = (),
        num_frames: int | None = None,
        height: int | None = None,
        width: int | None = None,
        num_inference_steps: int = 10,
        guidance_scale: float = 3.0,
        shift: float = 5.0,
        generator: torch.Generator | None = None,
        output_type: Literal["np", "pt", "latent"] = "np",
        callback: Callable[[dict[str, Any]], None] | None = None,
        timestep_mode: TimestepMode = "float",
        image_encoding: ImageEncoding = "hold",
        max_sequence_length: int | None = None,
        warm_start: float | None = None,
        return_dict: bool = True,
    ) -> PusaPipelineOutput | tuple:
        """Generate videos; see the module docstring for the steps.

        ``warm_start`` = m starts every free latent frame from the nearest given frame noised to σ = m
        (:func:`pusa.conditions.warm_start`) instead of from pure noise; None (the paper's sampler)
        starts them from noise. It changes nothing without conditions.
        """
        num_frames = num_frames or self.config.default_num_frames
        max_sequence_length = max_sequence_length or self.config.get("max_sequence_length", 512)
        height, width = height or self.config.default_height, width or self.config.default_width
        # 1. Check everything up front and say where each condition lands.
        plans = self.check_inputs(prompt, negative_prompt, conditions, num_frames, height, width,
                                  num_inference_steps, guidance_scale, shift)
        if warm_start is not None:
            plans = self.plan(C.warm_start(conditions, num_frames, self.temporal_factor, warm_start),
                              num_frames)
        for p in plans:
            logger.info(p.describe(self.temporal_factor))
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        batch = len(prompts)

        # 2. Text. CFG only when it changes anything (g = 1 is the conditional model alone).
        text = self.encode_prompt(prompts, max_sequence_length)
        text_uncond = None
        if guidance_scale != 1.0:
            neg = negative_prompt if negative_prompt is not None else ""
            negs = [neg] * batch if isinstance(neg, str) else list(neg)
            text_uncond = self.encode_prompt(negs, max_sequence_length)

        # 3. Conditions → clean latents in their slots.
        r, s = vae_factors(self.vae.config)
        shape = (1, self.transformer.config.in_channels, num_latent_frames(num_frames, r), height // s, width // s)
        clean = self.encode_conditions(plans, shape, height, width, image_encoding).expand(batch, -1, -1, -1, -1)

        # 4. Per-frame schedule S (N+1, F).
        sigmas = inference_sigmas(num_inference_steps, shift)
        mults = multipliers_from_plan(plans)
        S = schedule_matrix(sigmas, shape[2], mults)

        # 5. Noised start: free frames pure noise, condition frames at m·σ_0.
        noise = torch.randn((batch, *shape[1:]), generator=generator, dtype=torch.float32).to(self._device)
        x = noised_start(noise, clean, S)

        # 6. Integrate.
        model = self.velocity_model(text, text_uncond, guidance_scale, timestep_mode, sigmas,
                                    frame_multipliers(shape[2], mults))
        x = sample_euler(model, x, S, callback)

        # 7. Decode.
        if output_type == "latent":
            frames = x
        else:
            frames = self.decode_latents(x)
            if output_type == "np":
                frames = frames.cpu().numpy()
        self.maybe_free_model_hooks()
        if not return_dict:
            return (frames,)
        return PusaPipelineOutput(frames=frames, plans=plans, schedule=S)
