"""``pusa generate``: condition, image and keep parsing, the long-video flags, the model spec, single and
--batch runs, the notes it prints, and the sequence-parallel helpers."""

from __future__ import annotations

import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer

from pusa.cli.common import UserError, _device, _fail, app

_IMAGE_SPEC = re.compile(r"^(?P<path>.+?)(?:@(?P<frame>-?\d+)(?::(?P<noise>[^:@]+))?)?$")
_RANGE = re.compile(r"^\s*(\d+)\s*(?:-\s*(\d+))?\s*$")


def parse_image_spec(spec: str) -> tuple[str, int, float]:
    """``PATH[@FRAME[:NOISE]]`` → (path, pixel frame, noise multiplier); defaults frame 0, noise 0."""
    m = _IMAGE_SPEC.match(spec)
    if not m or not m.group("path"):
        raise UserError(f"--image {spec!r}: expected PATH[@FRAME[:NOISE]], e.g. start.png@0:0.2")
    tail = m.group("path").rsplit("@", 1)[-1]
    if "@" in m.group("path") and "/" not in tail and "." not in tail and not Path(m.group("path")).exists():
        raise UserError(f"--image {spec!r}: frame {tail.split(':')[0]!r} is not a whole number; "
                        "expected PATH[@FRAME[:NOISE]], e.g. start.png@0:0.2")
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
        if Path(path).is_dir():
            raise UserError(f"--image {spec!r}: {path} is a directory, expected an image file")
        conditions.append(FrameCondition(read_image(path), frame, m, label=Path(path).name))
    if video is None:
        if keep is not None:
            raise UserError("--keep needs --video")
        return conditions
    if not 0.0 <= noise <= 1.0:
        raise UserError(f"--noise {noise} must be in [0, 1]")
    if Path(video).is_dir():
        raise UserError(f"--video {video}: is a directory, expected a video file")
    frames, _ = read_video(video)
    ranges = parse_keep(keep) if keep else [(0, min(len(frames), num_frames) - 1)]
    for lo, hi in ranges:
        if hi >= num_frames:
            raise UserError(f"--keep {keep!r}: frame {hi} is outside 0-{num_frames - 1} for --frames {num_frames}")
        if hi >= len(frames):
            raise UserError(f"--keep {keep!r}: frame {hi} is past the end of {video} ({len(frames)} frames)")
        conditions.append(FrameCondition(frames[lo:hi + 1], lo, noise, label=f"{Path(video).name}[{lo}-{hi}]"))
    return conditions


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
    warm_start: Annotated[Optional[float], typer.Option(help="Start generated frames from the nearest given frame noised to σ = M in (0, 1]; 1 = pure noise, the paper's sampler (default: the model's).")] = None,
    frames: Annotated[Optional[int], typer.Option(help="Pixel frames, r·k+1 (model default if omitted); more than the model's window runs window by window (--window).")] = None,
    window: Annotated[Optional[int], typer.Option(help="Long video: pixel frames per window, r·k+1 (default: the model's frames).")] = None,
    overlap: Annotated[Optional[int], typer.Option(help="Long video: pixel frames neighbouring windows share, a multiple of r (default: a quarter of the window).")] = None,
    schedule: Annotated[Optional[str], typer.Option(help="Long video: chained (the overlap as conditioning latents) or staggered (diffusion forcing: each frame --lag steps behind the one before).")] = None,
    overlap_noise: Annotated[Optional[float], typer.Option(help="Long video, chained: noise multiplier m of the overlap latents (default: the model's rule, else 0: kept exactly).")] = None,
    lag: Annotated[Optional[int], typer.Option(help="Long video, staggered: steps between neighbouring frames (default: the smallest that lets the window slide).")] = None,
    anti_drift: Annotated[Optional[float], typer.Option(help="Long video, chained: pull each window's latent mean/std to the first window's, strength in [0, 1] (default 0).")] = None,
    prompts: Annotated[Optional[Path], typer.Option(help="Long video: a prompt per range of pixel frames, one 'START-END: text' line each (inclusive; '#' comments); --prompt covers the rest.")] = None,
    height: Annotated[Optional[int], typer.Option(help="Height in pixels (model default if omitted).")] = None,
    width: Annotated[Optional[int], typer.Option(help="Width in pixels (model default if omitted).")] = None,
    preset: Annotated[str, typer.Option(help="default (10 steps, CFG 3, shift 5) or fast (4 steps, CFG 1; for a distillation LoRA).")] = "default",
    steps: Annotated[Optional[int], typer.Option(help="Sampling steps (overrides the preset).")] = None,
    cfg: Annotated[Optional[float], typer.Option(help="Classifier-free guidance scale, 1 = off (overrides the preset).")] = None,
    shift: Annotated[Optional[float], typer.Option(help="Flow shift s (overrides the preset).")] = None,
    boundary: Annotated[Optional[float], typer.Option(help="Wan2.2 expert switch as a fraction of t (reference 0.875).")] = None,
    offload: Annotated[str, typer.Option(help="none, model (one component on the GPU at a time) or group (stream blocks).")] = "none",
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
    from pusa.request import Request

    try:
        spec = model_spec(model, lora, lora_alpha, lora_2, lora_2_alpha, dtype, device, offload, vae_tiling, boundary)
        request = Request(prompt=prompt, negative_prompt=negative_prompt, num_frames=frames, height=height,
                          width=width, preset=preset, steps=steps, cfg=cfg, shift=shift, seed=seed,
                          warm_start=warm_start, timestep_mode=timestep_mode,
                          **long_flags(window, overlap, schedule, overlap_noise, lag, anti_drift, prompts))
        media = ConditionFlags(image or [], video, keep, noise)
        if batch is not None:
            if media.given or sequence_parallel or warm_start is not None:
                raise UserError("--batch takes its images from the jsonl; drop --image/--video/--sequence-parallel/--warm-start")
            return _run_batch(spec, request, batch, out_dir)
        _run_single(spec, request, media, out, overwrite, sequence_parallel)
    except (UserError, ValueError, FileNotFoundError, FileExistsError, TypeError) as err:
        _fail(_as_flag(str(err).splitlines()[0]) if str(err) else err.__class__.__name__)


_REQUEST_FIELDS = ("steps", "cfg", "shift", "seed", "frames", "height", "width", "warm start", "preset", "timestep mode",
                   "window", "overlap noise", "overlap", "schedule", "lag", "anti drift")


def long_flags(window, overlap, schedule, overlap_noise, lag, anti_drift, prompts: Optional[Path]) -> dict:
    """The long-video Request fields of the flags; --prompts FILE read as (start, end, text) ranges."""
    ranges = ()
    if prompts is not None:
        from pusa.long import read_prompts

        ranges = read_prompts(prompts)
    return {"window": window, "overlap": overlap, "schedule": schedule, "overlap_noise": overlap_noise, "lag": lag,
            "anti_drift": anti_drift, "prompts": ranges}


def _as_flag(message: str) -> str:
    """A request error names its field ("steps 0: ..."); at the command line it names the flag ("--steps 0: ...")."""
    for name in _REQUEST_FIELDS:
        if message.startswith(name + " "):
            return "--" + name.replace(" ", "-") + message[len(name):]
    return message


@dataclass(frozen=True)
class ConditionFlags:
    """--image specs and --video/--keep/--noise, turned into conditions once the frame count is known."""

    images: list[str]
    video: Optional[Path]
    keep: Optional[str]
    noise: float

    @property
    def given(self) -> bool:
        return bool(self.images or self.video is not None or self.keep is not None)

    def check(self) -> None:
        """The specs parse and their files exist, before any model loads (frame ranges wait for the model)."""
        for spec in self.images:
            path = Path(parse_image_spec(spec)[0])
            if path.is_dir() or not path.is_file():
                raise UserError(f"--image {spec!r}: {'is a directory, expected an image file' if path.is_dir() else 'image not found'}: {path}")
        if self.video is not None and not self.video.is_file():
            raise UserError(f"--video {self.video}: {'is a directory, expected a video file' if self.video.is_dir() else 'video not found'}")
        if self.keep is not None:
            if self.video is None:
                raise UserError("--keep needs --video")
            parse_keep(self.keep)
        if not 0.0 <= self.noise <= 1.0:  # also refuses nan
            raise UserError(f"--noise {self.noise} must be in [0, 1]")

    def conditions(self, num_frames: int) -> tuple:
        return tuple(build_conditions(self.images, self.video, self.keep, self.noise, num_frames))


def model_spec(model, lora, lora_alpha, lora_2, lora_2_alpha, dtype, device, offload, vae_tiling, boundary):
    """The ModelSpec of the flags, each checked before anything loads."""
    from pusa.request import ModelSpec

    if model is not None:
        from pusa.models.checkpoints import detect_base_layout

        detect_base_layout(model)  # one line naming what is missing, before any heavy loading
    if offload not in ("none", "model", "group"):
        raise UserError(f"--offload {offload!r}: use none, model or group")
    if boundary is not None and not 0.0 < boundary < 1.0:
        raise UserError(f"--boundary {boundary}: must be a fraction of t in (0, 1), e.g. 0.875")
    if dtype not in ("float32", "bfloat16"):
        raise UserError(f"--dtype {dtype!r}: use float32 or bfloat16 (float16 is not supported on CPU)")
    if model is None and dtype != "float32" and (lora or lora_2):
        raise UserError("the embedded Pusa-mini runs extra LoRAs in float32 only; drop --dtype or --lora")
    pairs = []
    for flag, paths, alphas in (("--lora", lora or [], lora_alpha or []), ("--lora-2", lora_2 or [], lora_2_alpha or [])):
        for path in paths:
            if not path.is_file():
                raise UserError(f"{flag} {path}: {'is a directory' if path.is_dir() else 'file not found'}")
        if alphas and len(alphas) not in (1, len(paths)):
            raise UserError(f"{flag}-alpha: give one strength, or one per {flag} ({len(paths)})")
        pairs.append(tuple(zip(paths, alphas if len(alphas) == len(paths) else (alphas or [1.0]) * len(paths))))
    return ModelSpec(model, pairs[0], pairs[1], dtype, _device(device), offload, vae_tiling, boundary)


def _run_single(spec, request, media: ConditionFlags, out: Path, overwrite: bool, sequence_parallel: bool) -> None:
    """One video: check, load, condition, sample with a progress bar, write."""
    from dataclasses import replace

    from pusa.request import Models, check_outputs, preflight, resolve, rules_strength, validate, write_outputs

    validate(request)
    media.check()
    check_outputs(out, overwrite)
    preflight(spec, request)
    main_process = True
    if sequence_parallel:
        device, seed, main_process = _init_sequence_parallel(spec.device, request.seed)
        spec, request = replace(spec, device=device), replace(request, seed=seed)
    models = Models(spec, log=lambda m: typer.echo(m, err=True))
    pipe = models.get(rules_strength(models.rules, media.given))  # text-to-video loads only the weights it runs
    frames = request.num_frames or pipe.config.default_num_frames
    request = resolve(replace(request, conditions=media.conditions(frames)), pipe.config, models.rules,
                      pipe.temporal_factor)
    pipe = models.get(request.vta_strength)
    if sequence_parallel:
        _enable_sequence_parallel(pipe)
    _notes(pipe, request, models.rules, spec)
    gen = _sample(pipe, request)
    if not main_process:  # every rank computed the same video; rank 0 writes it
        return
    paths = write_outputs(gen, out, overwrite, extra=_provenance(spec))
    typer.echo(f"wrote {out} ({len(gen.frames)} frames at {gen.fps} fps, seed {request.seed}), {paths[1]}, {paths[2]}")


def _provenance(spec) -> dict:
    from pusa.request import EMBEDDED

    return {"model": str(spec.model) if spec.model is not None else EMBEDDED,
            "lora": [[str(p), a] for p, a in spec.loras], "lora_2": [[str(p), a] for p, a in spec.loras_2],
            "boundary": spec.boundary, "dtype": spec.dtype, "argv": sys.argv[1:]}


def _notes(pipe, request, rules, spec) -> None:
    """The plan (one line per condition) and a note for every default the model chose."""
    from pusa.request import plan_lines

    for cond in request.conditions:
        h, w = cond.frames.shape[1:3]
        if (h, w) != (request.height, request.width):
            typer.echo(f"note: {cond.label or 'condition'} is {w}×{h}; centre-cropped to the aspect ratio and "
                       f"resized to {request.width}×{request.height}", err=True)
    for line in plan_lines(pipe, request):
        typer.echo(line, err=True)
    limit = pipe.config.get("max_sequence_length", 512)
    for what, text in (("prompt", request.prompt), ("negative prompt", request.negative_prompt)):
        tokens = len(pipe.tokenizer(text, add_special_tokens=True).input_ids) if text else 0
        if tokens > limit:
            typer.echo(f"note: the {what} is {tokens} tokens; the text encoder reads the first {limit}, "
                       "the rest is dropped", err=True)
    if not request.conditions and rules.t2v_vta_strength == 0.0 and request.vta_strength == 0.0:
        typer.echo("note: text-to-video on Pusa-mini runs its base weights (VTA LoRA off): they follow the "
                   "caption better (docs/results/non_destructive.md)", err=True)
    if request.conditions and rules.warm_start is not None and request.warm_start == rules.warm_start:
        typer.echo(f"note: Pusa-mini starts the generated frames from the given ones at σ = {rules.warm_start:g} "
                   "(--warm-start 1 turns this off; docs/results/warm_start.md)", err=True)
    if request.preset == "fast" and not (spec.loras or spec.loras_2):
        typer.echo("note: --preset fast (4 steps, no CFG) is meant for a distillation LoRA; without one pass "
                   "--lora LIGHTNING.safetensors or use the default preset", err=True)


def _sample(pipe, request):
    """Run the request with a progress bar driven by the sampler's callback."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from pusa.request import run

    with Progress(TextColumn("sampling"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  TimeElapsedColumn(), transient=True) as progress:
        task = progress.add_task("sampling", total=request.steps)  # a long video: every window's steps
        return run(pipe, request, callback=lambda info: progress.update(task, completed=info["i"] + 1,
                                                                       total=info["num_steps"]))


def _run_batch(spec, request, batch: Path, out_dir: Path) -> None:
    """--batch: this process's share of the jobs (RANK/WORLD_SIZE); each line is a request like a single run's
    (seed + sample index), and finished outputs are skipped."""
    import os
    from dataclasses import replace

    from pusa.batch import read_jobs, run_batch
    from pusa.conditions import FrameCondition
    from pusa.io import read_image
    from pusa.request import Models, preflight, resolve, run, validate, write_outputs

    validate(request)
    preflight(spec, request)
    jobs = read_jobs(batch)  # every line checked before any model is loaded
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    models = Models(spec, log=lambda m: typer.echo(m, err=True))
    seed = request.seed if request.seed is not None else 0

    def generate_one(job):
        conditions = (FrameCondition(read_image(job.image), 0, job.noise, label=Path(job.image).name),) if job.image else ()
        pipe = models.any()
        job_request = resolve(replace(request, prompt=job.prompt, conditions=conditions, seed=seed + job.sample),
                              pipe.config, models.rules, pipe.temporal_factor)
        return run(models.get(job_request.vta_strength), job_request)

    def write(target: Path, gen, job) -> None:
        write_outputs(gen, target, overwrite=True,
                      extra={**_provenance(spec), "line": job.line, "image": job.image, "sample": job.sample})

    done, skipped = run_batch(jobs, out_dir, generate_one, write, rank, world)
    typer.echo(f"rank {rank}/{world}: generated {done}, skipped {skipped} already finished, in {out_dir}")


def _enable_sequence_parallel(pipe) -> None:
    from pusa.models.parallel import enable_sequence_parallel

    for name in ("transformer", "transformer_2"):
        module = getattr(pipe, name, None)
        if module is not None and not getattr(module, "_pusa_sequence_parallel", False):
            enable_sequence_parallel(module)
            module._pusa_sequence_parallel = True


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
