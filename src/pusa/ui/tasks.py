"""Each tab of the web app as conditions from ``pusa.conditions`` plus the ``pusa generate`` flags that
give the same conditions.

``build(task, values, media)`` returns both. ``media`` maps an input name to decoded frames (uint8)
and, when generating, to the file the command will name; for the plan preview the frames may be
placeholders of the right length. Positions are pixel frames, as in the CLI.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pusa import conditions as C

TASKS = ("t2v", "i2v", "start_end", "keyframes", "extend", "complete", "transition", "v2v")
NUM_KEYFRAMES = 4


@dataclass
class Media:
    """Decoded uploads by input name ([H, W, 3] images, [T, H, W, 3] videos) and the files behind them."""

    frames: dict[str, np.ndarray] = field(default_factory=dict)
    paths: dict[str, Path] = field(default_factory=dict)

    def need(self, name: str, what: str) -> np.ndarray:
        if name not in self.frames:
            raise ValueError(f"{what}: upload one first")
        return self.frames[name]


@dataclass
class ConditionArgs:
    """The CLI's condition flags: --image PATH@FRAME:NOISE (repeated) and --video/--keep/--noise."""

    images: list[tuple[Path | None, int, float]] = field(default_factory=list)
    video: Path | None = None
    keep: list[tuple[int, int]] = field(default_factory=list)
    noise: float = 0.0

    def argv(self) -> list[str]:
        out = []
        for path, frame, m in self.images:
            out += ["--image", f"{path}@{frame}:{_num(m)}"]
        if self.video is not None:
            out += ["--video", str(self.video), "--keep", ",".join(f"{lo}-{hi}" for lo, hi in self.keep),
                    "--noise", _num(self.noise)]
        return out


def _num(x: float) -> str:
    """Shortest text that reads back as the same float (so the command is exact, not rounded)."""
    return repr(float(x))


def integer(values: Mapping[str, Any], name: str, what: str) -> int:
    """``values[name]`` as an int; a ValueError naming ``what`` if it is missing or not whole."""
    value = values.get(name)
    try:
        whole = int(float(value))
        ok = float(value) == whole
    except (TypeError, ValueError, OverflowError):
        ok = False
    if not ok:
        raise ValueError(f"{what} must be a whole number, got {value!r}")
    return whole


def _frame(values: Mapping[str, Any], name: str, what: str, num_frames: int) -> int:
    p = integer(values, name, what)
    if not 0 <= p < num_frames:
        raise ValueError(f"{what}: pixel frame {p} is outside 0–{num_frames - 1} for {num_frames} frames")
    return p


def build(task: str, values: Mapping[str, Any], media: Media) -> tuple[list[C.FrameCondition], ConditionArgs]:
    """(conditions, CLI flags) for one task from the UI's values (see ``pusa.ui.app`` for the names)."""
    n = integer(values, "frames", "frames")
    path = media.paths.get
    if task == "t2v":
        return C.t2v(), ConditionArgs()
    if task == "i2v":
        m = float(values["i2v_noise"])
        return C.i2v(media.need("i2v_image", "image"), m), ConditionArgs([(path("i2v_image"), 0, m)])
    if task == "start_end":
        m0, m1 = float(values["se_first_noise"]), float(values["se_last_noise"])
        conds = C.start_end(media.need("se_first", "first frame"), media.need("se_last", "last frame"), n, m0, m1)
        return conds, ConditionArgs([(path("se_first"), 0, m0), (path("se_last"), n - 1, m1)])
    if task == "keyframes":
        return _keyframes(values, media, n)
    if task == "extend":
        frames = media.need("video_a", "video")
        keep = integer(values, "ext_keep", "frames to keep")
        return C.extend(frames, keep, float(values["video_noise"])), _video_args(media, values, [(0, keep - 1)])
    if task == "complete":
        frames = media.need("video_a", "video")[:n]
        head, tail = integer(values, "cmp_head", "first frames kept"), integer(values, "cmp_tail", "last frames kept")
        conds = C.complete(frames, head, tail, float(values["video_noise"]))
        return conds, _video_args(media, values, [(0, head - 1), (len(frames) - tail, len(frames) - 1)])
    if task == "transition":
        return _transition(values, media, n)
    if task == "v2v":
        frames = media.need("v2v_video", "video")[:n]
        m = float(values["v2v_noise"])
        args = ConditionArgs(video=path("v2v_video"), keep=[(0, len(frames) - 1)], noise=m)
        return C.v2v(frames, m), args
    raise ValueError(f"task {task!r}: use one of {', '.join(TASKS)}")


def _keyframes(values, media: Media, n: int):
    images, noise, args = {}, {}, ConditionArgs()
    for k in range(NUM_KEYFRAMES):
        name = f"kf_image_{k}"
        if name not in media.frames:
            continue
        p = _frame(values, f"kf_frame_{k}", f"keyframe {k + 1}", n)
        if p in images:
            raise ValueError(f"keyframe {k + 1}: pixel frame {p} is already used by another keyframe")
        images[p], noise[p] = media.frames[name], float(values[f"kf_noise_{k}"])
        args.images.append((media.paths.get(name), p, noise[p]))
    if not images:
        raise ValueError("keyframes: upload at least one image")
    args.images.sort(key=lambda item: item[1])  # keyframes() orders by pixel frame; keep the flags in step
    return C.keyframes(images, noise), args


def _transition(values, media: Media, n: int):
    """End of A, then start of B, as one clip of n frames (``transition.mp4``) so one --video names both."""
    tail = integer(values, "tr_tail", "frames from the end of A")
    head = integer(values, "tr_head", "frames from the start of B")
    if tail + head > n:
        raise ValueError(f"transition: {tail} + {head} kept frames do not fit in {n} frames")
    clip = media.need("transition", "videos A and B")  # made by join_transition, n frames
    conds = C.transition(clip[:tail], clip[n - head:], n, tail, head, float(values["video_noise"]))
    return conds, _video_args(media, values, [(0, tail - 1), (n - head, n - 1)], "transition")


def join_transition(a: np.ndarray, b: np.ndarray, tail: int, head: int, n: int, height: int, width: int) -> np.ndarray:
    """uint8 [n, height, width, 3]: A's last ``tail`` frames first, B's first ``head`` last, grey between."""
    import torch

    if not 1 <= tail <= len(a) or not 1 <= head <= len(b):
        raise ValueError(f"transition: keep 1–{len(a)} frames of A and 1–{len(b)} of B, got {tail} and {head}")
    clip = np.full((n, height, width, 3), 128, np.uint8)
    for frames, start in ((a[len(a) - tail:], 0), (b[:head], n - head)):
        fitted = C.fit_frames(torch.from_numpy(frames).float() / 255, height, width)  # [T, height, width, 3]
        clip[start:start + len(frames)] = (fitted.numpy() * 255 + 0.5).astype(np.uint8)
    return clip


def _video_args(media: Media, values, keep: list[tuple[int, int]], name: str = "video_a") -> ConditionArgs:
    return ConditionArgs(video=media.paths.get(name), keep=keep, noise=float(values["video_noise"]))


def command(settings: Mapping[str, Any], cond: ConditionArgs, model: Path | None = None,
            lora: Path | None = None) -> str:
    """The ``pusa generate`` command line that reproduces a generation, every argument shell-quoted."""
    argv = ["pusa", "generate"]
    if model is not None:
        argv += ["--model", str(model)]
    argv += ["--prompt", settings["prompt"]]
    if settings.get("negative_prompt"):
        argv += ["--negative-prompt", settings["negative_prompt"]]
    if lora is not None:
        argv += ["--lora", str(lora), "--lora-alpha", _num(settings["lora_strength"])]
    argv += cond.argv()
    argv += ["--frames", str(settings["frames"]), "--height", str(settings["height"]),
             "--width", str(settings["width"]), "--preset", settings["preset"], "--steps", str(settings["steps"]),
             "--cfg", _num(settings["cfg"]), "--shift", _num(settings["shift"]), "--seed", str(settings["seed"])]
    if settings.get("warm_start") is not None:  # always explicit: the embedded model's default is not 1
        argv += ["--warm-start", _num(settings["warm_start"])]
    return shlex.join(argv)
