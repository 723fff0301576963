"""The README's commands: every `pusa ...` line names a real subcommand and real options, and its error
example prints exactly what the README shows."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from pusa.cli import app

README = Path(__file__).resolve().parents[1] / "README.md"


def commands() -> list[str]:
    """`pusa ...` lines of the README's bash blocks, continuation lines joined, comments dropped."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        text = block.replace("\\\n", " ")
        for line in text.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("pusa "):
                out.append(line)
    return out


def test_the_readme_is_short():
    assert len(README.read_text().splitlines()) <= 200


@pytest.mark.parametrize("line", commands())
def test_every_readme_command_names_real_options(line):
    argv = shlex.split(line)[1:]
    group = typer.main.get_command(app)
    assert argv[0] in group.commands, f"unknown subcommand in: {line}"
    command = group.commands[argv[0]]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    flags = [a for a in argv[1:] if a.startswith("-") and a != "..." and not re.fullmatch(r"-?\d+(\.\d+)?", a)]
    assert flags or len(argv) > 1 or argv[0] == "ui"
    for flag in flags:
        assert flag.split("=")[0] in known, f"{flag} is not an option of `pusa {argv[0]}` (in: {line})"


def test_the_readme_error_example_is_what_the_cli_prints(tmp_path):
    m = re.search(r"```\n\$ (pusa generate [^\n]*)\n(error: [^\n]*)\n```", README.read_text())
    assert m, "the README's error example is missing"
    argv = shlex.split(m.group(1))[1:] + ["--out", str(tmp_path / "x.mp4")]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2 and result.stderr.strip().splitlines()[-1] == m.group(2)
    assert not any(tmp_path.iterdir())
