"""Claim 5: what the VTA step needs. p_async ∈ {0, 0.2, 0.5, 1} at LoRA rank 16; rank ∈ {4, 16, 64, full
fine-tune} at p_async = 1; and training steps.

    bash scripts/train_ablations.sh WORK                      # the variants (cached in WORK, resumable)
    python experiments/ablations.py --work WORK [--n 64]

Every variant is trained from the shipped base by ``python -m pusa.mini.recipe WORK --stage lora`` with
one short, equal budget: 100 steps × 8 clips of the 2,000-clip cache, lr 1e-3 (full fine-tune: 1e-4),
20 warmup steps, σ uniform per frame (shift 1). p_async is the probability that a training sample
draws an independent σ per frame (PTSS); otherwise all its frames share one σ. Two scores per variant
on held-out clips 0 … n−1:

(a) ``x0_err_given`` and ``frame0_gain``: the clip's latent 0 clean and latents 1–4 at σ = 0.9 (one noise
    draw per clip, seed = clip index, the caption as text): the mean squared error of the model's x̂0
    over latents 1–4. ``frame0_gain`` subtracts it from the same error with latent 0 also at σ = 0.9:
    how much a clean first frame helps the model predict the rest, the skill image-to-video needs.
(b) Image-to-video samples (frame 0 given, 10 steps, CFG 3) scored with ``pusa.mini.evaluate``'s i2v metrics.

Rows "base (no VTA step)" and "shipped Pusa-mini (800 steps, r32)" frame the variants; "training
steps" reads the base (0 steps), p1-r16 at 100 and at 150 steps (the same run continued).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import budget_notes, load_pipeline, trained_variants, variant_pipeline

NAME = "ablations"
SIGMA = 0.9
VARIANTS = {  # row → WORK/NAME (recipe output)
    "p_async 1 (r16)": "p1-r16",
    "p_async 0 (r16)": "p0-r16",
    "p_async 0.2 (r16)": "p0.2-r16",
    "p_async 0.5 (r16)": "p0.5-r16",
    "rank 4 (p 1)": "p1-r4",
    "rank 64 (p 1)": "p1-r64",
    "full fine-tune (p 1)": "p1-full",
    "p_async 1 (r16), 150 steps": "p1-r16-150",
}
BASE, SHIPPED = "base (no VTA step)", "shipped Pusa-mini (800 steps, r32)"
REFERENCE = "p_async 1 (r16)"  # the paper's setting; every other row is also shown as a paired difference to it
PAIRED = ("x0_err_given", "frame0_gain", "caption", "trajectory_px", "subject_consistency")


@torch.no_grad()
def conditioned_error(pipe, clip, seed: int, sigma: float = SIGMA) -> dict[str, float]:
    """(a) of the module docstring for one clip: x̂0 error of latents 1… with latent 0 clean, and the gain."""
    from pusa.flow import interpolate

    model = pipe.transformer
    x0 = pipe.encode_frames(torch.from_numpy(clip.frames).float() / 255)  # [1, C, F, h, w]
    text = pipe.encode_prompt(clip.caption).to(model.dtype)
    x1 = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    f = x0.shape[2]
    tau = torch.full((2, f), sigma)
    tau[0, 0] = 0.0  # row 0: frame 0 given clean; row 1: nothing given
    x = interpolate(x0.expand(2, -1, -1, -1, -1), x1.expand(2, -1, -1, -1, -1), tau)  # [2, C, F, h, w]
    v = model(x.to(model.dtype), 1000.0 * tau, text.expand(2, -1, -1), return_dict=False)[0].float()
    x0_hat = x - tau[:, None, :, None, None] * v
    err = ((x0_hat - x0)[:, :, 1:] ** 2).mean(dim=(1, 2, 3, 4))  # [2]
    return {"x0_err_given": float(err[0]), "frame0_gain": float(err[1] - err[0])}


def scored(pipe, name: str, args, progress: Progress) -> list[dict[str, float]]:
    from pusa.mini.evaluate import heldout_clip

    errs = [conditioned_error(pipe, heldout_clip(i), i) for i in range(args.n)]
    i2v = run_cells(pipe, [Cell(name, "i2v", args.steps)], args.n, args.cfg, args.cache, progress=progress)[name]
    return [{**a, **b} for a, b in zip(errs, i2v)]


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--work", required=True, type=Path, help="folder of the trained variants (scripts/train_ablations.sh)")
    args = p.parse_args(argv)
    check_args(args)
    t0 = time.time()
    present, missing = trained_variants(args.work, VARIANTS)
    progress = Progress(NAME, args.n * (len(present) + 2))
    rows = {BASE: scored(load_pipeline(0.0, args.dtype), BASE, args, progress)}
    for row, path in present.items():
        rows[row] = scored(variant_pipeline(path, args.dtype), row, args, progress)
    rows[SHIPPED] = scored(load_pipeline(1.0, args.dtype), SHIPPED, args, progress)
    if REFERENCE in rows:
        rows |= paired_differences(rows, REFERENCE, PAIRED)
    notes = budget_notes("Training budgets (seconds are wall time on the shared 2-core CPU, one torch thread, while "
                         "experiments sampled on the other core):", present, missing,
                         ("steps", "batch", "clips_seen", "lr", "seconds"))
    md, _ = write_results(NAME, args.out, "Claim 5: ablations of the VTA step (Pusa-mini)", summarize(rows),
                          command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
