"""Sequence parallelism for the VTA transformer: frames split across processes, keys/values gathered.

Each process holds a contiguous run of latent frames (all their tokens) and the matching rows of the
per-frame modulation, so tokens and timesteps are always split the same way (the reference's
multi-GPU path split the tokens but not the modulation, which broke it). Self-attention needs every
token's key and value: they are all-gathered along the sequence before attention; queries, FFN,
cross-attention and modulation stay local. The output tokens are gathered once at the end.

Works with any torch.distributed backend that has all_gather (NCCL on GPUs, gloo on CPU).

    import torch.distributed as dist
    dist.init_process_group("nccl")
    enable_sequence_parallel(pipe.transformer)          # every rank runs the same pipeline call
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from diffusers.models.attention_dispatch import dispatch_attention_fn
from diffusers.models.transformers.transformer_wan import _get_qkv_projections


@dataclass
class SequenceParallel:
    """The process group and this process's place in it."""

    group: Any = None

    @property
    def rank(self) -> int:
        return dist.get_rank(self.group)

    @property
    def world_size(self) -> int:
        return dist.get_world_size(self.group)


def frame_split(num_frames: int, world_size: int) -> list[tuple[int, int]]:
    """Contiguous frame ranges [f0, f1) per rank; sizes differ by at most one (e.g. 21 over 2: 11 + 10)."""
    if num_frames < world_size:
        raise ValueError(f"cannot split {num_frames} latent frames over {world_size} processes")
    base, extra = divmod(num_frames, world_size)
    bounds, start = [], 0
    for r in range(world_size):
        size = base + (1 if r < extra else 0)
        bounds.append((start, start + size))
        start += size
    return bounds


def all_gather_sequence(x: torch.Tensor, sizes: list[int], sp: SequenceParallel, dim: int = 1) -> torch.Tensor:
    """Concatenate every rank's chunk of x along ``dim``; chunks may differ in length (padded for the collective)."""
    longest = max(sizes)
    pad = longest - x.shape[dim]
    if pad:
        shape = list(x.shape)
        shape[dim] = pad
        x = torch.cat([x, x.new_zeros(shape)], dim=dim)
    parts = [torch.empty_like(x) for _ in sizes]
    dist.all_gather(parts, x.contiguous(), group=sp.group)
    return torch.cat([p.narrow(dim, 0, n) for p, n in zip(parts, sizes)], dim=dim)


def _rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Wan's RoPE on interleaved pairs: (x1, x2) → (x1·cos − x2·sin, x1·sin + x2·cos)."""
    x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos[..., 0::2] - x2 * sin[..., 1::2]
    out[..., 1::2] = x1 * sin[..., 1::2] + x2 * cos[..., 0::2]
    return out.type_as(x)


class GatherKVAttnProcessor:
    """Self-attention over the full sequence from a local chunk of queries (keys/values all-gathered)."""

    def __init__(self, sp: SequenceParallel, sizes: list[int]):
        self.sp, self.sizes = sp, sizes

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        if encoder_hidden_states is not None:
            raise ValueError("GatherKVAttnProcessor is for self-attention only")
        query, key, value = _get_qkv_projections(attn, hidden_states, None)
        query, key = attn.norm_q(query), attn.norm_k(key)  # per-token norms: local is exact
        query, key, value = (t.unflatten(2, (attn.heads, -1)) for t in (query, key, value))  # [B, l, H, d]
        if rotary_emb is not None:
            query, key = _rotate(query, *rotary_emb), _rotate(key, *rotary_emb)
        key = all_gather_sequence(key, self.sizes, self.sp)  # [B, L, H, d]
        value = all_gather_sequence(value, self.sizes, self.sp)
        out = dispatch_attention_fn(query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False)
        out = out.flatten(2, 3).type_as(query)
        return attn.to_out[1](attn.to_out[0](out))


def enable_sequence_parallel(transformer, group: Any = None) -> None:
    """Split every forward of ``transformer`` over the processes of ``group`` (default: the world)."""
    if not dist.is_initialized():
        raise RuntimeError("sequence parallel needs torch.distributed initialised (torchrun / accelerate launch)")
    transformer._sequence_parallel = SequenceParallel(group)
