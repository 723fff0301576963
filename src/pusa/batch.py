"""Batch generation for benchmark suites: a jsonl of jobs, sharded over processes, resumable.

Each line of the jsonl is one prompt: ``{"prompt": "...", "image": "path.png", "noise": 0.0,
"samples": 5}`` (``image`` and ``noise`` optional; ``samples`` defaults to 5 as in VBench). Sample i of
a prompt is written as ``{prompt}-{i}.mp4`` (VBench's naming) with a ``.json`` of its settings beside
it. Job k of the expanded list runs on process k mod world_size (``RANK``/``WORLD_SIZE`` from torchrun
or accelerate), and a job whose mp4 already exists is skipped, so a killed run restarts where it
stopped. Outputs are written atomically, so a half-written video never counts as finished.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from glob import escape as glob_escape
from pathlib import Path


@dataclass(frozen=True)
class Job:
    line: int
    prompt: str
    image: str | None
    noise: float
    sample: int

    @property
    def name(self) -> str:
        """VBench's file name: the prompt itself (path separators replaced), then the sample index."""
        return f"{self.prompt.replace('/', '_')}-{self.sample}.mp4"


def read_jobs(path: str | os.PathLike) -> list[Job]:
    """Parse and validate every line first; a bad line raises a ValueError naming its line number."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"batch file not found: {path}")
    from pusa.io import jsonl_lines

    jobs = []
    for number, row in jsonl_lines(path):
        if not isinstance(row, dict) or not isinstance(row.get("prompt"), str) or not row["prompt"].strip():
            raise ValueError(f"{path}:{number}: each line needs a non-empty \"prompt\" string")
        unknown = set(row) - {"prompt", "image", "noise", "samples"}
        if unknown:
            raise ValueError(f"{path}:{number}: unknown key(s) {sorted(unknown)}; use prompt, image, noise, samples")
        samples, noise = row.get("samples", 5), row.get("noise", 0.0)
        if not isinstance(samples, int) or samples < 1:
            raise ValueError(f"{path}:{number}: \"samples\" must be an integer >= 1, got {samples!r}")
        if not isinstance(noise, (int, float)) or not 0.0 <= noise <= 1.0:
            raise ValueError(f"{path}:{number}: \"noise\" must be in [0, 1], got {noise!r}")
        image = row.get("image")
        if image is not None:
            image = str(path.parent / image) if not Path(image).is_absolute() else image
            if not Path(image).is_file():
                raise ValueError(f"{path}:{number}: image not found: {image}")
        jobs += [Job(number, row["prompt"], image, float(noise), i) for i in range(samples)]
    if not jobs:
        raise ValueError(f"{path}: no jobs (the file is empty)")
    return jobs


def shard(jobs: list[Job], rank: int, world_size: int) -> list[Job]:
    """This process's jobs: every world_size-th, starting at rank."""
    return jobs[rank::world_size]


def run_batch(jobs: list[Job], out_dir: str | os.PathLike, generate: Callable[[Job], object],
              write: Callable[[Path, object, Job], None], rank: int = 0, world_size: int = 1) -> tuple[int, int]:
    """Generate this rank's unfinished jobs; returns (done now, skipped as already finished)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    done = skipped = 0
    for job in shard(jobs, rank, world_size):
        target = out_dir / job.name
        if target.exists():
            skipped += 1
            continue
        for stale in out_dir.glob(f".{glob_escape(target.stem)}.*"):  # temp files of a killed run
            stale.unlink()
        write(target, generate(job), job)
        done += 1
    return done, skipped
