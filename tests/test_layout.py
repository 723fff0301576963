"""Code layout rules a reader relies on: short CLI functions, no hidden argument passing, no tracked stubs."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_no_cli_function_is_over_60_lines_and_none_passes_locals():
    tree = ast.parse((ROOT / "src/pusa/cli.py").read_text())
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, f"functions over 60 lines in cli.py: {long}"
    hidden = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
              and n.func.id == "locals"]
    assert not hidden, f"locals() passed around at lines {hidden}"


def test_no_stub_files_are_tracked():
    files = subprocess.run(["git", "ls-files", "*.pyi"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert not files, f"tracked stubs shadow the real modules for type checkers: {files}"


def test_help_fits_an_80_column_terminal():
    import typer.main
    from typer.testing import CliRunner

    from pusa.cli import app

    group = typer.main.get_command(app)
    for name in group.commands:
        result = CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
        assert result.exit_code == 0, result.output
        wide = [line for line in result.output.splitlines() if len(line) > 80]
        assert not wide, f"`pusa {name} --help` has lines over 80 columns: {wide[:2]}"
