"""The other commands: ``export`` and ``convert-lora`` (weights out of a run, between LoRA layouts), ``world``
(a procedural dataset), ``eval`` (score a folder of videos) and ``ui`` (the web app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pusa.cli.common import UserError, _fail, _first_line, app


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
        if out is not None and out.exists() and not out.is_dir():
            raise UserError(f"--out {out}: is a file, expected a folder (the export writes diffusers/ and "
                            f"pusa_lora_diffsynth.safetensors into it); choose another path")
        from pusa.training.export import export_checkpoint

        folder = export_checkpoint(run, step, out, ema=ema, overwrite=overwrite)
    except (UserError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as err:
        _fail(_first_line(err))
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
        from pusa.io import check_writable
        from pusa.models.lora import convert_lora_file

        if not (dst.exists() and not overwrite):  # an existing DST without --overwrite: the library says so
            check_writable(dst, "output")
        typer.echo(convert_lora_file(src, dst, to, overwrite=overwrite).summary())
    except (UserError, ValueError, FileNotFoundError, FileExistsError, NotADirectoryError) as err:
        _fail(_first_line(err))


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
    """Write a dataset of procedural world clips with captions (the layout `pusa preprocess` reads).

    A run stopped early keeps its clips and world.jsonl (metadata.csv comes last): the same command resumes it."""
    from pusa.world.dataset import check_request

    state = {"start": None, "done": 0}
    try:
        check_request(n, frames, height, width, seed, names={"n": "--n ", "num_frames": "--frames ",
                                                             "height": "--height ", "width": "--width ",
                                                             "seed": "--seed "})
        if out.exists() and not out.is_dir():
            raise UserError(f"{out}: is a file, expected a folder for the dataset; choose another path")
        if (out / "metadata.csv").exists() and not overwrite:
            raise UserError(f"{out / 'metadata.csv'} already exists; pass --overwrite or choose another folder")
        from pusa.io import check_writable

        try:
            check_writable(out / "metadata.csv", "OUT")
        except ValueError as err:
            raise UserError(f"{out}: {str(err).split(': ', 1)[-1]}") from None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from pusa.world import write_dataset
        with Progress(TextColumn("rendering"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      TextColumn("{task.description}"), transient=True) as bar:
            task = bar.add_task("", total=n)

            def progress(done: int, total: int, name: str) -> None:
                if state["start"] is None:
                    state["start"] = done
                    if done:
                        bar.console.print(f"resuming {out}: {done} of {total} clips already written",
                                          soft_wrap=True, highlight=False, markup=False)
                state["done"] = done
                bar.update(task, completed=done, description=name)

            path = write_dataset(out, n, seed=seed, config=preset, num_frames=frames, height=height, width=width,
                                 overwrite=overwrite, progress=progress)
        typer.echo(f"wrote {n} clips and {path}")
    except KeyboardInterrupt:
        typer.echo(f"interrupted after {state['done']} of {n} clips: {out} holds them and their world.jsonl lines, "
                   f"no metadata.csv yet; run the same command again to resume", err=True)
        raise typer.Exit(130) from None
    except (UserError, ValueError, TypeError, KeyError, FileExistsError) as err:
        _fail(_first_line(err))


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
    if device != "auto":
        from pusa.devices import check_device

        if vbench_python is None:
            check_device(device)  # vbench runs here: the device must exist here
        else:  # vbench runs in another environment, which may see other devices: check the spelling only
            try:
                check_device(device)
            except ValueError as err:
                if "not a device" in str(err):
                    raise
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


def _is_loopback(host: str) -> bool:
    import ipaddress

    name = host.strip().strip("[]")
    if name.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


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
        if port is not None and not 1 <= port <= 65535:
            raise UserError(f"--port {port}: must be 1-65535 (or leave it out for 7860 or the next free port)")
        if not host.strip():
            raise UserError("--host '': give an address to bind, e.g. 127.0.0.1")
        if not _is_loopback(host):
            typer.echo(f"warning: binding {host} exposes the app to your network", err=True)
        if lora is not None and not lora.exists():
            raise UserError(f"--lora {lora}: file not found")
        if lora is not None:
            from pusa.models.lora import check_lora_file

            try:
                check_lora_file(lora)
            except ValueError as err:
                raise UserError(f"--lora {str(err).removeprefix('LoRA ')}") from None
        if model is not None:
            from pusa.models.checkpoints import detect_base_layout

            detect_base_layout(model)
        try:
            import gradio  # noqa: F401

            from pusa.ui import launch
        except ImportError:
            raise UserError("the web app needs gradio: pip install 'pusa[ui]'") from None
        launch(model=model, lora=lora, out_dir=out_dir, host=host, port=port)
    except (UserError, ValueError, FileNotFoundError, RuntimeError, OSError) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)
