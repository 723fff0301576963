"""`pusa generate --batch` (pusa.batch): every job once across processes, restart skips finished outputs, bad
lines named."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pusa.batch import read_jobs, shard
from pusa.cli import app


def _jobs_file(folder, n_prompts=4, samples=2):
    img = np.zeros((40, 48, 3), np.uint8)
    img[10:20, 10:30] = (200, 50, 50)
    Image.fromarray(img).save(folder / "start.png")
    lines = [json.dumps({"prompt": f"a red square moves left {i}", "image": "start.png", "samples": samples})
             for i in range(n_prompts)]
    (folder / "jobs.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "jobs.jsonl"


def _cmd(model_dir, jobs, out, steps="2"):
    return ["-m", "pusa.cli", "generate", "--model", str(model_dir), "--batch", str(jobs), "--out-dir", str(out),
            "--steps", steps, "--frames", "9"]


def test_read_jobs_and_shard(tmp_path):
    jobs = read_jobs(_jobs_file(tmp_path))
    assert len(jobs) == 8 and jobs[0].name == "a red square moves left 0-0.mp4"
    parts = shard(jobs, 0, 2) + shard(jobs, 1, 2)
    assert sorted(parts, key=lambda j: (j.line, j.sample)) == jobs


@pytest.mark.parametrize("line, message", [
    ('{"prompt": "ok"}\n{"prompt": "ok", \n', r"jobs.jsonl:2: not valid JSON"),
    ('{"prompt": "ok"}\n{"text": "x"}\n', r"jobs.jsonl:2: each line needs"),
    ('{"prompt": "ok", "samples": 0}\n', r"jobs.jsonl:1: \"samples\" must be"),
    ('{"prompt": "ok", "image": "missing.png"}\n', r"jobs.jsonl:1: image not found"),
    ("\n", r"no jobs"),
])
def test_bad_lines_are_named(tmp_path, model_dir, line, message):
    (tmp_path / "jobs.jsonl").write_text(line)
    result = CliRunner().invoke(app, ["generate", "--model", str(model_dir), "--batch", str(tmp_path / "jobs.jsonl"),
                                      "--out-dir", str(tmp_path / "out")])
    assert result.exit_code == 2
    import re

    assert re.search(message, result.stderr.strip().splitlines()[-1]), result.stderr
    assert not (tmp_path / "out").exists()


def test_two_processes_each_job_once(tmp_path, model_dir):
    jobs = _jobs_file(tmp_path)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                           str(port), *_cmd(model_dir, jobs, tmp_path / "out")], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.mp4")) == sorted(j.name for j in read_jobs(jobs))
    assert proc.stdout.count("generated 4, skipped 0") == 2


def _finished(out):
    return [p for p in out.glob("*.mp4") if not p.name.startswith(".")] if out.exists() else []


def test_killed_run_restarts_without_redoing(tmp_path, model_dir):
    jobs = _jobs_file(tmp_path, n_prompts=4, samples=2)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, *_cmd(model_dir, jobs, out, steps="20")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 200
    while len(_finished(out)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    alive = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert alive, "the batch finished before it could be killed"
    finished = {p.name: p.stat().st_mtime_ns for p in _finished(out)}
    assert 2 <= len(finished) < 8
    again = subprocess.run([sys.executable, *_cmd(model_dir, jobs, out, steps="20")], capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"skipped {len(finished)} already finished" in again.stdout
    assert len(_finished(out)) == 8
    assert all(out.joinpath(n).stat().st_mtime_ns == t for n, t in finished.items())
    assert not list(out.glob(".*"))  # no temp files left behind
