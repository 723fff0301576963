"""Checking uploads and keeping every output inside the chosen folder.

An upload is size-checked, then type-checked by decoding it (images: Pillow's ``verify`` then
``pusa.io.read_image``; videos: ``pusa.io.read_video``). The checked file is copied into the run's
folder, so the equivalent ``pusa generate`` command names files that stay put.
"""

from __future__ import annotations

import re
import secrets
import shutil
import time
from pathlib import Path

import numpy as np

from pusa.io import VIDEO_SUFFIXES, MediaError, read_image, read_video

MAX_IMAGE_BYTES = 20 * 2**20
MAX_VIDEO_BYTES = 200 * 2**20
MAX_IMAGE_PIXELS = 4096 * 4096


class UploadError(ValueError):
    """An upload that is too large, of the wrong type, or undecodable."""


def _check_size(path: Path, what: str, limit: int) -> None:
    if not path.is_file():
        raise UploadError(f"{what}: the upload is missing; upload it again")
    size = path.stat().st_size
    if size > limit:
        raise UploadError(f"{what}: {size / 2**20:.1f} MiB is over the {limit / 2**20:.0f} MiB limit")


def _suffix(path: Path, allowed: set[str], what: str, kind: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in allowed:
        raise UploadError(f"{what}: {path.name!r} is not {kind} ({', '.join(sorted(allowed))})")
    return suffix


def check_image(path: str | Path, what: str = "image") -> np.ndarray:
    """A checked image upload → uint8 [H, W, 3]; raises UploadError with a one-line reason."""
    from PIL import Image

    path = Path(path)
    _check_size(path, what, MAX_IMAGE_BYTES)
    try:
        with Image.open(path) as img:
            if img.width * img.height > MAX_IMAGE_PIXELS:
                raise UploadError(f"{what}: {img.width}x{img.height} is over the {MAX_IMAGE_PIXELS} pixel limit")
            img.verify()
        return read_image(path)
    except UploadError:
        raise
    except (OSError, MediaError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise UploadError(f"{what}: {path.name!r} is not a readable image (PNG, JPEG, WebP or BMP)") from None


def check_video(path: str | Path, what: str = "video") -> np.ndarray:
    """A checked video upload → uint8 [T, H, W, 3]; raises UploadError with a one-line reason."""
    path = Path(path)
    _check_size(path, what, MAX_VIDEO_BYTES)
    _suffix(path, VIDEO_SUFFIXES, what, "a video file")
    try:
        return read_video(path)[0]
    except MediaError:
        raise UploadError(f"{what}: {path.name!r} is not a decodable video") from None


def safe_name(text: str, max_len: int = 40) -> str:
    """Letters, digits, '-' and '_' only (anything else becomes '-'), never empty, at most max_len."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-_")[:max_len]
    return name or "run"


def inside(root: Path, path: Path) -> Path:
    """``path`` resolved; raises ValueError unless it lies inside ``root``."""
    root, resolved = root.resolve(), path.resolve()
    if resolved != root and root not in resolved.parents:
        raise ValueError(f"refusing to write {path}: outside the output folder {root}")
    return resolved


def new_run_dir(out_dir: Path, task: str, seed: int) -> Path:
    """A fresh folder ``out_dir/YYYYmmdd-HHMMSS-task-seedN-xxxx`` for one generation."""
    name = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_name(task, 16)}-seed{int(seed)}-{secrets.token_hex(2)}"
    run = inside(out_dir, out_dir / name)
    (run / "inputs").mkdir(parents=True)
    return run


def keep_copy(src: str | Path, run_dir: Path, stem: str) -> Path:
    """Copy a checked upload to ``run_dir/inputs/<stem><suffix>`` (stem sanitised) and return that path."""
    src = Path(src)
    suffix = src.suffix.lower() if re.fullmatch(r"\.[a-z0-9]{1,5}", src.suffix.lower()) else ""
    dst = inside(run_dir, run_dir / "inputs" / f"{safe_name(stem, 24)}{suffix}")
    shutil.copyfile(src, dst)
    return dst
