"""The non-proxy backends of ``pusa eval``: VBench's own networks, and world ground truth.

**vbench.** VBench pins old transformers and numpy<2, so it usually lives in its own environment:
``--vbench-python`` names that interpreter (default: this one). It is used only when that interpreter
can import ``vbench`` AND the user points at local weights (``--vbench-weights DIR`` or
``PUSA_VBENCH_WEIGHTS``, used as ``VBENCH_CACHE_DIR``). It runs in a child process with the network
blocked (sockets refused; wget/curl/git refused; HF and torch.hub offline), so a missing weight file
fails the run instead of downloading. It scores VBench's six quality dimensions through VBench's
``custom_input`` mode; the three I2V dimensions need VBench-I2V's suite images and are not wired.

**world.** A folder with a ``world.jsonl`` (written by ``pusa world``; one line per file with its
clip seed, size and world config) lets every listed video be compared with the ground truth of the
clip it came from (pusa.world.metrics). These metrics have their own names and scales (``world_*``)
and never enter a VBench total.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

WEIGHTS_ENV = "PUSA_VBENCH_WEIGHTS"
VBENCH_DIMENSIONS = ("subject_consistency", "background_consistency", "motion_smoothness", "dynamic_degree",
                     "aesthetic_quality", "imaging_quality")

# Runs inside the vbench interpreter: block the network, then VBench's custom-input evaluation.
_DRIVER = r"""
import os, socket, subprocess, sys
videos, out, device, dims = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split(",")

def refuse(*args, **kwargs):
    raise OSError("pusa eval: network access is blocked while VBench runs; put the weights in VBENCH_CACHE_DIR")

socket.socket.connect = socket.socket.connect_ex = refuse
socket.create_connection = refuse
_popen, _system = subprocess.Popen, os.system
FETCHERS = {"wget", "curl", "git"}

class GuardedPopen(_popen):
    def __init__(self, args, *a, **k):
        argv = args.split() if isinstance(args, str) else list(args)
        if argv and os.path.basename(str(argv[0])) in FETCHERS:
            refuse()
        super().__init__(args, *a, **k)

subprocess.Popen = GuardedPopen
os.system = lambda cmd: refuse() if cmd.split() and os.path.basename(cmd.split()[0]) in FETCHERS else _system(cmd)
if device == "auto":
    import torch
    device = "cuda" if torch.cuda.is_available() else "cpu"
from vbench import VBench
VBench(device, "", out).evaluate(videos_path=videos, name="pusa", dimension_list=dims, local=True, mode="custom_input")
"""


# ------------------------------------------------------------------------------------------ vbench
def vbench_missing(python: str | None = None) -> str | None:
    """None if ``python`` (default: this interpreter) can import vbench, else the reason in one line."""
    if python is None or Path(python).resolve() == Path(sys.executable).resolve():
        if importlib.util.find_spec("vbench") is None:
            return f"the vbench package is not importable by {sys.executable}"
        return None
    if not Path(python).is_file():
        return f"--vbench-python {python}: no such interpreter"
    try:
        code = "import importlib.util, sys; sys.exit(importlib.util.find_spec('vbench') is None)"
        probe = subprocess.run([python, "-c", code], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"--vbench-python {python}: cannot run it ({err.__class__.__name__})"
    return None if probe.returncode == 0 else f"the vbench package is not importable by {python}"


def resolve_weights(weights: str | os.PathLike | None) -> Path | None:
    """The local VBench weights folder from the argument or $PUSA_VBENCH_WEIGHTS; None if neither is set."""
    value = weights if weights is not None else os.environ.get(WEIGHTS_ENV) or None
    if value is None:
        return None
    path = Path(value)
    if not path.is_dir():
        raise ValueError(f"--vbench-weights {value}: not a folder (it must hold VBench's weights, as VBENCH_CACHE_DIR "
                         f"does; pusa never downloads them)")
    return path


def choose_vbench(backend: str, weights, python: str | None) -> tuple[Path | None, str]:
    """(weights folder to run VBench with, or None; one line saying why) for --backend auto|proxy|vbench.

    ``vbench`` without the package or without local weights is a ValueError; ``auto`` falls back to proxy.
    """
    if backend not in ("auto", "proxy", "vbench"):
        raise ValueError(f"--backend {backend!r}: use auto, proxy or vbench")
    if backend == "proxy":
        return None, "not used (--backend proxy)"
    missing, path = vbench_missing(python), resolve_weights(weights)
    if backend == "vbench" and missing:
        raise ValueError(f"--backend vbench: {missing}; install it in its own environment and pass --vbench-python, "
                         f"or use --backend proxy")
    if backend == "vbench" and path is None:
        raise ValueError(f"--backend vbench needs local weights: pass --vbench-weights DIR or set {WEIGHTS_ENV} "
                         f"(pusa never downloads them)")
    if missing:
        return None, f"not used: {missing}"
    if path is None:
        return None, f"not used: no local weights (--vbench-weights DIR or {WEIGHTS_ENV}); pusa never downloads them"
    return path, f"used for {', '.join(VBENCH_DIMENSIONS)} (weights: {path})"


def run_vbench(videos: str | os.PathLike, weights: Path, python: str | None = None, device: str = "auto",
               dimensions: tuple[str, ...] = VBENCH_DIMENSIONS) -> dict[str, dict[str, float]]:
    """VBench's per-video scores {file name: {dimension: fraction}} from a network-blocked child process."""
    env = {**os.environ, "VBENCH_CACHE_DIR": str(weights), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "TORCH_HOME": str(Path(weights) / "torch")}
    with tempfile.TemporaryDirectory(prefix="pusa-vbench-") as out:
        proc = subprocess.run([python or sys.executable, "-c", _DRIVER, str(videos), out, device, ",".join(dimensions)],
                              env=env, capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise ValueError(f"VBench failed (exit {proc.returncode}): {last}")
        results = json.loads(Path(out, "pusa_eval_results.json").read_text())
    scores: dict[str, dict[str, float]] = {}
    for dim, (_, per_video) in results.items():  # VBench: {dim: [mean, [{"video_path", "video_results"}]]}
        for row in per_video:
            scores.setdefault(Path(row["video_path"]).name, {})[dim] = float(row["video_results"])
    return scores


# ------------------------------------------------------------------------------------------- world
def read_world_index(folder: str | os.PathLike) -> dict[str, dict]:
    """``world.jsonl`` rows by file name ({} without one); a bad line is a ValueError naming its number."""
    path = Path(folder) / "world.jsonl"
    if not path.is_file():
        return {}
    from pusa.io import jsonl_lines

    rows = {}
    for number, row in jsonl_lines(path):
        if not (isinstance(row, dict) and isinstance(row.get("file_name"), str) and isinstance(row.get("seed"), int)):
            raise ValueError(f"{path}:{number}: each line needs \"file_name\" (string) and \"seed\" (integer)")
        rows[row["file_name"]] = row
    return rows


def world_scores(frames: np.ndarray, row: dict) -> dict[str, dict]:
    """Ground-truth metrics of one video against the world clip ``row`` describes (rebuilt at the video's size)."""
    from pusa.world import WorldConfig, make_clip
    from pusa.world.metrics import (
        caption_adherence,
        conditioning_fidelity,
        dynamic_degree,
        motion_smoothness,
        subject_consistency,
        temporal_flicker,
    )

    t, h, w = frames.shape[:3]
    config = row.get("config")
    config = WorldConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()}) if config else "easy"
    clip = make_clip(row["seed"], t, h, w, config)
    out = {
        "world_caption_adherence": caption_adherence(frames, row.get("text") or clip.caption).value,
        "world_subject_consistency": subject_consistency(frames, clip.colours).value,
        "world_dynamic_degree": dynamic_degree(frames, clip.colours).value,
        "world_frame0_psnr": conditioning_fidelity(frames, {0: clip.frames[0]}).value,
    }
    if t >= 3:
        out["world_motion_smoothness"] = motion_smoothness(frames, clip.colours).value
        out["world_temporal_flicker"] = temporal_flicker(frames).value
    return {k: {"value": float(v), "backend": "world"} for k, v in out.items()}


WORLD_METRICS = {  # name: (unit, what it is)
    "world_caption_adherence": ("0–1", "colour/shape/direction of the captioned objects"),
    "world_subject_consistency": ("0–1", "objects keep colour, size and shape"),
    "world_motion_smoothness": ("0–1", "tracked second differences (gravity removed)"),
    "world_dynamic_degree": ("0–1", "fraction of frame pairs with object motion"),
    "world_temporal_flicker": ("0–1", "brightness steadiness"),
    "world_frame0_psnr": ("dB", "frame 0 vs the world clip's frame 0 (the I2V condition)"),
}
