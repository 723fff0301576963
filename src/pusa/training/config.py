"""TrainConfig: every knob of a training run, loaded from a TOML file plus overrides.

A config file is flat TOML whose keys are TrainConfig fields. Each file we ship begins with the exact
command that runs it. Overrides use the same names: ``--set lr=1e-4 --set lora_rank=8``.
"""

from __future__ import annotations

import dataclasses
import json
import math
import numbers
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
    # dtype of the frozen base weights of a LoRA run: "bfloat16" halves their memory (a 5B DiT: 9.3 GiB, not
    # 18.6); the LoRA weights, their gradients and AdamW states stay float32. Needs mixed_precision = "bf16".
    base_dtype: str = "float32"
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
        """Raise a one-line ValueError naming the first bad key: unknown choices, numbers that are not finite
        or out of range, and a max_sequence_length shorter than the cache's captions (when the cache exists)."""
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"config {name}={getattr(self, name)!r}: expected {expected}")

        def number(name: str, lo: float, hi: float = math.inf, lo_open: bool = False, hi_open: bool = False,
                   expected: str = "") -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or (
                    value <= lo if lo_open else value < lo) or (value >= hi if hi_open else value > hi):
                raise bad(name, expected or "a finite number")

        def integer(name: str, lo: int, expected: str) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < lo:
                raise bad(name, expected)

        for name in ("max_steps", "batch_size", "grad_accum", "checkpoint_every", "keep_checkpoints", "lora_rank",
                     "log_every", "sample_steps"):
            integer(name, 1, "an integer >= 1")
        for name in ("warmup_steps", "sample_every"):
            integer(name, 0, "an integer >= 0")
        integer("seed", 0, "an integer >= 0")
        if self.seed >= 2**63:
            raise bad("seed", "an integer in [0, 2**63)")
        number("lr", 0, 1, lo_open=True, expected="a finite learning rate in (0, 1], e.g. 1e-5")
        number("weight_decay", 0, expected="a finite number >= 0")
        number("max_grad_norm", 0, lo_open=True, expected="a finite number > 0")
        number("lora_alpha", 0, lo_open=True, expected="a finite number > 0 (peft scale = lora_alpha / lora_rank)")
        number("shift", 0, lo_open=True, expected="a finite number > 0 (Wan: 5)")
        for name in ("p_async", "p_cond", "caption_dropout"):
            number(name, 0, 1, expected="a probability in [0, 1]")
        number("ema_decay", 0, 1, hi_open=True, expected="0 (off) or a decay in (0, 1)")
        betas = self.adam_betas
        if not isinstance(betas, (list, tuple)) or len(betas) != 2 or not all(
                isinstance(b, numbers.Real) and not isinstance(b, bool) and math.isfinite(b) and 0 <= b < 1
                for b in betas):
            raise bad("adam_betas", "two numbers in [0, 1), e.g. [0.9, 0.999]")
        if not isinstance(self.sample_seeds, (list, tuple)) or not all(
                isinstance(s, numbers.Integral) and not isinstance(s, bool) and 0 <= s < 2**63
                for s in self.sample_seeds):
            raise bad("sample_seeds", "a list of integers >= 0")
        if self.max_sequence_length is not None:
            integer("max_sequence_length", 1, "an integer >= 1 (or leave it out for the cache's)")
        if self.adapter not in ("lora", "full"):
            raise bad("adapter", "'lora' or 'full'")
        if self.sigma_sampling not in ("grid", "continuous"):
            raise bad("sigma_sampling", "'grid' or 'continuous'")
        if self.mixed_precision not in ("no", "bf16"):
            raise bad("mixed_precision", "'no' or 'bf16' (fp16 is not supported)")
        if self.base_dtype not in ("float32", "bfloat16"):
            raise bad("base_dtype", "'float32' or 'bfloat16'")
        if self.base_dtype == "bfloat16" and (self.adapter != "lora" or self.mixed_precision != "bf16"):
            raise bad("base_dtype", "'float32' unless adapter = 'lora' and mixed_precision = 'bf16' (a bfloat16 base "
                      "is frozen and runs under bf16 autocast)")
        from pusa.flow import check_patterns

        try:
            check_patterns(self.condition_patterns)
        except ValueError as err:
            raise ValueError(f"config condition_patterns: {err}") from None
        if not self.model:
            raise bad("model", "a PusaPipeline folder")
        if not self.cache:
            raise bad("cache", "a latent cache folder from `pusa preprocess`")
        if self.max_sequence_length is not None:
            longest = cache_text_length(self.cache)
            if longest is not None and self.max_sequence_length < longest:
                raise bad("max_sequence_length", f">= {longest}: the cache {self.cache} holds text states of up to "
                          f"{longest} tokens (leave it out to use the cache's length)")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def cache_text_length(cache: str | Path) -> int | None:
    """The most text tokens any sample (or the empty prompt) of a latent cache holds, read from its
    manifest.json and the empty prompt's safetensors header (torch-free); None if the cache is missing or
    unreadable (reading it for training then says why)."""
    folder = Path(cache)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        lengths = [int(s["text_len"]) for s in manifest["samples"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:  # safetensors: 8-byte little-endian header size, then a JSON header with each tensor's shape
        with open(folder / "empty_prompt.safetensors", "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size)) if 0 < size < 1 << 24 else {}
        lengths.append(int(header["text"]["shape"][0]))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        pass
    return max(lengths, default=None)


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
