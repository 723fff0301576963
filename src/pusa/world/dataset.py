"""Writing a world dataset in the reference layout: clip_00000.mp4 … plus metadata.csv (file_name,text).

`world.jsonl` beside them records each file's clip seed and geometry, so `make_clip` can rebuild any
clip's ground truth without reading the video back.

`world.jsonl` is written as the clips are (one flushed line per finished clip) and metadata.csv, the
file `pusa preprocess` reads, atomically once every clip is there. So a run stopped at any point leaves
the clips written so far, their lines in world.jsonl and no metadata.csv; running it again with the same
settings resumes after the last clip, and a finished dataset always has its metadata.csv.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pusa.io import atomic_path, write_video
from pusa.world.clip import make_clip
from pusa.world.config import WorldConfig, preset

MAX_FRAMES, MIN_SIZE, MAX_SIZE = 1024, 8, 2048
MAX_PIXELS = 2**27  # frames x height x width of one clip; rendering holds a few float32 copies (~48 B each)
_NAMES = {"n": "n=", "num_frames": "num_frames=", "height": "height=", "width": "width="}


def clip_seed(seed: int, index: int) -> int:
    """Clip i of a dataset seeded `seed`: independent streams per (seed, i), no overlap between datasets."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def clip_bytes_estimate(num_frames: int, height: int, width: int) -> int:
    """A low estimate of one clip's disk use (mp4 + its world.jsonl line): measured H.264 sizes of the presets
    are 2.2–23 KB for 9x32x32 to 33x128x128, i.e. at least ~2 KB plus 1/400 of the raw frames."""
    return 2048 + num_frames * height * width * 3 // 400


def check_request(n: int, num_frames: int, height: int, width: int, seed: int = 0,
                  names: dict[str, str] | None = None) -> None:
    """Raise a one-line ValueError for a dataset request write_dataset cannot or should not do: n < 1,
    fewer than 2 frames, sizes out of [8, 2048] or odd (H.264), a clip too large to render in memory.
    ``names`` maps the parameters to how the caller spells them (the CLI: ``{"num_frames": "--frames "}``)."""
    names = {**_NAMES, **(names or {})}
    for key, value in (("n", n), ("num_frames", num_frames), ("height", height), ("width", width), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{names.get(key, key + '=')}{value!r}: expected an integer")
    if n < 1:
        raise ValueError(f"{names['n']}{n}: expected at least 1 clip")
    if seed < 0:
        raise ValueError(f"{names.get('seed', 'seed=')}{seed}: expected an integer >= 0")
    if not 2 <= num_frames <= MAX_FRAMES:
        raise ValueError(f"{names['num_frames']}{num_frames}: expected 2-{MAX_FRAMES} frames per clip")
    for key, value in (("height", height), ("width", width)):
        if not MIN_SIZE <= value <= MAX_SIZE or value % 2:
            raise ValueError(f"{names[key]}{value}: expected an even size in {MIN_SIZE}-{MAX_SIZE} pixels "
                             f"(H.264 needs even sizes)")
    if num_frames * height * width > MAX_PIXELS:
        gib = 48 * num_frames * height * width / 2**30
        raise ValueError(f"{names['num_frames']}{num_frames} {names['height']}{height} {names['width']}{width}: "
                         f"one clip would need about {gib:.0f} GiB of memory to render; "
                         f"use fewer frames or a smaller size")


def _record(index: int, seed: int, num_frames: int, height: int, width: int, config: WorldConfig) -> dict:
    return {"file_name": f"clip_{index:05d}.mp4", "seed": clip_seed(seed, index), "num_frames": num_frames,
            "height": height, "width": width, "config": dataclasses.asdict(config)}


def _read_journal(path: Path) -> tuple[list[dict], int]:
    """The lines of a world.jsonl being written, and the byte length they span. A last line cut off by a
    kill (no newline) is left out; any other line that is not JSON is a ValueError (not our journal)."""
    records, good = [], 0
    for number, line in enumerate(path.read_bytes().splitlines(keepends=True), start=1):
        try:
            record = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            if not line.endswith(b"\n"):
                break
            raise ValueError(f"{path}:{number}: not valid JSON, so the folder cannot be resumed; pass "
                             f"overwrite=True (CLI: --overwrite) to start again, or choose another folder") from None
        if not line.endswith(b"\n"):
            break
        records.append(record if isinstance(record, dict) else {})
        good += len(line)
    return records, good


def write_dataset(folder: str | os.PathLike, n: int, seed: int = 0, config: WorldConfig | str = "easy",
                  num_frames: int = 17, height: int = 64, width: int = 64, fps: float = 16.0,
                  overwrite: bool = False, progress: Callable[[int, int, str], None] | None = None) -> Path:
    """Write n clips to `folder`; returns the path of metadata.csv.

    A folder holding an unfinished run of the same settings (clips, world.jsonl, no metadata.csv) is
    resumed; one of other settings is refused unless ``overwrite``. A finished dataset (metadata.csv) is
    replaced only with ``overwrite``. ``progress(done, n, file_name)`` is called once at the start (with the
    clips already there) and after each clip. The disk space the clips need is checked first.
    """
    check_request(n, num_frames, height, width, seed)
    config = preset(config)
    folder = Path(folder)
    meta, journal = folder / "metadata.csv", folder / "world.jsonl"
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file, expected a folder for the dataset")
    if meta.exists() and not overwrite:
        raise FileExistsError(f"{meta} already exists; pass overwrite=True (CLI: --overwrite) to replace it")

    records: list[dict] = []
    good = 0
    if journal.is_file() and not overwrite:
        records, good = _read_journal(journal)
        for i, record in enumerate(records[:n]):
            expected = json.loads(json.dumps(_record(i, seed, num_frames, height, width, config)))
            same = {k: record.get(k) for k in expected} == expected
            if not same or not (folder / expected["file_name"]).is_file():
                raise ValueError(f"{folder} holds an unfinished dataset ({len(records)} clips in world.jsonl) "
                                 f"{'written with other settings' if not same else 'with a missing clip'} "
                                 f"(first differing: {expected['file_name']}); rerun with its settings to resume, "
                                 f"pass overwrite=True (CLI: --overwrite) to start again, or choose another folder")
    done = min(len(records), n)

    need = (n - done) * clip_bytes_estimate(num_frames, height, width)
    probe = folder if folder.exists() else next(p for p in folder.absolute().parents if p.exists())
    free = shutil.disk_usage(probe).free
    if need > free:
        raise ValueError(f"{n - done} clips of {num_frames}x{height}x{width} need at least {need / 1e9:.1f} GB "
                         f"but {probe} has {free / 1e9:.1f} GB free; use fewer clips or choose another disk")

    folder.mkdir(parents=True, exist_ok=True)
    if overwrite:  # replaced: until the new run finishes, the folder reads as unfinished
        meta.unlink(missing_ok=True)
        journal.unlink(missing_ok=True)
    elif journal.is_file() and good != journal.stat().st_size:
        with open(journal, "r+b") as handle:  # drop a line cut off by a kill
            handle.truncate(good)
    resumed = bool(records)
    records = records[:done]

    if progress is not None:
        progress(done, n, records[-1]["file_name"] if records else "")
    with contextlib.ExitStack() as stack:
        handle = None
        for i in range(done, n):
            record = _record(i, seed, num_frames, height, width, config)
            clip = make_clip(record["seed"], num_frames, height, width, config)
            # the clip right after the journal's last line may have been written just before a kill
            write_video(folder / record["file_name"], clip.frames, fps=fps,
                        overwrite=overwrite or (resumed and i == done))
            record["text"] = clip.caption
            if handle is None:  # opened after the first clip: a refused first clip leaves no journal behind
                handle = stack.enter_context(open(journal, "a", encoding="utf-8"))
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
            records.append(record)
            if progress is not None:
                progress(i + 1, n, record["file_name"])

    with atomic_path(meta, overwrite=True) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("file_name", "text"))
        writer.writerows((r["file_name"], r["text"]) for r in records)
    return meta
