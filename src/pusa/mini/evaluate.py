"""Score a Pusa-mini pipeline on held-out world clips with the ground-truth metrics.

Each task conditions on frames of a held-out clip (world seed 99_000, never trained on) and is scored
against that clip's truth:

| task      | given (pixel frames)          | scored with                                                  |
|-----------|-------------------------------|--------------------------------------------------------------|
| t2v       | the caption only              | caption adherence (colour, shape, direction), subject consistency |
| i2v       | frame 0, clean                | PSNR at frame 0, caption adherence, subject consistency, trajectory error |
| start_end | frames 0 and 16, clean        | start–end adherence (px), PSNR at both ends                  |
| extend    | frames 0–8, clean             | seam continuity (px), trajectory error after frame 8         |
| keyframe@K | frame K alone, clean (K = 0 … 16) | PSNR and object distance (px) at frame K and at K ± 1, trajectory error |
| complete  | frames 0 and 13–16, clean     | PSNR at the given frames, object distance (px) in frames 1–12 |
| transition | A's frames 12–16 at 0–4, B's frames 0–3 at 13–16 | PSNR at the given frames, seam continuity after A (px), flicker |

Every task with given frames except transition is also scored with ``background_err``: how far the
generated frames' background colour is from the clip's (RGB distance of the median colours, 0–255;
``pusa.world.metrics.background_error``).

Transition's clip B is a second clip drawn from A's seed (``partner_clip``) and its prompt is B's
caption: the video must end in B's scene. Object distances compare tracked centroids in the generated
and the clip's frames.

    python -m pusa.mini.evaluate [MODEL_DIR] [--n 16] [--tasks t2v,i2v] [--lora-strength 1.0] [--warm-start M] [--json OUT]

Without MODEL_DIR the embedded model is scored.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

HELDOUT_SEED = 99_000  # world dataset seed never used for training
TASKS = ("t2v", "i2v", "start_end", "extend", "keyframe@8", "complete", "transition")
EXTEND_KEEP = 9  # frames 0–8: latents 0, 1, 2 of the causal layout
COMPLETE_HEAD, COMPLETE_TAIL = 1, 4  # frame 0 → latent 0, frames 13–16 → latent 4; latents 1–3 are generated
TRANSITION_TAIL, TRANSITION_HEAD = 5, 4  # A's last 5 frames → latents 0–1, B's first 4 → latent 4


def heldout_clip(i: int, preset: str = "easy", num_frames: int = 17, size: int = 64):
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed

    return make_clip(clip_seed(HELDOUT_SEED, i), num_frames, size, size, preset)


def keyframe_at(task: str) -> int | None:
    """Pixel frame K of a ``"keyframe@K"`` task; None for any other task."""
    if not task.startswith("keyframe@"):
        return None
    k = task.removeprefix("keyframe@")
    if not k.isdigit():
        raise ValueError(f"task {task!r}: expected keyframe@K with K a pixel frame index, e.g. 'keyframe@8'")
    return int(k)


def partner_clip(clip, preset: str = "easy"):
    """Clip B of a transition from clip A: a clip of the same geometry seeded from A's seed."""
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed

    t, h, w, _ = clip.frames.shape
    return make_clip(clip_seed(clip.seed, 1), t, h, w, preset)


def task_conditions(task: str, clip, noise: float = 0.0) -> list:
    """The conditions of ``task`` on ``clip``, every condition at noise multiplier ``noise``."""
    from pusa import conditions as C

    frames = clip.frames
    k = keyframe_at(task)
    if task == "t2v":
        return C.t2v()
    if task == "i2v":
        return C.i2v(frames[0], noise)
    if task == "start_end":
        return C.start_end(frames[0], frames[-1], len(frames), noise, noise)
    if task == "extend":
        return C.extend(frames, keep=EXTEND_KEEP, noise=noise)
    if k is not None:
        if k >= len(frames):
            raise ValueError(f"task {task!r}: keyframe {k} is outside the clip's frames 0–{len(frames) - 1}")
        return C.keyframes({k: frames[k]}, noise)
    if task == "complete":
        return C.complete(frames, COMPLETE_HEAD, COMPLETE_TAIL, noise)
    if task == "transition":
        return C.transition(frames, partner_clip(clip).frames, len(frames), TRANSITION_TAIL, TRANSITION_HEAD, noise)
    raise ValueError(f"unknown task {task!r}; expected one of {TASKS} (keyframe@K for any pixel frame K)")


def generated_frames(task: str, num_frames: int) -> list[int]:
    """The pixel frames ``task`` generates (every frame but the given ones; a keyframe task gives frame K)."""
    k = keyframe_at(task)
    given = [k] if k is not None else {
        "t2v": [], "i2v": [0], "start_end": [0, num_frames - 1], "extend": range(EXTEND_KEEP),
        "complete": [*range(COMPLETE_HEAD), *range(num_frames - COMPLETE_TAIL, num_frames)],
        "transition": [*range(TRANSITION_TAIL), *range(num_frames - TRANSITION_HEAD, num_frames)]}[task]
    return [t for t in range(num_frames) if t not in set(given)]


def task_prompt(task: str, clip) -> str:
    """The prompt of ``task``: the clip's caption, or clip B's for a transition (where the video must end)."""
    return partner_clip(clip).caption if task == "transition" else clip.caption


def object_distance(video: np.ndarray, clip, frames) -> float:
    """Mean distance (px) between each object's centroid in the generated and the clip's frames over ``frames``;
    an object missing on either side costs the frame diagonal. Both are tracked against the background
    estimated from the generated video (as start_end_adherence does), so identical frames give 0."""
    from pusa.world.track import estimate_background, track

    idx = list(frames)
    bg = estimate_background(video)
    got = track(video[idx], clip.colours, bg).centroid  # [n, K, 2]
    want = track(clip.frames[idx], clip.colours, bg).centroid  # [n, K, 2]
    d = np.linalg.norm(got - want, axis=-1)  # [n, K]
    return float(np.where(np.isnan(d), np.hypot(*video.shape[1:3]), d).mean())


def score(task: str, video: np.ndarray, clip) -> dict[str, float]:
    """Ground-truth metrics of one generated video (uint8 [T, H, W, 3]) for ``task`` on ``clip``."""
    from pusa.world.metrics import (
        background_error,
        caption_adherence,
        conditioning_fidelity,
        psnr,
        seam_continuity,
        start_end_adherence,
        subject_consistency,
        temporal_flicker,
        trajectory_error,
    )

    row: dict[str, float] = {}
    if task in ("t2v", "i2v"):
        cap = caption_adherence(video, clip.caption)
        row.update({"caption": cap.value, **{f"caption_{k}": v for k, v in cap.parts.items()}})
        row["subject_consistency"] = subject_consistency(video, clip.colours).value
    if task == "i2v":
        row["psnr_frame0"] = conditioning_fidelity(video, {0: clip.frames[0]}).value
        row["trajectory_px"] = trajectory_error(video, clip.scene).value
    if task == "start_end":
        se = start_end_adherence(video, clip.frames[0], clip.frames[-1], clip.colours)
        row.update({"start_end_px": se.value, "psnr_start": se.parts["psnr_start"], "psnr_end": se.parts["psnr_end"]})
    if task == "extend":
        row["seam_px"] = seam_continuity(video, EXTEND_KEEP, clip.scene).value
        row["trajectory_px"] = trajectory_error(video, clip.scene, cond_frames=range(EXTEND_KEEP)).value
    k, last = keyframe_at(task), len(video) - 1
    if k is not None:
        row["psnr_key"] = psnr(video[k], clip.frames[k])
        row["key_px"] = object_distance(video, clip, [k])
        row["neighbour_px"] = object_distance(video, clip, [t for t in (k - 1, k + 1) if 0 <= t <= last])
        row["trajectory_px"] = trajectory_error(video, clip.scene).value
    if task == "complete":
        given = [*range(COMPLETE_HEAD), *range(len(video) - COMPLETE_TAIL, len(video))]
        row["psnr_given"] = conditioning_fidelity(video, {t: clip.frames[t] for t in given}).value
        row["middle_px"] = object_distance(video, clip, range(COMPLETE_HEAD, len(video) - COMPLETE_TAIL))
        row["subject_consistency"] = subject_consistency(video, clip.colours).value
    if task == "transition":
        b, n = partner_clip(clip), len(video)
        given = {t: clip.frames[n - TRANSITION_TAIL + t] for t in range(TRANSITION_TAIL)}
        given |= {n - TRANSITION_HEAD + t: b.frames[t] for t in range(TRANSITION_HEAD)}
        row["psnr_given"] = conditioning_fidelity(video, given).value
        # A's background at the frames shown (its last ones, then held), then B's from the frame its head starts
        background = np.concatenate([clip.background[[min(n - 1, n - TRANSITION_TAIL + t) for t in range(n // 2)]],
                                     b.background[[max(0, t - n + TRANSITION_HEAD) for t in range(n // 2, n)]]])
        row["seam_px"] = seam_continuity(video, TRANSITION_TAIL, clip.scene, background).value
        row["flicker"] = temporal_flicker(video).value
    if task not in ("t2v", "transition"):  # a transition's background changes from A's to B's on purpose
        row["background_err"] = background_error(video, clip.background, generated_frames(task, len(video))).value
    return {k: float(v) for k, v in row.items()}


def generate(pipe, task: str, clip, seed: int, steps: int = 10, guidance: float = 3.0, noise: float = 0.0,
             **options) -> np.ndarray:
    """One video (uint8 [T, H, W, 3]) for ``task`` on ``clip``; ``noise`` is the conditions' multiplier m and
    ``options`` go to the pipeline (e.g. ``image_encoding``)."""
    out = pipe(task_prompt(task, clip), conditions=task_conditions(task, clip, noise), num_frames=len(clip.frames),
               num_inference_steps=steps, guidance_scale=guidance, generator=torch.Generator().manual_seed(seed),
               **options).frames[0]
    return (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)


def evaluate_rows(pipe, n: int = 16, steps: int = 10, guidance: float = 3.0, preset: str = "easy",
                  tasks=("t2v", "i2v"), start: int = 0, **options) -> dict[str, list[dict[str, float]]]:
    """Per-clip metric rows for clips start … start+n−1 (seed = clip index); ``options`` go to the pipeline
    (e.g. ``warm_start=0.9``)."""
    rows: dict[str, list[dict[str, float]]] = {t: [] for t in tasks}
    for i in range(start, start + n):
        clip = heldout_clip(i, preset, pipe.config.default_num_frames, pipe.config.default_height)
        for task in tasks:
            rows[task].append(score(task, generate(pipe, task, clip, i, steps, guidance, **options), clip))
    return rows


def evaluate(pipe, n: int = 16, steps: int = 10, guidance: float = 3.0, preset: str = "easy",
             tasks=("t2v", "i2v")) -> dict[str, dict[str, float]]:
    """Mean of each metric per task over n held-out clips."""
    rows = evaluate_rows(pipe, n, steps, guidance, preset, tasks)
    return {t: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for t, rs in rows.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--cfg", type=float, default=3.0)
    p.add_argument("--tasks", default="t2v,i2v,start_end,extend",
                   help="comma-separated tasks of the table above (keyframe@K for any pixel frame K)")
    p.add_argument("--lora", action="append", default=[])
    p.add_argument("--lora-strength", type=float, default=1.0, help="strength of the embedded model's VTA LoRA")
    p.add_argument("--warm-start", type=float, help="σ the generated frames start from (default: off, pure noise)")
    p.add_argument("--json", help="write the per-clip rows and means here")
    args = p.parse_args()
    tasks = tuple(t for t in args.tasks.split(",") if t)
    if args.model:
        from pusa.mini import build_pipeline
        from pusa.models import PusaTransformer3DModel

        pipe = build_pipeline(PusaTransformer3DModel.from_pretrained(f"{args.model}/transformer", torch_dtype=torch.float32))
        pipe.set_progress_bar_config(disable=True)
    else:
        from pusa.mini import default_pipeline

        pipe = default_pipeline(args.lora_strength, fuse=not args.lora)
    if args.lora:
        from pusa.models.lora import load_loras

        load_loras(pipe, args.lora, [1.0])
    t0 = time.time()
    options = {} if args.warm_start is None else {"warm_start": args.warm_start}
    rows = evaluate_rows(pipe, args.n, args.steps, args.cfg, tasks=tasks, **options)
    means = {t: {k: float(np.mean([r[k] for r in rs])) for k in rs[0]} for t, rs in rows.items()}
    for task, row in means.items():
        print(task, " ".join(f"{k}={v:.3f}" for k, v in row.items()))
    print(f"({args.n} clips per task, {time.time() - t0:.0f} s)")
    if args.json:
        from pathlib import Path

        from pusa.io import atomic_path

        with atomic_path(Path(args.json), overwrite=True) as tmp:
            tmp.write_text(json.dumps({"args": vars(args), "means": means, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
