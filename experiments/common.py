"""Shared pieces of the experiments (issue 7): bootstrap CIs, the results table and plot, the sample loop.

Every experiment is a script with the same flags,

    python experiments/NAME.py [--n 64] [--steps 10] [--out docs/results] [--cache .cache/experiments]

that scores Pusa-mini samples on held-out world clips 0 … n−1 (sample seed = clip index) with
``pusa.mini.evaluate`` and writes exactly two files: ``OUT/NAME.md`` (metric, mean, 95% percentile-
bootstrap CI, n, the command that regenerates it, wall time, weights) and ``OUT/NAME.png``.

Generated videos are cached under ``--cache`` (``''`` turns it off), keyed by everything that decides
them: the transformer's weights (LoRA fused in), the pusa source, prompt, conditions, seed, steps,
guidance and pipeline options. Scripts that need the same sample (I2V at 10 steps is a cell of
steps.py, cond_noise.py and zero_shot.py) then pay for it once.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import hashlib
import json
import re
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
BOOTSTRAP_SEED = 0
DEFAULT_CACHE = ".cache/experiments"
DTYPES = ("bfloat16", "float32")


# --- statistics ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """A mean with its percentile-bootstrap confidence interval [lo, hi] over n samples."""

    mean: float
    lo: float
    hi: float
    n: int


def bootstrap_ci(values: Sequence[float], level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Stat:
    """Percentile bootstrap of the mean: the (1 ± level)/2 quantiles of the means of ``resamples``
    resamples with replacement (Efron & Tibshirani 1993, §13.3). Same values and seed, same interval."""
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError(f"values must be a non-empty 1-D sequence of finite numbers, got shape {x.shape}")
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    idx = np.random.default_rng(seed).integers(0, len(x), (resamples, len(x)))  # [R, n]
    lo, hi = np.quantile(x[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return Stat(float(x.mean()), float(lo), float(hi), len(x))


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to feature rows a [n, d] and b [m, d] (Heusel et al. 2017):

        FD = |μ_a − μ_b|² + tr(Σ_a + Σ_b − 2 (Σ_a^½ Σ_b Σ_a^½)^½)

    The symmetric form has the same trace as (Σ_a Σ_b)^½ and needs only eigh, no complex sqrtm."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need feature rows [n >= 2, d] with equal d, got {a.shape} and {b.shape}")
    ca, cb = np.cov(a, rowvar=False).reshape(a.shape[1], -1), np.cov(b, rowvar=False).reshape(b.shape[1], -1)
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # Σ_a^½
    m = root_a @ cb @ root_a
    tr_root = np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0, None)).sum()
    return float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca) + np.trace(cb) - 2 * tr_root)


def bootstrap_fd(a: np.ndarray, b: np.ndarray, level: float = LEVEL, resamples: int = RESAMPLES,
                 seed: int = BOOTSTRAP_SEED) -> Stat:
    """FD(a, b) with a percentile-bootstrap interval: both sets resampled with replacement, independently.
    ``mean`` holds the FD of the full sets (the point estimate), n the size of ``a``."""
    rng = np.random.default_rng(seed)
    fds = [frechet_distance(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
           for _ in range(resamples)]
    lo, hi = np.quantile(fds, [(1 - level) / 2, (1 + level) / 2])
    return Stat(frechet_distance(a, b), float(lo), float(hi), len(a))


Table = dict[str, dict[str, Stat]]  # cell → metric → Stat


def paired_differences(rows: dict[str, list[dict[str, float]]], reference: str,
                       metrics: Sequence[str] | None = None) -> dict[str, list[dict[str, float]]]:
    """Per-clip differences "cell − reference" for every other cell (same clip, same seed), so their CIs
    see the effect of the cell and not the spread between clips. Metrics that are constant in the
    reference (e.g. a PSNR at its cap) are left out, and so are any not in ``metrics`` when given."""
    ref = rows[reference]
    keys = [k for k in ref[0] if (metrics is None or k in metrics) and len({r[k] for r in ref}) > 1]
    return {f"{cell} − {reference}": [{k: r[k] - b[k] for k in keys} for r, b in zip(rs, ref)]
            for cell, rs in rows.items() if cell != reference and keys}


def summarize(rows: dict[str, list[dict[str, float]]]) -> Table:
    """Per-clip metric rows, grouped by cell → the bootstrap Stat of every metric of every cell."""
    return {cell: {k: bootstrap_ci([r[k] for r in rs]) for k in rs[0]} for cell, rs in rows.items() if rs}


# --- the report ---------------------------------------------------------------------------------


def lower_is_better(metric: str) -> bool:
    """Distances (…_px), errors (…_err, x0_err…), losses and Fréchet distances are better low; everything
    else (PSNR, accuracies, gains) high."""
    return metric.endswith(("_px", "_err")) or metric.startswith(("loss", "fd", "x0_err"))


def fmt(v: float) -> str:
    """3 significant digits below 1 (small differences stay visible), else 3 or 1 decimals."""
    return f"{v:.3g}" if abs(v) < 1 else f"{v:.3f}" if abs(v) < 10 else f"{v:.1f}"


def weights_id() -> str:
    """Short sha256 of the shipped transformer and VTA LoRA files, so a table names the weights it measured."""
    from pusa.mini.shipped import LORA, TRANSFORMER

    def sha(path: Path) -> str:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"

    return f"transformer {sha(TRANSFORMER / 'diffusion_pytorch_model.safetensors')}, VTA LoRA {sha(LORA)}"


def markdown(title: str, table: Table, command: str, seconds: float, notes: str = "", image: str = "") -> str:
    """The results page: one row per (cell, metric), then notes, the plot, the command, wall time and weights."""
    lines = [f"# {title}", "", "| cell | metric | mean | 95% CI | n |", "|---|---|---|---|---|"]
    for cell, metrics in table.items():
        for metric, s in metrics.items():
            arrow = "↓" if lower_is_better(metric) else "↑"
            lines.append(f"| {cell} | {metric} {arrow} | {fmt(s.mean)} | [{fmt(s.lo)}, {fmt(s.hi)}] | {s.n} |")
    lines += ["", ("95% CI: percentile bootstrap of the mean, 1,000 resamples, seed 0. Sample seed = clip index; "
                   "held-out clips of world seed 99,000 (never trained on)."), ""]
    if notes:
        lines += [notes.strip(), ""]
    if image:
        lines += [f"![{Path(image).stem}]({image})", ""]
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    cost = f"Wall time {seconds / 60:.1f} min, CPU time {time.process_time() / 60:.1f} min"  # CPU: this process, all threads
    lines += ["Regenerate:", "", f"    {command}", "", f"{cost} ({stamp}, {cpu_note()}); weights: {weights_id()}.", ""]
    return "\n".join(lines)


def cpu_note() -> str:
    import os

    import torch

    return f"{torch.get_num_threads()} torch threads on {os.cpu_count()} CPUs"


PAIRED_SEP = " − "  # paired_differences names its cells "cell − reference"


def shared_reference(paired_cells: Sequence[str]) -> str | None:
    """The reference of paired cells ("cell − reference") when they all share one, else None."""
    refs = {c.split(PAIRED_SEP, 1)[1] for c in paired_cells}
    return refs.pop() if len(refs) == 1 else None


def panels(table: Table) -> list[tuple[str, list[str], str]]:
    """The plot's panels in order: (metric, cells, title). Each metric gets one panel of its cells' values
    and, when the table has paired differences of it, one of those beside it (tick labels drop a shared
    reference, which moves into the title)."""
    out = []
    for metric in dict.fromkeys(m for cells in table.values() for m in cells):
        having = [c for c in table if metric in table[c]]
        plain = [c for c in having if PAIRED_SEP not in c]
        paired = [c for c in having if PAIRED_SEP in c]
        better = "lower" if lower_is_better(metric) else "higher"
        if plain:
            out.append((metric, plain, f"{metric} ({better} is better)"))
        if paired:
            ref = shared_reference(paired)
            out.append((metric, paired, f"{metric}: paired, cell − {ref}" if ref else f"{metric}: paired differences"))
    return out


def plot(path: Path, title: str, table: Table) -> None:
    """One panel per metric: each cell's mean with its 95% CI as an error bar; paired differences in a panel
    of their own, around a zero line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    todo = panels(table)
    cols = min(4, len(todo))
    rows = -(-len(todo) // cols)
    widest = max(len(cells) for _, cells, _ in todo)
    fig, axes = plt.subplots(rows, cols, figsize=(max(3.2, 0.32 * widest + 1.2) * cols, 3.0 * rows), squeeze=False)
    for ax, (metric, cells, panel_title) in zip(axes.flat, todo):
        s = [table[c][metric] for c in cells]
        mean = np.array([x.mean for x in s])
        lo, hi = np.array([x.lo for x in s]), np.array([x.hi for x in s])
        paired = PAIRED_SEP in cells[0]
        if paired:
            ax.axhline(0.0, color="0.6", lw=0.8, zorder=0)
            if shared_reference(cells):  # named in the title
                cells = [c.split(PAIRED_SEP, 1)[0] for c in cells]
        # intervals drawn on their own: a bootstrap FD interval need not contain the full-set point
        x, colour = np.arange(len(cells)), "C1" if paired else "C0"
        ax.vlines(x, lo, hi, color=colour, lw=1.2)
        ax.plot(np.repeat(x, 2), np.ravel([lo, hi], "F"), "_", color=colour, ms=6)
        ax.plot(x, mean, "o", color=colour)
        ax.set_xticks(range(len(cells)), cells, rotation=35, ha="right", fontsize=6.5)
        ax.set_title(panel_title, fontsize=7.5)
        ax.tick_params(axis="y", labelsize=7)
    for ax in list(axes.flat)[len(todo):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=110)
    plt.close(fig)


_ROW = re.compile(r"^\| (.+?) \| (\S+) [↑↓] \| (\S+) \| \[(\S+), (\S+)\] \| (\d+) \|$")


def read_markdown(text: str) -> tuple[str, Table]:
    """(title, table) back from a page :func:`markdown` wrote, so its plot can be redrawn without sampling."""
    title = text.splitlines()[0].removeprefix("# ").strip()
    table: Table = {}
    for line in text.splitlines():
        m = _ROW.match(line)
        if m:
            cell, metric, *values, n = m.groups()
            table.setdefault(cell, {})[metric] = Stat(*(float(v) for v in values), int(n))
    return title, table


def write_results(name: str, out: str | Path, title: str, table: Table, command: str, seconds: float,
                  notes: str = "") -> tuple[Path, Path]:
    """Write OUT/NAME.md and OUT/NAME.png atomically (replacing older ones); returns both paths."""
    from pusa.io import atomic_path

    out = Path(out)
    md, png = out / f"{name}.md", out / f"{name}.png"
    with atomic_path(png, overwrite=True) as tmp:
        plot(tmp, title, table)
    with atomic_path(md, overwrite=True) as tmp:
        tmp.write_text(markdown(title, table, command, seconds, notes, png.name))
    return md, png


# --- command line -------------------------------------------------------------------------------


class _Help(argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """Keeps the docstring's layout and shows every default."""


def parser(doc: str, steps_default: str | int = 10) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc, formatter_class=_Help)
    p.add_argument("--n", type=int, default=64, help="held-out clips (= samples) per cell")
    p.add_argument("--steps", default=steps_default, type=type(steps_default),
                   help="sampling steps" if isinstance(steps_default, int) else "comma-separated sampling step counts")
    p.add_argument("--cfg", type=float, default=3.0, help="classifier-free guidance scale")
    p.add_argument("--out", default="docs/results", help="folder for NAME.md and NAME.png")
    p.add_argument("--cache", default=DEFAULT_CACHE, help="folder caching generated videos; '' turns it off")
    p.add_argument("--dtype", default="bfloat16", choices=DTYPES,
                   help="transformer precision; bfloat16 is about 2x faster on CPUs with AMX and scores the same "
                        "as float32 within the CIs (docs/results/precision.md)")
    return p


def check_args(args: argparse.Namespace) -> None:
    if args.n < 1:
        raise SystemExit(f"--n must be >= 1, got {args.n}")


def command(name: str, args: argparse.Namespace) -> str:
    """The exact command line that regenerates a table: every flag spelt out."""
    def flag(k: str, v) -> str:
        if isinstance(v, list):  # a repeatable option: once per value, none when empty
            return " ".join(flag(k, x) for x in v)
        return f"--{k.replace('_', '-')} {v if v != '' else repr('')}"

    flags = " ".join(f for f in (flag(k, v) for k, v in vars(args).items()) if f)
    return f"python experiments/{name}.py {flags}"


# --- sampling -----------------------------------------------------------------------------------


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
                "mini/recipe.py", "mini/pretrain.py")


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


def torch_dtype(name: str):
    import torch

    if name not in DTYPES:
        raise SystemExit(f"--dtype must be one of {', '.join(DTYPES)}, got {name!r}")
    return getattr(torch, name)


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
