"""Training checkpoints: atomic, complete, and pruned without ever deleting the only good one.

Layout of one checkpoint, ``<output_dir>/checkpoints/step-00000100/``:

- ``trainable.safetensors``   the trained parameters (the LoRA, or the whole model for full fine-tuning)
- ``ema.safetensors``         EMA of the same, when enabled
- ``optimizer.pt``            optimizer + lr-scheduler state and RNG states (tensors only; loaded with weights_only=True)
- ``trainer_state.json``      step, data position, config; written last, so its presence marks a complete checkpoint

A checkpoint is written into ``.tmp-step-…`` and renamed into place in one step.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "trainer_state.json"


class CheckpointError(ValueError):
    """A checkpoint is missing, truncated or corrupted; the message names the file."""


@dataclass
class Checkpoint:
    path: Path
    step: int
    trainable: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor] | None
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    rng: dict[str, Any]
    state: dict[str, Any]


def checkpoint_dir(root: str | os.PathLike, step: int) -> Path:
    return Path(root) / f"step-{step:08d}"


def list_checkpoints(root: str | os.PathLike) -> list[Path]:
    """Complete checkpoints (with trainer_state.json), oldest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    done = [p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-") and (p / STATE_FILE).is_file()]
    return sorted(done, key=lambda p: p.name)


def save_checkpoint(root: str | os.PathLike, step: int, trainable: dict[str, torch.Tensor],
                    optimizer: dict[str, Any], scheduler: dict[str, Any], state: dict[str, Any],
                    ema: dict[str, torch.Tensor] | None = None, keep: int = 3) -> Path:
    """Write a complete checkpoint atomically, then prune to the newest ``keep`` complete ones."""
    from safetensors.torch import save_file

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    final = checkpoint_dir(root, step)
    tmp = root / f".tmp-{final.name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    save_file({k: v.detach().cpu().contiguous() for k, v in trainable.items()}, str(tmp / "trainable.safetensors"))
    if ema is not None:
        save_file({k: v.detach().cpu().contiguous() for k, v in ema.items()}, str(tmp / "ema.safetensors"))
    rng = {"torch": torch.get_rng_state()}
    torch.save({"optimizer": optimizer, "scheduler": scheduler, "rng": rng}, tmp / "optimizer.pt")
    (tmp / STATE_FILE).write_text(json.dumps({**state, "step": step}, indent=2) + "\n")
    if final.exists():  # a stale copy of the same step (e.g. from a run we resumed past): replace it
        shutil.rmtree(final)
    os.replace(tmp, final)
    prune_checkpoints(root, keep)
    return final


def prune_checkpoints(root: str | os.PathLike, keep: int) -> None:
    """Delete all but the newest ``keep`` (≥ 1) complete checkpoints; incomplete temp dirs go too."""
    complete = list_checkpoints(root)
    for old in complete[: max(0, len(complete) - max(1, keep))]:
        shutil.rmtree(old)


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Read a checkpoint directory; any missing or damaged file raises CheckpointError naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    state_file = path / STATE_FILE
    try:
        state = json.loads(state_file.read_text())
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} is incomplete: {state_file.name} is missing") from None
    except json.JSONDecodeError:
        raise CheckpointError(f"checkpoint file {state_file} is corrupted (not valid JSON)") from None

    def tensors(name: str, required: bool = True) -> dict[str, torch.Tensor] | None:
        file = path / name
        if not file.is_file():
            if required:
                raise CheckpointError(f"checkpoint {path} is incomplete: {name} is missing")
            return None
        try:
            return load_file(str(file))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"checkpoint file {file} is corrupted or truncated ({err})") from None

    trainable, ema = tensors("trainable.safetensors"), tensors("ema.safetensors", required=False)
    opt_file = path / "optimizer.pt"
    try:
        blob = torch.load(opt_file, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} is incomplete: optimizer.pt is missing") from None
    except Exception as err:  # torch raises several types for truncated zip/pickle data
        raise CheckpointError(f"checkpoint file {opt_file} is corrupted or truncated ({err.__class__.__name__})") from None
    return Checkpoint(path, int(state["step"]), trainable, ema, blob["optimizer"], blob["scheduler"], blob["rng"], state)
