"""Pusa-mini 2's whole recipe on a CPU, in one resumable command:

    nice python -m pusa.mini.recipe2 WORK                     # the shipped Pusa-mini 2 (docs/mini2.md)
    nice python -m pusa.mini.recipe2 WORK --base-p-cond 0 --base-minutes 35 --direction-steps 0 --vta-minutes 55
                                                              # the paper's order

Stages, each skipped when done and resumed from its newest checkpoint when stopped:
1. autoencoder: the learned causal autoencoder (:mod:`pusa.mini.autoencoder`, 17×64×64 → 16×5×8×8)
   → WORK/ae/autoencoder;
2. base: a fresh Wan DiT (``MINI2``: dim 192, 6 layers, patch 1, velocity) on clips streamed through that
   autoencoder → WORK/base/transformer (EMA). By default (the shipped model) it learns every task at once
   with FAFM: a share ``--base-p-cond`` 0.8 of samples are conditioning tasks (image-to-video two thirds of
   them), the rest text-to-video with one σ per clip; with ``--base-p-cond 0`` it is the paper's base
   (text-to-video only, scalar timesteps) for a VTA stage to adapt;
3. direction (``--direction-steps``, 2000; 0 skips it): the base's every weight trained further on the same task
   mix at a constant learning rate that falls linearly to 0 over the last 500 steps (``--direction-decay``), with
   half of the conditioning samples' free latents at σ = 1 (``--p-pure``), where only the given frames and the
   caption say where things go: the phase in which the model learns to read the caption's direction
   (docs/mini2.md) → WORK/direction/transformer, which then is WORK's model;
4. vta (``--vta-minutes`` > 0): the Pusa step on the base, trained with FAFM (per-frame σ) where a share
   p_cond of samples are conditioning tasks (given frames at σ = 0, image-to-video the most common) and the
   rest PTSS with p_async: by default a full fine-tune of every weight → WORK/vta/transformer, or with
   ``--vta-adapter lora`` a VTA LoRA → WORK/vta/final;
5. assemble: WORK/pipeline, a PusaPipeline folder with the three (the VTA step as the shipped files name
   it), WORK/pipeline_vta for a full fine-tune, and WORK/recipe.json with each stage's wall and CPU seconds;
6. ship (only when asked, ``--stage ship``): WORK's weights into the package, once
   ``experiments/release.py`` says the candidate beats the shipped model.

Each checkpoint leaves a usable model (the stage's export is rewritten) and logs the direction probe
(:mod:`pusa.mini.probe`: the loss gap between reversed and true captions) to WORK/STAGE/probe.csv,
the go/no-go that tells within minutes whether the caption's direction is being learnt.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from dataclasses import asdict
from pathlib import Path

from pusa.mini import MINI2

BASE_SEED = 0  # world stream seeds: the base, the VTA stage (distinct clips), the autoencoder's in its module
VTA_SEED = 7
# The VTA stage's conditioning tasks, drawn uniformly from this list: image-to-video three times as often as
# each other pattern, since that is the task whose free frames must read the caption's direction.
VTA_PATTERNS = ("i2v", "i2v", "i2v", "prefix", "start_end", "keyframes")
# A base trained on tasks from scratch (``--base-p-cond``): image-to-video two thirds of the conditioning samples,
# as in issue 18's probe that learnt the caption's direction in 30 minutes.
BASE_PATTERNS = ("i2v",) * 6 + ("prefix", "start_end", "keyframes")
# The probe's σ: 1 is where sampling starts and the free frames show nothing, so where the caption must be read;
# at 0.9 the noisy frames already show where the object is (docs/mini2.md).
PROBE_SIGMAS = (0.9, 1.0)
# The direction phase (stage_direction): its world stream seed, steps and share of pure-noise conditioning samples.
DIRECTION_SEED = 11
DIRECTION_STEPS = 2000
DIRECTION_P_PURE = 0.5
DIRECTION_P_HIGH = 0.0  # share of its text-to-video samples at σ in pusa.flow.HIGH_BAND
DIRECTION_DECAY = 500  # its last steps, over which the learning rate falls linearly to 0 (0: constant to the end)
# The text-to-video probe's σ: where the shipped weights' text-to-video direction gap peaks (docs/mini2.md).
PROBE_T2V_SIGMAS = (0.95,)


def probe_logger(folder: Path, given_first: bool, progress=print, sigmas: tuple[float, ...] = PROBE_SIGMAS,
                 name: str = "probe.csv"):
    """An ``on_checkpoint`` callback that logs the direction gap at each of ``sigmas`` to FOLDER/NAME."""
    state: dict = {}

    def log(model, step, vae, text) -> None:
        from pusa.mini.probe import DirectionProbe

        path = folder / name
        new = not path.exists()
        with open(path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(("step", "sigma", "gap", "low", "high", "loss_true"))
            for sigma in sigmas:
                if sigma not in state:
                    state[sigma] = DirectionProbe(vae, text, sigma=sigma, given_first=given_first)
                gap = state[sigma](model)
                w.writerow((step, sigma, f"{gap.mean:.5f}", f"{gap.low:.5f}", f"{gap.high:.5f}", f"{gap.loss:.5f}"))
                task = "I2V" if given_first else "T2V"
                progress(f"{folder.name} step {step}: {task} direction gap at σ {sigma} {gap}")

    return log


def stage_autoencoder(work: Path, minutes: float | None, threads: int, **overrides) -> Path:
    """``overrides``: AutoencoderTrainConfig fields (tests: max_steps, widths, held_out, checkpoint_every)."""
    from pusa.mini.autoencoder import AutoencoderTrainConfig, train_autoencoder

    cfg = AutoencoderTrainConfig(out=str(work / "ae"), minutes=minutes, threads=threads, **overrides)
    return train_autoencoder(cfg, progress=lambda m: print(m, flush=True))


def _train_config(work: Path, stage: str, threads: int, batch: int, **fields):
    """The PretrainConfig every transformer stage shares (MINI2 on WORK's autoencoder, 2-core CPU settings), with
    the stage's own ``fields`` (and a test's overrides) on top; it trains into WORK/STAGE."""
    from pusa.mini.pretrain import PretrainConfig

    return PretrainConfig(**{**dict(out=str(work / stage), batch_size=batch, ema_decay=0.998, shift=3.0,
                                    mixture=(("easy", 0.8), ("medium", 0.2)), workers=0, model=asdict(MINI2),
                                    device="cpu", autoencoder=str(work / "ae" / "autoencoder"), threads=threads),
                             **fields})


def _train(work: Path, stage: str, cfg, given_first: bool, t2v_probe: bool = False) -> Path:
    """Run (or resume) a transformer stage, logging the direction probe at every checkpoint (``t2v_probe``: the
    text-to-video one too, to FOLDER/probe_t2v.csv)."""
    from pusa.mini.pretrain import pretrain

    loggers = [probe_logger(work / stage, given_first=given_first)]
    if t2v_probe:
        loggers.append(probe_logger(work / stage, False, sigmas=PROBE_T2V_SIGMAS, name="probe_t2v.csv"))

    def log(*args) -> None:
        for each in loggers:
            each(*args)

    return pretrain(cfg, progress=lambda m: print(m, flush=True), on_checkpoint=log)


def stage_base(work: Path, minutes: float | None, threads: int, batch: int, p_cond: float = 0.0,
               patterns: tuple = BASE_PATTERNS, **overrides) -> Path:
    """``p_cond`` 0 is the paper's base (scalar timesteps, T2V only); above 0 that share of samples are
    conditioning tasks drawn from ``patterns`` (FAFM from scratch: the VTA model trained as one stage), the rest
    scalar T2V. ``overrides``: PretrainConfig fields (tests: max_steps, checkpoint_every)."""
    cfg = _train_config(work, "base", threads, batch, **{
        **dict(minutes=minutes, lr=5e-4, warmup_steps=100, seed=BASE_SEED, checkpoint_every=100, p_async=0.0,
               p_cond=p_cond, patterns=tuple(patterns)), **overrides})
    if (work / "base" / "pretrain_result.json").exists() and _finished(work / "base"):
        return work / "base" / "transformer"
    return _train(work, "base", cfg, given_first=p_cond > 0)


def stage_direction(work: Path, steps: int, threads: int, batch: int, p_pure: float = DIRECTION_P_PURE,
                    p_high: float = DIRECTION_P_HIGH, decay: int = DIRECTION_DECAY, **overrides) -> Path:
    """The base's second phase: every weight fine-tuned for ``steps`` steps at a constant learning rate, on the
    base's task mix, where a share ``p_pure`` of the conditioning samples have their free frames at σ = 1.
    There the free frames show nothing, so the given frames and the caption alone say where the object goes:
    the phase that makes the model read the caption's direction (docs/mini2.md). A share ``p_high`` of its
    text-to-video samples have every frame at σ in pusa.flow.HIGH_BAND. Over its last ``decay`` steps the learning
    rate falls linearly to 0. → WORK/direction/transformer.
    ``overrides``: PretrainConfig fields (tests: checkpoint_every)."""
    cfg = _train_config(work, "direction", threads, batch, **{
        **dict(max_steps=steps, lr=5e-4, min_lr_ratio=1.0, warmup_steps=50, seed=DIRECTION_SEED, checkpoint_every=50,
               init=str(work / "base" / "transformer"), adapter="full", p_async=0.0, p_cond=0.8,
               patterns=BASE_PATTERNS, p_pure=p_pure, p_high=p_high, decay_steps=min(decay, steps)),
           **overrides})
    if _finished(work / "direction", steps):
        return work / "direction" / "transformer"
    return _train(work, "direction", cfg, given_first=True, t2v_probe=True)


def model_stage(work: Path) -> str:
    """The stage whose transformer is WORK's model: "direction" once that phase has exported, else "base"."""
    return "direction" if (work / "direction" / "transformer" / "config.json").is_file() else "base"


def stage_vta(work: Path, minutes: float | None, threads: int, batch: int, p_cond: float, rank: int, lr: float,
              adapter: str = "full", p_async: float = 0.5, patterns: tuple = VTA_PATTERNS, **overrides) -> Path:
    """``adapter`` "full" fine-tunes every weight (as Pusa V0.5 did on Mochi) and exports WORK/vta/transformer;
    "lora" trains a rank-``rank`` LoRA (the Wan recipe) and exports WORK/vta/final. ``overrides``: PretrainConfig
    fields (tests: max_steps, checkpoint_every)."""
    cfg = _train_config(work, "vta", threads, batch, **{
        **dict(minutes=minutes, lr=lr, warmup_steps=50, seed=VTA_SEED, checkpoint_every=100,
               init=str(work / model_stage(work) / "transformer"), adapter=adapter, lora_rank=rank, p_async=p_async,
               p_cond=p_cond, patterns=tuple(patterns)), **overrides})
    if _finished(work / "vta"):
        return work / "vta" / ("final" if adapter == "lora" else "transformer")
    return _train(work, "vta", cfg, given_first=True)


def _finished(run: Path, steps: int | None = None) -> bool:
    """True when the run's newest checkpoint is its last step (at least ``steps``, for a stage of fixed steps
    that may be asked for more than it ran)."""
    from pusa.training.checkpoint import list_checkpoints, load_checkpoint

    ckpts = list_checkpoints(run / "checkpoints")
    if not ckpts:
        return False
    ck = load_checkpoint(ckpts[-1])
    return ck.step >= max(int(ck.state["total_steps"]), steps or 0)


def _vta_full(work: Path) -> bool:
    return (work / "vta" / "transformer" / "config.json").is_file()


def _vta_trained(work: Path) -> bool:
    return _vta_full(work) or (work / "vta" / "final").is_dir()


def _vta_delta(work: Path) -> dict:
    """Δ = W_VTA − W_base over the transformer's parameters (a full VTA fine-tune)."""
    import torch

    from pusa.mini.shipped import weight_delta
    from pusa.models import PusaTransformer3DModel

    tuned, base = (dict(PusaTransformer3DModel.from_pretrained(str(work / stage / "transformer"),
                                                               torch_dtype=torch.float32).named_parameters())
                   for stage in ("vta", model_stage(work)))
    return weight_delta({k: v.detach() for k, v in tuned.items()}, {k: v.detach() for k, v in base.items()})


def _write_vta_step(work: Path, folder: Path) -> Path | None:
    """The VTA step into FOLDER under the shipped names: Δ of a full fine-tune, or the LoRA; the other is removed."""
    import shutil

    from safetensors.torch import save_file

    from pusa.mini.shipped import LORA, VTA_DELTA

    for name in (LORA.name, VTA_DELTA.name):
        (folder / name).unlink(missing_ok=True)
    if not _vta_trained(work):  # a base trained on the tasks from scratch: it is the whole model
        return None
    if _vta_full(work):
        target = folder / VTA_DELTA.name
        save_file(_vta_delta(work), str(target))
    else:
        target = folder / LORA.name
        shutil.copy(work / "vta" / "final" / "diffusers" / "pytorch_lora_weights.safetensors", target)
    return target


def stage_assemble(work: Path) -> Path:
    """WORK/pipeline: MiniLM + the autoencoder + the model's transformer (:func:`model_stage`), the VTA step
    beside it (the LoRA, or the
    full fine-tune's Δ). A full fine-tune also gets WORK/pipeline_vta, the same with the VTA transformer, which
    ``experiments/release.py --model`` runs as it is."""
    import torch

    from pusa.mini import build_pipeline, load_autoencoder
    from pusa.models import PusaTransformer3DModel

    stages = (model_stage(work), "vta") if _vta_full(work) else (model_stage(work),)
    for stage in stages:
        transformer = PusaTransformer3DModel.from_pretrained(str(work / stage / "transformer"),
                                                             torch_dtype=torch.float32)
        pipe = build_pipeline(transformer, config=MINI2, vae=load_autoencoder(work / "ae" / "autoencoder"))
        pipe.save_pretrained(work / ("pipeline_vta" if stage == "vta" else "pipeline"))
    _write_vta_step(work, work / "pipeline")
    return work / "pipeline"


def stage_ship(work: Path, weights: Path | None = None) -> Path:
    """Replace the package's shipped weights with WORK's: the model's transformer (one safetensors file), the
    autoencoder and the VTA step. Only after the release check says the candidate is better."""
    import shutil

    import torch

    from pusa.mini import load_autoencoder
    from pusa.mini.shipped import AUTOENCODER, TRANSFORMER, WEIGHTS
    from pusa.models import PusaTransformer3DModel

    weights = weights or WEIGHTS
    transformer = PusaTransformer3DModel.from_pretrained(str(work / model_stage(work) / "transformer"),
                                                         torch_dtype=torch.float32)
    for folder in (weights / TRANSFORMER.name, weights / AUTOENCODER.name):
        shutil.rmtree(folder, ignore_errors=True)
    transformer.save_pretrained(weights / TRANSFORMER.name, max_shard_size="100MB")
    load_autoencoder(work / "ae" / "autoencoder").save_pretrained(weights / AUTOENCODER.name)
    _write_vta_step(work, weights)
    return weights


def cost(work: Path) -> dict:
    """Each stage's wall and CPU seconds, read from its logs."""
    out = {}
    for stage, log, wall, cpu in (("autoencoder", "ae/psnr.csv", "seconds", "cpu_seconds"),
                                  ("base", "base/loss.csv", "seconds", "cpu_seconds"),
                                  ("direction", "direction/loss.csv", "seconds", "cpu_seconds"),
                                  ("vta", "vta/loss.csv", "seconds", "cpu_seconds")):
        path = work / log
        if path.exists():
            rows = list(csv.DictReader(open(path)))
            if rows:
                out[stage] = {"wall_s": float(rows[-1][wall]), "cpu_s": float(rows[-1][cpu] or 0)}
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", type=Path)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ae-minutes", type=float, default=28.0)
    p.add_argument("--base-minutes", type=float, default=55.0)
    p.add_argument("--vta-minutes", type=float, default=0.0,
                   help="0 (the shipped recipe): no VTA stage; e.g. 55 with --base-p-cond 0 for the paper's order")
    p.add_argument("--base-p-cond", type=float, default=0.8,
                   help="base: share of conditioning-task samples (0: the paper's T2V base with scalar timesteps)")
    p.add_argument("--direction-steps", type=int, default=DIRECTION_STEPS,
                   help="steps of the direction phase after the base (0: none, the model before 2026-12-07)")
    p.add_argument("--p-pure", type=float, default=DIRECTION_P_PURE,
                   help="direction phase: share of conditioning samples whose free frames are pure noise")
    p.add_argument("--p-high", type=float, default=DIRECTION_P_HIGH,
                   help="direction phase: share of text-to-video samples at σ in pusa.flow.HIGH_BAND")
    p.add_argument("--direction-decay", type=int, default=DIRECTION_DECAY,
                   help="direction phase: its last steps, over which the learning rate falls linearly to 0")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--p-cond", type=float, default=0.8, help="VTA stage: share of conditioning-task samples")
    p.add_argument("--rank", type=int, default=64)
    p.add_argument("--p-async", type=float, default=0.5, help="VTA stage: asynchronous share of unconditioned samples")
    p.add_argument("--vta-adapter", default="full", choices=["full", "lora"],
                   help="full: fine-tune every weight in the VTA stage; lora: a rank --rank LoRA")
    p.add_argument("--lr", type=float, help="VTA stage learning rate (default 5e-4 full, 1e-3 LoRA)")
    p.add_argument("--stage", default="all",
                   choices=["autoencoder", "base", "direction", "vta", "assemble", "ship", "all"],
                   help="ship: copy WORK's weights into the package (after experiments/release.py says so)")
    a = p.parse_args()
    if a.direction_decay < 0 or a.direction_steps < 0:
        p.error("--direction-steps and --direction-decay must be ≥ 0 (decay: the phase's last steps, 0 for none)")
    a.work.mkdir(parents=True, exist_ok=True)
    stages = ["autoencoder", "base", "direction", "vta", "assemble"] if a.stage == "all" else [a.stage]
    t0 = time.time()
    if "autoencoder" in stages:
        stage_autoencoder(a.work, a.ae_minutes, a.threads)
    if "base" in stages:
        stage_base(a.work, a.base_minutes, a.threads, a.batch, a.base_p_cond)
    if "direction" in stages and a.direction_steps > 0:
        stage_direction(a.work, a.direction_steps, a.threads, a.batch, a.p_pure, a.p_high, a.direction_decay)
    if "vta" in stages and a.vta_minutes > 0:
        lr = a.lr if a.lr is not None else (5e-4 if a.vta_adapter == "full" else 1e-3)
        stage_vta(a.work, a.vta_minutes, a.threads, a.batch, a.p_cond, a.rank, lr, a.vta_adapter, a.p_async)
    if a.stage == "ship":
        print(f"shipped into {stage_ship(a.work)}")
    if "assemble" in stages:
        folder = stage_assemble(a.work)
        record = {"stages": cost(a.work), "this_call_wall_s": time.time() - t0, "args": {
            k: (str(v) if isinstance(v, Path) else v) for k, v in vars(a).items()}}
        record["total_wall_min"] = sum(s["wall_s"] for s in record["stages"].values()) / 60
        record["total_cpu_min"] = sum(s["cpu_s"] for s in record["stages"].values()) / 60
        (a.work / "recipe.json").write_text(json.dumps(record, indent=2) + "\n")
        print(f"pipeline: {folder}\n{json.dumps(record, indent=2)}", flush=True)


if __name__ == "__main__":
    main()
