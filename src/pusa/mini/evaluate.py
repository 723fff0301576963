"""Score a Pusa-mini pipeline on held-out world clips with the ground-truth metrics.

T2V: caption adherence (colour, shape, direction) from the caption alone. I2V: the clip's frame 0 as a
clean condition; conditioning-frame PSNR at frame 0, caption adherence and subject consistency.

    python -m pusa.mini.evaluate MODEL_DIR [--n 16] [--lora FILE --lora-alpha 1.0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

HELDOUT_SEED = 99_000  # world dataset seed never used for training


def evaluate(pipe, n: int = 16, steps: int = 10, guidance: float = 3.0, preset: str = "easy",
             tasks: tuple[str, ...] = ("t2v", "i2v")) -> dict[str, dict[str, float]]:
    from pusa import conditions as C
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed
    from pusa.world.metrics import caption_adherence, conditioning_fidelity, subject_consistency

    cfg = pipe.config
    scores: dict[str, dict[str, list[float]]] = {t: {} for t in tasks}
    for i in range(n):
        clip = make_clip(clip_seed(HELDOUT_SEED, i), cfg.default_num_frames, cfg.default_height, cfg.default_width,
                         preset)
        for task in tasks:
            conds = C.i2v(clip.frames[0]) if task == "i2v" else C.t2v()
            out = pipe(clip.caption, conditions=conds, num_inference_steps=steps, guidance_scale=guidance,
                       generator=torch.Generator().manual_seed(i)).frames[0]
            video = (np.clip(out, 0, 1) * 255 + 0.5).astype(np.uint8)
            cap = caption_adherence(video, clip.caption)
            row = {"caption": cap.value, **{f"caption_{k}": v for k, v in cap.parts.items()},
                   "subject_consistency": subject_consistency(video, clip.colours).value}
            if task == "i2v":
                row["psnr_frame0"] = conditioning_fidelity(video, {0: clip.frames[0]}).value
            for k, v in row.items():
                scores[task].setdefault(k, []).append(float(v))
    return {t: {k: float(np.mean(v)) for k, v in d.items()} for t, d in scores.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--cfg", type=float, default=3.0)
    p.add_argument("--lora", action="append", default=[])
    p.add_argument("--lora-alpha", type=float, action="append", default=[])
    args = p.parse_args()
    from pusa.mini import build_pipeline
    from pusa.models import PusaTransformer3DModel

    pipe = build_pipeline(PusaTransformer3DModel.from_pretrained(f"{args.model}/transformer"))
    pipe.set_progress_bar_config(disable=True)
    if args.lora:
        from pusa.models.lora import load_loras

        load_loras(pipe, args.lora, args.lora_alpha or [1.0])
    t0 = time.time()
    result = evaluate(pipe, args.n, args.steps, args.cfg)
    for task, row in result.items():
        print(task, " ".join(f"{k}={v:.3f}" for k, v in row.items()))
    print(f"({args.n} clips per task, {time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
