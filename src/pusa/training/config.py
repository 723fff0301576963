"""TrainConfig: every knob of a training run, loaded from a TOML file plus overrides.

A config file is flat TOML whose keys are TrainConfig fields. Each file we ship begins with the exact
command that runs it. Overrides use the same names: ``--set lr=1e-4 --set lora_rank=8``.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Wan block modules the reference trains: q, k, v, o of self- and cross-attention and both FFN layers.
WAN_LORA_TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0",
                    "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
                    "ffn.net.0.proj", "ffn.net.2")


def _all_patterns() -> list[str]:
    from pusa.flow import CONDITION_PATTERNS  # imported here: the config module stays torch-free

    return list(CONDITION_PATTERNS)


@dataclass
class TrainConfig:
    """A FAFM training run (defaults: the reference recipe where it has one, laptop-sized elsewhere)."""

    model: str = ""  # PusaPipeline folder: the transformer to adapt (and VAE/text encoder for samples)
    cache: str = ""  # latent cache written by `pusa preprocess`
    output_dir: str = "runs/pusa"  # checkpoints, logs, samples and exports
    # adapter
    adapter: str = "lora"  # "lora" or "full"
    lora_rank: int = 512
    lora_alpha: float = 512.0  # peft scale = alpha / rank (reference: 512/512 = 1)
    lora_targets: list[str] = field(default_factory=lambda: list(WAN_LORA_TARGETS))
    # timesteps (FAFM + PTSS)
    p_async: float = 1.0
    p_cond: float = 0.0  # share of samples drawn as a conditioning task (pusa's option; 0 = the paper)
    condition_patterns: list[str] = field(default_factory=_all_patterns)  # the tasks p_cond draws, equally likely
    shift: float = 5.0
    sigma_sampling: str = "grid"  # "grid" (the reference's 1000-step shifted grid) or "continuous"
    frame_weighting: bool = False
    # optimisation
    lr: float = 1e-5
    weight_decay: float = 0.0
    adam_betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    max_steps: int = 900
    batch_size: int = 1  # global batch per optimizer step = batch_size · processes · grad_accum
    grad_accum: int = 1
    max_grad_norm: float = 1.0
    mixed_precision: str = "no"  # "no" or "bf16"
    gradient_checkpointing: bool = False
    caption_dropout: float = 0.1
    ema_decay: float = 0.0  # 0 = off
    seed: int = 0
    # bookkeeping
    log_every: int = 1
    checkpoint_every: int = 100
    keep_checkpoints: int = 3
    sample_every: int = 0  # 0 = off
    sample_prompts: list[str] = field(default_factory=list)
    sample_seeds: list[int] = field(default_factory=lambda: [0])
    sample_steps: int = 10
    max_sequence_length: int | None = None  # default: the cache's

    def validate(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"config {name}={getattr(self, name)!r}: expected {expected}")

        if self.adapter not in ("lora", "full"):
            raise bad("adapter", "'lora' or 'full'")
        if self.sigma_sampling not in ("grid", "continuous"):
            raise bad("sigma_sampling", "'grid' or 'continuous'")
        if self.mixed_precision not in ("no", "bf16"):
            raise bad("mixed_precision", "'no' or 'bf16' (fp16 is not supported)")
        if not 0 <= self.p_async <= 1:
            raise bad("p_async", "a probability in [0, 1]")
        if not 0 <= self.p_cond <= 1:
            raise bad("p_cond", "a probability in [0, 1]")
        from pusa.flow import check_patterns

        try:
            check_patterns(self.condition_patterns)
        except ValueError as err:
            raise ValueError(f"config condition_patterns: {err}") from None
        if not 0 <= self.caption_dropout <= 1:
            raise bad("caption_dropout", "a probability in [0, 1]")
        if not 0 <= self.ema_decay < 1:
            raise bad("ema_decay", "0 (off) or a decay in (0, 1)")
        for name in ("max_steps", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints", "lora_rank"):
            if int(getattr(self, name)) < 1:
                raise bad(name, "an integer >= 1")
        if not self.model:
            raise bad("model", "a PusaPipeline folder")
        if not self.cache:
            raise bad("cache", "a latent cache folder from `pusa preprocess`")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(name: str, raw: Any, current: Any) -> Any:
    """Convert an override (string from the CLI, or TOML value) to the field's type."""
    if not isinstance(raw, str):
        return tuple(raw) if isinstance(current, tuple) else raw
    if isinstance(current, bool):
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"--set {name}={raw}: expected true or false")
    if isinstance(current, (int, float)) and not isinstance(current, bool) or current is None:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            if current is None:
                return raw
            raise ValueError(f"--set {name}={raw}: expected a number") from None
        return value
    if isinstance(current, (list, tuple)):
        items = json.loads(raw) if raw.startswith("[") else [s.strip() for s in raw.split(",") if s.strip()]
        return tuple(items) if isinstance(current, tuple) else items
    return raw


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """TrainConfig from a TOML file (optional) and overrides; unknown keys raise a clear ValueError."""
    values: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        try:
            values = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as err:
            raise ValueError(f"config {path} is not valid TOML: {err}") from None
    values.update(overrides or {})
    config = TrainConfig()
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    for name, raw in values.items():
        if name not in known:
            raise ValueError(f"unknown config key {name!r}; known keys: {', '.join(sorted(known))}")
        setattr(config, name, _coerce(name, raw, getattr(config, name)))
    return config
