"""Training speed: steps/s of `pusa.training.trainer.train` against a bare forward+backward+AdamW loop.

Both run the same LoRA-adapted Wan transformer on the same cached latents; the bare loop has no
data loading, per-sample seeding, accelerate wrapping, logging or checkpointing. The trainer's step
time is the median gap between its progress callbacks. Not a test: it prints what it measured.

    .venv/bin/python benchmarks/train_step.py [--dim 256 --layers 4 --steps 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def build(work: Path, dim: int, layers: int, frames: int, size: int, clips: int):
    from pusa.io import write_video
    from pusa.pipeline import PusaPipeline
    from pusa.tiny import tiny_text_encoder, tiny_tokenizer, tiny_transformer, tiny_wan_vae
    from pusa.training.cache_reader import Bucket
    from pusa.training.cache_writer import preprocess

    rng = np.random.default_rng(0)
    data = work / "data"
    data.mkdir()
    rows = ["file_name,text"]
    for i in range(clips):
        write_video(data / f"c{i}.mp4", rng.integers(0, 256, (frames, size, size, 3), dtype=np.uint8), fps=16)
        rows.append(f"c{i}.mp4,a red circle moves left")
    (data / "metadata.csv").write_text("\n".join(rows) + "\n")
    tok = tiny_tokenizer()
    pipe = PusaPipeline(tokenizer=tok, text_encoder=tiny_text_encoder(len(tok)), vae=tiny_wan_vae(),
                        transformer=tiny_transformer(4, text_dim=32, dim_head=64, heads=dim // 64, layers=layers),
                        default_num_frames=frames, default_height=size, default_width=size)
    pipe.save_pretrained(work / "model")
    preprocess(data, work / "cache", pipe, [Bucket(frames, size, size)], max_sequence_length=16)
    return pipe


def bare_loop(transformer, cache, steps: int, batch: int, rank: int) -> float:
    from peft import LoraConfig

    from pusa.flow import fafm_loss, interpolate, training_sigmas
    from pusa.training.cache_reader import collate
    from pusa.training.config import WAN_LORA_TARGETS

    transformer.requires_grad_(False)
    transformer.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=list(WAN_LORA_TARGETS)))
    transformer.train()
    params = [p for p in transformer.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    b = collate(cache, list(range(batch)), 16)
    x0, text = b["latents"].float(), b["text"]
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        x1 = torch.randn_like(x0)
        tau = training_sigmas(batch, x0.shape[2])
        loss = fafm_loss(transformer(interpolate(x0, x1, tau), 1000 * tau, text, return_dict=False)[0], x0, x1)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times[3:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dim", type=int, default=256)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--frames", type=int, default=17)
    p.add_argument("--size", type=int, default=128, help="pixels; latents are size/8")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--rank", type=int, default=16)
    p.add_argument("--steps", type=int, default=30)
    args = p.parse_args()
    from pusa.training.cache_reader import LatentCache
    from pusa.training.config import TrainConfig
    from pusa.training.trainer import train

    with tempfile.TemporaryDirectory(prefix="pusa-bench-") as tmp:
        work = Path(tmp)
        pipe = build(work, args.dim, args.layers, args.frames, args.size, clips=2 * args.batch)
        cache = LatentCache(work / "cache")
        stamps: list[float] = []
        cfg = TrainConfig(model=str(work / "model"), cache=str(work / "cache"), output_dir=str(work / "run"),
                          lora_rank=args.rank, lora_alpha=float(args.rank), lr=1e-4, max_steps=args.steps,
                          batch_size=args.batch, checkpoint_every=10**9, caption_dropout=0.1)
        train(cfg, callback=lambda info: stamps.append(time.perf_counter()))
        trainer_step = statistics.median(np.diff(stamps)[3:])
        bare_step = bare_loop(pipe.transformer, cache, args.steps, args.batch, args.rank)
        sample = cache[0]["latents"]
        tokens = sample.shape[1] * (sample.shape[2] // 2) * (sample.shape[3] // 2)
    print(f"config: dim {args.dim}, {args.layers} layers, LoRA rank {args.rank}, batch {args.batch} x {tokens} tokens, "
          f"fp32 on cpu ({torch.get_num_threads()} threads), median over {args.steps - 3} steps")
    print("| loop | s/step | steps/s |")
    print("|---|---|---|")
    print(f"| bare forward+backward+AdamW | {bare_step:.4f} | {1 / bare_step:.2f} |")
    print(f"| pusa trainer | {trainer_step:.4f} | {1 / trainer_step:.2f} |")
    print(f"trainer overhead: {trainer_step / bare_step - 1:+.1%}")


if __name__ == "__main__":
    main()
