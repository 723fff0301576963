"""Reading and writing images and videos, and contact sheets. Writes are atomic (temp file + rename).

Frames are numpy arrays, uint8 [T, H, W, 3] or float in [0, 1]. Video goes through imageio-ffmpeg
(its ffmpeg binary ships in the wheel); images through Pillow.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".gif"}


class MediaError(ValueError):
    """An input file is missing or cannot be decoded."""


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] (or uint8) → uint8, rounding to nearest."""
    frames = np.asarray(frames)
    if frames.dtype == np.uint8:
        return frames
    return (np.clip(frames, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place only if the block succeeds."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} already exists; pass overwrite=True (CLI: --overwrite) to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the final file normal permissions
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_SPECIAL_ROOTS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_writable(path: str | os.PathLike, flag: str) -> Path:
    """Check, before any work, that an output file can be written at ``path``; raise a one-line ValueError
    naming ``flag`` and the user's path otherwise. Creates nothing (a tiny probe file is removed again).

    Refused: a path in /proc, /sys or /dev; a path that is a directory; a parent that is a file; and a
    parent folder (or, when it does not exist yet, its nearest existing ancestor, where it would be
    created) that this user cannot write to (permissions, read-only mount).
    """
    given = Path(path)
    resolved = Path(os.path.abspath(given))
    try:
        resolved = given.resolve()
    except (OSError, RuntimeError):  # a symlink loop: the probe below then fails with a clear line
        pass
    where = f"{flag} {given}"
    if any(resolved == root or root in resolved.parents for root in _SPECIAL_ROOTS):
        raise ValueError(f"{where}: cannot write there (read-only or special filesystem); choose another path")
    if resolved.is_dir():
        raise ValueError(f"{where}: is a directory, expected a file path (add a file name)")
    folder = resolved.parent
    while not folder.exists():
        if folder.is_symlink():  # a dangling link: it cannot be created as a folder
            raise ValueError(f"{where}: {folder} is a broken symbolic link; choose another path")
        folder = folder.parent
    if not folder.is_dir():
        raise ValueError(f"{where}: {folder} is a file, not a folder; choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{where}: cannot write there (no write permission or read-only filesystem in {folder}); "
                         f"choose another path")
    try:
        fd, probe = tempfile.mkstemp(prefix=".pusa-probe-", dir=folder)
    except OSError as err:
        reason = err.strerror or err.__class__.__name__
        raise ValueError(f"{where}: cannot write there ({reason.lower()} in {folder}); choose another path") from None
    os.close(fd)
    os.unlink(probe)
    return given


def jsonl_lines(path: str | os.PathLike):
    """(line number, parsed value) for each non-blank line of a jsonl file; bad JSON is a ValueError naming
    the line (``path:N: not valid JSON``)."""
    import json

    for number, text in enumerate(Path(path).read_text().splitlines(), start=1):
        if not text.strip():
            continue
        try:
            yield number, json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{number}: not valid JSON ({err.msg})") from None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file → uint8 [H, W, 3] (RGB)."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"image not found: {path}")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise MediaError(f"cannot read image {path}: not a readable image file ({err.__class__.__name__})") from None


def read_video(path: str | os.PathLike) -> tuple[np.ndarray, float]:
    """A video file → (uint8 [T, H, W, 3], fps)."""
    import imageio_ffmpeg

    path = Path(path)
    if not path.is_file():
        raise MediaError(f"video not found: {path}")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        width, height = meta["size"]
        frames = [np.frombuffer(buf, np.uint8).reshape(height, width, 3) for buf in reader]
    except (RuntimeError, OSError, StopIteration, KeyError, ValueError) as err:
        raise MediaError(f"cannot read video {path}: not a decodable video ({err.__class__.__name__})") from None
    if not frames:
        raise MediaError(f"cannot read video {path}: it has no frames")
    return np.stack(frames), float(meta.get("fps") or 16.0)


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: float, overwrite: bool = False) -> Path:
    """Write frames [T, H, W, 3] as H.264 mp4 (yuv420p, so H and W must be even), atomically."""
    import imageio_ffmpeg

    frames = to_uint8(frames)
    _, height, width, _ = frames.shape
    if height % 2 or width % 2:
        raise ValueError(f"H.264 needs even frame sizes, got {width}x{height}")
    with atomic_path(path, overwrite) as tmp:
        writer = imageio_ffmpeg.write_frames(str(tmp), (width, height), fps=fps, codec="libx264",
                                             pix_fmt_out="yuv420p", macro_block_size=2, quality=8,
                                             ffmpeg_log_level="error")
        writer.send(None)
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
    return Path(path)


def contact_sheet_array(frames: np.ndarray, columns: int | None = None, pad: int = 2,
                        highlight: set[int] | None = None) -> np.ndarray:
    """Tile frames [T, H, W, 3] into one uint8 image; frames in ``highlight`` get a yellow border."""
    frames = to_uint8(frames)
    t, h, w, _ = frames.shape
    columns = columns or min(t, 9)
    rows = -(-t // columns)
    sheet = np.full((rows * (h + 2 * pad), columns * (w + 2 * pad), 3), 32, np.uint8)
    for i, frame in enumerate(frames):
        r, c = divmod(i, columns)
        y, x = r * (h + 2 * pad), c * (w + 2 * pad)
        if highlight and i in highlight:
            sheet[y:y + h + 2 * pad, x:x + w + 2 * pad] = (250, 210, 40)
        sheet[y + pad:y + pad + h, x + pad:x + pad + w] = frame
    return sheet


def write_contact_sheet(path: str | os.PathLike, frames: np.ndarray, columns: int | None = None,
                        highlight: set[int] | None = None, min_tile: int = 96, overwrite: bool = False) -> Path:
    """Save a contact sheet PNG; tiny frames are upscaled (nearest) to at least ``min_tile`` pixels."""
    from PIL import Image

    frames = to_uint8(frames)
    factor = max(1, -(-min_tile // max(frames.shape[1], frames.shape[2])))
    if factor > 1:
        frames = frames.repeat(factor, axis=1).repeat(factor, axis=2)
    sheet = contact_sheet_array(frames, columns, highlight=highlight)
    with atomic_path(path, overwrite) as tmp:
        Image.fromarray(sheet).save(tmp, format="PNG")
    return Path(path)
