"""Frame-aware flow matching (FAFM) with PTSS on accelerate: LoRA or full fine-tuning.

Per step: x0 (cached latents), x1 ~ N(0, I), τ [B, F] from PTSS (optionally mixed with conditioning
tasks, ``p_cond``), x_τ = (1−τ)⊙x0 + τ⊙x1, v = model(x_τ, 1000·τ, text), loss = ‖v − (x1 − x0)‖² over
the frames with σ > 0. One process or many (DDP through
accelerate; FSDP/DeepSpeed through accelerate configs).

Determinism: every random draw for a sample (noise, τ, caption dropout) comes from a generator
seeded by (seed, step, micro-step, position in the global batch). The draws therefore do not depend
on how many processes share the batch or on whether the run was resumed, and a resumed run ends
bit-identical to an uninterrupted one.
"""

from __future__ import annotations

import csv
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pusa.flow import fafm_loss, interpolate, loss_frame_weights, task_sigmas, training_sigmas
from pusa.training.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from pusa.training.config import TrainConfig

logger = logging.getLogger(__name__)


def sample_generator(seed: int, step: int, micro: int, position: int) -> torch.Generator:
    """A generator for one sample of one micro-step, independent of the process layout."""
    state = np.random.SeedSequence([seed, step, micro, position]).generate_state(2, dtype=np.uint64)
    return torch.Generator().manual_seed(int(state[0] >> np.uint64(1)))


def draw_sample_noise(config: TrainConfig, step: int, micro: int, positions: list[int], latent_shape: tuple[int, ...]):
    """x1 [B, C, F, h, w], τ [B, F] and the caption-dropout mask [B] for the given global positions."""
    noises, taus, drops = [], [], []
    for pos in positions:
        g = sample_generator(config.seed, step, micro, pos)
        noises.append(torch.randn(latent_shape, generator=g))
        taus.append(task_sigmas(1, latent_shape[1], config.p_cond, config.p_async, config.shift,
                                config.sigma_sampling, g, config.condition_patterns)[0])
        drops.append(bool(torch.rand(1, generator=g) < config.caption_dropout))
    return torch.stack(noises), torch.stack(taus), torch.tensor(drops)


def check_targets(transformer: torch.nn.Module, targets: list[str]) -> None:
    """Every LoRA target must name a Linear inside the blocks (e.g. 'attn1.to_q')."""
    names = {n for n, m in transformer.named_modules() if isinstance(m, torch.nn.Linear)}
    for target in targets:
        if not any(n == target or n.endswith("." + target) for n in names):
            suggestions = sorted({n.split(".", 2)[-1] for n in names if n.startswith("blocks.0.")})
            raise ValueError(f"unknown LoRA target module {target!r}; Wan block targets are: {', '.join(suggestions)}")


def build_transformer(config: TrainConfig) -> torch.nn.Module:
    """Load the transformer and attach the adapter; returns it with only the trained parameters requiring grad."""
    from pusa.models import PusaTransformer3DModel

    folder = Path(config.model) / "transformer"
    if not (folder / "config.json").is_file():
        raise ValueError(f"config model={config.model!r}: no transformer/config.json there (expected a PusaPipeline folder)")
    dtype = {"torch_dtype": torch.bfloat16} if config.base_dtype == "bfloat16" else {}
    transformer = PusaTransformer3DModel.from_pretrained(str(folder), **dtype)
    if config.adapter == "lora":
        from peft import LoraConfig

        check_targets(transformer, config.lora_targets)
        transformer.requires_grad_(False)
        transformer.add_adapter(LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                                           target_modules=list(config.lora_targets), init_lora_weights=True))
        for p in transformer.parameters():  # peft makes the LoRA in the base's dtype; train it in float32
            if p.requires_grad:
                p.data = p.data.float()
    else:
        transformer.requires_grad_(True)
    if config.gradient_checkpointing:
        transformer.enable_gradient_checkpointing()
    return transformer


def trainable_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}


@dataclass
class StepBatch:
    latents: torch.Tensor  # x0 [B, C, F, h, w]
    text: torch.Tensor  # [B, L, D]
    empty: torch.Tensor  # [L, D], the empty prompt for caption dropout


def fafm_step_loss(model, batch: StepBatch, x1: torch.Tensor, tau: torch.Tensor, drop: torch.Tensor,
                   frame_weighting: bool = False) -> torch.Tensor:
    """The FAFM loss of one micro-batch: v_θ(x_τ, 1000·τ, c) against x1 − x0, over the frames with σ > 0."""
    text = torch.where(drop[:, None, None], batch.empty[None].to(batch.text), batch.text)
    x0 = batch.latents
    x_tau = interpolate(x0, x1, tau)
    v = model(x_tau, 1000.0 * tau, text, return_dict=False)[0]
    return fafm_loss(v, x0, x1, frame_weights=loss_frame_weights(tau, frame_weighting))


@torch.no_grad()
def heldout_loss(transformer, cache, indices: list[int], max_sequence_length: int, seed: int = 1234,
                 shift: float = 5.0) -> float:
    """Mean FAFM loss on fixed clips at fixed per-frame sigmas and noise (no caption dropout)."""
    from pusa.training.cache_reader import collate

    losses = []
    for i in indices:
        batch = collate(cache, [i], max_sequence_length)
        g = torch.Generator().manual_seed(seed + i)
        x0 = batch["latents"].float()
        x1 = torch.randn(x0.shape, generator=g)
        tau = training_sigmas(1, x0.shape[2], 1.0, shift, "grid", g)
        v = transformer(interpolate(x0, x1, tau), 1000.0 * tau, batch["text"].to(transformer.dtype),
                        return_dict=False)[0]
        losses.append(float(fafm_loss(v, x0, x1)))
    return float(np.mean(losses))


class Logger:
    """CSV (always) and TensorBoard (when installed) scalars, main process only."""

    def __init__(self, out: Path, enabled: bool):
        self.enabled, self.file, self.writer, self.tb = enabled, out / "log.csv", None, None
        if not enabled:
            return
        out.mkdir(parents=True, exist_ok=True)
        new = not self.file.exists()
        self.handle = self.file.open("a", newline="")
        self.writer = csv.writer(self.handle)
        if new:
            self.writer.writerow(["step", "loss", "lr", "grad_norm", "seconds"])
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        except ImportError:
            logger.info("tensorboard is not installed; logging to %s only", self.file)

    def log(self, step: int, loss: float, lr: float, grad_norm: float, seconds: float) -> None:
        if not self.enabled:
            return
        self.writer.writerow([step, f"{loss:.6f}", f"{lr:.3e}", f"{grad_norm:.4f}", f"{seconds:.3f}"])
        self.handle.flush()
        if self.tb is not None:
            for name, value in (("loss", loss), ("lr", lr), ("grad_norm", grad_norm)):
                self.tb.add_scalar(f"train/{name}", value, step)

    def close(self) -> None:
        if self.enabled:
            self.handle.close()
            if self.tb is not None:
                self.tb.close()


def train(config: TrainConfig, resume: bool = False,
          callback: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a training run; returns a summary. The loop reads top to bottom."""
    from accelerate import Accelerator

    from pusa.training.cache_reader import LatentCache, batch_order, collate

    config.validate()
    out = Path(config.output_dir)
    ckpt_root = out / "checkpoints"
    if not resume and list_checkpoints(ckpt_root):
        raise ValueError(f"{out} already has checkpoints; pass --resume to continue or choose another output_dir")
    cache = LatentCache(config.cache)
    max_len = config.max_sequence_length or cache.config["max_sequence_length"]

    # accelerate keeps one global state per process; a second run in the same process (tests, notebooks)
    # may ask for another precision, so drop the accelerator-level part (the distributed part stays).
    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=False)
    accelerator = Accelerator(mixed_precision=config.mixed_precision, gradient_accumulation_steps=config.grad_accum,
                              cpu=not torch.cuda.is_available())
    torch.manual_seed(config.seed)
    transformer = build_transformer(config)
    params = [p for p in transformer.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, betas=tuple(config.adam_betas), weight_decay=config.weight_decay)
    warmup = max(1, config.warmup_steps)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / warmup))
    ema = {k: v.float() for k, v in trainable_state(transformer).items()} if config.ema_decay > 0 else None

    start_step = 0
    if resume and list_checkpoints(ckpt_root):
        ckpt = load_checkpoint(list_checkpoints(ckpt_root)[-1])
        missing = transformer.load_state_dict(ckpt.trainable, strict=False).unexpected_keys
        if missing:
            raise ValueError(f"checkpoint {ckpt.path} does not match the model: unexpected {missing[:3]}")
        optimizer.load_state_dict(ckpt.optimizer)
        scheduler.load_state_dict(ckpt.scheduler)
        torch.set_rng_state(ckpt.rng["torch"])
        ema = {k: v.float() for k, v in ckpt.ema.items()} if ckpt.ema is not None else ema
        start_step = ckpt.step
        accelerator.print(f"resumed from {ckpt.path} at step {start_step}")

    transformer.train()
    # The scheduler is not prepared: accelerate would step it once per process per optimizer step.
    model, optimizer = accelerator.prepare(transformer, optimizer)
    per_process = config.batch_size
    global_batch = per_process * accelerator.num_processes
    empty = cache.pad_text(cache.empty_prompt(), max_len)
    log = Logger(out, accelerator.is_main_process)
    orders = {0: batch_order(cache, global_batch, config.seed, 0)}
    if not orders[0]:
        raise ValueError(f"no bucket of the cache holds a full global batch of {global_batch} clips; "
                         "lower batch_size or add clips")
    summary: dict[str, Any] = {"losses": []}

    for step in range(start_step, config.max_steps):
        t0 = time.perf_counter()
        step_loss = 0.0
        for micro in range(config.grad_accum):
            # data position: one global batch per micro-step, epochs reshuffled by seed
            position = step * config.grad_accum + micro
            epoch, index = divmod(position, len(orders[0]))
            if epoch not in orders:
                orders = {epoch: batch_order(cache, global_batch, config.seed, epoch), 0: orders[0]}
            indices = orders[epoch][index]
            lo = accelerator.process_index * per_process
            local = collate(cache, indices[lo:lo + per_process], max_len)
            x0 = local["latents"].float().to(accelerator.device)
            x1, tau, drop = draw_sample_noise(config, step, micro, list(range(lo, lo + per_process)), tuple(x0.shape[1:]))
            batch = StepBatch(x0, local["text"].to(accelerator.device), empty.to(accelerator.device))
            with accelerator.accumulate(model):
                with accelerator.autocast():
                    loss = fafm_step_loss(model, batch, x1.to(x0.device), tau.to(x0.device), drop.to(x0.device),
                                          config.frame_weighting)
                accelerator.backward(loss)
                grad_norm = accelerator.clip_grad_norm_(params, config.max_grad_norm) if accelerator.sync_gradients \
                    else torch.tensor(0.0)
                optimizer.step()
                if accelerator.sync_gradients:
                    scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            step_loss += float(accelerator.reduce(loss.detach(), "mean")) / config.grad_accum
        if ema is not None:
            with torch.no_grad():
                for n, p in accelerator.unwrap_model(model).named_parameters():
                    if p.requires_grad:
                        ema[n].mul_(config.ema_decay).add_(p.detach().float(), alpha=1 - config.ema_decay)
        done = step + 1
        summary["losses"].append(step_loss)
        if done % config.log_every == 0 or done == config.max_steps:
            log.log(done, step_loss, scheduler.get_last_lr()[0], float(grad_norm), time.perf_counter() - t0)
        if callback is not None:
            callback({"step": done, "max_steps": config.max_steps, "loss": step_loss})
        if accelerator.is_main_process and (done % config.checkpoint_every == 0 or done == config.max_steps):
            unwrapped = accelerator.unwrap_model(model)
            save_checkpoint(ckpt_root, done, trainable_state(unwrapped), optimizer.state_dict(),
                            scheduler.state_dict(), {"config": config.to_dict(), "global_batch": global_batch,
                                                     "data_position": dict(zip(("epoch", "batch"), divmod(
                                                         done * config.grad_accum, len(orders[0]))))},
                            ema=ema, keep=config.keep_checkpoints)
        if accelerator.is_main_process and config.sample_every and done % config.sample_every == 0:
            write_samples(config, accelerator.unwrap_model(model), out / "samples" / f"step-{done:08d}")
        accelerator.wait_for_everyone()
    log.close()
    summary["model"] = accelerator.unwrap_model(model)
    summary["ema"] = ema
    summary["accelerator"] = accelerator
    return summary


def write_samples(config: TrainConfig, transformer, folder: Path) -> None:
    """Videos at fixed seeds from the current weights, for watching a run (main process only)."""
    from pusa.io import write_video
    from pusa.pipeline import PusaPipeline

    pipe = PusaPipeline.from_pretrained(config.model, transformer=transformer)
    pipe.set_progress_bar_config(disable=True)
    was_training = transformer.training
    transformer.eval()
    for i, prompt in enumerate(config.sample_prompts):
        for seed in config.sample_seeds:
            video = pipe(prompt, num_inference_steps=config.sample_steps,
                         generator=torch.Generator().manual_seed(seed)).frames[0]
            write_video(folder / f"{i:02d}-seed{seed}.mp4", video, fps=pipe.config.fps, overwrite=True)
    transformer.train(was_training)


def summary_line(before: float, after: float) -> str:
    return f"heldout_loss before={before:.4f} after={after:.4f}"


