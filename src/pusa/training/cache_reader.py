"""The latent cache, read side: the cache format, :class:`LatentCache`, and bucket-pure batches.

A cache is written by :mod:`pusa.training.cache_writer` (``pusa preprocess``); its layout::

    cache_dir/
      config.json                encoder geometry: max_sequence_length, text_dim, latent_channels, factors, dtype
      empty_prompt.safetensors   "text": the states of "" [L_e, D], for caption dropout / CFG
      manifest.json              shard sizes and sha256, and one record per sample (one per line)
      shard-00000.safetensors    "{n}.latents" [C, F, h, w] and "{n}.text" [L_n, D] for each sample n in it
      ...

Text states are stored trimmed to the caption's tokens (the encoder zeroes the rest, as Wan does)
and zero-padded again on load (:func:`pad_text`). :class:`LatentCache` only reads; a missing,
truncated or corrupted file is a :class:`DataError` naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

FORMAT, VERSION = "pusa-latent-cache", 1
CONFIG, MANIFEST, EMPTY_PROMPT = "config.json", "manifest.json", "empty_prompt.safetensors"
REBUILD = "rebuild it with `pusa preprocess` into a new cache folder"


class DataError(ValueError):
    """Training data or a latent cache is missing, malformed or inconsistent; the message names the file."""


# --- buckets ------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Bucket:
    """A training shape: pixel frames × height × width, written "17x64x64"."""

    num_frames: int
    height: int
    width: int

    @classmethod
    def parse(cls, spec: str | Bucket) -> Bucket:
        if isinstance(spec, Bucket):
            return spec
        try:
            values = [int(p) for p in str(spec).lower().split("x")]
        except ValueError:
            values = []
        if len(values) != 3 or min(values) < 1:
            raise DataError(f"bucket {spec!r} must be FRAMESxHEIGHTxWIDTH in positive integers, e.g. '17x64x64'")
        return cls(*values)

    def __str__(self) -> str:
        return f"{self.num_frames}x{self.height}x{self.width}"


# --- files --------------------------------------------------------------------------------------


def read_json(path: Path, what: str) -> dict:
    """A cache's config.json or manifest.json, checked to be this format and a version this pusa reads;
    ``what`` tells how to fix a missing file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(f"{path} is missing; {what}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path} is corrupted or truncated ({err}); {REBUILD}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f"{path} is not a pusa latent cache file; {REBUILD}")
    if data.get("version", 0) > VERSION:
        raise DataError(f"{path} has cache version {data.get('version')}; this pusa reads up to {VERSION}")
    return data


def read_manifest(path: Path) -> dict:
    """Parse and check manifest.json → {"shards": {name: {bytes, sha256}}, "samples": [record, ...]}."""
    data = read_json(path, REBUILD)
    shards, samples = data.get("shards"), data.get("samples")
    fields = {"file_name", "caption", "bucket", "shard", "key", "text_len"}
    if not isinstance(shards, dict) or not isinstance(samples, list) or not all(
            isinstance(s, dict) and fields <= s.keys() and s["shard"] in shards for s in samples):
        raise DataError(f"{path} is corrupted (bad shard or sample records); {REBUILD}")
    return {"shards": shards, "samples": samples}


def _open_safetensors(path: Path, expected: dict | None = None, verify: bool = False) -> Any:
    """safe_open a cache file, turning a missing, truncated or corrupted file into a DataError naming it."""
    from safetensors import SafetensorError, safe_open

    if not path.is_file():
        raise DataError(f"cache file {path} is missing; {REBUILD}")
    size = path.stat().st_size
    if expected and size != expected["bytes"]:
        raise DataError(f"cache file {path} is truncated or corrupted: {size} bytes, the manifest says "
                        f"{expected['bytes']}; {REBUILD}")
    if expected and verify and hashlib.sha256(path.read_bytes()).hexdigest() != expected["sha256"]:
        raise DataError(f"cache file {path} is corrupted: its sha256 differs from the manifest's; {REBUILD}")
    try:
        return safe_open(str(path), framework="pt")
    except SafetensorError as err:
        raise DataError(f"cache file {path} is corrupted or truncated ({err}); {REBUILD}") from None


def pad_text(text: torch.Tensor, max_sequence_length: int) -> torch.Tensor:
    """[L_i, D] → [max_sequence_length, D], zero rows after the caption's tokens (Wan's padding)."""
    if text.shape[0] > max_sequence_length:
        raise ValueError(f"text has {text.shape[0]} tokens, more than max_sequence_length={max_sequence_length}; "
                         f"use the cache's max_sequence_length or larger")
    return torch.nn.functional.pad(text, (0, 0, 0, max_sequence_length - text.shape[0]))


# --- reading the cache ----------------------------------------------------------------------------


class LatentCache:
    """Read-only view of a preprocessed cache. Item i → dict(latents [C, F, h, w], text [L_i, D],
    caption, bucket, file_name). Shards open lazily; ``verify=True`` also checks each shard's sha256."""

    pad_text = staticmethod(pad_text)

    def __init__(self, cache_dir: str | os.PathLike, verify: bool = False) -> None:
        self.cache_dir, self.verify = Path(cache_dir), verify
        self.config = read_json(self.cache_dir / CONFIG, "not a preprocessed cache; run `pusa preprocess` first")
        manifest = read_manifest(self.cache_dir / MANIFEST)
        self.shards, self.samples = manifest["shards"], manifest["samples"]
        self._handles: dict[str, Any] = {}

    @property
    def max_sequence_length(self) -> int:
        return int(self.config["max_sequence_length"])

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample {i} out of range for a cache of {len(self)}")
        from safetensors import SafetensorError

        rec = self.samples[i]
        shard = self._shard(rec["shard"])
        try:
            latents, text = shard.get_tensor(f"{rec['key']}.latents"), shard.get_tensor(f"{rec['key']}.text")
        except SafetensorError as err:  # a key the manifest promises is not in the shard
            raise DataError(f"cache file {self.cache_dir / rec['shard']} lacks sample {rec['key']} ({err}); "
                            f"{REBUILD}") from None
        return {"latents": latents, "text": text, "caption": rec["caption"], "bucket": Bucket.parse(rec["bucket"]),
                "file_name": rec["file_name"]}

    def _shard(self, name: str) -> Any:
        if name not in self._handles:
            self._handles[name] = _open_safetensors(self.cache_dir / name, self.shards[name], self.verify)
        return self._handles[name]

    def empty_prompt(self) -> torch.Tensor:
        """The states of the empty caption [L_e, D] (pad with :meth:`pad_text`)."""
        return _open_safetensors(self.cache_dir / EMPTY_PROMPT).get_tensor("text")

    def buckets(self) -> dict[Bucket, list[int]]:
        """Bucket → indices of its samples, buckets sorted."""
        groups: dict[Bucket, list[int]] = {}
        for i, rec in enumerate(self.samples):
            groups.setdefault(Bucket.parse(rec["bucket"]), []).append(i)
        return dict(sorted(groups.items()))

    def __getstate__(self) -> dict:  # open shard handles do not pickle (DataLoader workers reopen them)
        return {**self.__dict__, "_handles": {}}


def batch_order(cache: LatentCache, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Shuffled batches of sample indices for one epoch, each from one bucket; incomplete batches dropped.

    The same (seed, epoch) always gives the same order; a dropped remainder is seen in other epochs.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    rng = np.random.default_rng([seed, epoch])
    groups = cache.buckets()
    batches = []
    for indices in groups.values():
        perm = rng.permutation(indices).tolist()
        batches += [perm[k:k + batch_size] for k in range(0, len(perm) - batch_size + 1, batch_size)]
    if not batches:
        sizes = ", ".join(f"{b}: {len(ix)}" for b, ix in groups.items())
        raise DataError(f"no bucket holds batch_size={batch_size} samples ({sizes}); lower batch_size")
    return [batches[k] for k in rng.permutation(len(batches))]


def collate(cache: LatentCache, indices: Sequence[int], max_sequence_length: int | None = None) -> dict[str, Any]:
    """Samples of one bucket → dict(latents [B, C, F, h, w], text [B, L, D] zero-padded, captions)."""
    items = [cache[i] for i in indices]
    shapes = sorted({tuple(it["latents"].shape) for it in items})
    if len(shapes) != 1:
        raise ValueError(f"collate needs a non-empty batch from one bucket, got latent shapes {shapes}")
    length = max_sequence_length or cache.max_sequence_length
    return {"latents": torch.stack([it["latents"] for it in items]),
            "text": torch.stack([pad_text(it["text"], length) for it in items]),
            "captions": [it["caption"] for it in items]}
