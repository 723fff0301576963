"""Pusa-mini's release bars (issue 18), each task run as ``pusa generate`` runs it, on held-out world clips.

    python experiments/release.py --shipped --n 64                               # the embedded model
    python experiments/release.py --model WORK/pipeline --lora WORK/pipeline/pusa_mini_lora.safetensors \
        --warm-start 1 --t2v-strength 1 --n 64 --name release_candidate          # a recipe2 output

Every video goes through ``pusa.request`` (the CLI's path) with the model's run rules: the embedded
model's own, or ``--warm-start`` / ``--t2v-strength`` for a candidate folder. Per clip (seed = clip index):

- I2V (frame 0 given): direction error (degrees from the caption's direction) and whether it is within
  45°; centroid error (px) against the true clip over frames 1–16; the share of frames 1–16 whose object
  mask matches frame 0's at aligned IoU ≥ 0.8; frame-0 PSNR (dB) through the autoencoder and the mp4-free
  pipeline output.
- T2V: caption colour, shape and direction accuracy (0/1 per clip).
- start–end (frames 0 and 16 given): centroid error over frames 1–15.
- extension (frames 0–8 given): centroid error over frames 9–16, and the same for "hold frame 8" (the
  video frozen after the given frames), the baseline it must beat.

``--rows FILE`` keeps the per-clip scores (json); ``--against FILE`` adds the paired differences "this −
reference" per task against another run's rows (same clips, same seeds), the release check's question:

    python experiments/release.py --shipped --rows shipped.json --name release_shipped
    python experiments/release.py --model WORK/pipeline --against shipped.json --name release_candidate
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np
from report import weights_id, write_results
from stats import PAIRED_SEP, bootstrap_ci

BARS = {  # (row, metric): (comparison, threshold) — issue 18's "Done when"
    ("i2v", "within_45"): (">=", 0.9), ("i2v", "centroid_px"): ("<=", 5.0), ("i2v", "shape_ok"): (">=", 0.9),
    ("i2v", "psnr_frame0"): (">=", 30.0), ("t2v", "caption_colour"): (">=", 0.95),
    ("t2v", "caption_shape"): (">=", 0.9), ("t2v", "caption_direction"): (">=", 0.8),
    ("start_end", "centroid_px"): ("<=", 5.0), ("extend", "centroid_px"): ("<=", 5.0),
}
TASKS = ("i2v", "t2v", "start_end", "extend")


def models_for(args):
    from pusa.request import ModelRules, Models, ModelSpec

    if args.shipped:
        return Models(ModelSpec())
    spec = ModelSpec(model=args.model, loras=((args.lora, 1.0),) if args.lora else ())
    warm = None if args.warm_start == 1.0 else args.warm_start
    return Models(spec, rules=ModelRules(args.t2v_strength if args.lora else None, warm))


def video_of(models, task: str, clip, seed: int, steps: int, shift: float | None = None,
             cfg: float | None = None) -> np.ndarray:
    from pusa.mini.evaluate import task_conditions
    from pusa.request import Request, generate

    conditions = task_conditions("extend" if task == "extend" else task, clip)
    request = Request(prompt=clip.caption, conditions=tuple(conditions), seed=seed, steps=steps, shift=shift, cfg=cfg)
    gen = generate(request, models)
    return (np.clip(gen.frames, 0, 1) * 255 + 0.5).astype(np.uint8)


def score(task: str, video: np.ndarray, clip) -> dict[str, float]:
    from pusa.mini.evaluate import EXTEND_KEEP, object_distance
    from pusa.world.metrics import aligned_shape_iou, caption_adherence, direction_error, psnr

    n = len(video)
    if task == "i2v":
        err = direction_error(video, clip.caption).value
        iou = aligned_shape_iou(video[1:], clip.frames[0], clip.colours[0])
        return {"direction_err": err, "within_45": float(err <= 45), "centroid_px": object_distance(video, clip, range(1, n)),
                "shape_iou": float(np.nanmean(iou)), "shape_ok": float(np.mean(iou >= 0.8)),
                "psnr_frame0": psnr(video[0], clip.frames[0])}
    if task == "t2v":
        cap = caption_adherence(video, clip.caption)
        return {f"caption_{k}": float(v) for k, v in cap.parts.items()}
    if task == "start_end":
        return {"centroid_px": object_distance(video, clip, range(1, n - 1))}
    hold = np.concatenate([video[:EXTEND_KEEP], np.repeat(video[EXTEND_KEEP - 1:EXTEND_KEEP], n - EXTEND_KEEP, 0)])
    return {"centroid_px": object_distance(video, clip, range(EXTEND_KEEP, n)),
            "hold_px": object_distance(hold, clip, range(EXTEND_KEEP, n))}


def paired(rows: dict[str, list[dict]], reference: dict[str, list[dict]]) -> dict:
    """Per task in both runs: the bootstrap of per-clip differences "this − reference" (same clip, same seed)."""
    out = {}
    for task, rs in rows.items():
        ref = reference.get(task)
        if ref is None:
            continue
        if len(ref) != len(rs):
            raise SystemExit(f"--against: {task} has {len(ref)} clips there and {len(rs)} here; use the same --n")
        out[f"{task}{PAIRED_SEP}reference"] = {
            k: bootstrap_ci([a[k] - b[k] for a, b in zip(rs, ref) if np.isfinite(a[k] - b[k])]) for k in rs[0]}
    return out


def verdicts(table) -> str:
    lines = ["| bar | measured | 95% CI | met |", "|---|---|---|---|"]
    for (row, metric), (op, bar) in BARS.items():
        s = table.get(row, {}).get(metric)
        if s is None:
            continue
        met = s.mean >= bar if op == ">=" else s.mean <= bar
        lines.append(f"| {row} {metric} {op} {bar:g} | {s.mean:.3g} | [{s.lo:.3g}, {s.hi:.3g}] | {'yes' if met else 'no'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    from pusa.mini.evaluate import heldout_clip

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--shipped", action="store_true", help="the embedded Pusa-mini with its own run rules")
    which.add_argument("--model", type=Path, help="a PusaPipeline folder (e.g. WORK/pipeline of recipe2)")
    p.add_argument("--lora", type=Path, help="the candidate's VTA LoRA")
    p.add_argument("--warm-start", type=float, default=1.0, help="candidate rule: warm start σ (1 = off)")
    p.add_argument("--t2v-strength", type=float, default=1.0, help="candidate rule: VTA LoRA strength for T2V")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--shift", type=float, help="sampling shift (default: the preset's, as pusa generate)")
    p.add_argument("--cfg", type=float, help="guidance scale (default: the preset's, as pusa generate)")
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--name", default="release")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "results")
    p.add_argument("--rows", type=Path, help="write the per-clip scores here (json)")
    p.add_argument("--against", type=Path, help="a reference run's --rows: add paired differences per task")
    args = p.parse_args(argv)
    reference = json.loads(args.against.read_text()) if args.against else None
    tasks = args.tasks.split(",")
    models = models_for(args)
    rows: dict[str, list[dict[str, float]]] = {t: [] for t in tasks}
    t0, cpu0 = time.time(), time.process_time()
    for i in range(args.n):
        clip = heldout_clip(i)
        for task in tasks:
            rows[task].append(score(task, video_of(models, task, clip, i, args.steps, args.shift, args.cfg), clip))
        print(f"clip {i + 1}/{args.n} {time.time() - t0:.0f}s", flush=True)
    table = {t: {k: bootstrap_ci([r[k] for r in rs if np.isfinite(r[k])]) for k in rs[0]} for t, rs in rows.items()}
    if reference is not None:
        table.update(paired(rows, reference))
    if args.rows:  # like the page, replaced atomically
        from pusa.io import atomic_path

        with atomic_path(args.rows, overwrite=True) as tmp:
            tmp.write_text(json.dumps(rows) + "\n")
    seconds, cpu = time.time() - t0, time.process_time() - cpu0
    shift = "" if args.shift is None else f", shift {args.shift:g}"
    guidance = "CFG 3 (the preset's)" if args.cfg is None else f"CFG {args.cfg:g}"
    notes = (f"Bars of issue 18 (n = {args.n} held-out easy clips, seed = clip index, {args.steps} steps, "
             f"{guidance}{shift}):\n\n{verdicts(table)}\n\nCPU time {cpu / 60:.1f} min.")
    cmd = shlex.join(["python", "experiments/release.py", *(sys.argv[1:] if argv is None else argv)])
    title = f"Release bars: {'the embedded Pusa-mini' if args.shipped else args.model.name}"
    md, _ = write_results(args.name, args.out, title, table, cmd, seconds, notes,
                          None if args.shipped else weights_id(args.model))
    print(verdicts(table))
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
