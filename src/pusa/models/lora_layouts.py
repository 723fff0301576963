"""Wan LoRA state dicts: layout detection and lossless conversion between layouts (torch only).

| layout    | one module's keys                                                            | delta at strength λ      |
|-----------|------------------------------------------------------------------------------|--------------------------|
| diffsynth | ``[diffusion_model.]blocks.N.self_attn.q.lora_A[.default].weight``, ``lora_B`` | λ·B·A (no α/r)         |
| comfy     | ``diffusion_model.blocks.N.self_attn.q.lora_down.weight``, ``lora_up``, ``.alpha`` | λ·(alpha/r)·up·down |
| musubi    | ``lora_unet_blocks_N_self_attn_q.lora_down.weight``, ``lora_up``, ``.alpha``  | λ·(alpha/r)·up·down      |
| diffusers | ``[transformer.]blocks.N.attn1.to_q.lora_A.weight``, ``lora_B``               | λ·(lora_alpha/r)·B·A     |

r is the module's rank (rows of A/down). A comfy module without ``.alpha`` has scale 1, like diffsynth;
a diffusers file has scale 1 unless its adapter metadata (``lora_adapter_metadata``) says otherwise.

Every file is read into one canonical form: a :class:`LoraModule` per original Wan module name, whose
delta at strength 1 is ``scale·up·down`` with ``scale = alpha/r`` (1 without alpha). Writing keeps that
delta:
- layouts without alpha (diffsynth, diffusers) get the scale folded into B: ``up' = scale·up``. Exact
  when the scale is a power of two (alpha = r included); otherwise rounded once to up's dtype;
- layouts with alpha (comfy, musubi) keep every tensor as is and write ``.alpha``: the source's alpha, or
  alpha = r (scale 1) when the source had none.
Bias patches (comfy ``.diff_b``, diffusers ``lora_B.bias``) add λ·diff_b and are never scaled by alpha.
Full-weight patches (``.diff``, ``.diff_m``) fit only the comfy layout: all-zero ones (the norm
placeholders of some distillation LoRAs) are left out of other layouts, any other raises. Keys that are
not Wan LoRA keys raise a ValueError with a count and examples; nothing is dropped silently.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch

LAYOUTS = ("diffsynth", "comfy", "musubi", "diffusers")

# Linear layers: original Wan name → diffusers name (REFERENCE.md's rename list).
_BLOCK_LINEARS = {
    "self_attn.q": "attn1.to_q", "self_attn.k": "attn1.to_k", "self_attn.v": "attn1.to_v",
    "self_attn.o": "attn1.to_out.0", "cross_attn.q": "attn2.to_q", "cross_attn.k": "attn2.to_k",
    "cross_attn.v": "attn2.to_v", "cross_attn.o": "attn2.to_out.0", "cross_attn.k_img": "attn2.add_k_proj",
    "cross_attn.v_img": "attn2.add_v_proj", "ffn.0": "ffn.net.0.proj", "ffn.2": "ffn.net.2",
}
_TOP_LINEARS = {
    "head.head": "proj_out", "time_projection.1": "condition_embedder.time_proj",
    "time_embedding.0": "condition_embedder.time_embedder.linear_1",
    "time_embedding.2": "condition_embedder.time_embedder.linear_2",
    "text_embedding.0": "condition_embedder.text_embedder.linear_1",
    "text_embedding.2": "condition_embedder.text_embedder.linear_2",
    "img_emb.proj.1": "condition_embedder.image_embedder.ff.net.0.proj",
    "img_emb.proj.3": "condition_embedder.image_embedder.ff.net.2",
}
# Modules that only carry full-weight patches (.diff / .diff_m) in ComfyUI files; "" is the block itself.
_BLOCK_PATCH_ONLY = ("", "norm3", "self_attn.norm_q", "self_attn.norm_k", "cross_attn.norm_q", "cross_attn.norm_k",
                     "cross_attn.norm_k_img")
_TOP_PATCH_ONLY = ("head", "patch_embedding")
_DIFFUSERS_BLOCK = {v: k for k, v in _BLOCK_LINEARS.items()}
_DIFFUSERS_TOP = {v: k for k, v in _TOP_LINEARS.items()}
_MUSUBI_BLOCK = {k.replace(".", "_"): k for k in _BLOCK_LINEARS}
_MUSUBI_TOP = {k.replace(".", "_"): k for k in _TOP_LINEARS}

_KEY = re.compile(r"^(?P<prefix>diffusion_model\.|transformer\.|lora_unet_)?(?P<module>.+?)\.(?P<field>"
                  r"lora_(?:A|B|down|up)(?:\.default)?\.weight|lora_B(?:\.default)?\.bias|alpha|diff_b|diff_m|diff)$")
_BLOCK = re.compile(r"^blocks[._](\d+)(?:[._](.+))?$")


@dataclass
class LoraModule:
    """One target module (original Wan name). Delta at strength 1: W += scale·up·down, bias += diff_b."""

    down: torch.Tensor | None = None  # A, [r, in]
    up: torch.Tensor | None = None  # B, [out, r]
    alpha: torch.Tensor | None = None  # scalar; None means scale 1
    diff_b: torch.Tensor | None = None  # bias patch [out]
    diff: torch.Tensor | None = None  # full weight patch (comfy only)
    diff_m: torch.Tensor | None = None  # modulation patch (comfy only)

    @property
    def rank(self) -> int:
        return self.down.shape[0]

    @property
    def scale(self) -> float:
        return 1.0 if self.alpha is None else float(self.alpha) / self.rank


def _examples(items: list[str], n: int = 3) -> str:
    return ", ".join(repr(i) for i in items[:n]) + (", …" if len(items) > n else "")


def _original_name(module: str, prefix: str | None) -> tuple[str, str] | None:
    """A key's module part → (naming, original Wan module name), or None if it names no Wan target."""
    m = _BLOCK.match(module)
    if prefix == "lora_unet_":
        if m and m.group(2) in _MUSUBI_BLOCK:
            return "musubi", f"blocks.{m.group(1)}.{_MUSUBI_BLOCK[m.group(2)]}"
        return ("musubi", _MUSUBI_TOP[module]) if module in _MUSUBI_TOP else None
    if m and module.startswith("blocks."):
        rest = m.group(2) or ""
        if rest in _BLOCK_LINEARS or rest in _BLOCK_PATCH_ONLY:
            return "original", module
        if rest in _DIFFUSERS_BLOCK:
            return "diffusers", f"blocks.{m.group(1)}.{_DIFFUSERS_BLOCK[rest]}"
        return None
    if module in _TOP_LINEARS or module in _TOP_PATCH_ONLY:
        return "original", module
    return ("diffusers", _DIFFUSERS_TOP[module]) if module in _DIFFUSERS_TOP else None


def _field(raw: str) -> str:
    if raw.startswith(("lora_A", "lora_down")):
        return "down"
    if raw.startswith(("lora_B", "lora_up")):
        return "diff_b" if raw.endswith(".bias") else "up"
    return raw


def _parse_key(key: str) -> tuple[str, str, str, str] | None:
    """key → (naming, original module, canonical field, raw field) or None for a key we do not know."""
    m = _KEY.match(key)
    if not m:
        return None
    named = _original_name(m.group("module"), m.group("prefix"))
    if named is None:
        return None
    naming, module = named
    raw = m.group("field")
    if naming == "musubi" and raw not in ("lora_down.weight", "lora_up.weight", "alpha"):
        return None
    if naming == "diffusers" and not raw.startswith(("lora_A", "lora_B")):
        return None
    return naming, module, _field(raw), raw


def _unknown_error(unknown: list[str], total: int, what: str) -> ValueError:
    return ValueError(f"{len(unknown)} of {total} keys are not {what}: {_examples(unknown)}; known layouts: "
                      "blocks.N.self_attn.q.lora_A[.default].weight (DiffSynth), diffusion_model.…lora_down/lora_up"
                      "[.alpha] (ComfyUI), lora_unet_blocks_N_… (musubi), "
                      "transformer.blocks.N.attn1.to_q.lora_A.weight (diffusers)")


def detect_layout(state_dict: Mapping[str, torch.Tensor]) -> str:
    """The layout of a Wan LoRA state dict: 'diffsynth', 'comfy', 'musubi' or 'diffusers'.

    Looks at key names only. Original Wan module names with lora_A/lora_B and no alpha or patches are the
    reference DiffSynth layout; with lora_down/lora_up, ``.alpha`` or ``.diff*`` keys they are ComfyUI's.
    """
    keys = list(state_dict)
    if not keys:
        raise ValueError("the LoRA holds no tensors")
    parsed = [p for p in map(_parse_key, keys) if p is not None]
    if not parsed:
        raise _unknown_error(keys, len(keys), "Wan LoRA keys in any known layout")
    namings = sorted({p[0] for p in parsed})
    if len(namings) > 1:
        examples = [next(k for k, p in zip(keys, map(_parse_key, keys)) if p and p[0] == n) for n in namings]
        raise ValueError(f"the LoRA mixes key namings {namings}, e.g. {_examples(examples)}")
    if namings[0] != "original":
        return namings[0]
    comfy = any(raw.startswith(("lora_down", "lora_up")) or field in ("alpha", "diff", "diff_b", "diff_m")
                for _, _, field, raw in parsed)
    return "comfy" if comfy else "diffsynth"


def _config_alpha(config: Mapping, diffusers_module: str, rank: int) -> float:
    """peft's effective alpha for one module (so that alpha/r is its scale) from diffusers adapter metadata."""
    cfg = {k.removeprefix("transformer."): v for k, v in config.items()}
    if cfg.get("use_dora"):
        raise ValueError("DoRA adapters are not supported (adapter metadata has use_dora=True)")
    alpha = float(cfg.get("lora_alpha", rank))
    for pattern, value in (cfg.get("alpha_pattern") or {}).items():
        regex = pattern[1:] if pattern.startswith("^") else rf"(.*\.)?{pattern}"
        if re.fullmatch(regex, diffusers_module):
            alpha = float(value)
            break
    return alpha * math.sqrt(rank) if cfg.get("use_rslora") else alpha  # rsLoRA scales by alpha/√r


def parse_lora(state_dict: Mapping[str, torch.Tensor], config: Mapping | None = None) -> dict[str, LoraModule]:
    """Any known layout → {original Wan module name: LoraModule}. Raises ValueError on unknown keys.

    ``config`` is a diffusers-layout file's adapter metadata (``lora_alpha``, ``alpha_pattern``, …); its
    scale is carried as a per-module alpha. It is ignored for the other layouts, which store alpha as tensors.
    """
    layout = detect_layout(state_dict)
    modules: dict[str, LoraModule] = {}
    unknown, duplicate = [], []
    for key, tensor in state_dict.items():
        parsed = _parse_key(key)
        if parsed is None:
            unknown.append(key)
            continue
        _, name, field, _ = parsed
        module = modules.setdefault(name, LoraModule())
        if getattr(module, field) is not None:
            duplicate.append(key)
        setattr(module, field, tensor)
    if unknown:
        raise _unknown_error(unknown, len(state_dict), f"Wan LoRA keys of the detected {layout} layout")
    if duplicate:
        raise ValueError(f"{len(duplicate)} keys repeat a tensor already given under another name: "
                         f"{_examples(duplicate)}")
    _check_modules(modules)
    if layout == "diffusers" and config:
        for name, m in modules.items():
            if m.down is not None:
                alpha = _config_alpha(config, diffusers_module_name(name), m.rank)
                if m.diff_b is not None and alpha != m.rank:  # peft scales lora_B.bias too
                    m.diff_b = (m.diff_b.float() * (alpha / m.rank)).to(m.diff_b.dtype)
                m.alpha = torch.tensor(alpha)
    return modules


def _check_modules(modules: Mapping[str, LoraModule]) -> None:
    problems = []
    for name, m in modules.items():
        linear = diffusers_module_name(name) is not None
        if (m.down is None) != (m.up is None):
            problems.append(f"{name}: has {'lora_A/down' if m.up is None else 'lora_B/up'} without its partner")
        elif m.down is not None and not linear:
            problems.append(f"{name}: LoRA factors on a module that is not a linear layer")
        elif m.down is not None and (m.down.ndim != 2 or m.up.ndim != 2 or m.down.shape[0] != m.up.shape[1]):
            problems.append(f"{name}: down {tuple(m.down.shape)} and up {tuple(m.up.shape)} "
                            "are not [r, in] and [out, r]")
        elif m.alpha is not None and (m.down is None or m.alpha.numel() != 1):
            problems.append(f"{name}: alpha must be one number beside lora_down/lora_up")
        elif m.diff_b is not None and not linear:
            problems.append(f"{name}: bias patch on a module that is not a linear layer")
    if problems:
        more = "; …" if len(problems) > 3 else ""
        raise ValueError(f"{len(problems)} malformed LoRA modules: {'; '.join(problems[:3])}{more}")


def diffusers_module_name(name: str) -> str | None:
    """Original Wan linear-layer name → diffusers name (``blocks.0.self_attn.o`` → ``blocks.0.attn1.to_out.0``)."""
    m = _BLOCK.match(name)
    if m and name.startswith("blocks."):
        rest = _BLOCK_LINEARS.get(m.group(2) or "")
        return f"blocks.{m.group(1)}.{rest}" if rest else None
    return _TOP_LINEARS.get(name)


def _folded_up(m: LoraModule) -> torch.Tensor:
    """B with the module's scale folded in (same tensor when the scale is 1)."""
    scale = m.scale
    return m.up if scale == 1.0 else (m.up.float() * scale).to(m.up.dtype)


def _alpha_or_rank(m: LoraModule) -> torch.Tensor:
    return m.alpha if m.alpha is not None else torch.tensor(float(m.rank))


def _is_zero(t: torch.Tensor) -> bool:
    return t.device.type != "meta" and not bool(torch.count_nonzero(t))


def emit_lora(modules: Mapping[str, LoraModule], to: str) -> dict[str, torch.Tensor]:
    """Canonical modules → a state dict in layout ``to`` with the same delta at every strength."""
    if to not in LAYOUTS:
        raise ValueError(f"to={to!r}: expected one of {', '.join(LAYOUTS)}")
    out, homeless = {}, []
    for name, m in modules.items():
        patches = {f: getattr(m, f) for f in ("diff", "diff_m") if getattr(m, f) is not None}
        if m.diff_b is not None and to in ("diffsynth", "musubi"):
            patches["diff_b"] = m.diff_b
        if m.diff_b is not None and to == "diffusers" and m.down is None:
            patches["diff_b"] = m.diff_b  # peft cannot hold a bias without factors
        if to != "comfy":
            homeless += [f"{name}.{f}" for f, t in patches.items() if not _is_zero(t)]
        if to == "comfy":
            base = f"diffusion_model.{name}"
            if m.down is not None:
                out.update({f"{base}.lora_down.weight": m.down, f"{base}.lora_up.weight": m.up,
                            f"{base}.alpha": _alpha_or_rank(m)})
            out.update({f"{base}.{f}": t for f in ("diff_b", "diff", "diff_m") if (t := getattr(m, f)) is not None})
        elif m.down is None:
            continue
        elif to == "musubi":
            base = f"lora_unet_{name.replace('.', '_')}"
            out.update({f"{base}.lora_down.weight": m.down, f"{base}.lora_up.weight": m.up,
                        f"{base}.alpha": _alpha_or_rank(m)})
        elif to == "diffsynth":
            out.update({f"{name}.lora_A.default.weight": m.down, f"{name}.lora_B.default.weight": _folded_up(m)})
        else:
            base = f"transformer.{diffusers_module_name(name)}"
            out.update({f"{base}.lora_A.weight": m.down, f"{base}.lora_B.weight": _folded_up(m)})
            if m.diff_b is not None:
                out[f"{base}.lora_B.bias"] = m.diff_b
    if homeless:
        raise ValueError(f"{len(homeless)} non-zero patches have no place in the {to} layout (only comfy stores "
                         ".diff/.diff_m, and .diff_b needs comfy or diffusers with LoRA factors): "
                         f"{_examples(homeless)}")
    return out


def convert_lora(state_dict: Mapping[str, torch.Tensor], to: str,
                 config: Mapping | None = None) -> dict[str, torch.Tensor]:
    """Convert a Wan LoRA to layout ``to`` ('diffusers', 'comfy', 'diffsynth' or 'musubi'), keeping its delta.

    See the module docstring for what happens to alpha in each direction.
    """
    if to not in LAYOUTS:
        raise ValueError(f"to={to!r}: expected one of {', '.join(LAYOUTS)}")
    return emit_lora(parse_lora(state_dict, config), to)


def diffsynth_to_original(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``blocks.N.….lora_A.default.weight`` → ``diffusion_model.blocks.N.….lora_A.weight`` (same tensors)."""
    out = {}
    for key, value in state_dict.items():
        key = key.replace(".default.", ".")
        out[key if key.startswith("diffusion_model.") else f"diffusion_model.{key}"] = value
    return out

