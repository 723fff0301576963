"""Running the model on held-out clips: the cells of an experiment, their generated samples (cached), the
metric rows of every cell, and held-out flow-matching losses.

Generated videos are cached under ``--cache`` (``''`` turns it off), keyed by everything that decides
them: the transformer's weights (LoRA fused in), the pusa source, prompt, conditions, seed, steps,
guidance and pipeline options. Scripts that need the same sample (I2V at 10 steps is a cell of
steps.py, cond_noise.py and zero_shot.py) then pay for it once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class Cell:
    """One column of an experiment: ``task`` at fixed settings on clips 0 … n−1, seed = clip index."""

    name: str
    task: str
    steps: int = 10
    noise: float = 0.0
    options: dict = field(default_factory=dict)  # PusaPipeline.__call__ keywords, e.g. image_encoding
    guidance: float | None = None  # CFG scale; None: the experiment's --cfg


class Progress:
    """Prints one line per sample: count, elapsed and estimated remaining time."""

    def __init__(self, name: str, total: int, print_fn: Callable[[str], None] = print):
        self.name, self.total, self.done, self.t0, self.print = name, total, 0, time.time(), print_fn

    def tick(self, what: str) -> None:
        self.done += 1
        spent = time.time() - self.t0
        left = spent / self.done * (self.total - self.done)
        self.print(f"[{self.name}] {self.done}/{self.total} {what}  {spent:.0f} s, ~{left / 60:.1f} min left")



# pusa modules that cannot change a generated video: editing them keeps the sample cache.
NOT_SAMPLING = ("training/", "ui/", "eval/", "world/metrics/", "world/track.py", "cli.py", "demo.py", "tiny.py",
                "mini/recipe.py", "mini/pretrain.py", "batch.py")


@functools.cache
def _source_hash() -> str:
    """sha256 over the pusa source that decides samples (every module but NOT_SAMPLING)."""
    import pusa

    root = Path(pusa.__file__).parent
    files = sorted(f for f in root.rglob("*.py") if not f.relative_to(root).as_posix().startswith(NOT_SAMPLING))
    h = hashlib.sha256()
    for f in files:
        h.update(f.relative_to(root).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()


_WEIGHTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # pipeline → hash; no reuse of a freed id


def _weights_hash(pipe) -> str:
    """sha256 of the transformer's tensors (fused LoRA included); computed once per pipeline."""
    import torch

    if pipe not in _WEIGHTS:
        h = hashlib.sha256()
        for k, v in sorted(pipe.transformer.state_dict().items()):
            h.update(k.encode())
            h.update(v.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())  # bf16 too
        _WEIGHTS[pipe] = h.hexdigest()
    return _WEIGHTS[pipe]


def sample_key(pipe, cell: Cell, clip, seed: int, guidance: float) -> str:
    """Everything that decides a generated video, hashed."""
    import torch

    from pusa.mini.evaluate import task_conditions, task_prompt

    conds = [(hashlib.sha256(c.frames.numpy().tobytes()).hexdigest(), c.start, c.noise)
             for c in task_conditions(cell.task, clip, cell.noise)]
    key = {"weights": _weights_hash(pipe), "source": _source_hash(), "prompt": task_prompt(cell.task, clip),
           "conds": conds, "frames": len(clip.frames), "seed": seed, "steps": cell.steps, "guidance": guidance,
           "options": cell.options, "torch": torch.__version__}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def sample(pipe, cell: Cell, clip, seed: int, guidance: float, cache: str | Path | None) -> np.ndarray:
    """The cell's video on ``clip`` (uint8 [T, H, W, 3]), from the cache when it holds it."""
    from pusa.io import atomic_path
    from pusa.mini.evaluate import generate

    path = None
    if cache:
        key = sample_key(pipe, cell, clip, seed, guidance)
        path = Path(cache) / key[:2] / f"{key}.npy"
        if path.is_file():
            return np.load(path)
    video = generate(pipe, cell.task, clip, seed, cell.steps, guidance, cell.noise, **cell.options)
    if path is not None:
        with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as f:
            np.save(f, video)
    return video


def run_cells(pipe, cells: Sequence[Cell], n: int, guidance: float = 3.0, cache: str | Path | None = None,
              extra: Callable[[np.ndarray, object], dict[str, float]] | None = None,
              progress: Progress | None = None) -> dict[str, list[dict[str, float]]]:
    """Per-clip metric rows of every cell on held-out clips 0 … n−1: ``evaluate.score`` plus ``extra(video, clip)``."""
    from pusa.mini.evaluate import heldout_clip, score

    rows: dict[str, list[dict[str, float]]] = {c.name: [] for c in cells}
    cfg = pipe.config
    for i in range(n):
        clip = heldout_clip(i, "easy", cfg.default_num_frames, cfg.default_height)
        for cell in cells:
            video = sample(pipe, cell, clip, i, guidance if cell.guidance is None else cell.guidance, cache)
            rows[cell.name].append({**score(cell.task, video, clip), **(extra(video, clip) if extra else {})})
            if progress:
                progress.tick(f"{cell.name} clip {i}")
    return rows


def losses_at_sigmas(pipe, clip, seed: int, sigmas: Sequence[float],
                     prompts: dict[str, str], given: Sequence[int] = ()) -> dict[str, dict[str, float]]:
    """Held-out flow-matching loss of one clip, all latent frames at one σ, for every σ in ``sigmas`` and
    every prompt: ``{name: {"loss@σ=…": mean ‖v_θ(x_σ, 1000σ, c) − (x1 − x0)‖²}}``. One noise draw x1
    (seed ``seed``) is shared by every σ and prompt, so prompts compare paired. Latent frames in ``given``
    are held clean instead (σ = 0, as a condition is at inference) and carry no loss."""
    import torch

    from pusa.flow import fafm_loss, interpolate, loss_frame_weights

    with torch.no_grad():
        x0 = pipe.encode_frames(torch.from_numpy(clip.frames).float() / 255)  # [1, C, F, h, w]
        x1 = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
        s = len(sigmas)
        tau = torch.tensor(tuple(sigmas))[:, None].repeat(1, x0.shape[2])  # [S, F]
        tau[:, list(given)] = 0.0
        x = interpolate(x0.expand(s, -1, -1, -1, -1), x1.expand(s, -1, -1, -1, -1), tau)  # [S, C, F, h, w]
        weights = loss_frame_weights(tau) if given else None
        dtype = pipe.transformer.dtype
        out = {}
        for name, text in prompts.items():
            c = pipe.encode_prompt(text).expand(s, -1, -1).to(dtype)  # [S, L, D]
            v = pipe.transformer(x.to(dtype), 1000.0 * (tau if given else tau[:, 0]), c, return_dict=False)[0]
            out[name] = {f"loss@σ={sg:g}": float(fafm_loss(v[j:j + 1], x0, x1,
                                                          None if weights is None else weights[j:j + 1]))
                         for j, sg in enumerate(sigmas)}
    return out
