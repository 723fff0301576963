"""``make train-smoke``: the whole training path in well under a minute on a 2-core CPU.

1. write a handful of short captioned clips from the procedural world (train + held-out);
2. preprocess them with a tiny random VAE and text encoder;
3. train a tiny transformer's LoRA for a few dozen steps with per-frame sigmas (FAFM, p_async = 1);
4. print, as the last line, ``heldout_loss before=X after=Y``: the FAFM loss on the held-out clips
   at fixed per-frame sigmas and noise.

    python -m pusa.training.smoke [WORK_DIR] [--steps 40]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def run(work: Path, steps: int = 40, clips: int = 24, heldout: int = 6, quiet: bool = False) -> tuple[float, float]:
    from pusa.tiny import tiny_pipeline
    from pusa.training.cache_reader import Bucket, LatentCache
    from pusa.training.cache_writer import preprocess
    from pusa.training.config import TrainConfig
    from pusa.training.trainer import heldout_loss, train
    from pusa.world import write_dataset

    def say(msg: str) -> None:
        if not quiet:
            print(msg, flush=True)

    t0 = time.perf_counter()
    frames, size, max_len = 9, 32, 16
    write_dataset(work / "train", clips, seed=0, num_frames=frames, height=size, width=size)
    write_dataset(work / "heldout", heldout, seed=10_000, num_frames=frames, height=size, width=size)
    pipe = tiny_pipeline("wan")
    pipe.save_pretrained(work / "model")
    bucket = [Bucket(frames, size, size)]
    for name in ("train", "heldout"):
        preprocess(work / name, work / f"cache-{name}", pipe, bucket, max_sequence_length=max_len, shard_size=16)
    say(f"data: {clips} train + {heldout} held-out clips of {frames}x{size}x{size} encoded "
        f"({time.perf_counter() - t0:.1f}s)")

    held = LatentCache(work / "cache-heldout")
    before = heldout_loss(pipe.transformer, held, list(range(len(held))), max_len)
    config = TrainConfig(model=str(work / "model"), cache=str(work / "cache-train"), output_dir=str(work / "run"),
                         adapter="lora", lora_rank=8, lora_alpha=8.0, lr=2e-3, max_steps=steps, batch_size=4,
                         caption_dropout=0.1, checkpoint_every=max(1, steps // 2), keep_checkpoints=1,
                         max_grad_norm=1.0, seed=0)
    result = train(config)
    after = heldout_loss(result["model"].eval(), held, list(range(len(held))), max_len)
    say(f"trained {steps} LoRA steps, train loss {result['losses'][0]:.4f} -> {result['losses'][-1]:.4f} "
        f"({time.perf_counter() - t0:.1f}s total)")
    return before, after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work", nargs="?", help="work folder (default: a temporary one)")
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    from pusa.training.trainer import summary_line

    if args.work:
        work = Path(args.work)
        if work.exists() and any(work.iterdir()):
            parser.error(f"{work} is not empty; choose a new folder")
        before, after = run(work, args.steps)
    else:
        with tempfile.TemporaryDirectory(prefix="pusa-smoke-") as tmp:
            before, after = run(Path(tmp), args.steps)
    print(summary_line(before, after))


if __name__ == "__main__":
    main()
