"""Claim 3: the VTA LoRA keeps the base model's text-to-video ability (non-destructive adaptation).

    python experiments/non_destructive.py [--n 64] [--steps 10] [--out docs/results]

The shipped base (LoRA strength λ = 0) against Pusa-mini at λ = 1.0 and 1.4, with every frame at one
timestep (plain T2V), on held-out clips 0 … n−1:

(a) FAFM loss per σ: each clip encoded (``pipe.encode_frames``), its caption encoded
    (``pipe.encode_prompt``), one noise draw per clip (seed = clip index, shared by all models and σ),
    x_σ = (1 − σ)·x0 + σ·x1 at the scalar σ ∈ SIGMAS, loss = mean ‖v_θ(x_σ, 1000σ, c) − (x1 − x0)‖².
(b) Caption adherence and subject consistency of T2V samples (``pusa.mini.evaluate``'s t2v metrics).
(c) Fréchet distance between feature vectors of the T2V samples and of the real clips 0 … n−1. The 12
    features of a video x (T×H×W×3, values in [0, 1]), with b the per-pixel temporal median and
    "foreground" the pixels with |x − b| > 30/255 (RGB distance):
      1–3 mean R, G, B;  4–6 std R, G, B (over all pixels and frames);
      7 motion energy, mean |x_{t+1} − x_t|;  8 edge energy, mean |∂grey/∂y| + |∂grey/∂x| over 2;
      9 brightness flicker, std over t of the frame's mean grey;  10 foreground fraction;
      11 foreground speed, mean |c_{t+1} − c_t| / H of the foreground mask's centroid c (frames with
         foreground in both);  12 foreground saturation, mean (max − min over RGB) of foreground pixels.
    Each feature is divided by its standard deviation over the 2n real clips, floored at 1/255 (one grey
    level: the world's flat backgrounds barely flicker, and a spread of 0.00001 would let flicker swamp the
    rest). One scale for all rows, fixed by the world and n alone, so FDs compare across runs and weights. The row
    "real clips n … 2n−1" is the FD between two sets of real clips: the floor at this n.

Rows "λ − base" hold paired per-clip differences (same clip, same noise, same seed).
"""

from __future__ import annotations

import time

import numpy as np
from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, losses_at_sigmas, run_cells
from stats import Stat, bootstrap_fd, summarize
from variants import load_pipeline

NAME = "non_destructive"
STRENGTHS = (0.0, 1.0, 1.4)
SIGMAS = (0.1, 0.3, 0.5, 0.7, 0.9)
PAIRED = ("caption", "subject_consistency")  # T2V metrics also shown as differences to the base
NOTES = """\
FD rows: "mean" is the FD of the full sets (the point estimate), the interval a percentile bootstrap
over both sets; FD is biased upwards at small n, so read it against the real-vs-real floor."""


def label(strength: float) -> str:
    return "base (λ = 0)" if strength == 0 else f"Pusa-mini λ = {strength:.1f}"


def features(video: np.ndarray) -> np.ndarray:
    """The 12 frame statistics of the module docstring, for a uint8 video [T, H, W, 3]."""
    x = video.astype(np.float32) / 255.0  # [T, H, W, 3]
    grey = x.mean(-1)  # [T, H, W]
    fg = np.linalg.norm(x - np.median(x, axis=0), axis=-1) > 30 / 255  # [T, H, W]
    ys, xs = np.mgrid[0:x.shape[1], 0:x.shape[2]]
    area = fg.sum((1, 2))  # [T]
    cy = (fg * ys).sum((1, 2)) / np.maximum(area, 1)
    cx = (fg * xs).sum((1, 2)) / np.maximum(area, 1)
    both = (area[1:] > 0) & (area[:-1] > 0)
    step = np.hypot(np.diff(cx), np.diff(cy))[both] / x.shape[1]
    sat = (x.max(-1) - x.min(-1))[fg]
    edges = (np.abs(np.diff(grey, axis=1)).mean() + np.abs(np.diff(grey, axis=2)).mean()) / 2
    return np.array([*x.mean((0, 1, 2)), *x.std((0, 1, 2)), np.abs(np.diff(x, axis=0)).mean(), edges,
                     grey.mean((1, 2)).std(), fg.mean(), step.mean() if len(step) else 0.0,
                     sat.mean() if len(sat) else 0.0])


def fafm_losses(pipe, clip, seed: int) -> dict[str, float]:
    """FAFM loss of one clip at every σ in SIGMAS, all latent frames at that σ, with its caption."""
    return losses_at_sigmas(pipe, clip, seed, SIGMAS, {"caption": clip.caption})["caption"]


def rows_for(strength: float, args, progress: Progress) -> tuple[list[dict[str, float]], np.ndarray]:
    """Per-clip rows (losses and T2V metrics) and T2V feature vectors [n, 12] of one LoRA strength."""
    from pusa.mini.evaluate import heldout_clip

    pipe = load_pipeline(strength, args.dtype)
    losses = []
    for i in range(args.n):
        losses.append(fafm_losses(pipe, heldout_clip(i), i))
        progress.tick(f"{label(strength)} loss clip {i}")
    feats = []

    def keep(video, clip):
        feats.append(features(video))
        return {}

    t2v = run_cells(pipe, [Cell(label(strength), "t2v", args.steps)], args.n, args.cfg, args.cache, keep, progress)
    rows = [{**a, **b} for a, b in zip(losses, t2v[label(strength)])]
    return rows, np.stack(feats)


def paired(rows: list[dict[str, float]], base: list[dict[str, float]]) -> list[dict[str, float]]:
    keys = [k for k in rows[0] if k.startswith("loss") or k in PAIRED]
    return [{f"{k} (Δ vs base)": r[k] - b[k] for k in keys} for r, b in zip(rows, base)]


def main(argv: list[str] | None = None) -> None:
    from pusa.mini.evaluate import heldout_clip

    args = parser(__doc__).parse_args(argv)
    check_args(args)
    t0 = time.time()
    progress = Progress(NAME, 2 * args.n * len(STRENGTHS))
    rows, feats = {}, {}
    for s in STRENGTHS:
        rows[label(s)], feats[label(s)] = rows_for(s, args, progress)
    base = rows[label(0.0)]
    for s in STRENGTHS[1:]:
        rows[f"λ = {s:.1f} − base"] = paired(rows[label(s)], base)
    table = summarize(rows)
    notes = NOTES
    if args.n >= 2:
        real = np.stack([features(heldout_clip(i).frames) for i in range(args.n)])
        floor = np.stack([features(heldout_clip(i).frames) for i in range(args.n, 2 * args.n)])
        scale = np.maximum(np.concatenate([real, floor]).std(0), 1 / 255)  # [12]: the world's spread, not the models'
        fd: dict[str, Stat] = {k: bootstrap_fd(f / scale, real / scale) for k, f in feats.items()}
        fd[f"real clips {args.n} … {2 * args.n - 1}"] = bootstrap_fd(floor / scale, real / scale)
        for cell, stat in fd.items():
            table.setdefault(cell, {})["fd_features"] = stat
    else:
        notes += "\n\nFD not computed: it needs n >= 2."
    md, _ = write_results(NAME, args.out, "Claim 3: non-destructive adaptation (T2V, all frames at one σ)", table,
                          command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
