"""The Pusa-mini recipe: world data → cache → base T2V (scalar timesteps) → VTA LoRA (FAFM, p_async = 1).

Every stage is resumable and skips what is done, so the whole recipe can run in the background for
hours and continue in a later session:

    python -m pusa.mini.recipe WORK_DIR --stage all --base-steps 6000 --lora-steps 600

Stages: data (world clips + metadata.csv), cache (packing latents + MiniLM states, bf16), base (full
training of a fresh Wan DiT with one shared σ per clip: plain text-to-video flow matching), export-base
(EMA weights into a pipeline folder), lora (the Pusa step on a fraction of the data and steps),
export-lora. Checkpoints stay in WORK_DIR, outside the repository.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pusa.mini import MINI


def stage_data(work: Path, clips: int, preset: str) -> Path:
    from pusa.world import write_dataset

    data = work / "data"
    if not (data / "metadata.csv").exists():
        write_dataset(data, clips, seed=0, config=preset, num_frames=MINI.num_frames, height=MINI.height,
                      width=MINI.width, fps=MINI.fps)
    return data


def stage_model_init(work: Path):
    from pusa.mini import build_pipeline

    folder = work / "model-init"
    pipe = build_pipeline()
    if not (folder / "model_index.json").exists():
        pipe.save_pretrained(folder)
    return folder, pipe


def stage_cache(work: Path, data: Path, pipe) -> Path:
    import torch

    from pusa.training.data import Bucket, preprocess

    cache = work / "cache"
    report = preprocess(data, cache, pipe, [Bucket(MINI.num_frames, MINI.height, MINI.width)],
                        max_sequence_length=MINI.max_sequence_length, shard_size=256, dtype=torch.bfloat16)
    print(report.summary(), flush=True)
    return cache


def stage_train(work: Path, name: str, model: Path, cache: Path, **kw) -> Path:
    from pusa.training.checkpoint import list_checkpoints
    from pusa.training.config import TrainConfig
    from pusa.training.trainer import train

    out = work / name
    cfg = TrainConfig(model=str(model), cache=str(cache), output_dir=str(out), **kw)
    done = list_checkpoints(out / "checkpoints")
    if done and done[-1].name == f"step-{cfg.max_steps:08d}":
        return out
    last = [0.0]

    def report(info):
        if info["step"] % 25 == 0:
            print(f"{name} step {info['step']}/{info['max_steps']} loss {info['loss']:.4f}", flush=True)
        last[0] = info["loss"]

    train(cfg, resume=bool(done), callback=report)
    return out


def stage_export_base(work: Path, run: Path) -> Path:
    """The base model's EMA weights as a full pipeline folder (the LoRA stage adapts it)."""
    from pusa.mini import build_pipeline
    from pusa.models import PusaTransformer3DModel
    from pusa.training.checkpoint import list_checkpoints, load_checkpoint

    folder = work / "model-base"
    ckpt = load_checkpoint(list_checkpoints(run / "checkpoints")[-1])
    transformer = PusaTransformer3DModel.from_pretrained(str(work / "model-init" / "transformer"))
    transformer.load_state_dict(ckpt.ema if ckpt.ema is not None else ckpt.trainable)
    build_pipeline(transformer).save_pretrained(folder)
    (folder / "recipe.json").write_text(json.dumps({"base_step": ckpt.step, "ema": ckpt.ema is not None}) + "\n")
    return folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", type=Path)
    p.add_argument("--stage", default="all", choices=["data", "cache", "base", "export-base", "lora", "all"])
    p.add_argument("--clips", type=int, default=4000)
    p.add_argument("--preset", default="easy")
    p.add_argument("--base-steps", type=int, default=6000)
    p.add_argument("--lora-steps", type=int, default=600)
    p.add_argument("--batch", type=int, default=8)
    args = p.parse_args()
    work = args.work
    work.mkdir(parents=True, exist_ok=True)
    stages = ["data", "cache", "base", "export-base", "lora"] if args.stage == "all" else [args.stage]
    data = stage_data(work, args.clips, args.preset)
    if "data" in stages and len(stages) == 1:
        return
    model_init, pipe = stage_model_init(work)
    cache = stage_cache(work, data, pipe) if {"cache", "base", "lora"} & set(stages) else work / "cache"
    if "base" in stages:
        stage_train(work, "base", model_init, cache, adapter="full", p_async=0.0, lr=3e-4, warmup_steps=200,
                    max_steps=args.base_steps, batch_size=args.batch, ema_decay=0.999, caption_dropout=0.1,
                    mixed_precision="bf16", checkpoint_every=100, keep_checkpoints=2, max_grad_norm=1.0,
                    weight_decay=0.01, seed=0, log_every=5)
    if "export-base" in stages:
        stage_export_base(work, work / "base")
    if "lora" in stages:
        stage_train(work, "lora", work / "model-base", cache, adapter="lora", lora_rank=32, lora_alpha=32.0,
                    p_async=1.0, lr=5e-4, warmup_steps=50, max_steps=args.lora_steps, batch_size=args.batch,
                    caption_dropout=0.1, mixed_precision="bf16", checkpoint_every=50, keep_checkpoints=2, seed=1,
                    log_every=5)


if __name__ == "__main__":
    main()
