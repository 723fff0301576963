"""Training Pusa-mini's learned causal autoencoder on freshly rendered world clips.

    python -m pusa.mini.autoencoder OUT --minutes 30 --threads 2

MSE on pixels in [−1, 1], AdamW with warm-up and cosine decay over a wall-clock budget (the step count
is fixed after the first timed steps, like the transformer's pretraining). Every checkpoint also
exports a usable model to ``OUT/autoencoder`` with its latent statistics, and appends the held-out
PSNR (easy and medium clips, a world seed no training stream uses) to ``OUT/psnr.csv``. Started
again, it resumes from the newest checkpoint.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from pusa.mini import MINI

AE_SEED = 31_000  # world seed of the autoencoder's training stream
HELD_OUT_SEED = 99_500  # its held-out clips
AE_MIXTURE = (("easy", 0.4), ("medium", 0.45), ("full", 0.15))


@dataclass
class AutoencoderTrainConfig:
    out: str
    minutes: float | None = 30.0
    max_steps: int = 10_000
    batch_size: int = 4
    lr: float = 2e-3
    min_lr_ratio: float = 0.05
    warmup_steps: int = 100
    weight_decay: float = 0.0
    widths: tuple = (16, 32, 64, 128)
    latent_channels: int = 16
    checkpoint_every: int = 250
    held_out: int = 24  # clips per preset
    seed: int = AE_SEED
    threads: int = 2


def to_pixels(frames: torch.Tensor) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] → float [B, 3, T, H, W] in [−1, 1]."""
    return frames.permute(0, 4, 1, 2, 3).float() / 127.5 - 1


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """PSNR in dB of two videos in [−1, 1] (peak-to-peak 2), over every pixel."""
    mse = float(((a.clamp(-1, 1) - b) ** 2).mean())
    return 10 * math.log10(4.0 / max(mse, 1e-12))


def held_out(preset: str, n: int) -> torch.Tensor:
    from pusa.world import make_clip
    from pusa.world.dataset import clip_seed

    clips = [make_clip(clip_seed(HELD_OUT_SEED, i), MINI.num_frames, MINI.height, MINI.width, preset).frames
             for i in range(n)]
    return to_pixels(torch.from_numpy(np.stack(clips)))


@torch.no_grad()
def evaluate(model, clips: torch.Tensor, batch: int = 8) -> float:
    """Held-out PSNR (dB), averaged over clips."""
    model.eval()
    scores = [psnr(model(clips[i:i + 1]), clips[i:i + 1]) for i in range(len(clips))]
    model.train()
    return float(np.mean(scores))


@torch.no_grad()
def latent_statistics(model, n: int = 96) -> tuple[list[float], list[float]]:
    """Per-channel mean and std of raw latents over n stream clips (what normalises them for diffusion)."""
    from pusa.mini.pretrain import WorldStream

    stream = WorldStream(HELD_OUT_SEED + 1, 8, AE_MIXTURE, MINI.num_frames, MINI.height, MINI.width)
    zs = [model.encode(to_pixels(stream.batch(j)[0])).latent_dist.mode() for j in range(n // 8)]
    z = torch.cat(zs).transpose(0, 1).flatten(1)  # [C, N]
    return z.mean(1).tolist(), z.std(1).clamp_min(1e-3).tolist()


def export(model, folder: Path) -> Path:
    """Save the model with fresh latent statistics in its config (atomically: a temp folder, then rename)."""
    import shutil

    mean, std = latent_statistics(model)
    model.register_to_config(latents_mean=mean, latents_std=std)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    return folder


def lr_at(step: int, cfg: AutoencoderTrainConfig, total: int) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


def train_autoencoder(cfg: AutoencoderTrainConfig, progress=print) -> Path:
    from pusa.mini.pretrain import WorldStream
    from pusa.models.causal_autoencoder import CausalConvAutoencoder
    from pusa.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint

    torch.set_num_threads(cfg.threads)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = CausalConvAutoencoder(temporal_factor=MINI.temporal_factor, spatial_factor=2 ** (len(cfg.widths) - 1),
                                  widths=tuple(cfg.widths), latent_channels=cfg.latent_channels)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99))
    step, total, seen = 0, cfg.max_steps, 0.0
    ckpts = list_checkpoints(out / "checkpoints")
    if ckpts:
        ck = load_checkpoint(ckpts[-1])
        model.load_state_dict(ck.trainable)
        opt.load_state_dict(ck.optimizer)
        step, total, seen = ck.step, int(ck.state["total_steps"]), float(ck.state["seconds"])
        progress(f"autoencoder: resumed from {ckpts[-1]} (step {step}/{total})")
    if step >= total and (out / "autoencoder" / "config.json").exists():
        return out / "autoencoder"
    (out / "train_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    stream = WorldStream(cfg.seed, cfg.batch_size, AE_MIXTURE, MINI.num_frames, MINI.height, MINI.width)
    tests = {p: held_out(p, cfg.held_out) for p in ("easy", "medium")}
    new_log = not (out / "psnr.csv").exists()
    log = open(out / "psnr.csv", "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(("step", "clips", "seconds", "cpu_seconds", "loss", "psnr_easy", "psnr_medium"))
    cpu0 = time.process_time() - float(ck.state.get("cpu_seconds", 0.0)) if ckpts else time.process_time()
    t0, timed = time.time() - seen, None
    model.train()
    while step < total:
        x = to_pixels(stream.batch(step)[0])
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, total)
        with torch.autocast("cpu", dtype=torch.bfloat16):  # 2.3× faster than fp32 here (measured)
            y = model(x)
        loss = torch.nn.functional.mse_loss(y.float(), x)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"autoencoder: non-finite loss at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if cfg.minutes is not None and not ckpts and step == 20:
            timed = (time.time(), step)
        if timed is not None and step == 60:
            per_step = (time.time() - timed[0]) / (step - timed[1])
            total = max(step + 1, int((cfg.minutes * 60 - (time.time() - t0)) / per_step * 0.97) + step)
            progress(f"autoencoder: {per_step:.3f} s/step → {total} steps in {cfg.minutes} min")
        if step % cfg.checkpoint_every == 0 or step == total:
            scores = {p: evaluate(model, c) for p, c in tests.items()}
            elapsed, cpu = time.time() - t0, time.process_time() - cpu0
            writer.writerow((step, step * cfg.batch_size, f"{elapsed:.1f}", f"{cpu:.1f}", f"{loss.item():.5f}",
                             f"{scores['easy']:.2f}", f"{scores['medium']:.2f}"))
            log.flush()
            save_checkpoint(out / "checkpoints", step, model.state_dict(), opt.state_dict(), {},
                            {"total_steps": total, "seconds": elapsed, "cpu_seconds": cpu}, keep=2)
            export(model, out / "autoencoder")
            progress(f"autoencoder step {step}/{total} loss {loss.item():.5f} held-out PSNR easy "
                     f"{scores['easy']:.2f} dB, medium {scores['medium']:.2f} dB ({elapsed / 60:.1f} min)")
    log.close()
    return out / "autoencoder"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--checkpoint-every", type=int, default=250)
    a = p.parse_args()
    cfg = AutoencoderTrainConfig(out=a.out, minutes=a.minutes, batch_size=a.batch, lr=a.lr, threads=a.threads,
                                 checkpoint_every=a.checkpoint_every)
    print(train_autoencoder(cfg, progress=lambda m: print(m, flush=True)))


if __name__ == "__main__":
    main()
