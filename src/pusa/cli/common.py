"""What every ``pusa`` command shares: the one typer ``app``, ``UserError`` and the helpers that turn bad
input into one line on stderr and exit code 2."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False, rich_markup_mode=None,
                  help="Vectorized-timestep video diffusion (Pusa): one model for every video task.")

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """Bad input from the command line: printed as one line, exit code 2."""


@app.callback()
def _root() -> None:
    """pusa: vectorized-timestep video diffusion."""


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def _device(name: str) -> str:
    from pusa.devices import check_device

    return check_device(name)


def _load_pipeline(model: Path, dtype: str = "float32"):
    from pusa.request import load_model_folder

    return load_model_folder(model, dtype, log=lambda m: typer.echo(m, err=True))


def _first_line(err: Exception) -> str:
    """An exception's first line for the command line: the library's ``overwrite=True`` becomes ``--overwrite``."""
    text = str(err).strip("'\"").splitlines()[0] if str(err).strip("'\"") else err.__class__.__name__
    return text.replace("pass overwrite=True (CLI: --overwrite)", "pass --overwrite").replace(
        "pass overwrite=True", "pass --overwrite")
