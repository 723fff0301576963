"""The Pusa-mini recipe: base T2V pretraining on streamed world clips, then the Pusa step (VTA LoRA).

    python -m pusa.mini.recipe WORK --stage pretrain --minutes 7 --batch 256 --workers 14   # GPU
    python -m pusa.mini.recipe WORK --stage export-base [--from-shipped]
    python -m pusa.mini.recipe WORK --stage cache --clips 2000
    python -m pusa.mini.recipe WORK --stage lora --lora-steps 600        # → WORK/lora/final

Stages:
- pretrain: a fresh Wan DiT learns plain text-to-video flow matching with one σ per clip (scalar
  timesteps) on clips rendered on the fly (``pusa.mini.pretrain``); EMA weights → WORK/base/transformer;
- export-base: those weights as a PusaPipeline folder, WORK/model-base (what ``pusa train`` adapts);
  ``--from-shipped`` takes the shipped base transformer instead (the experiments' trained variants start there);
- cache: a small latent cache of world clips from a seed the pretraining never used (``cache_frames``:
  clips go straight from the renderer into the cache, no lossy video file);
- lora: ``pusa train``'s trainer with FAFM and p_async = 1 (the paper's setting) on that cache;
  ``--name``, ``--p-async``, ``--p-cond`` and ``--rank`` make the ablation variants of docs/results.md.

Every stage resumes or skips what is done. Checkpoints stay in WORK, outside the repository.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pusa.mini import MINI

CACHE_SEED = 20_000  # world seed of the LoRA cache (pretraining streams seed 0; evaluation uses 99_000)
CACHE_PRESET = "easy"


def stage_pretrain(work: Path, minutes: float | None, steps: int, batch: int, workers: int) -> Path:
    from pusa.mini.pretrain import PretrainConfig, pretrain

    cfg = PretrainConfig(out=str(work / "base"), minutes=minutes, max_steps=steps, batch_size=batch,
                         workers=workers)
    return pretrain(cfg, progress=lambda m: print(m, flush=True))


def stage_export_base(work: Path, from_shipped: bool = False) -> Path:
    """WORK/base/transformer (or, ``from_shipped``, the shipped base) as a full pipeline folder WORK/model-base
    (the LoRA stage adapts it)."""
    import torch

    from pusa.mini import build_pipeline
    from pusa.mini.shipped import TRANSFORMER
    from pusa.models import PusaTransformer3DModel

    folder = work / "model-base"
    if not (folder / "model_index.json").exists():
        source = TRANSFORMER if from_shipped else work / "base" / "transformer"
        transformer = PusaTransformer3DModel.from_pretrained(str(source),
                                                             torch_dtype=torch.float32)
        build_pipeline(transformer).save_pretrained(folder)
    return folder


def stage_cache(work: Path, clips: int, seed: int = CACHE_SEED, preset: str = CACHE_PRESET) -> Path:
    import torch

    from pusa.loading import load_pipeline
    from pusa.training.cache_writer import cache_frames
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed

    cache = work / "cache"
    pipe, _ = load_pipeline(work / "model-base", device="cuda" if torch.cuda.is_available() else "cpu")

    def world():
        for i in range(clips):
            clip = make_clip(clip_seed(seed, i), MINI.num_frames, MINI.height, MINI.width, preset)
            yield f"world_{seed}_{i:06d}", clip.frames, clip.caption

    n = cache_frames(cache, pipe, world(), MINI.max_sequence_length, shard_size=256, dtype=torch.bfloat16)
    print(f"cache: {n} clips encoded into {cache}", flush=True)
    return cache


def stage_lora(work: Path, name: str, steps: int, batch: int, p_async: float, rank: int, lr: float,
               shift: float = 1.0, sigma_sampling: str = "continuous", adapter: str = "lora",
               warmup: int = 50, p_cond: float = 0.0, patterns: list[str] | None = None) -> Path:
    """Train the VTA adapter ``WORK/NAME``: a LoRA (``adapter="lora"``, exported to NAME/final) or a full
    fine-tune (``adapter="full"``, the transformer exported to NAME/final/transformer)."""
    from pusa.flow import CONDITION_PATTERNS
    from pusa.training.checkpoint import list_checkpoints
    from pusa.training.config import TrainConfig
    from pusa.training.export import export_lora
    from pusa.training.trainer import train

    out = work / name
    patterns = list(patterns or CONDITION_PATTERNS)
    cfg = TrainConfig(model=str(work / "model-base"), cache=str(work / "cache"), output_dir=str(out),
                      adapter=adapter, lora_rank=rank, lora_alpha=float(rank), p_async=p_async, p_cond=p_cond,
                      condition_patterns=patterns, lr=lr,
                      shift=shift, sigma_sampling=sigma_sampling,
                      warmup_steps=warmup, max_steps=steps, batch_size=batch, caption_dropout=0.1,
                      mixed_precision="bf16", checkpoint_every=100, keep_checkpoints=1, seed=1, log_every=10)
    done = list_checkpoints(out / "checkpoints")
    if done and done[-1].name == f"step-{steps:08d}" and (out / "final").exists():
        return out / "final"

    def report(info):
        if info["step"] % 50 == 0 or info["step"] == steps:
            print(f"{name} step {info['step']}/{steps} loss {info['loss']:.4f}", flush=True)

    result = train(cfg, resume=bool(done), callback=report)
    if adapter == "full":
        result["model"].save_pretrained(out / "final" / "transformer", max_shard_size="15MB")
    else:
        export_lora(result["model"], out / "final", overwrite=True)
    (out / "final" / "recipe.json").write_text(json.dumps({"steps": steps, "batch": batch, "p_async": p_async,
                                                           "p_cond": p_cond, "condition_patterns": patterns,
                                                           "adapter": adapter, "warmup": warmup,
                                                           "rank": rank, "lr": lr, "shift": shift,
                                                           "sigma_sampling": sigma_sampling}) + "\n")
    return out / "final"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", type=Path)
    p.add_argument("--stage", default="all", choices=["pretrain", "export-base", "cache", "lora", "all"])
    p.add_argument("--minutes", type=float, help="pretraining time budget (fixes the step count)")
    p.add_argument("--steps", type=int, default=2000, help="pretraining steps when --minutes is not given")
    p.add_argument("--batch", type=int, default=256, help="pretraining batch")
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--from-shipped", action="store_true",
                   help="export-base: build WORK/model-base from the shipped base transformer")
    p.add_argument("--clips", type=int, default=2000, help="clips in the LoRA cache")
    p.add_argument("--name", default="lora")
    p.add_argument("--lora-steps", type=int, default=600)
    p.add_argument("--lora-batch", type=int, default=32)
    p.add_argument("--p-async", type=float, default=1.0)
    p.add_argument("--p-cond", type=float, default=0.0,
                   help="share of LoRA samples drawn as conditioning tasks (given frames at σ = 0, the rest at one σ)")
    p.add_argument("--patterns", help="comma-separated conditioning tasks --p-cond draws, equally likely "
                                       "(default: i2v,prefix,start_end,keyframes)")
    p.add_argument("--rank", type=int, default=32)
    p.add_argument("--adapter", default="lora", choices=["lora", "full"], help="full: fine-tune every weight")
    p.add_argument("--warmup", type=int, default=50, help="LoRA-stage warmup steps")
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--shift", type=float, default=1.0,
                   help="LoRA training σ shift (1: uniform per frame, so clean-ish frames are common)")
    p.add_argument("--sigma-sampling", default="continuous", choices=["grid", "continuous"])
    a = p.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    stages = ["pretrain", "export-base", "cache", "lora"] if a.stage == "all" else [a.stage]
    if "pretrain" in stages:
        stage_pretrain(a.work, a.minutes, a.steps, a.batch, a.workers)
    if "export-base" in stages:
        stage_export_base(a.work, a.from_shipped)
    if "cache" in stages:
        stage_cache(a.work, a.clips)
    if "lora" in stages:
        print(stage_lora(a.work, a.name, a.lora_steps, a.lora_batch, a.p_async, a.rank, a.lr, a.shift,
                         a.sigma_sampling, a.adapter, a.warmup, a.p_cond,
                         a.patterns.split(",") if a.patterns else None))


if __name__ == "__main__":
    main()
