"""Claim 1's dedicated image-to-video baseline, built the way Wan-I2V is, and its training run.

Wan2.1-I2V widens the T2V transformer's input: next to the noisy latent x_σ (C channels) it reads a
frame mask (one channel per pixel frame of a latent group, r = 4) and the VAE latent of the
conditioning video [image, 0, …, 0] (C channels), so the patch embedding sees 2C + r channels in the
order [x_σ, mask, condition]. Every frame is noised with the same σ (scalar timestep) and the model
is fully fine-tuned. Here the same construction starts from Pusa-mini's base: the patch embedding's
weights for x_σ are the base's, the new channels start at zero (so step 0 is exactly the base T2V
model), and every weight trains.

    python experiments/i2v_baseline.py train WORK/i2v-baseline --steps 150 --batch 8     # resumable
    python experiments/i2v_baseline.py train WORK/i2v-baseline --minutes 9 --batch 128   # a GPU

Training is Pusa-mini's streaming trainer (``pusa.mini.pretrain``) with the widened model and the extra
channels as its hooks: it streams fresh world clips (seed 30,000, the easy preset the VTA LoRA's cache
uses), draws one σ per clip with pusa.flow (shift ``--shift``), checkpoints to OUT/checkpoints, resumes
from the newest one, and exports OUT/transformer and OUT/baseline.json (steps, batch, clips seen,
seconds). ``BaselinePipeline`` samples it with the product's settings (Euler, shift 5, classifier-free
guidance on the text only, as Wan-I2V does); experiments/claim1.py scores it next to the VTA LoRA.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

BASELINE_SEED = 30_000  # world seed of the baseline's training stream (LoRA cache: 20,000; held-out: 99,000)


# --- the model ----------------------------------------------------------------------------------


def widen(base, mask_channels: int):
    """A copy of ``base`` whose patch embedding reads [x_σ (C), mask (r), condition (C)]; new inputs are zero."""
    from pusa.models import PusaTransformer3DModel

    c = base.config.in_channels
    config = {k: v for k, v in base.config.items() if not k.startswith("_")}
    model = PusaTransformer3DModel.from_config({**config, "in_channels": 2 * c + mask_channels, "out_channels": c})
    state = base.state_dict()
    w = state.pop("patch_embedding.weight")  # [D, C, p_t, p_h, p_w]
    wide = torch.zeros((w.shape[0], 2 * c + mask_channels, *w.shape[2:]), dtype=w.dtype)
    wide[:, :c] = w
    state["patch_embedding.weight"] = wide
    model.load_state_dict(state)
    return model.to(base.dtype)


def condition_input(first: torch.Tensor, num_latents: int, temporal_factor: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Mask [B, r, F, h, w] and condition [B, C, F, h, w] from the normalised latents ``first`` [B, C, F, h, w]
    of the video [image, 0, …, 0]: latent 0 (pixel frame 0 alone) is given, every later latent is not.
    As in Wan-I2V the first latent's r mask channels all mark frame 0."""
    b, _, f, h, w = first.shape
    if f != num_latents:
        raise ValueError(f"condition latents have {f} frames, expected {num_latents}")
    mask = torch.zeros((b, temporal_factor, f, h, w), dtype=first.dtype, device=first.device)
    mask[:, :, 0] = 1
    return mask, first


def image_video(frames0: torch.Tensor, num_frames: int) -> torch.Tensor:
    """[B, H, W, 3] images in [-1, 1] → [B, 3, T, H, W] videos [image, 0, …, 0] (0 is mid-grey)."""
    b, h, w, _ = frames0.shape
    video = torch.zeros((b, 3, num_frames, h, w), dtype=frames0.dtype, device=frames0.device)
    video[:, :, 0] = frames0.permute(0, 3, 1, 2)
    return video


def encode_condition(vae, images: torch.Tensor, num_frames: int) -> tuple[torch.Tensor, torch.Tensor]:
    """[B, H, W, 3] images in [-1, 1] → (mask, condition latents), normalised like the model's latents."""
    from pusa.pipeline import latent_stats

    raw = vae.encode(image_video(images, num_frames).to(vae.dtype)).latent_dist.mode().float()
    mean, std = latent_stats(vae, raw.shape[1], raw.device, torch.float32)
    return condition_input((raw - mean) / std, raw.shape[2], vae.config.temporal_factor)


# --- sampling -----------------------------------------------------------------------------------


@dataclass
class _Output:
    frames: np.ndarray  # [B, T, H, W, 3] in [0, 1]


class BaselinePipeline:
    """Image-to-video with the baseline: a PusaPipeline's text encoder and VAE, the widened transformer.

    Called like PusaPipeline for the one task it knows (a single image at frame 0); anything else is refused.
    """

    def __init__(self, pipe, transformer) -> None:
        self.pipe, self.transformer, self.config = pipe, transformer, pipe.config

    @torch.no_grad()
    def __call__(self, prompt: str, conditions=(), num_frames: int | None = None, num_inference_steps: int = 10,
                 guidance_scale: float = 3.0, shift: float = 5.0, generator: torch.Generator | None = None,
                 **unused) -> _Output:
        from pusa.flow import inference_sigmas

        if unused:
            raise ValueError(f"the I2V baseline does not take {sorted(unused)}")
        if len(conditions) != 1 or conditions[0].start != 0 or conditions[0].num_frames != 1:
            raise ValueError("the I2V baseline only does image-to-video: one image at frame 0")
        pipe, model = self.pipe, self.transformer
        num_frames = num_frames or self.config.default_num_frames
        image = conditions[0].frames[0].float()  # [H, W, 3] in [0, 1]
        mask, cond = encode_condition(pipe.vae, image[None] * 2 - 1, num_frames)
        text, empty = pipe.encode_prompt(prompt).to(model.dtype), pipe.encode_prompt("").to(model.dtype)
        x = torch.randn(cond.shape, generator=generator, dtype=torch.float32)
        y = torch.cat([mask, cond], dim=1)
        sigmas = inference_sigmas(num_inference_steps, shift)
        for i in range(num_inference_steps):
            t = (1000.0 * sigmas[i]).expand(1)
            inp = torch.cat([x, y], dim=1).to(model.dtype)
            v = model(inp, t, text, return_dict=False)[0].float()
            if guidance_scale != 1:
                v_u = model(inp, t, empty, return_dict=False)[0].float()
                v = v_u + guidance_scale * (v - v_u)
            x = x + (sigmas[i + 1] - sigmas[i]) * v
        return _Output(pipe.decode_latents(x).numpy())


def load_baseline(folder: str | Path):
    """BaselinePipeline from an exported OUT/transformer folder, with Pusa-mini's text encoder and VAE."""
    from pusa.mini import build_pipeline
    from pusa.models import PusaTransformer3DModel

    model = PusaTransformer3DModel.from_pretrained(str(folder), torch_dtype=torch.float32).eval()
    return BaselinePipeline(build_pipeline(), model)


# --- training -----------------------------------------------------------------------------------


def condition_channels(frames: torch.Tensor, vae, device: torch.device) -> torch.Tensor:
    """Training's extra input channels [mask, condition] from uint8 clips [B, T, H, W, 3] (their frame 0)."""
    mask, cond = encode_condition(vae, frames[:, 0].to(device).float() / 127.5 - 1, frames.shape[1])
    return torch.cat([mask, cond], dim=1)


def train(out: Path, steps: int, batch: int, lr: float, warmup: int, minutes: float | None = None,
          base: str | None = None, seed: int = BASELINE_SEED, workers: int = 2, checkpoint_every: int = 50,
          caption_dropout: float = 0.1, train_shift: float = 3.0, progress=print, mini=None) -> Path:
    """Fully fine-tune the widened base on I2V flow matching with :func:`pusa.mini.pretrain.pretrain` (one σ per
    clip from pusa.flow, no EMA, cosine to 0); resumable. ``mini``: the geometry (default Pusa-mini's).
    Returns OUT/transformer."""
    from dataclasses import asdict

    from pusa.mini import MINI
    from pusa.mini.pretrain import PretrainConfig, pretrain
    from pusa.mini.shipped import TRANSFORMER

    cfg = PretrainConfig(out=str(out), minutes=minutes, max_steps=steps, batch_size=batch, lr=lr, min_lr_ratio=0.0,
                         warmup_steps=warmup, ema_decay=0.0, caption_dropout=caption_dropout, shift=train_shift,
                         mixture=(("easy", 1.0),), seed=seed, workers=workers, checkpoint_every=checkpoint_every,
                         log_every=10, model=asdict(mini or MINI), init=str(base or TRANSFORMER))
    folder = pretrain(cfg, progress, build_model=lambda model, vae: widen(model, vae.config.temporal_factor),
                      extra_channels=condition_channels)
    done = json.loads((Path(out) / "pretrain_result.json").read_text())
    (Path(out) / "baseline.json").write_text(json.dumps({
        "steps": done["steps"], "batch": batch, "clips_seen": done["steps"] * batch,
        "distinct_clips": done["steps"] * batch, "world_seed": seed, "lr": lr, "warmup": warmup,
        "train_shift": train_shift, "seconds": done["seconds"], "cpu_seconds": done["cpu_seconds"],
        "device": "cuda" if torch.cuda.is_available() else "cpu"}, indent=1) + "\n")
    return folder


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train (or resume) the baseline into OUT")
    t.add_argument("out", type=Path)
    t.add_argument("--steps", type=int, default=150)
    t.add_argument("--minutes", type=float, help="time budget; fixes the step count after 60 steps")
    t.add_argument("--batch", type=int, default=8)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--warmup", type=int, default=20)
    t.add_argument("--workers", type=int, default=2)
    t.add_argument("--shift", type=float, default=3.0,
                   help="training σ shift (3: Wan-I2V's; 5: the sampler's, which Pusa-mini's LoRA trains at)")
    t.add_argument("--base", help="base transformer folder (default: the shipped Pusa-mini base)")
    a = p.parse_args(argv)
    print(train(a.out, a.steps, a.batch, a.lr, a.warmup, a.minutes, a.base, workers=a.workers,
                train_shift=a.shift, progress=lambda m: print(m, flush=True)))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
