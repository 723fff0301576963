"""Training Pusa-mini's transformer on an endless stream of world clips: the base, and the VTA step.

By default this is plain text-to-video flow matching with one σ per clip (scalar timesteps, the base
model's setting): x_σ = (1 − σ)·x0 + σ·ε, loss ‖v_θ(x_σ, σ, c) − (ε − x0)‖². With ``p_async`` / ``p_cond``
the σ draw is pusa.flow's ``task_sigmas`` (per-frame σ, FAFM; frames at σ = 0 unscored) and with
``adapter="lora"`` only a LoRA on ``init``'s weights is trained: that is the Pusa step, on the same stream.
Clips are rendered on the fly by ``pusa.world`` (about 2 ms each), so no clip is ever seen twice and
nothing is cached on disk. ``autoencoder`` names a learned causal autoencoder folder (frozen); without
it the packing autoencoder of ``model`` is used. ``ema_decay = 0`` trains without an EMA (the trained
weights are exported).

Two hooks of :func:`pretrain` train models whose input is more than x_σ, as Wan-I2V's is (see
experiments/i2v_baseline.py): ``extra_channels(frames, vae, device)`` computes channels from the clean clip
that are concatenated to x_σ, and ``build_model(model, vae)`` turns the starting transformer (fresh, or
``init``'s) into one that reads them.

    python -m pusa.mini.pretrain OUT --minutes 8 --batch 256 --workers 14     # on a GPU
    python -m pusa.mini.pretrain OUT --max-steps 200 --batch 8                  # CPU smoke

With ``--minutes`` the run measures its step time after a few steps and fixes the number of steps (and
the cosine schedule) to fit the budget. It checkpoints to ``OUT/checkpoints`` and resumes from the
newest one when started again; the EMA weights are exported to ``OUT/transformer``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from pusa.mini import MINI, MiniConfig

MIXTURE = (("easy", 0.8), ("medium", 0.2))


@dataclass
class PretrainConfig:
    out: str
    minutes: float | None = None  # time budget (fixes max_steps after the first steps) ...
    max_steps: int = 2000  # ... or a fixed number of steps
    batch_size: int = 256
    lr: float = 5e-4
    min_lr_ratio: float = 0.05
    warmup_steps: int = 300
    decay_steps: int = 0  # the last steps' learning rate falls linearly to 0 (a warmup-stable-decay schedule)
    weight_decay: float = 0.01
    max_grad_norm: float = 1.0
    ema_decay: float = 0.9995  # 0: no EMA, export the trained weights
    caption_dropout: float = 0.1
    shift: float = 3.0  # training σ = shift(u), u ~ U(0, 1)
    mixture: tuple = MIXTURE
    seed: int = 0
    workers: int = 4
    checkpoint_every: int = 500
    log_every: int = 25
    device: str = "auto"
    export_dtype: str = "float32"
    model: dict = field(default_factory=lambda: asdict(MINI))
    init: str | None = None  # warm start from a transformer folder (fresh optimizer and schedule)
    autoencoder: str | None = None  # a learned autoencoder folder (CausalConvAutoencoder); None: packing
    adapter: str = "full"  # "full": train every weight; "lora": a LoRA on init's weights (the VTA step)
    lora_rank: int = 32
    p_async: float = 0.0  # pusa.flow.task_sigmas: 0/0 is the base's scalar-timestep setting
    p_cond: float = 0.0
    patterns: tuple = ("i2v", "prefix", "start_end", "keyframes")
    p_pure: float = 0.0  # share of conditioning samples with free frames at σ = 1 (pusa.flow.task_sigmas)
    p_high: float = 0.0  # share of text-to-video samples at σ in pusa.flow.HIGH_BAND (pusa.flow.task_sigmas)
    threads: int | None = None  # torch threads (None: torch's default)


class WorldStream(torch.utils.data.IterableDataset):
    """Batch j of the stream holds clips j·B … j·B + B − 1; clip i is ``make_clip(clip_seed(seed, i))``
    under a preset drawn from ``mixture`` (by the clip's seed).

    Items are batches (uint8 frames [B, T, H, W, 3], captions). Batches are sharded across DataLoader
    workers (worker w makes batches w, w + n, …) and the loader's round-robin puts them back in order,
    so ``start_batch`` resumes exactly where a stopped run was; use it with ``batch_size=None``.
    """

    def __init__(self, seed: int, batch_size: int = 1, mixture=MIXTURE, num_frames: int = 17, height: int = 64,
                 width: int = 64, start_batch: int = 0) -> None:
        names, weights = zip(*mixture)
        self.names, self.cum = names, np.cumsum(np.asarray(weights, float) / sum(weights))
        self.seed, self.batch_size, self.start = seed, batch_size, start_batch
        self.num_frames, self.height, self.width = num_frames, height, width

    def clip(self, i: int):
        from pusa.world import make_clip
        from pusa.world.dataset import clip_seed

        s = clip_seed(self.seed, i)
        name = self.names[min(len(self.names) - 1, int(np.searchsorted(self.cum, (s % 10_000) / 10_000, side="right")))]
        return make_clip(s, self.num_frames, self.height, self.width, name)

    def batch(self, j: int) -> tuple[torch.Tensor, list[str]]:
        clips = [self.clip(i) for i in range(j * self.batch_size, (j + 1) * self.batch_size)]
        return torch.from_numpy(np.stack([c.frames for c in clips])), [c.caption for c in clips]

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        wid, n = (info.id, info.num_workers) if info is not None else (0, 1)
        j = self.start + wid
        while True:
            yield self.batch(j)
            j += n


def lr_at(step: int, cfg: PretrainConfig, total: int) -> float:
    """Linear warmup, then cosine decay to min_lr_ratio·lr at ``total``; with ``decay_steps`` = D > 0 that rate
    is further scaled by (total − step) / D over the last D steps, reaching 0 at ``total`` (with min_lr_ratio 1:
    warmup, a constant rate, then a linear decay)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = min(1.0, (step - cfg.warmup_steps) / max(1, total - cfg.warmup_steps))
    rate = cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))
    if cfg.decay_steps > 0 and step >= total - cfg.decay_steps:
        rate *= max(0.0, total - step) / cfg.decay_steps
    return rate


class TextEncoder:
    """MiniLM states for a batch of captions, exactly as ``PusaPipeline.encode_prompt`` computes them."""

    def __init__(self, device: torch.device, max_sequence_length: int) -> None:
        from pusa.mini import text_components

        self.tokenizer, encoder = text_components()
        self.encoder, self.device, self.length = encoder.to(device), device, max_sequence_length

    @torch.no_grad()
    def __call__(self, captions: list[str]) -> torch.Tensor:
        tok = self.tokenizer(captions, padding="max_length", max_length=self.length, truncation=True,
                             add_special_tokens=True, return_attention_mask=True, return_tensors="pt")
        mask = tok.attention_mask.to(self.device)
        states = self.encoder(tok.input_ids.to(self.device), mask).last_hidden_state
        return states * mask[..., None].to(states.dtype)


def pack(frames: torch.Tensor, vae, device: torch.device) -> torch.Tensor:
    """uint8 frames [B, T, H, W, 3] → normalised packed latents x0 [B, C, F, h, w] (float32)."""
    from pusa.pipeline import latent_stats

    x = frames.to(device, non_blocking=True).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
    raw = vae.encode(x).latent_dist.mode().float()
    mean, std = latent_stats(vae, raw.shape[1], device, torch.float32)
    return (raw - mean) / std


def build(cfg: PretrainConfig, device: torch.device, build_model=None):
    """(MiniConfig, transformer to train, frozen autoencoder); ``build_model(model, vae)`` replaces the starting
    transformer (fresh, or ``cfg.init``'s) before any adapter is added."""
    from pusa.mini import load_autoencoder, new_transformer, new_vae

    mini = MiniConfig(**cfg.model)
    vae = load_autoencoder(cfg.autoencoder) if cfg.autoencoder else new_vae(mini)
    model = new_transformer(mini, cfg.seed, in_channels=vae.latent_channels)
    if cfg.init:
        from pusa.models import PusaTransformer3DModel

        model = PusaTransformer3DModel.from_pretrained(cfg.init, torch_dtype=torch.float32)
    if build_model is not None:
        model = build_model(model, vae)
    if cfg.adapter == "lora":
        from peft import LoraConfig

        from pusa.training.config import WAN_LORA_TARGETS

        model.requires_grad_(False)
        model.add_adapter(LoraConfig(r=cfg.lora_rank, lora_alpha=float(cfg.lora_rank),
                                     target_modules=list(WAN_LORA_TARGETS), init_lora_weights=True))
    elif cfg.adapter != "full":
        raise ValueError(f"adapter={cfg.adapter!r}: use 'full' or 'lora'")
    return mini, model.to(device), vae.to(device).eval().requires_grad_(False)


def pretrain(cfg: PretrainConfig, progress=print, on_checkpoint=None, build_model=None, extra_channels=None) -> Path:
    """Run (or resume) the training described by ``cfg``; returns the exported transformer (or LoRA) folder.
    ``on_checkpoint(model, step, vae, text)`` runs after each checkpoint (e.g. :mod:`pusa.mini.probe`).

    ``extra_channels(frames, vae, device)``, called like :func:`pack` on the stream's uint8 clips, gives channels
    [B, E, F, h, w] that the model reads after x_σ (its input is ``cat([x_σ, extra], 1)``); ``build_model(model,
    vae)`` makes the starting transformer one that reads C + E channels. Neither is recorded in the run's
    config, so a resumed run must pass the same ones."""
    from pusa.flow import fafm_loss, interpolate, loss_frame_weights, task_sigmas
    from pusa.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(cfg.device if cfg.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(cfg.seed)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    mini, model, vae = build(cfg, device, build_model)
    if cfg.init and not list_checkpoints(out / "checkpoints"):
        progress(f"warm start from {cfg.init}")
    text = TextEncoder(device, mini.max_sequence_length)
    empty = text([""])[0]
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=cfg.lr, betas=(0.9, 0.99))
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    ema = [p.detach().float().clone() if cfg.ema_decay > 0 else p.detach() for p in params]  # 0: the weights
    step, total, seen, cpu_seen = 0, cfg.max_steps, 0.0, 0.0
    ckpts = list_checkpoints(out / "checkpoints")
    if ckpts:
        ck = load_checkpoint(ckpts[-1])
        model.load_state_dict(ck.trainable, strict=False)
        for e, n in zip(ema, names):
            e.copy_(ck.ema[n])
        opt.load_state_dict(ck.optimizer)
        step, total, seen = ck.step, int(ck.state["total_steps"]), float(ck.state.get("seconds", 0.0))
        cpu_seen = float(ck.state.get("cpu_seconds", 0.0))
        if cfg.minutes is None:
            total = max(total, cfg.max_steps)
        progress(f"resumed from {ckpts[-1]} (step {step}/{total})")
    (out / "pretrain_config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    stream = WorldStream(cfg.seed, cfg.batch_size, cfg.mixture, mini.num_frames, mini.height, mini.width, start_batch=step)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=cfg.workers,
                                         pin_memory=device.type == "cuda", persistent_workers=cfg.workers > 0,
                                         prefetch_factor=4 if cfg.workers > 0 else None)
    gen = torch.Generator(device="cpu").manual_seed(cfg.seed * 1_000_003 + step)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed * 1_000_003 + step)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16)
    log = open(out / "loss.csv", "a", newline="")  # noqa: SIM115 (closed after the loop)
    writer = csv.writer(log)
    if log.tell() == 0:
        writer.writerow(("step", "loss", "lr", "grad_norm", "seconds", "cpu_seconds"))
    t_start, cpu_start, timed_from = time.time() - seen, time.process_time() - cpu_seen, None

    def times() -> dict[str, float]:  # the run's seconds so far, resumed parts included
        return {"seconds": round(time.time() - t_start, 1), "cpu_seconds": round(time.process_time() - cpu_start, 1)}

    scalar = cfg.p_async == 0 and cfg.p_cond == 0  # the base's setting: one timestep per clip
    model.train()
    for frames, captions in loader:
        if step >= total:
            break
        with torch.no_grad():
            with torch.autocast(device.type, dtype=torch.bfloat16):  # a learned encoder: 1.7x faster (measured)
                x0 = pack(frames, vae, device).float()
            extra = None if extra_channels is None else extra_channels(frames, vae, device)
        c = text(list(captions))
        drop = torch.rand(len(captions), generator=gen) < cfg.caption_dropout
        c = torch.where(drop[:, None, None].to(device), empty[None], c)
        b, _, f = x0.shape[:3]
        tau = task_sigmas(b, f, cfg.p_cond, cfg.p_async, cfg.shift, "continuous", gen, list(cfg.patterns),
                          cfg.p_pure, cfg.p_high).to(device)
        x1 = torch.randn(x0.shape, generator=noise_gen, device=device)
        timestep = 1000.0 * (tau[:, 0] if scalar else tau)
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, total)
        with autocast:
            x_tau = interpolate(x0, x1, tau)
            v = model(x_tau if extra is None else torch.cat([x_tau, extra.to(x_tau.dtype)], dim=1), timestep, c,
                      return_dict=False)[0]
        loss = fafm_loss(v.float(), x0, x1, frame_weights=None if scalar else loss_frame_weights(tau))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss at step {step}; last checkpoint: {list_checkpoints(out / 'checkpoints')[-1:]}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm))
        opt.step()
        if cfg.ema_decay > 0:
            decay_now = min(cfg.ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                torch._foreach_lerp_(ema, [p.detach().float() for p in params], 1 - decay_now)
        step += 1
        if cfg.minutes is not None and step == 30 and not ckpts:
            timed_from = (time.time(), step)
        if timed_from is not None and step == 60:  # fix the schedule to the time budget
            per_step = (time.time() - timed_from[0]) / (step - timed_from[1])
            total = max(step + 1, int((cfg.minutes * 60 - (time.time() - t_start)) / per_step) + step)
            progress(f"{per_step:.3f} s/step → {total} steps in {cfg.minutes} min")
        if step % cfg.log_every == 0 or step == total:
            elapsed = time.time() - t_start
            writer.writerow((step, f"{loss.item():.5f}", f"{lr_at(step - 1, cfg, total):.3g}", f"{grad_norm:.3f}",
                             f"{elapsed:.1f}", f"{time.process_time() - cpu_start:.1f}"))
            log.flush()
            progress(f"step {step}/{total} loss {loss.item():.4f} grad {grad_norm:.2f} {elapsed:.0f}s")
        if step % cfg.checkpoint_every == 0 or step == total:
            save_checkpoint(out / "checkpoints", step, {n: p.detach() for n, p in zip(names, params)},
                            opt.state_dict(), {}, {"total_steps": total, "seconds": time.time() - t_start,
                                                   "cpu_seconds": time.process_time() - cpu_start},
                            ema={n: e for n, e in zip(names, ema)}, keep=2)
            if step < total:  # a usable model at every checkpoint
                export(out, model, names, ema, cfg, step, **times())
            if on_checkpoint is not None:
                on_checkpoint(model, step, vae, text)
    log.close()
    return export(out, model, names, ema, cfg, step, **times())


def export(out: Path, model, names: list[str], ema: list[torch.Tensor], cfg: PretrainConfig, step: int,
           **record) -> Path:
    """EMA weights into ``out/transformer`` (diffusers layout, shards ≤ 15 MB, in ``cfg.export_dtype``), or
    for a LoRA run into ``out/final`` (pusa's LoRA layouts). The training weights are left as they were.
    ``out/pretrain_result.json`` records the steps, the EMA decay and ``record`` (the run's seconds)."""
    import copy

    target = copy.deepcopy(model).to("cpu")
    with torch.no_grad():
        for n, e in zip(names, ema):
            target.get_parameter(n).copy_(e)
    if cfg.adapter == "lora":
        from pusa.training.export import export_lora

        folder = out / "final"
        export_lora(target, folder, overwrite=True)
    else:
        folder = out / "transformer"
        if cfg.export_dtype != "float32":
            target = target.to(dtype=getattr(torch, cfg.export_dtype))
        target.save_pretrained(folder, max_shard_size="15MB")
    (out / "pretrain_result.json").write_text(json.dumps({"steps": step, "ema_decay": cfg.ema_decay, **record}) + "\n")
    return folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out")
    p.add_argument("--minutes", type=float)
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--device", default="auto")
    p.add_argument("--checkpoint-every", type=int, default=500)
    p.add_argument("--init", help="warm start from this transformer folder")
    p.add_argument("--warmup", type=int, default=300)
    p.add_argument("--seed", type=int, default=0, help="world stream and noise seed")
    p.add_argument("--export-dtype", default="float32", choices=["bfloat16", "float32"])
    a = p.parse_args()
    cfg = PretrainConfig(out=a.out, minutes=a.minutes, max_steps=a.max_steps, batch_size=a.batch, lr=a.lr,
                         workers=a.workers, device=a.device, checkpoint_every=a.checkpoint_every,
                         export_dtype=a.export_dtype, init=a.init, warmup_steps=a.warmup, seed=a.seed)
    print(pretrain(cfg, progress=lambda m: print(m, flush=True)))


if __name__ == "__main__":
    main()
