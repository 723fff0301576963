"""The ``pusa`` command. A thin layer: parse → build → run; everything here is in the Python API.

Bad input gets one line on stderr ("error: …") and exit code 2, never a traceback.

One module per concern, every command on the one ``app`` of :mod:`pusa.cli.common`: :mod:`pusa.cli.generate`
(``generate``), :mod:`pusa.cli.train` (``preprocess``, ``train``) and :mod:`pusa.cli.tools` (``export``,
``convert-lora``, ``world``, ``eval``, ``ui``). Importing this package registers them all.
"""

from __future__ import annotations

# Importing a module registers its @app.command()s; `pusa --help` lists them in this order.
from pusa.cli import generate, train  # noqa: F401  (generate, then preprocess and train)

# isort: split
from pusa.cli import tools  # noqa: F401  (then export, convert-lora, world, eval and ui)
from pusa.cli.common import EXIT_BAD_INPUT, UserError, _device, _fail, _first_line, _load_pipeline, _root, app  # noqa: F401
from pusa.cli.generate import ConditionFlags, build_conditions, long_flags, model_spec, parse_image_spec, parse_keep

__all__ = ["EXIT_BAD_INPUT", "ConditionFlags", "UserError", "app", "build_conditions", "long_flags", "main",
           "model_spec", "parse_image_spec", "parse_keep"]


def main() -> None:
    app()
