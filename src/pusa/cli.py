"""The ``pusa`` command. A thin layer: parse → build → run; everything here is in the Python API.

Bad input gets one line on stderr ("error: …") and exit code 2, never a traceback.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Vectorized-timestep video diffusion (Pusa): one model for every video task.")

EXIT_BAD_INPUT = 2
_IMAGE_SPEC = re.compile(r"^(?P<path>.+?)(?:@(?P<frame>-?\d+)(?::(?P<noise>[^:@]+))?)?$")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


class UserError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


@app.callback()
def _root() -> None:
    """pusa: vectorized-timestep video diffusion."""


def parse_image_spec(spec: str) -> tuple[str, int, float]:
    """``PATH[@FRAME[:NOISE]]`` → (path, pixel frame, noise multiplier); defaults frame 0, noise 0."""
    m = _IMAGE_SPEC.match(spec)
    if not m or not m.group("path"):
        raise UserError(f"--image {spec!r}: expected PATH[@FRAME[:NOISE]], e.g. start.png@0:0.2")
    frame, noise = m.group("frame"), m.group("noise")
    try:
        noise_value = float(noise) if noise is not None else 0.0
    except ValueError:
        raise UserError(f"--image {spec!r}: noise {noise!r} is not a number in [0, 1]") from None
    return m.group("path"), int(frame) if frame is not None else 0, noise_value


def parse_keep(spec: str) -> list[tuple[int, int]]:
    """``0-12,77-80`` → [(0, 12), (77, 80)], inclusive pixel-frame ranges."""
    ranges = []
    for part in spec.split(","):
        m = _RANGE.match(part)
        if not m:
            raise UserError(f"--keep {spec!r}: expected comma-separated frames or ranges, e.g. 0-12,77-80")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise UserError(f"--keep {spec!r}: range {lo}-{hi} runs backwards")
        ranges.append((lo, hi))
    return ranges


def build_conditions(images: list[str], video: Optional[Path], keep: Optional[str], noise: float,
                     num_frames: int):
    """Conditions from --image specs and --video/--keep/--noise (all positions in pixel frames)."""
    from pusa.conditions import FrameCondition
    from pusa.io import read_image, read_video

    conditions = []
    for spec in images:
        path, frame, m = parse_image_spec(spec)
        if not 0 <= frame < num_frames:
            raise UserError(f"--image {spec!r}: frame {frame} is outside 0-{num_frames - 1} for --frames {num_frames}")
        if not 0.0 <= m <= 1.0:
            raise UserError(f"--image {spec!r}: noise {m} must be in [0, 1]")
        conditions.append(FrameCondition(read_image(path), frame, m, label=Path(path).name))
    if video is None:
        if keep is not None:
            raise UserError("--keep needs --video")
        return conditions
    if not 0.0 <= noise <= 1.0:
        raise UserError(f"--noise {noise} must be in [0, 1]")
    frames, _ = read_video(video)
    ranges = parse_keep(keep) if keep else [(0, min(len(frames), num_frames) - 1)]
    for lo, hi in ranges:
        if hi >= num_frames:
            raise UserError(f"--keep {keep!r}: frame {hi} is outside 0-{num_frames - 1} for --frames {num_frames}")
        if hi >= len(frames):
            raise UserError(f"--keep {keep!r}: frame {hi} is past the end of {video} ({len(frames)} frames)")
        conditions.append(FrameCondition(frames[lo:hi + 1], lo, noise, label=f"{Path(video).name}[{lo}-{hi}]"))
    return conditions


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


@app.command()
def generate(
    prompt: Annotated[str, typer.Option("--prompt", "-p", help="What the video shows.")] = "",
    model: Annotated[Optional[Path], typer.Option(help="Pipeline folder (PusaPipeline, diffusers Wan or original Wan layout); default: the embedded Pusa-mini.")] = None,
    lora: Annotated[Optional[list[Path]], typer.Option(help="LoRA .safetensors (repeatable).")] = None,
    lora_alpha: Annotated[Optional[list[float]], typer.Option(help="LoRA strength α, merged as W + α·B·A (one, or one per --lora).")] = None,
    lora_2: Annotated[Optional[list[Path]], typer.Option("--lora-2", help="LoRA for Wan2.2's low-noise expert (repeatable).")] = None,
    lora_2_alpha: Annotated[Optional[list[float]], typer.Option("--lora-2-alpha", help="Strength for each --lora-2.")] = None,
    negative_prompt: Annotated[str, typer.Option(help="What to steer away from (used when --cfg != 1).")] = "",
    image: Annotated[Optional[list[str]], typer.Option(help="Condition image PATH[@FRAME[:NOISE]] (repeatable); FRAME is a pixel frame.")] = None,
    video: Annotated[Optional[Path], typer.Option(help="Condition video (extend/complete/v2v).")] = None,
    keep: Annotated[Optional[str], typer.Option(help="Pixel frames of --video to keep, e.g. 0-12,77-80 (default: all).")] = None,
    noise: Annotated[float, typer.Option(help="Noise multiplier m in [0, 1] for --video frames.")] = 0.0,
    warm_start: Annotated[Optional[float], typer.Option(help="Start the generated frames from the nearest given frame noised to σ = M in (0, 1]; 1 = from pure noise, the paper's sampler (default: 0.9 on the embedded Pusa-mini, 1 otherwise; docs/results/warm_start.md).")] = None,
    frames: Annotated[Optional[int], typer.Option(help="Pixel frames, r·k+1 (model default if omitted).")] = None,
    height: Annotated[Optional[int], typer.Option(help="Height in pixels (model default if omitted).")] = None,
    width: Annotated[Optional[int], typer.Option(help="Width in pixels (model default if omitted).")] = None,
    preset: Annotated[str, typer.Option(help="default (10 steps, CFG 3, shift 5) or fast (4 steps, CFG 1, shift 5; for a distillation LoRA).")] = "default",
    steps: Annotated[Optional[int], typer.Option(help="Sampling steps (overrides the preset).")] = None,
    cfg: Annotated[Optional[float], typer.Option(help="Classifier-free guidance scale, 1 = off (overrides the preset).")] = None,
    shift: Annotated[Optional[float], typer.Option(help="Flow shift s (overrides the preset).")] = None,
    boundary: Annotated[Optional[float], typer.Option(help="Wan2.2 expert switch as a fraction of t (reference 0.875).")] = None,
    offload: Annotated[str, typer.Option(help="none, model (one component on the GPU at a time) or group (stream transformer blocks).")] = "none",
    vae_tiling: Annotated[bool, typer.Option(help="Decode in tiles to bound VAE memory.")] = False,
    sequence_parallel: Annotated[bool, typer.Option(help="Split frames across the processes of a torchrun launch.")] = False,
    seed: Annotated[Optional[int], typer.Option(help="Random seed (random if omitted; printed).")] = None,
    timestep_mode: Annotated[str, typer.Option(help="'float' (exact) or 'reference' (Pusa V1 bf16/int rounding).")] = "float",
    dtype: Annotated[str, typer.Option(help="float32 or bfloat16.")] = "float32",
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:1, … (default: cuda if available).")] = "auto",
    out: Annotated[Path, typer.Option(help="Output .mp4; a contact sheet .png and settings .json go beside it.")] = Path("pusa.mp4"),
    batch: Annotated[Optional[Path], typer.Option(help="jsonl of jobs ({prompt, image?, noise?, samples?} per line); outputs {prompt}-{i}.mp4 in --out-dir.")] = None,
    out_dir: Annotated[Path, typer.Option(help="Folder for --batch outputs (finished files are skipped on restart).")] = Path("pusa-batch"),
    overwrite: Annotated[bool, typer.Option(help="Replace existing output files.")] = False,
) -> None:
    """Generate a video from a prompt and optional image/video conditions."""
    try:
        _generate(**locals())
    except (UserError, ValueError, FileNotFoundError, FileExistsError, TypeError) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)


def _generate(prompt, model, lora, lora_alpha, lora_2, lora_2_alpha, negative_prompt, image, video, keep, noise, warm_start,
              frames, height, width,
              preset, steps, cfg, shift, boundary, offload, vae_tiling, sequence_parallel, seed, timestep_mode, dtype,
              device, out, overwrite, batch=None, out_dir=None) -> None:
    # 1. Parse: everything checkable without the model.
    if model is not None:
        from pusa.models.checkpoints import detect_base_layout

        detect_base_layout(model)  # one line naming what is missing, before any heavy loading
    from pusa.pipeline import PRESETS

    if preset not in PRESETS:
        raise UserError(f"--preset {preset!r}: use one of {', '.join(PRESETS)}")
    steps = steps if steps is not None else PRESETS[preset]["num_inference_steps"]
    cfg = cfg if cfg is not None else PRESETS[preset]["guidance_scale"]
    shift = shift if shift is not None else PRESETS[preset]["shift"]
    if steps < 1:
        raise UserError(f"--steps {steps}: must be >= 1")
    if offload not in ("none", "model", "group"):
        raise UserError(f"--offload {offload!r}: use none, model or group")
    if boundary is not None and not 0.0 < boundary < 1.0:
        raise UserError(f"--boundary {boundary}: must be a fraction of t in (0, 1), e.g. 0.875")
    if timestep_mode not in ("float", "reference"):
        raise UserError(f"--timestep-mode {timestep_mode!r}: use 'float' or 'reference'")
    if dtype not in ("float32", "bfloat16"):
        raise UserError(f"--dtype {dtype!r}: use float32 or bfloat16 (float16 is not supported on CPU)")
    if warm_start is not None and not 0.0 < warm_start <= 1.0:
        raise UserError(f"--warm-start {warm_start}: must be in (0, 1], the σ the generated frames start from (1 = off)")
    if batch is not None:
        if image or video or sequence_parallel or warm_start is not None:
            raise UserError("--batch takes its images from the jsonl; drop --image/--video/--sequence-parallel/--warm-start")
        from pusa.eval.batch import read_jobs

        jobs = read_jobs(batch)  # every line checked before any model is loaded
    if out.suffix.lower() != ".mp4":
        raise UserError(f"--out {out}: must end in .mp4")
    sheet_path, meta_path = out.with_suffix(".png"), out.with_suffix(".json")
    for path in (out, sheet_path, meta_path) if batch is None else ():
        if path.exists() and not overwrite:
            raise UserError(f"{path} already exists; pass --overwrite or choose another --out")
    for flag, paths in (("--lora", lora), ("--lora-2", lora_2)):
        for path in paths or []:
            if not path.is_file():
                raise UserError(f"{flag} {path}: file not found")

    # 2. Build.
    import torch

    from pusa.io import write_contact_sheet, write_video
    from pusa.memory import apply_memory_options

    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    main_process = True
    if sequence_parallel:
        dev, seed, main_process = _init_sequence_parallel(dev, seed)
    # The embedded Pusa-mini: its VTA LoRA is fused unless more LoRAs come on top. Plain text-to-video uses
    # the base weights: in the miniature the LoRA costs T2V quality (colour 1.00 → 0.72 over 64 clips).
    vta_strength = 0.0 if model is None and not (image or video or batch or lora or lora_2) else 1.0
    if model is None:
        from pusa.mini import default_pipeline

        if dtype != "float32" and (lora or lora_2):
            raise UserError("the embedded Pusa-mini runs extra LoRAs in float32 only; drop --dtype or --lora")
        if vta_strength == 0.0:
            typer.echo("note: text-to-video on Pusa-mini runs its base weights (VTA LoRA off): they follow the "
                       "caption better (docs/results/non_destructive.md)", err=True)
        pipe = default_pipeline(lora_strength=vta_strength, fuse=not (lora or lora_2),
                                dtype=torch.bfloat16 if dtype == "bfloat16" else None)
        pipe = apply_memory_options(pipe, dev, offload, vae_tiling)
    else:
        pipe = apply_memory_options(_load_pipeline(model, dtype, "cpu"), dev, offload, vae_tiling)
    if sequence_parallel:
        from pusa.models.parallel import enable_sequence_parallel

        for name in ("transformer", "transformer_2"):
            if getattr(pipe, name, None) is not None:
                enable_sequence_parallel(getattr(pipe, name))
    if boundary is not None:
        pipe.register_to_config(boundary_ratio=boundary)
    if lora or lora_2:
        from pusa.models.lora import ExpertView, load_loras

        load_loras(pipe, lora or [], lora_alpha or [1.0])
        if lora_2:
            load_loras(ExpertView(pipe, "transformer_2"), lora_2, lora_2_alpha or [1.0])
    num_frames = frames or pipe.config.default_num_frames
    if batch is not None:
        return _run_batch(pipe, jobs, out_dir, prompt_neg=negative_prompt, num_frames=num_frames,
                          height=height or pipe.config.default_height, width=width or pipe.config.default_width,
                          steps=steps, cfg=cfg, shift=shift, seed=seed if seed is not None else 0,
                          timestep_mode=timestep_mode)
    conditions = build_conditions(image or [], video, keep, noise, num_frames)
    seed = seed if seed is not None else random.randrange(2**31)
    height, width = height or pipe.config.default_height, width or pipe.config.default_width
    for cond in conditions:
        h, w = cond.frames.shape[1:3]
        if (h, w) != (height, width):
            typer.echo(f"note: {cond.label or 'condition'} is {w}×{h}; centre-cropped to the aspect ratio and "
                       f"resized to {width}×{height}", err=True)
    plans = pipe.check_inputs(prompt, negative_prompt, conditions, num_frames, height, width, steps, cfg, shift)
    for plan in plans:
        typer.echo(plan.describe(pipe.temporal_factor), err=True)
    from pusa.frames import num_latent_frames

    free_slots = num_latent_frames(num_frames, pipe.temporal_factor) - sum(len(p.slots) for p in plans)
    if warm_start is None and model is None and plans and free_slots:
        from pusa.mini.shipped import WARM_START

        warm_start = WARM_START
        typer.echo(f"note: Pusa-mini starts the generated frames from the given ones at σ = {WARM_START:g} "
                   "(--warm-start 1 turns this off; docs/results/warm_start.md)", err=True)
    warm_start = None if warm_start == 1.0 else warm_start  # σ = 1 is exactly the plain sampler

    # 3. Run, with a progress bar driven by the sampler callback.
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("sampling"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task("sampling", total=steps)
        result = pipe(prompt, negative_prompt=negative_prompt, conditions=conditions, num_frames=num_frames,
                      height=height, width=width, num_inference_steps=steps, guidance_scale=cfg, shift=shift,
                      generator=torch.Generator().manual_seed(seed), timestep_mode=timestep_mode,
                      warm_start=warm_start, callback=lambda info: progress.update(task, completed=info["i"] + 1))
    video_frames = result.frames[0]  # [T, H, W, 3]
    if not main_process:  # every rank computed the same video; rank 0 writes it
        return
    conditioned = {p for plan in plans for p in range(plan.condition.start, plan.condition.end + 1)}
    write_video(out, video_frames, fps=pipe.config.fps, overwrite=overwrite)
    write_contact_sheet(sheet_path, video_frames, highlight=conditioned, overwrite=overwrite)
    settings = {"prompt": prompt, "negative_prompt": negative_prompt,
                "model": str(model) if model is not None else "pusa-mini (embedded)", "seed": seed,
                **({"vta_lora_strength": vta_strength} if model is None else {}),
                "frames": num_frames, "height": height, "width": width, "preset": preset, "steps": steps,
                "cfg": cfg, "shift": shift, "boundary": pipe.config.boundary_ratio,
                "timestep_mode": timestep_mode, "warm_start": warm_start, "fps": pipe.config.fps,
                "lora": [str(p) for p in lora or []], "lora_alpha": lora_alpha or [],
                "lora_2": [str(p) for p in lora_2 or []], "lora_2_alpha": lora_2_alpha or [],
                "conditions": [plan.describe(pipe.temporal_factor) for plan in plans], "argv": sys.argv[1:]}
    from pusa.io import atomic_path

    with atomic_path(meta_path, overwrite) as tmp:
        tmp.write_text(json.dumps(settings, indent=2) + "\n")
    typer.echo(f"wrote {out} ({len(video_frames)} frames at {pipe.config.fps} fps, seed {seed}), {sheet_path}, {meta_path}")


@app.command()
def preprocess(
    data: Annotated[Path, typer.Argument(help="Folder with videos and metadata.csv (file_name,text).")],
    cache: Annotated[Path, typer.Argument(help="Output latent cache folder (resumed if it exists).")],
    model: Annotated[Path, typer.Option(help="PusaPipeline folder whose VAE and text encoder encode the clips.")],
    bucket: Annotated[Optional[list[str]], typer.Option(help="FRAMESxHEIGHTxWIDTH bucket (repeatable), e.g. 81x480x832.")] = None,
    max_sequence_length: Annotated[int, typer.Option(help="Text tokens (Wan: 512).")] = 512,
    shard_size: Annotated[int, typer.Option(help="Clips per safetensors shard.")] = 64,
) -> None:
    """Encode a folder of captioned videos into VAE latents and text states (resumable)."""
    try:
        _preprocess(data, cache, model, bucket, max_sequence_length, shard_size)
    except (UserError, ValueError, FileNotFoundError) as err:
        _fail(str(err).splitlines()[0])


def _preprocess(data, cache, model, bucket, max_sequence_length, shard_size) -> None:
    from pusa.models.checkpoints import detect_base_layout

    detect_base_layout(model)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pusa.training.data import Bucket, preprocess

    buckets = [Bucket.parse(b) for b in bucket] if bucket else None
    pipe = _load_pipeline(model)
    if buckets is None:
        c = pipe.config
        buckets = [Bucket(c.default_num_frames, c.default_height, c.default_width)]
    with Progress(TextColumn("encoding"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("{task.description}")) as bar:
        task = bar.add_task("", total=None)
        report = preprocess(data, cache, pipe, buckets, max_sequence_length=max_sequence_length,
                            shard_size=shard_size,
                            progress=lambda done, total, name: bar.update(task, completed=done, total=total,
                                                                          description=str(name)))
    typer.echo(report.summary() if hasattr(report, "summary") else str(report))


def _run_batch(pipe, jobs, out_dir: Path, prompt_neg: str, num_frames: int, height: int, width: int, steps: int,
               cfg: float, shift: float, seed: int, timestep_mode: str) -> None:
    """--batch: this process's share of the jobs (RANK/WORLD_SIZE), skipping finished outputs."""
    import os

    import torch

    from pusa.conditions import i2v
    from pusa.eval.batch import run_batch
    from pusa.io import atomic_path, read_image, write_video

    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))

    def generate_one(job):
        conditions = i2v(read_image(job.image), job.noise) if job.image else []
        return pipe(job.prompt, negative_prompt=prompt_neg, conditions=conditions, num_frames=num_frames,
                    height=height, width=width, num_inference_steps=steps, guidance_scale=cfg, shift=shift,
                    generator=torch.Generator().manual_seed(seed + job.sample), timestep_mode=timestep_mode).frames[0]

    def write(target: Path, frames, job) -> None:
        settings = {"prompt": job.prompt, "image": job.image, "noise": job.noise, "sample": job.sample,
                    "seed": seed + job.sample, "frames": num_frames, "height": height, "width": width,
                    "crop": "centre crop to the target aspect ratio, then resize", "steps": steps, "cfg": cfg,
                    "shift": shift, "timestep_mode": timestep_mode, "line": job.line}
        with atomic_path(target.with_suffix(".json"), overwrite=True) as tmp:
            tmp.write_text(json.dumps(settings, indent=2) + "\n")
        write_video(target, frames, fps=pipe.config.fps)  # the mp4 last: its presence marks the job done

    done, skipped = run_batch(jobs, out_dir, generate_one, write, rank, world)
    typer.echo(f"rank {rank}/{world}: generated {done}, skipped {skipped} already finished, in {out_dir}")


def _init_sequence_parallel(device: str, seed):
    """Join the torchrun process group; returns (device, seed shared by all ranks, is rank 0)."""
    import os

    import torch
    import torch.distributed as dist

    if "WORLD_SIZE" not in os.environ:
        raise UserError("--sequence-parallel needs a multi-process launch, e.g. torchrun --nproc_per_node 2 -m pusa.cli generate ...")
    cuda = device.startswith("cuda")
    dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", 0))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    shared = [seed if seed is not None else random.randrange(2**31)]
    dist.broadcast_object_list(shared, src=0)
    return device, shared[0], dist.get_rank() == 0


def _load_pipeline(model: Path, dtype: str = "float32", device: str = "auto"):
    import torch
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    from pusa.loading import LAYOUTS, load_pipeline

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    torch_dtype = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    dev = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
    # A PusaPipeline folder, a diffusers WanPipeline folder or the original Wan release; the VAE stays fp32.
    pipe, layout = load_pipeline(model, dtype=torch_dtype, device=dev)
    typer.echo(f"model: {model} ({LAYOUTS[layout]})", err=True)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _parse_overrides(items: list[str]) -> dict[str, str]:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. --set lr=1e-4")
        overrides[key.strip()] = value
    return overrides


@app.command()
def train(
    config: Annotated[Optional[Path], typer.Argument(help="TOML config (keys of pusa.training.TrainConfig).")] = None,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Override a config key: --set lr=1e-4 (repeatable).")] = None,
    model: Annotated[Optional[str], typer.Option(help="Override: PusaPipeline folder to adapt.")] = None,
    cache: Annotated[Optional[str], typer.Option(help="Override: latent cache from `pusa preprocess`.")] = None,
    output_dir: Annotated[Optional[str], typer.Option(help="Override: run folder.")] = None,
    max_steps: Annotated[Optional[int], typer.Option(help="Override: optimizer steps.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue from the newest checkpoint in the run folder.")] = False,
) -> None:
    """Train a VTA adapter (LoRA or full) with frame-aware flow matching. Run it under `accelerate launch` for many GPUs."""
    try:
        _train(config, set_ or [], model, cache, output_dir, max_steps, resume)
    except (UserError, ValueError, FileNotFoundError, FileExistsError) as err:
        _fail(str(err).splitlines()[0])


def _train(config_path, sets, model, cache, output_dir, max_steps, resume) -> None:
    from pusa.training.config import load_config

    overrides = _parse_overrides(sets)
    for key, value in (("model", model), ("cache", cache), ("output_dir", output_dir), ("max_steps", max_steps)):
        if value is not None:
            overrides[key] = value
    cfg = load_config(config_path, overrides)
    cfg.validate()
    if not Path(cfg.cache).is_dir():
        raise UserError(f"cache {cfg.cache}: not found; run `pusa preprocess` first")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pusa.training.export import export_lora
    from pusa.training.trainer import train as run_training

    with Progress(TextColumn("training"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  TextColumn("loss {task.fields[loss]}")) as bar:
        task = bar.add_task("", total=cfg.max_steps, loss="-")
        result = run_training(cfg, resume=resume, callback=lambda info: bar.update(
            task, completed=info["step"], loss=f"{info['loss']:.4f}"))
    accelerator = result["accelerator"]
    if accelerator.is_main_process:
        final = Path(cfg.output_dir) / "final"
        if cfg.adapter == "lora":
            paths = export_lora(result["model"], final, overwrite=True)
            typer.echo(f"exported LoRA: {paths['diffusers']} (diffusers) and {paths['diffsynth']} (DiffSynth, W + α·B·A)")
        else:
            result["model"].save_pretrained(str(final / "transformer"))
            typer.echo(f"saved the fine-tuned transformer to {final / 'transformer'}")


@app.command("export")
def export_command(
    run: Annotated[Path, typer.Argument(help="A `pusa train` output_dir (holding checkpoints/).")],
    step: Annotated[Optional[int], typer.Option(help="Checkpoint step; default: the newest.")] = None,
    out: Annotated[Optional[Path], typer.Option(help="Output folder; default RUN/export-step-NNNNNNNN.")] = None,
    ema: Annotated[bool, typer.Option(help="Export the EMA weights (runs with ema_decay > 0).")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing export.")] = False,
) -> None:
    """Export any checkpoint of a training run as a LoRA (or a full transformer), to sample or compare it."""
    try:
        from pusa.training.export import export_checkpoint

        folder = export_checkpoint(run, step, out, ema=ema, overwrite=overwrite)
    except (UserError, ValueError, FileNotFoundError, FileExistsError) as err:
        _fail(str(err).splitlines()[0])
    else:
        typer.echo(f"exported to {folder}")


@app.command("convert-lora")
def convert_lora_command(
    src: Annotated[Path, typer.Argument(help="LoRA .safetensors: DiffSynth, ComfyUI, musubi or diffusers layout.")],
    dst: Annotated[Path, typer.Argument(help="Output .safetensors.")],
    to: Annotated[str, typer.Option(help="Target layout: diffusers, comfy or diffsynth (musubi also works).")],
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output file.")] = False,
) -> None:
    """Convert a Wan LoRA between layouts, keeping its delta at every strength (alpha/r folded or kept as .alpha)."""
    try:
        from pusa.models.lora import convert_lora_file

        typer.echo(convert_lora_file(src, dst, to, overwrite=overwrite).summary())
    except (UserError, ValueError, FileNotFoundError, FileExistsError) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)


@app.command()
def world(
    out: Annotated[Path, typer.Argument(help="Folder for clip_NNNNN.mp4 + metadata.csv (+ world.jsonl ground truth).")],
    n: Annotated[int, typer.Option(help="Number of clips.")] = 100,
    seed: Annotated[int, typer.Option(help="Dataset seed.")] = 0,
    preset: Annotated[str, typer.Option(help="World preset: easy, medium or full.")] = "easy",
    frames: Annotated[int, typer.Option(help="Frames per clip.")] = 17,
    height: Annotated[int, typer.Option(help="Height in pixels.")] = 64,
    width: Annotated[int, typer.Option(help="Width in pixels.")] = 64,
    overwrite: Annotated[bool, typer.Option(help="Replace existing clips.")] = False,
) -> None:
    """Write a dataset of procedural world clips with captions (the layout `pusa preprocess` reads)."""
    try:
        from pusa.world import write_dataset

        if (out / "metadata.csv").exists() and not overwrite:
            raise UserError(f"{out / 'metadata.csv'} already exists; pass --overwrite or choose another folder")
        path = write_dataset(out, n, seed=seed, config=preset, num_frames=frames, height=height, width=width,
                             overwrite=overwrite)
        typer.echo(f"wrote {n} clips and {path}")
    except (UserError, ValueError, KeyError, FileExistsError) as err:
        _fail(str(err).strip("'\"").splitlines()[0])


@app.command("eval")
def eval_command(
    folder: Annotated[Path, typer.Argument(help="Folder of videos to score (mp4, mov, …), e.g. a --batch --out-dir.")],
    out: Annotated[Optional[Path], typer.Option(help="Report folder (default: FOLDER/eval).")] = None,
    backend: Annotated[str, typer.Option(help="auto (vbench where usable, else proxy), proxy, or vbench (required).")] = "auto",
    vbench_weights: Annotated[Optional[Path], typer.Option(help="Local VBench weights (VBENCH_CACHE_DIR layout); default $PUSA_VBENCH_WEIGHTS. Never downloaded.")] = None,
    vbench_python: Annotated[Optional[Path], typer.Option(help="Python of the environment where vbench is installed (default: this one).")] = None,
    device: Annotated[str, typer.Option(help="Device for the vbench backend: auto, cpu, cuda, …")] = "auto",
    max_sheets: Annotated[int, typer.Option(help="Contact sheets for at most this many prompt groups.")] = 32,
    overwrite: Annotated[bool, typer.Option(help="Replace an existing report.")] = False,
) -> None:
    """Score every video in FOLDER (proxy / vbench / world backends) and write report.md, scores.json/csv and PNG plots."""
    try:
        _eval(folder, out if out is not None else folder / "eval", backend, vbench_weights, vbench_python, device,
              max_sheets, overwrite)
    except (UserError, ValueError, FileNotFoundError, FileExistsError) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)


def _eval(folder, out, backend, vbench_weights, vbench_python, device, max_sheets, overwrite) -> None:
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        raise UserError("pusa eval draws its plots with matplotlib: pip install 'pusa[eval]'")
    if max_sheets < 0:
        raise UserError(f"--max-sheets {max_sheets}: must be >= 0")
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from pusa.eval.report import check_outputs, evaluate_folder, write_report

    check_outputs(out, overwrite)  # before any scoring
    python = str(vbench_python) if vbench_python is not None else None
    with Progress(TextColumn("scoring"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.description}"),
                  transient=True) as bar:
        task = bar.add_task("", total=None)
        ev = evaluate_folder(folder, backend, vbench_weights, python, device,
                             progress=lambda done, total, name: bar.update(task, completed=done, total=total,
                                                                           description=name))
    for skipped in ev.skipped:
        typer.echo(f"warning: skipped {skipped['file']}: {skipped['reason']}", err=True)
    paths = write_report(ev, out, overwrite=overwrite, max_sheets=max_sheets)
    t = ev.total
    summary = (f"{t['label']} {t['value']:.2f}" if t["value"] is not None
               else f"{t['label']}: not computed (missing {', '.join(t['missing'])})")
    typer.echo(f"wrote {paths[0]} ({len(ev.videos)} videos, {len(ev.skipped)} skipped; {summary})")


@app.command()
def ui(
    model: Annotated[Optional[Path], typer.Option(help="Pipeline folder (default: the embedded Pusa-mini model).")] = None,
    lora: Annotated[Optional[Path], typer.Option(help="LoRA .safetensors, loaded once; its strength is a slider.")] = None,
    host: Annotated[str, typer.Option(help="Address to bind; anything but 127.0.0.1 exposes the app to your network.")] = "127.0.0.1",
    port: Annotated[Optional[int], typer.Option(help="Port (default: 7860, or the next free one).")] = None,
    out_dir: Annotated[Path, typer.Option(help="Folder for every output (one subfolder per generation).")] = Path("pusa-ui"),
) -> None:
    """Open the web app: every task in the browser, with the per-frame timeline."""
    try:
        if lora is not None and not lora.is_file():
            raise UserError(f"--lora {lora}: file not found")
        if model is not None:
            from pusa.models.checkpoints import detect_base_layout

            detect_base_layout(model)
        try:
            from pusa.ui import launch
            import gradio  # noqa: F401
        except ImportError:
            raise UserError("the web app needs gradio: pip install 'pusa[ui]'") from None
        launch(model=model, lora=lora, out_dir=out_dir, host=host, port=port)
    except (UserError, ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
