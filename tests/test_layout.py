"""Code layout rules a reader relies on: short CLI functions, no hidden argument passing, no tracked stubs."""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


CLI = ROOT / "src/pusa/cli"


def _long_and_hidden(path: Path) -> tuple[list, list]:
    """Functions of ``path`` over 60 lines (name, length), and the lines that call ``locals()``."""
    tree = ast.parse(path.read_text())
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    hidden = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
              and n.func.id == "locals"]
    return long, hidden


def test_no_cli_function_is_over_60_lines_and_none_passes_locals():
    files = sorted(CLI.rglob("*.py"))
    assert {"__init__.py", "generate.py", "train.py", "tools.py"} <= {f.name for f in files}, files
    for path in files:
        long, hidden = _long_and_hidden(path)
        assert not long, f"functions over 60 lines in {path.relative_to(ROOT)}: {long}"
        assert not hidden, f"locals() passed around in {path.relative_to(ROOT)} at lines {hidden}"


def test_the_cli_layout_check_can_fail(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    (tmp_path / "long.py").write_text(f"def f():\n{body}    return locals()\n")
    assert _long_and_hidden(tmp_path / "long.py") == ([("f", 62)], [62])


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
