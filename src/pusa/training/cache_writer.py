"""The latent cache, write side: a folder of videos + ``metadata.csv`` → safetensors shards.

Input (the reference layout): ``data_dir/metadata.csv`` with the header ``file_name,text`` and the
videos beside it. :func:`preprocess` gives each clip the bucket (frames × height × width) whose aspect
ratio fits best, takes its first ``num_frames`` frames, centre-crops and resizes them, and caches them
in the layout described in :mod:`pusa.training.cache_reader`; :func:`cache_frames` does the same for
clips held in memory.

Every file is written atomically (temp file + rename) and the manifest only after its shard, so a run
stopped at any point leaves a valid cache: the next run skips clips already in the manifest and
encodes again only the clips of the unfinished shard. Referenced shards are never rewritten.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import logging
import math
import os
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath
from typing import Any

import torch

from pusa.conditions import fit_frames, to_frames
from pusa.frames import check_frame_count, vae_factors
from pusa.io import MediaError, atomic_path, read_video
from pusa.training.cache_reader import (
    CONFIG,
    EMPTY_PROMPT,
    FORMAT,
    MANIFEST,
    REBUILD,
    VERSION,
    Bucket,
    DataError,
    read_json,
    read_manifest,
)

logger = logging.getLogger(__name__)

METADATA = "metadata.csv"
# config.json keys that must agree before a run may add samples to an existing cache
MATCHING_KEYS = ("format", "max_sequence_length", "text_dim", "latent_channels", "temporal_factor",
                 "spatial_factor", "dtype", "vae", "text_encoder")


# --- metadata.csv -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Clip:
    """One row of metadata.csv: a video path relative to the data folder, and its caption."""

    file_name: str
    text: str


def read_metadata(data_dir: str | os.PathLike) -> list[Clip]:
    """``data_dir/metadata.csv`` (header ``file_name,text``; other columns ignored) → clips in file order."""
    path = Path(data_dir) / METADATA
    if not path.is_file():
        raise DataError(f"{path} not found; put a metadata.csv with the header file_name,text beside the videos")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames is None:
                raise DataError(f"{path} is empty; it needs the header file_name,text and one row per clip")
            reader.fieldnames = columns = [c.strip() for c in reader.fieldnames]
            rows = list(reader)
    except (UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"cannot parse {path} ({err}); save it as UTF-8 CSV with the header file_name,text") from None
    for name, what in (("file_name", "video file"), ("text", "caption")):
        if name not in columns:
            raise DataError(f"{path} has no '{name}' ({what}) column; its columns are {columns}; "
                            f"the header must be file_name,text")
    if not rows:
        raise DataError(f"{path} has no rows; add one line per clip: file_name,text")
    return [Clip((r["file_name"] or "").strip(), (r["text"] or "").strip()) for r in rows]


def check_clip_paths(data_dir: str | os.PathLike, clips: Sequence[Clip]) -> None:
    """Refuse, naming the row, a file_name that is absolute or leaves ``data_dir`` (``..``, or a symbolic link
    that resolves outside it): preprocess reads only inside the data folder. Checks every row, reads nothing."""
    data_dir = Path(data_dir)
    try:
        root = data_dir.resolve()
    except (OSError, RuntimeError) as err:
        raise DataError(f"cannot resolve the data folder {data_dir} ({err})") from None
    for row, clip in enumerate(clips, start=1):
        where = f"{data_dir / METADATA} row {row} (file_name {clip.file_name!r})"
        if Path(clip.file_name).is_absolute() or PureWindowsPath(clip.file_name).anchor:
            raise DataError(f"{where}: an absolute path; give the video's path relative to {data_dir} "
                            f"(only files inside the data folder are read)")
        try:
            target = (root / clip.file_name).resolve()
        except (OSError, RuntimeError):
            raise DataError(f"{where}: cannot be resolved (a symbolic link loop?)") from None
        if target != root and root not in target.parents:
            raise DataError(f"{where}: leaves the data folder (resolves to {target}); only files inside "
                            f"{data_dir} are read: move the video there")


def check_clips_exist(data_dir: str | os.PathLike, clips: Sequence[Clip]) -> None:
    """DataError if not one of the listed videos exists (a wrong folder or file names): checked before any
    model loads. Some missing videos are only skipped (and counted) by :func:`preprocess`."""
    data_dir = Path(data_dir)
    if clips and not any((data_dir / c.file_name).is_file() for c in clips):
        raise DataError(f"all {len(clips)} videos listed in {data_dir / METADATA} are missing (e.g. "
                        f"{clips[0].file_name!r}); file_name is the path relative to {data_dir}")


# --- buckets ------------------------------------------------------------------------------------


def choose_bucket(num_video_frames: int, video_height: int, video_width: int,
                  buckets: Iterable[str | Bucket]) -> Bucket | None:
    """The bucket closest in aspect ratio among those with num_frames ≤ the video's (ties → the largest).

    None when the video is shorter than every bucket.
    """
    fitting = [b for b in map(Bucket.parse, buckets) if b.num_frames <= num_video_frames]
    if not fitting:
        return None
    target = math.log(video_height / video_width)

    def key(b: Bucket) -> tuple:
        distance = round(abs(math.log(b.height / b.width) - target), 9)  # rounded so equal ratios tie
        return distance, -b.num_frames * b.height * b.width, -b.num_frames
    return min(fitting, key=key)


def check_buckets(buckets: Iterable[str | Bucket], temporal_factor: int, spatial_multiple: int) -> list[Bucket]:
    """Parse buckets and check each against the autoencoder; errors suggest the nearest valid values."""
    parsed = list(dict.fromkeys(map(Bucket.parse, buckets)))
    if not parsed:
        raise DataError("no buckets given; pass at least one FRAMESxHEIGHTxWIDTH, e.g. '17x64x64'")
    m = spatial_multiple
    for b in parsed:
        try:
            check_frame_count(b.num_frames, temporal_factor)
        except ValueError as err:
            raise DataError(f"bucket {b}: {err}") from None
        for name, v in (("height", b.height), ("width", b.width)):
            if v % m:
                raise DataError(f"bucket {b}: {name}={v} must be a multiple of {m}; use {max(m, v // m * m)} "
                                f"or {(v // m + 1) * m}")
    return parsed


# --- small file helpers ---------------------------------------------------------------------------


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomic and durable: temp file, fsync, rename. Replaces an existing file."""
    with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _write_manifest(cache_dir: Path, shards: dict, samples: list[dict]) -> None:
    records = ",\n".join(json.dumps(s, ensure_ascii=False) for s in samples)
    text = (f'{{"format": "{FORMAT}", "version": {VERSION},\n"shards": {json.dumps(shards)},\n'
            f'"samples": [\n{records}\n]}}\n')
    _write_bytes(cache_dir / MANIFEST, text.encode("utf-8"))


def trim_text(states: torch.Tensor) -> torch.Tensor:
    """[L, D] zero-padded text states → [L_i, D], cut after the last non-zero row (the caption's tokens)."""
    nonzero = states.abs().amax(dim=-1) > 0  # [L]
    length = int(nonzero.nonzero().max()) + 1 if nonzero.any() else 0
    return states[:length]


# --- preprocess -----------------------------------------------------------------------------------


@dataclass
class SkippedClip:
    """A clip preprocess could not use; kind is "missing", "undecodable" or "too short"."""

    file_name: str
    kind: str
    reason: str


@dataclass
class PreprocessReport:
    """What a preprocess run did. ``total`` counts metadata rows; ``skipped`` lists the clips not cached."""

    cache_dir: Path
    total: int
    already_cached: int
    min_frames: int
    encoded: int = 0
    skipped: list[SkippedClip] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return dict(Counter(s.kind for s in self.skipped))

    def skip_summary(self) -> str:
        """E.g. "3 missing, 1 too short (needs ≥ 17 frames)"."""
        label = {"too short": f"too short (needs ≥ {self.min_frames} frames)"}
        return ", ".join(f"{n} {label.get(kind, kind)}" for kind, n in self.counts.items())

    def summary(self) -> str:
        line = f"cached {self.encoded} new clips in {self.cache_dir} ({self.already_cached} already cached)"
        return line + (f"; skipped {len(self.skipped)}: {self.skip_summary()}" if self.skipped else "")


class _Skip(Exception):
    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind, self.reason = kind, reason


def _load_clip(path: Path, buckets: Sequence[Bucket], min_frames: int) -> tuple[torch.Tensor, Bucket]:
    """Read a video, choose its bucket, fit the first frames to it → (float [T, H, W, 3] in [0, 1], bucket)."""
    if not path.is_file():
        raise _Skip("missing", f"video not found: {path}")
    try:
        video, _ = read_video(path)  # uint8 [T, H, W, 3]
    except MediaError as err:
        raise _Skip("undecodable", str(err)) from None
    t, h, w, _ = video.shape
    bucket = choose_bucket(t, h, w, buckets)
    if bucket is None:
        raise _Skip("too short", f"{path} has {t} frames; the smallest bucket needs {min_frames}")
    return fit_frames(to_frames(video[:bucket.num_frames]), bucket.height, bucket.width), bucket


def _cache_config(pipe: Any, max_sequence_length: int, text_dim: int, dtype: torch.dtype) -> dict:
    r, s = vae_factors(pipe.vae.config)
    channels = getattr(pipe.vae, "latent_channels", None) or getattr(pipe.vae.config, "z_dim", None) \
        or pipe.transformer.config.in_channels
    return {"format": FORMAT, "version": VERSION, "max_sequence_length": max_sequence_length, "text_dim": text_dim,
            "latent_channels": int(channels), "temporal_factor": r, "spatial_factor": s,
            "dtype": str(dtype).removeprefix("torch."), "vae": type(pipe.vae).__name__,
            "text_encoder": type(pipe.text_encoder).__name__}


def _open_existing(cache_dir: Path, config: dict) -> dict | None:
    """The existing cache's manifest (after checking it was built the same way), or None when there is no
    cache yet. Writes nothing."""
    if (cache_dir / CONFIG).exists():
        old = read_json(cache_dir / CONFIG, REBUILD)
        diffs = [f"{k}={old.get(k)!r} (this run: {config[k]!r})" for k in MATCHING_KEYS if old.get(k) != config[k]]
        if diffs:
            raise DataError(f"{cache_dir} was built with {', '.join(diffs)}; refusing to mix: use a new cache "
                            f"folder or the cache's settings")
        return read_manifest(cache_dir / MANIFEST)
    if (cache_dir / MANIFEST).exists() or any(cache_dir.glob("shard-*.safetensors")):
        raise DataError(f"{cache_dir} holds cache files but no {CONFIG}; refusing to touch them: "
                        f"use a new cache folder")
    if cache_dir.exists() and not cache_dir.is_dir():
        raise DataError(f"cache {cache_dir} is a file, expected a folder; choose another path")
    return None


def _open_or_create(cache_dir: Path, config: dict, empty: torch.Tensor) -> dict:
    """The existing cache's manifest (after checking it was built the same way), or a new empty cache."""
    manifest = _open_existing(cache_dir, config)
    return manifest if manifest is not None else _create(cache_dir, config, empty)


def _create(cache_dir: Path, config: dict, empty: torch.Tensor) -> dict:
    """A new empty cache: folder, empty prompt, manifest, and config.json last."""
    from safetensors.torch import save

    cache_dir.mkdir(parents=True, exist_ok=True)
    _write_bytes(cache_dir / EMPTY_PROMPT, save({"text": empty.contiguous()}))
    _write_manifest(cache_dir, {}, [])
    _write_bytes(cache_dir / CONFIG, (json.dumps(config, indent=2) + "\n").encode())  # last: marks the cache complete
    return {"shards": {}, "samples": []}


def _pending(clips: Sequence[Clip], samples: Sequence[dict]) -> list[Clip]:
    """Clips not yet in the cache (a repeated row counts once per repeat)."""
    done = Counter((s["file_name"], s["caption"]) for s in samples)
    pending = []
    for clip in clips:
        if done[clip.file_name, clip.text] > 0:
            done[clip.file_name, clip.text] -= 1
        else:
            pending.append(clip)
    if stale := sum(done.values()):
        logger.warning("%d cached samples are no longer in metadata.csv; they stay in the cache", stale)
    return pending


class _ShardWriter:
    """Buffers encoded samples; writes each full shard, then the manifest that references it."""

    def __init__(self, cache_dir: Path, manifest: dict, shard_size: int,
                 create: Callable[[], object] | None = None) -> None:
        self.cache_dir, self.shard_size, self.create = cache_dir, shard_size, create  # create: before 1st write
        self.shards, self.samples = manifest["shards"], manifest["samples"]
        self.records: list[dict] = []
        self.tensors: dict[str, torch.Tensor] = {}

    def add(self, record: dict, latents: torch.Tensor, text: torch.Tensor) -> None:
        key = str(len(self.samples) + len(self.records))
        self.tensors[f"{key}.latents"], self.tensors[f"{key}.text"] = latents, text
        self.records.append({**record, "key": key})
        if len(self.records) == self.shard_size:
            self.flush()

    def flush(self) -> None:
        from safetensors.torch import save

        if not self.records:
            return
        if self.create is not None:  # a new cache is created only when it gets its first shard
            self.create()
            self.create = None
        # Shards are numbered in order, so this name is new or an unreferenced leftover of a stopped run.
        name = f"shard-{len(self.shards):05d}.safetensors"
        data = save(self.tensors)
        _write_bytes(self.cache_dir / name, data)
        self.shards[name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        self.samples.extend({**r, "shard": name} for r in self.records)
        _write_manifest(self.cache_dir, self.shards, self.samples)
        self.records, self.tensors = [], {}


def preprocess(data_dir: str | os.PathLike, cache_dir: str | os.PathLike, pipe: Any,
               buckets: Sequence[str | Bucket], max_sequence_length: int = 512, shard_size: int = 64,
               progress: Callable[[int, int, str], None] | None = None,
               dtype: torch.dtype = torch.float32) -> PreprocessReport:
    """Encode every clip of ``data_dir/metadata.csv`` into ``cache_dir``; resumable (see module docstring).

    ``pipe`` is a PusaPipeline (its encode_prompt and encode_frames). A missing, undecodable or too-short
    video is skipped with a warning and listed in the report; DataError if the cache ends up empty.
    ``progress(done, total, file_name)`` is called after each clip, counting clips cached earlier as done.
    Only files inside ``data_dir`` are read (an absolute or escaping file_name is a DataError naming its row,
    checked for every row first), and a new cache folder is created with its first shard: a run that caches
    nothing leaves nothing behind.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be >= 1, got {shard_size}")
    clips, data_dir, cache_dir = read_metadata(data_dir), Path(data_dir), Path(cache_dir)
    check_clip_paths(data_dir, clips)  # every row, before anything is read or written
    r, s = vae_factors(pipe.vae.config)
    buckets = check_buckets(buckets, r, s * pipe.transformer.config.patch_size[1])
    empty = trim_text(pipe.encode_prompt([""], max_sequence_length)[0]).to("cpu", dtype)  # [L_e, D]
    config = _cache_config(pipe, max_sequence_length, empty.shape[-1], dtype)
    manifest = _open_existing(cache_dir, config)
    create = None
    if manifest is None:  # a new cache: nothing is written until the first shard (no clip, no cache folder)
        manifest = {"shards": {}, "samples": []}
        create = functools.partial(_create, cache_dir, config, empty)
    pending = _pending(clips, manifest["samples"])
    report = PreprocessReport(cache_dir, len(clips), len(clips) - len(pending), min(b.num_frames for b in buckets))
    writer = _ShardWriter(cache_dir, manifest, shard_size, create)
    for done, clip in enumerate(pending, start=report.already_cached + 1):
        try:
            frames, bucket = _load_clip(data_dir / clip.file_name, buckets, report.min_frames)
        except _Skip as skip:
            logger.warning("skipping %s: %s", clip.file_name, skip.reason)
            report.skipped.append(SkippedClip(clip.file_name, skip.kind, skip.reason))
        else:
            latents = pipe.encode_frames(frames)[0].to("cpu", dtype).contiguous()  # [C, F, h, w]
            text = trim_text(pipe.encode_prompt([clip.text], max_sequence_length)[0]).to("cpu", dtype).contiguous()
            if latents.shape[0] != config["latent_channels"]:
                raise DataError(f"the autoencoder gave {latents.shape[0]} latent channels, its config says "
                                f"{config['latent_channels']}")
            writer.add({"file_name": clip.file_name, "caption": clip.text, "bucket": str(bucket),
                        "text_len": text.shape[0]}, latents, text)
            report.encoded += 1
        if progress is not None:
            progress(done, len(clips), clip.file_name)
    writer.flush()
    if not manifest["samples"]:
        raise DataError(f"no usable clips in {data_dir / METADATA}: {report.skip_summary()}")
    return report


def cache_frames(cache_dir: str | os.PathLike, pipe: Any, clips: Iterable[tuple[str, Any, str]],
                 max_sequence_length: int = 512, shard_size: int = 64, dtype: torch.dtype = torch.float32) -> int:
    """Encode in-memory clips (name, frames [T, H, W, 3] in [0, 1] or uint8, caption) into ``cache_dir``.

    The same cache format as :func:`preprocess` (which reads videos from disk), for data that is
    generated rather than filmed, such as ``pusa.world`` clips; no lossy video file in between. Clips
    whose (name, caption) is already cached are skipped, so a stopped run resumes. Returns the number
    of clips encoded now.
    """
    cache_dir = Path(cache_dir)
    empty = trim_text(pipe.encode_prompt([""], max_sequence_length)[0]).to("cpu", dtype)
    config = _cache_config(pipe, max_sequence_length, empty.shape[-1], dtype)
    manifest = _open_or_create(cache_dir, config, empty)
    done = {(s["file_name"], s["caption"]) for s in manifest["samples"]}
    writer = _ShardWriter(cache_dir, manifest, shard_size)
    encoded = 0
    for name, frames, caption in clips:
        if (name, caption) in done:
            continue
        frames = to_frames(frames)
        t, h, w = frames.shape[:3]
        latents = pipe.encode_frames(frames)[0].to("cpu", dtype).contiguous()
        text = trim_text(pipe.encode_prompt([caption], max_sequence_length)[0]).to("cpu", dtype).contiguous()
        writer.add({"file_name": name, "caption": caption, "bucket": str(Bucket(t, h, w)),
                    "text_len": text.shape[0]}, latents, text)
        encoded += 1
    writer.flush()
    return encoded
