"""``pusa preprocess`` (captioned videos → latent cache) and ``pusa train`` (the VTA adapter)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pusa.cli.common import UserError, _fail, _load_pipeline, app


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
    from pusa.training.cache_writer import check_clip_paths, check_clips_exist, read_metadata

    if max_sequence_length < 1:
        raise UserError(f"--max-sequence-length {max_sequence_length}: must be >= 1 (Wan: 512)")
    if shard_size < 1:
        raise UserError(f"--shard-size {shard_size}: must be >= 1")
    clips = read_metadata(data)  # before any model loads: every row's path, and at least one video there
    check_clip_paths(data, clips)
    if not (Path(cache) / "manifest.json").exists():  # a cache may already hold clips whose videos are gone
        check_clips_exist(data, clips)
    detect_base_layout(model)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from pusa.training.cache_reader import Bucket
    from pusa.training.cache_writer import preprocess

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
