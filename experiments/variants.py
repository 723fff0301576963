"""Which model an experiment measures: the shipped Pusa-mini at a LoRA strength, or a trained VTA variant
(a recipe output), and what each variant cost to train."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from flags import torch_dtype


def load_pipeline(lora_strength: float = 1.0, dtype: str = "float32"):
    """The shipped Pusa-mini at ``lora_strength`` (0: the base T2V model), LoRA fused, transformer in ``dtype``."""
    from pusa.mini import default_pipeline

    return default_pipeline(lora_strength, dtype=torch_dtype(dtype))


def variant_pipeline(path: str | Path, dtype: str = "float32"):
    """Pusa-mini with a trained VTA variant instead of the shipped LoRA: ``path`` is a recipe output
    (``WORK/NAME/final``) holding a LoRA (``diffusers/pytorch_lora_weights.safetensors``, fused at strength 1
    into the shipped base) or a fully fine-tuned ``transformer/`` folder."""
    import torch

    from pusa.mini import build_pipeline, default_pipeline
    from pusa.models import PusaTransformer3DModel
    from pusa.models.lora import fuse_loras, load_loras
    from pusa.models.transformer import cast_keeping_fp32

    path = Path(path)
    lora = path / "diffusers" / "pytorch_lora_weights.safetensors"
    if (path / "transformer" / "config.json").is_file():
        pipe = build_pipeline(PusaTransformer3DModel.from_pretrained(str(path / "transformer"),
                                                                     torch_dtype=torch.float32))
        pipe.set_progress_bar_config(disable=True)
    elif lora.is_file():
        pipe = default_pipeline(lora_strength=0.0)
        load_loras(pipe, [lora], [1.0], names=["variant"])
        fuse_loras(pipe)
    else:
        raise SystemExit(f"{path}: no trained variant here (expected transformer/ or {lora.relative_to(path)}); "
                         "train it with scripts/train_ablations.sh")
    cast_keeping_fp32(pipe.transformer, torch_dtype(dtype))
    return pipe


def trained_variants(work: Path, variants: dict[str, str]) -> tuple[dict[str, Path], list[str]]:
    """The rows of ``variants`` (row → recipe output name) trained in ``work`` (row → WORK/NAME/final), and the
    rows not trained yet."""
    present = {row: work / d / "final" for row, d in variants.items() if (work / d / "final").is_dir()}
    return present, [row for row in variants if row not in present]


BUDGET_LABELS = {"clips_seen": "clips seen", "seconds": "train s (measured)"}


def budget_notes(intro: str, present: dict[str, Path], missing: Sequence[str], columns: Sequence[str]) -> str:
    """``intro``, then a table of what each trained variant cost (``columns``: keys of :func:`train_record`),
    then the rows not trained yet."""
    lines = ["| variant | " + " | ".join(BUDGET_LABELS.get(c, c) for c in columns) + " |",
             "|---" * (len(columns) + 1) + "|"]
    for row, path in present.items():
        rec = train_record(path)
        lines.append(f"| {row} | " + " | ".join(str(rec.get(c, "?")) for c in columns) + " |")
    notes = intro + "\n\n" + "\n".join(lines)
    if missing:
        notes += "\n\nNot trained yet, so no row: " + ", ".join(missing) + " (scripts/train_ablations.sh trains them)."
    return notes


def train_record(path: str | Path) -> dict:
    """What a variant's training cost, from its recipe output: steps, batch, clips seen, train seconds."""
    import csv

    path = Path(path)
    found = next((f for name in ("recipe.json", "baseline.json") for f in (path / name, path.parent / name)
                  if f.is_file()), None)
    if found is None:
        return {}
    rec = json.loads(found.read_text())
    log = path.parent / "log.csv"
    if "seconds" not in rec and log.is_file():  # pusa train's log: the logged step's seconds, every log_every steps
        with open(log) as f:
            rows = list(csv.DictReader(f))
        steps = [0] + [int(r["step"]) for r in rows]
        rec["seconds"] = round(sum(float(r["seconds"]) * (b - a) for r, a, b in zip(rows, steps, steps[1:])), 1) \
            if rows else None
    rec.setdefault("clips_seen", rec.get("steps", 0) * rec.get("batch", 0))
    if "p_async" in rec:
        rec.setdefault("p_cond", 0.0)  # recipes from before p_cond trained without it
    return rec
