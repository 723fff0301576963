"""PusaTransformer3DModel: the Wan DiT with vectorized timesteps (VTA).

It is diffusers' WanTransformer3DModel with the same parameters and names, so every Wan2.1
checkpoint in diffusers layout loads with ``from_pretrained`` and LoRA, offload and cache hooks keep
working. Only ``forward`` changes: a timestep of shape [B, F] (one per latent frame) runs Wan's
time embedding once per frame and modulates each frame's tokens with its own shift/scale/gate.
No new parameters; with all frames equal it is exactly the scalar model.

Cost: the per-frame modulation is [B, F, 6, D], applied by viewing the hidden states as
[B, F, H'·W', D] and broadcasting. diffusers' per-token path (timestep [B, L]) materialises
[B, L, 6, D] in every block instead.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from diffusers.models.modeling_outputs import Transformer2DModelOutput
from diffusers.models.modeling_utils import ModelMixin  # noqa: F401  (DiffusionPipeline.from_pretrained looks it up in this module)
from diffusers.models.transformers.transformer_wan import WanTransformer3DModel, WanTransformerBlock
from diffusers.utils import apply_lora_scale


def per_frame_modulation(table: torch.Tensor, proj: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Split table [1, K, D] + proj [B, F, K, D] into K tensors of shape [B, F, 1, D] (fp32)."""
    mod = table[None].float() + proj.float()  # [1, 1, K, D] + [B, F, K, D] → [B, F, K, D]
    return tuple(mod[:, :, k, None, :] for k in range(mod.shape[2]))  # each [B, F, 1, D]


def _framewise(x: torch.Tensor, num_frames: int) -> torch.Tensor:
    """View tokens [B, L, D] as [B, F, H'W', D] (tokens are frame-major after the (1,2,2) patch)."""
    return x.unflatten(1, (num_frames, -1))


def modulate(x: torch.Tensor, norm: torch.nn.Module, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """norm(x)·(1 + scale) + shift per frame; x [B, L, D], scale/shift [B, F, 1, D] → [B, L, D] (fp32)."""
    normed = _framewise(norm(x.float()), scale.shape[1])  # [B, F, H'W', D]
    return (normed * (1 + scale) + shift).flatten(1, 2)  # [B, L, D]


def gated_residual(x: torch.Tensor, y: torch.Tensor, gate: torch.Tensor) -> torch.Tensor:
    """x + y·gate per frame, in fp32, returned in x's dtype; x, y [B, L, D], gate [B, F, 1, D]."""
    out = _framewise(x.float(), gate.shape[1]) + _framewise(y.float(), gate.shape[1]) * gate
    return out.flatten(1, 2).type_as(x)


X0_SIGMA_MIN = 0.05  # σ floor when turning an x0 prediction into a velocity
PREDICTION_TYPES = ("velocity", "x0", "x0-skip")
PUSA_CONFIG_KEYS = ("prediction_type", "sigma_data")  # config entries WanTransformer3DModel does not have


class PusaTransformerBlock(WanTransformerBlock):
    """A Wan block that also accepts per-frame modulation temb [B, F, 6, D] (F < L).

    Same parameters as WanTransformerBlock (instances are re-classed, nothing is added), so hooks that
    wrap ``block.forward`` (offloading, caching, checkpointing) keep working on the VTA path.
    [B, 6, D] and per-token [B, L, 6, D] go to the base implementation unchanged.
    """

    def forward(self, hidden_states: torch.Tensor, encoder_hidden_states: torch.Tensor, temb: torch.Tensor,
                rotary_emb: Any) -> torch.Tensor:
        if temb.ndim != 4 or temb.shape[1] == hidden_states.shape[1]:
            return super().forward(hidden_states, encoder_hidden_states, temb, rotary_emb)
        # Mirrors WanTransformerBlock.forward operation for operation (same fp32 casts), but keeps the
        # six modulation tensors at [B, F, 1, D] instead of [B, L, D].
        shift_msa, scale_msa, gate_msa, c_shift, c_scale, c_gate = per_frame_modulation(self.scale_shift_table, temb)
        # 1. Self-attention
        norm_x = modulate(hidden_states, self.norm1, scale_msa, shift_msa).type_as(hidden_states)
        attn_out = self.attn1(norm_x, None, None, rotary_emb)
        hidden_states = gated_residual(hidden_states, attn_out, gate_msa)
        # 2. Cross-attention (no modulation)
        norm_x = self.norm2(hidden_states.float()).type_as(hidden_states)
        hidden_states = hidden_states + self.attn2(norm_x, encoder_hidden_states, None, None)
        # 3. Feed-forward
        norm_x = modulate(hidden_states, self.norm3, c_scale, c_shift).type_as(hidden_states)
        return gated_residual(hidden_states, self.ffn(norm_x), c_gate)


def cast_keeping_fp32(model: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """Cast ``model``'s floating parameters and buffers to ``dtype`` in place, except those of the modules
    its class keeps in float32 (``_keep_in_fp32_modules``, matched on dotted name parts as diffusers'
    ``from_pretrained(torch_dtype=…)`` does). For weights built in float32 (e.g. a LoRA fused at full
    precision) and then run in bf16; a plain ``.to(dtype)`` would also round the time embedding and norms."""
    keep = tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    for name, t in [*model.named_parameters(), *model.named_buffers()]:
        if t.is_floating_point() and not any(k in name.split(".") for k in keep):
            t.data = t.data.to(dtype)
    return model


class PusaTransformer3DModel(WanTransformer3DModel):
    """Wan video transformer whose ``forward`` takes a timestep of shape [B], [B, F] or [B, L].

    - [B]: one timestep per sample, identical to WanTransformer3DModel.
    - [B, F] with F the number of latent frames (after temporal patching): the VTA path.
    - [B, L] with L the number of tokens: diffusers' per-token path (Wan2.2 TI2V), unchanged.
    """

    _no_split_modules = ["WanTransformerBlock", "PusaTransformerBlock"]
    _repeated_blocks = ["WanTransformerBlock", "PusaTransformerBlock"]

    def __init__(self, *args: Any, prediction_type: str = "velocity", sigma_data: float = 0.5, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if prediction_type not in PREDICTION_TYPES:
            raise ValueError(f"prediction_type={prediction_type!r}: use one of {PREDICTION_TYPES} ('velocity' is Wan's)")
        if not sigma_data > 0:
            raise ValueError(f"sigma_data={sigma_data}: expected > 0 (the data's RMS)")
        self.register_to_config(prediction_type=prediction_type, sigma_data=float(sigma_data))
        for block in self.blocks:
            block.__class__ = PusaTransformerBlock  # same parameters; adds the per-frame forward

    # diffusers reads the constructor's signature to build configs: Wan's arguments plus prediction_type.
    __init__.__signature__ = inspect.Signature([
        *inspect.signature(WanTransformer3DModel.__init__).parameters.values(),
        inspect.Parameter("prediction_type", inspect.Parameter.KEYWORD_ONLY, default="velocity"),
        inspect.Parameter("sigma_data", inspect.Parameter.KEYWORD_ONLY, default=0.5),
    ])

    def x0_from_output(self, x: torch.Tensor, out: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """The clean-data estimate x̂0 from the network output F; x, F [B, C, F, H, W], σ [B, F].

        "x0": x̂0 = F. "x0-skip": x̂0 = c_skip(σ)·x_σ + c_out(σ)·F, the preconditioning of Karras et al.
        (2022) for the rectified-flow path x_σ = (1 − σ)·x0 + σ·ε with E[x0²] = σ_d²:
        c_skip = (1 − σ)σ_d² / ((1 − σ)²σ_d² + σ²), c_out = σ·σ_d / √((1 − σ)²σ_d² + σ²).
        At low σ the input passes through (c_skip → 1, c_out → 0), so a narrow token only has to carry the
        correction; at σ = 1 it is plain x0 prediction (c_skip = 0, c_out = σ_d).
        """
        if self.config.get("prediction_type", "velocity") == "x0":
            return out.float()
        s = sigma[:, None, :, None, None].double()
        sd2 = float(self.config.get("sigma_data", 0.5)) ** 2
        var = (1 - s) ** 2 * sd2 + s ** 2
        c_skip, c_out = ((1 - s) * sd2 / var).float(), (s * sd2 ** 0.5 / var.sqrt()).float()
        return c_skip * x.float() + c_out * out.float()

    def velocity_from_x0(self, x: torch.Tensor, x0: torch.Tensor, timestep: torch.Tensor) -> torch.Tensor:
        """v = (x_σ − x̂0) / σ per frame (σ = t/1000, floored at X0_SIGMA_MIN); x, x0 [B, C, F, H, W].

        ``x0`` is the network output F, turned into x̂0 by :meth:`x0_from_output`. For the x0 prediction
        types the network predicts clean data, which a patch embedding narrower than the patch
        (pixel-space packing) can represent while it cannot pass full-rank noise through; the sampler
        and the FAFM loss still see a velocity.
        """
        sigma = timestep.float() / 1000.0
        if sigma.ndim == 1:
            sigma = sigma[:, None].expand(-1, x.shape[2])
        if sigma.shape[1] != x.shape[2]:
            raise ValueError("x0 prediction types support [B] and [B, F] timesteps, not per-token ones")
        x0 = self.x0_from_output(x, x0, sigma)
        return (x.float() - x0) / sigma.clamp(min=X0_SIGMA_MIN)[:, None, :, None, None]

    def timestep_kind(self, hidden_states: torch.Tensor, timestep: torch.Tensor) -> str:
        """'scalar', 'frame' or 'token' for a timestep given with hidden_states [B, C, F, H, W]."""
        _, _, frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.config.patch_size
        num_frames, tokens = frames // p_t, (frames // p_t) * (height // p_h) * (width // p_w)
        if timestep.ndim == 1:
            return "scalar"
        if timestep.ndim == 2 and timestep.shape[1] == num_frames:
            return "frame"
        if timestep.ndim == 2 and timestep.shape[1] == tokens:
            return "token"
        raise ValueError(
            f"timestep must have shape [B], [B, F={num_frames}] or [B, L={tokens}], got {tuple(timestep.shape)}"
        )

    @apply_lora_scale("attention_kwargs")
    def forward(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_hidden_states_image: torch.Tensor | None = None,
        return_dict: bool = True,
        attention_kwargs: dict[str, Any] | None = None,
    ) -> torch.Tensor | Transformer2DModelOutput:
        kind = self.timestep_kind(hidden_states, timestep)
        if getattr(self, "_sequence_parallel", None) is not None:
            if kind == "token":
                raise ValueError("sequence parallel supports [B] and [B, F] timesteps, not per-token [B, L]")
            if kind == "scalar":  # equal per-frame values are exactly the scalar model
                timestep, kind = timestep[:, None].expand(-1, hidden_states.shape[2] // self.config.patch_size[0]), "frame"
        if kind != "frame":
            # Scalar and per-token timesteps: the base model, untouched. attention_kwargs were
            # consumed by our own apply_lora_scale, so do not apply the LoRA scale twice.
            out = WanTransformer3DModel.forward.__wrapped__(
                self, hidden_states, timestep, encoder_hidden_states, encoder_hidden_states_image,
                return_dict=False, attention_kwargs=None,
            )[0]
        else:
            out = self._forward_per_frame(hidden_states, timestep, encoder_hidden_states,
                                          encoder_hidden_states_image, return_dict=False)[0]
        if self.config.get("prediction_type", "velocity") != "velocity":
            # With extra input channels (Wan-I2V's [x_σ, mask, condition] layout) x_σ is the first C.
            x = hidden_states[:, : out.shape[1]]
            out = self.velocity_from_x0(x, out, timestep).to(out.dtype)
        return Transformer2DModelOutput(sample=out) if return_dict else (out,)

    def _forward_per_frame(
        self,
        hidden_states: torch.Tensor,
        timestep: torch.Tensor,
        encoder_hidden_states: torch.Tensor,
        encoder_hidden_states_image: torch.Tensor | None,
        return_dict: bool,
    ) -> torch.Tensor | Transformer2DModelOutput:
        batch_size, _, frames, height, width = hidden_states.shape
        p_t, p_h, p_w = self.config.patch_size
        num_frames, post_h, post_w = frames // p_t, height // p_h, width // p_w

        rotary_emb = self.rope(hidden_states)
        hidden_states = self.patch_embedding(hidden_states)  # [B, D, F, H', W']
        hidden_states = hidden_states.flatten(2).transpose(1, 2).contiguous()  # [B, L, D], frame-major

        # Wan's time embedding, run once per latent frame: temb [B, F, D], proj [B, F, 6·D].
        temb, timestep_proj, encoder_hidden_states, encoder_hidden_states_image = self.condition_embedder(
            timestep.flatten(), encoder_hidden_states, encoder_hidden_states_image, timestep_seq_len=num_frames
        )
        timestep_proj = timestep_proj.unflatten(2, (6, -1))  # [B, F, 6, D]
        if encoder_hidden_states_image is not None:
            encoder_hidden_states = torch.concat([encoder_hidden_states_image, encoder_hidden_states], dim=1)

        sp = getattr(self, "_sequence_parallel", None)
        if sp is not None:  # keep this rank's frames: their tokens, RoPE rows and modulation rows together
            hidden_states, rotary_emb, temb, timestep_proj, sizes, saved = self._split_frames(
                sp, hidden_states, rotary_emb, temb, timestep_proj, num_frames, post_h * post_w)
        try:
            for block in self.blocks:
                if torch.is_grad_enabled() and self.gradient_checkpointing:
                    hidden_states = self._gradient_checkpointing_func(
                        block, hidden_states, encoder_hidden_states, timestep_proj, rotary_emb
                    )
                else:
                    hidden_states = block(hidden_states, encoder_hidden_states, timestep_proj, rotary_emb)
        finally:
            if sp is not None:
                for block, processor in zip(self.blocks, saved):
                    block.attn1.processor = processor

        # Output norm with the head's own [1, 2, D] table, per frame.
        shift, scale = per_frame_modulation(self.scale_shift_table.to(temb.device), temb[:, :, None, :])
        shift, scale = shift.to(hidden_states.device), scale.to(hidden_states.device)
        hidden_states = modulate(hidden_states, self.norm_out, scale, shift).type_as(hidden_states)
        hidden_states = self.proj_out(hidden_states)  # [B, L, p_t·p_h·p_w·C]
        if sp is not None:
            from pusa.models.parallel import all_gather_sequence

            hidden_states = all_gather_sequence(hidden_states, sizes, sp)  # local tokens → all L tokens

        hidden_states = hidden_states.reshape(batch_size, num_frames, post_h, post_w, p_t, p_h, p_w, -1)
        hidden_states = hidden_states.permute(0, 7, 1, 4, 2, 5, 3, 6)  # [B, C, F, p_t, H', p_h, W', p_w]
        output = hidden_states.flatten(6, 7).flatten(4, 5).flatten(2, 3)  # [B, C, F·p_t, H, W]
        if not return_dict:
            return (output,)
        return Transformer2DModelOutput(sample=output)

    def _split_frames(self, sp, hidden_states, rotary_emb, temb, timestep_proj, num_frames: int, hw: int):
        """Slice everything per-token or per-frame to this rank's frames; route self-attention through KV gathering."""
        from pusa.models.parallel import GatherKVAttnProcessor, frame_split

        bounds = frame_split(num_frames, sp.world_size)
        f0, f1 = bounds[sp.rank]
        sizes = [(b - a) * hw for a, b in bounds]
        hidden_states = hidden_states[:, f0 * hw:f1 * hw]  # [B, l, D]
        rotary_emb = tuple(r[:, f0 * hw:f1 * hw] for r in rotary_emb)  # [1, l, 1, d] each
        saved = [block.attn1.processor for block in self.blocks]
        for block in self.blocks:
            block.attn1.processor = GatherKVAttnProcessor(sp, sizes)
        return hidden_states, rotary_emb, temb[:, f0:f1], timestep_proj[:, f0:f1], sizes, saved

    def load_wan_state_dict(self, state_dict: dict[str, torch.Tensor], strict: bool = True) -> None:
        """Load weights in the original Wan release layout (``blocks.N.self_attn.q.weight`` …).

        Keys are renamed with diffusers' ``convert_wan_transformer_to_diffusers`` (a ``model.diffusion_model.``
        prefix is accepted). With strict=True, any missing or unexpected key raises a ValueError
        listing a few of them.
        """
        from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

        converted = convert_wan_transformer_to_diffusers(dict(state_dict))
        result = self.load_state_dict(converted, strict=False)
        if strict and (result.missing_keys or result.unexpected_keys):
            raise ValueError(
                f"Wan checkpoint does not match this transformer: missing {result.missing_keys[:5]} "
                f"({len(result.missing_keys)} in all), unexpected {result.unexpected_keys[:5]} "
                f"({len(result.unexpected_keys)} in all)"
            )
