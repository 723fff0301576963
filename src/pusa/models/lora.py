"""LoRA files on the Wan transformer: load in any layout, stack, set strength, fuse, convert.

Every file is read (safetensors only), converted to diffusers naming with its alpha/r folded into B
(see :mod:`pusa.models.lora_layouts`), checked against the transformer's modules and weight shapes, and
only then loaded as a peft adapter through ``pipe.load_lora_weights``. Each adapter therefore has peft
scale 1 and its adapter weight is the strength λ:

- reference DiffSynth file: W ← W + λ·B·A (no α/r factor), so λ = 1.4 is the reference's ``--lora_alpha 1.4``;
- ComfyUI/musubi file with ``.alpha``: W ← W + λ·(alpha/r)·up·down per module;
- diffusers file: W ← W + λ·(lora_alpha/r)·B·A with lora_alpha from its adapter metadata (else 1).

Stacked LoRAs add their deltas. :func:`set_lora_strengths` re-sets adapter weights (never accumulates,
and re-fuses when the LoRAs are fused).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from pusa.models.lora_layouts import (LAYOUTS, LoraModule, convert_lora, detect_layout, diffsynth_to_original,
                                      diffusers_module_name, emit_lora, parse_lora)

__all__ = ["LAYOUTS", "LoraConversion", "check_lora_file", "check_lora_matches", "convert_lora", "convert_lora_file",
           "detect_layout", "diffsynth_to_original", "fuse_loras", "load_loras", "lora_strengths", "read_lora",
           "read_lora_config", "set_lora_strengths", "unfuse_loras", "unload_loras"]

LoraSource = str | os.PathLike | Mapping[str, torch.Tensor]


def _unreadable(path: Path, err: Exception) -> ValueError:
    if isinstance(err, OSError):
        return ValueError(f"LoRA {path}: cannot read it ({err.strerror or err.__class__.__name__})")
    detail = str(err).split(":")[-1].strip() or err.__class__.__name__
    return ValueError(f"LoRA {path}: not a readable safetensors file (truncated, empty or not safetensors: {detail}); "
                      f"re-download or re-export it")


def check_lora_file(path: str | os.PathLike) -> Path:
    """Check a LoRA file without loading its tensors (cheap: the safetensors header only), so a command can
    refuse it before any model loads: FileNotFoundError if missing, else a one-line ValueError naming it for a
    directory, another suffix, or a file safetensors cannot read (truncated, empty, a renamed pickle)."""
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"LoRA {path}: is a directory, expected a .safetensors file")
    if not path.is_file():
        raise FileNotFoundError(f"LoRA file not found: {path}")
    if path.suffix != ".safetensors":
        raise ValueError(f"LoRA {path} must be a .safetensors file (pickled weights are not loaded)")
    read_lora_config(path)
    return path


def read_lora(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Load a LoRA from safetensors only (never pickle).

    A missing file is a FileNotFoundError; a directory, another suffix, a file safetensors cannot read
    (truncated, empty, a pickle renamed to .safetensors) or a tensor holding NaN/inf is a one-line
    ValueError naming the file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = check_lora_file(path)
    try:
        sd = load_file(str(path))
    except (SafetensorError, OSError, RuntimeError, ValueError) as err:
        raise _unreadable(path, err) from None
    _check_finite(sd, f"LoRA {path}")
    return sd


def _check_finite(state_dict: Mapping[str, torch.Tensor], label: str) -> None:
    """A one-line ValueError if any floating-point tensor holds NaN or inf (it would turn every frame black)."""
    for key, value in state_dict.items():
        if torch.is_tensor(value) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
            bad = int((~torch.isfinite(value)).sum())
            raise ValueError(f"{label}: tensor {key!r} holds {bad} NaN/inf value{'s' if bad != 1 else ''}; "
                             f"the file is corrupt or the training diverged, so it is not loaded")


def read_lora_config(path: str | os.PathLike) -> dict | None:
    """The diffusers adapter metadata (``lora_adapter_metadata``: r, lora_alpha, …) of a safetensors file, if any."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            raw = (f.metadata() or {}).get("lora_adapter_metadata")
    except (SafetensorError, OSError) as err:
        raise _unreadable(Path(path), err) from None
    try:
        return json.loads(raw) if raw else None
    except json.JSONDecodeError as err:
        raise ValueError(f"LoRA {path}: unreadable lora_adapter_metadata ({err})") from None


def _read(source: LoraSource, index: int) -> tuple[dict[str, torch.Tensor], dict | None, str]:
    if isinstance(source, Mapping):
        _check_finite(source, f"LoRA #{index}")
        return dict(source), None, f"LoRA #{index}"
    return read_lora(source), read_lora_config(source), f"LoRA {source}"


def check_lora_matches(transformer: torch.nn.Module, modules: Mapping[str, LoraModule], label: str = "LoRA") -> None:
    """Raise a ValueError (count + examples) unless every LoRA module names a linear layer of the right shape."""
    layers = dict(transformer.named_modules())
    problems = []
    for name, m in modules.items():
        if m.down is None and m.diff_b is None:
            continue  # all-zero full-weight patches: never loaded
        target = diffusers_module_name(name)
        layer = layers.get(target)
        weight = getattr(getattr(layer, "base_layer", layer), "weight", None)
        if weight is None or weight.ndim != 2:
            problems.append(f"{name} (→ {target}): no such linear layer in this transformer")
            continue
        out_f, in_f = weight.shape
        if m.down is not None and (m.down.shape[1] != in_f or m.up.shape[0] != out_f):
            problems.append(f"{name}: A {tuple(m.down.shape)} / B {tuple(m.up.shape)} "
                            f"do not fit weight {(out_f, in_f)}")
        elif m.diff_b is not None and tuple(m.diff_b.shape) != (out_f,):
            problems.append(f"{name}: bias patch {tuple(m.diff_b.shape)} does not fit bias {(out_f,)}")
    if problems:
        raise ValueError(f"{label} does not match the transformer: {len(problems)} of {len(modules)} modules, e.g. "
                         f"{'; '.join(problems[:3])}{'; …' if len(problems) > 3 else ''}")


def _lora_layers(transformer: torch.nn.Module):
    from peft.tuners.tuners_utils import BaseTunerLayer

    return [m for m in transformer.modules() if isinstance(m, BaseTunerLayer)]


def lora_strengths(pipe) -> dict[str, float]:
    """Active adapters and their strengths λ (adapter weights), in load order."""
    layers = _lora_layers(pipe.transformer)
    if not layers:
        return {}
    active = set().union(*(layer.active_adapters for layer in layers))
    out = {}
    for name in [n for n in pipe.transformer.peft_config if n in active]:
        layer = next(layer for layer in layers if name in layer.scaling)
        base = layer.lora_alpha[name] / (layer.r[name] ** 0.5 if layer.use_rslora.get(name) else layer.r[name])
        out[name] = layer.scaling[name] / base
    return out


def _fused(pipe) -> list[str]:
    merged = []
    for layer in _lora_layers(pipe.transformer):
        merged += [n for n in layer.merged_adapters if n not in merged]
    return merged


def _auto_names(sources: Sequence[LoraSource], taken: set[str]) -> list[str]:
    names = []
    for i, source in enumerate(sources):
        stem = "lora" if isinstance(source, Mapping) else re.sub(r"\W", "_", Path(source).stem)
        name, n = stem, 1
        while name in taken or name in names:
            n += 1
            name = f"{stem}_{n}"
        names.append(name)
    return names


def load_loras(pipe, loras: Sequence[LoraSource], strengths: Sequence[float] = (1.0,),
               names: Sequence[str] | None = None) -> list[str]:
    """Load LoRAs (paths or state dicts, any layout) as peft adapters and activate them at strengths λ.

    One strength for all or one per LoRA. Adapters loaded earlier stay active at their strengths, so
    ``load_loras(pipe, [pusa], [1.4]); load_loras(pipe, [distill], [1.0])`` stacks both. Every LoRA is
    read, converted and checked against the transformer before any is loaded: a mismatch raises a
    ValueError and leaves the model as it was. Returns the adapter names.
    """
    loras = list(loras)
    if len(strengths) not in (1, len(loras)):
        raise ValueError(f"give one --lora-alpha for all LoRAs or one per LoRA; got {len(strengths)} for {len(loras)}")
    strengths = [float(s) for s in strengths] * len(loras) if len(strengths) == 1 else [float(s) for s in strengths]
    if not loras:
        return []
    if _fused(pipe):
        raise ValueError("LoRAs are fused into the weights; call unfuse_loras(pipe) before loading more")
    transformer = pipe.transformer
    taken = set(getattr(transformer, "peft_config", None) or {})
    names = list(names) if names is not None else _auto_names(loras, taken)
    if len(names) != len(loras) or len(set(names)) != len(names) or taken & set(names):
        raise ValueError(f"names={names}: need {len(loras)} distinct adapter names not already loaded "
                         f"({sorted(taken)})")
    prepared = []
    for i, (source, name) in enumerate(zip(loras, names)):
        sd, config, label = _read(source, i)
        modules = parse_lora(sd, config)
        converted = emit_lora(modules, "diffusers")
        check_lora_matches(transformer, modules, label)
        prepared.append((name, converted))
    before = lora_strengths(pipe)
    loaded = []
    try:
        with warnings.catch_warnings():  # stacking adapters is the point here
            warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
            for name, converted in prepared:
                pipe.load_lora_weights(converted, adapter_name=name)
                loaded.append(name)
    except Exception:
        if loaded:
            pipe.delete_adapters(loaded)
        raise
    set_lora_strengths(pipe, {**before, **dict(zip(names, strengths))})
    return names


def set_lora_strengths(pipe, strengths: Mapping[str, float]) -> None:
    """Set adapter strengths λ by name; others keep theirs. Never accumulates; fused LoRAs are re-fused."""
    known = set(getattr(pipe.transformer, "peft_config", None) or {})
    unknown = sorted(set(strengths) - known)
    if unknown:
        raise ValueError(f"no LoRA adapter named {unknown}; loaded: {sorted(known)}")
    merged = {**lora_strengths(pipe), **{k: float(v) for k, v in strengths.items()}}
    fused = _fused(pipe)
    if fused:
        pipe.unfuse_lora(components=["transformer"])  # subtract with the old scales before changing them
    pipe.set_adapters(list(merged), adapter_weights=list(merged.values()))
    if fused:
        pipe.fuse_lora(components=["transformer"], adapter_names=fused)


def fuse_loras(pipe, names: Sequence[str] | None = None) -> None:
    """Merge the active LoRAs (or ``names``) into the weights at their current strengths: W ← W + Σ λ·ΔW."""
    if _fused(pipe):
        raise ValueError(f"LoRAs {_fused(pipe)} are already fused; call unfuse_loras(pipe) first")
    names = list(names) if names is not None else list(lora_strengths(pipe))
    if not names:
        raise ValueError("no LoRA is loaded and active; nothing to fuse")
    pipe.fuse_lora(components=["transformer"], adapter_names=names)


def unfuse_loras(pipe) -> None:
    """Subtract fused LoRAs from the weights again (the adapters stay loaded)."""
    pipe.unfuse_lora(components=["transformer"])


def unload_loras(pipe, names: Sequence[str] | None = None) -> None:
    """Remove LoRA adapters (all by default), unfusing first; the base weights come back."""
    if _fused(pipe):
        unfuse_loras(pipe)
    if names is None:
        pipe.unload_lora_weights()
    else:
        pipe.delete_adapters(list(names))


@dataclass(frozen=True)
class LoraConversion:
    """What :func:`convert_lora_file` did."""

    src: Path
    dst: Path
    source_layout: str
    target_layout: str
    tensors_in: int
    tensors_out: int

    def summary(self) -> str:
        return (f"converted {self.src} ({self.source_layout}, {self.tensors_in} tensors) to {self.dst} "
                f"({self.target_layout}, {self.tensors_out} tensors)")


def convert_lora_file(src: str | os.PathLike, dst: str | os.PathLike, to: str,
                      overwrite: bool = False) -> LoraConversion:
    """Rewrite a LoRA file in layout ``to``, keeping its delta at every strength; written atomically."""
    from safetensors.torch import save_file

    from pusa.io import atomic_path

    src, dst = Path(src), Path(dst)
    if to not in LAYOUTS:
        raise ValueError(f"--to {to!r}: expected one of {', '.join(LAYOUTS)}")
    if dst.suffix != ".safetensors":
        raise ValueError(f"output {dst} must end in .safetensors")
    if dst.exists() and not overwrite:
        raise FileExistsError(f"{dst} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    if dst.is_dir():
        raise ValueError(f"output {dst}: is a directory, expected a .safetensors file")
    sd = read_lora(src)
    if dst.resolve() == src.resolve():
        raise ValueError(f"output {dst} is the input file; write to another path")
    try:
        layout = detect_layout(sd)
        out = convert_lora(sd, to, read_lora_config(src))
    except ValueError as err:
        raise ValueError(f"LoRA {src}: {err}") from None
    metadata = {"format": "pt", "pusa_layout": to, "pusa_converted_from": layout}
    with atomic_path(dst, overwrite) as tmp:
        save_file({k: v.contiguous() for k, v in out.items()}, str(tmp), metadata=metadata)
    return LoraConversion(src, dst, layout, to, len(sd), len(out))


class ExpertView:
    """Lets the functions above act on another transformer of a pipeline (Wan2.2's ``transformer_2``).

    It offers the small part of the pipeline's LoRA interface they use, routed to that transformer's
    own peft methods: ``load_loras(ExpertView(pipe), [low_noise_lora], [1.4])``.
    """

    def __init__(self, pipe, component: str = "transformer_2"):
        self.transformer = getattr(pipe, component, None)
        if self.transformer is None:
            raise ValueError(f"the pipeline has no {component}; a second LoRA needs a two-expert (Wan2.2) model")

    def load_lora_weights(self, state_dict, adapter_name: str) -> None:
        self.transformer.load_lora_adapter(state_dict, adapter_name=adapter_name, prefix="transformer")

    def set_adapters(self, names, adapter_weights) -> None:
        self.transformer.set_adapters(names, weights=adapter_weights)

    def delete_adapters(self, names) -> None:
        self.transformer.delete_adapters(names)

    def fuse_lora(self, components=None, adapter_names=None) -> None:
        self.transformer.fuse_lora(adapter_names=adapter_names)

    def unfuse_lora(self, components=None) -> None:
        self.transformer.unfuse_lora()

    def unload_lora_weights(self) -> None:
        self.transformer.unload_lora()
