"""Long videos on Pusa-mini (issue 19): N frames from one image and a caption, window by window (pusa.long).

    python experiments/long_video.py [--n 32] [--frames 161] [--steps 10] [--out docs/results] [--memory]

Each held-out world clip gives its first frame (at pixel 0, m = 0) and its caption; Pusa-mini (window: 17
frames = 5 latents) makes ``--frames`` frames through the request path every face uses (``pusa generate
--frames 161 --image first.png@0 --prompt CAPTION``), so the embedded model's run rules apply
(``pusa.mini.shipped``: its warm start and overlap noise, where it has them; each cell says its m). Cells
compare the schedules: chained with overlap K = 1, 2, 3 latents (4, 8, 12 frames), overlap noise m = 0, 0.2,
0.5, anti-drift (AdaIN to the first window) on, alone and with m = 0.2, and staggered (diffusion forcing) with
K = 1, 2. Per video, with the clip's known object colours and background:

- ``tracked``: share of frames where every object is found (the bar: ≥ 0.95);
- ``colour_drift_err``: RGB distance of each object's colour over the last 4 frames from the first 4 (≤ 20);
  an object lost at the end counts 441 (black to white);
- ``colour_window0_err``: the same distance for frames 13–16 (the end of the first window) against the first
  4: the colour error a single window already makes, with nothing to accumulate; drift that grows over the
  windows shows as ``colour_drift_err`` above it;
- ``background_drift_err``: RGB distance of the frames' median colour, last 4 vs first 4 (≤ 10);
- ``join_jump_px``: the objects' centroid step across each window join (the first new frame of windows
  1, 2, …); ``motion_px``: the median step between the other neighbouring frames; ``join_excess_px``:
  jump − motion, per join (≤ 2 px); ``join_pop_err``: the mean |Δpixel| across joins minus the median
  elsewhere (0–255; a colour or brightness pop at a join shows here);
- ``pass``: 1 when all four bars hold for the video.

Paired differences are against the reference (chained, K = 1, m = 0: the overlap kept exactly). Writes
OUT/long_video.md, its plot OUT/long_video.png and OUT/long_video_sheet.png, the contact sheet of clip 0's
reference video (every 4th frame, window joins framed). ``--memory`` adds peak memory of a 17-frame and a ``--frames`` run (each in its own
process, measured from after loading: Linux VmHWM after a reset).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import warnings
from argparse import Namespace
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from flags import check_args, command, parser
from report import write_results
from samples import Progress, _source_hash, _weights_hash
from stats import paired_differences, summarize

NAME = "long_video"
LOST_COLOUR = float(np.sqrt(3) * 255)
BARS = {"tracked": 0.95, "colour_drift_err": 20.0, "background_drift_err": 10.0, "join_excess_px": 2.0}


@dataclass(frozen=True)
class LongCell:
    name: str
    options: dict = field(default_factory=dict)  # pusa.request.Request long-video fields


def cells() -> list[LongCell]:
    return [
        LongCell("chained K=1 m=0", {"overlap": 4, "overlap_noise": 0.0}),
        LongCell("chained K=2 m=0", {"overlap": 8, "overlap_noise": 0.0}),
        LongCell("chained K=3 m=0", {"overlap": 12, "overlap_noise": 0.0}),
        LongCell("chained K=1 m=0.2", {"overlap": 4, "overlap_noise": 0.2}),
        LongCell("chained K=1 m=0.5", {"overlap": 4, "overlap_noise": 0.5}),
        LongCell("chained K=1 anti-drift", {"overlap": 4, "overlap_noise": 0.0, "anti_drift": 1.0}),
        LongCell("chained K=1 m=0.2 anti-drift", {"overlap": 4, "overlap_noise": 0.2, "anti_drift": 1.0}),
        LongCell("staggered K=1", {"overlap": 4, "schedule": "staggered"}),
        LongCell("staggered K=2", {"overlap": 8, "schedule": "staggered"}),
    ]


REFERENCE = "chained K=1 m=0"


def request_for(clip, seed: int, frames: int, steps: int, cfg: float, options: dict):
    """The request `pusa generate --image first.png@0 --prompt CAPTION --frames N` builds, with ``options``."""
    from pusa.conditions import FrameCondition
    from pusa.request import Request

    image = FrameCondition(clip.frames[0], 0, 0.0, "first frame")
    return Request(prompt=clip.caption, conditions=(image,), num_frames=frames, steps=steps, cfg=cfg, seed=seed,
                   **options)


def sample(models, clip, seed: int, frames: int, steps: int, cfg: float, cell: LongCell, cache: str):
    """(uint8 video [T, H, W, 3], plan lines) of one cell on one clip, from the cache when it holds it."""
    from pusa.io import atomic_path
    from pusa.request import resolve, run

    pipe = models.any()
    request = resolve(request_for(clip, seed, frames, steps, cfg, cell.options), pipe.config, models.rules,
                      pipe.temporal_factor)
    pipe = models.get(request.vta_strength)
    path = None
    if cache:
        key = json.dumps({"settings": request.settings(), "image": hashlib.sha256(clip.frames[0].tobytes()).hexdigest(),
                          "source": _source_hash(), "weights": _weights_hash(pipe), "what": NAME}, sort_keys=True,
                         default=str)
        digest = hashlib.sha256(key.encode()).hexdigest()
        path = Path(cache) / digest[:2] / f"{digest}.npz"
        if path.is_file():
            data = np.load(path)
            return data["video"], [str(s) for s in data["lines"]]
    gen = run(pipe, request)
    video = (np.clip(gen.frames, 0, 1) * 255 + 0.5).astype(np.uint8)
    lines = gen.extra.get("windows", [])
    if path is not None:
        with atomic_path(path, overwrite=True) as tmp, open(tmp, "wb") as f:
            np.savez(f, video=video, lines=np.array(lines))
    return video, lines


def joins(lines: list[str]) -> list[int]:
    """First new pixel frame of every window after the first, read from the plan lines."""
    import re

    out = []
    for line in lines:
        m = re.match(r"window (\d+):.*new pixels (\d+)-", line)
        if m and int(m.group(1)) > 0:
            out.append(int(m.group(2)))
    return out


def score(video: np.ndarray, clip, join_frames: list[int]) -> dict[str, float]:
    """The long-video metrics of one video (module docstring)."""
    from pusa.world.track import track

    bg = clip.background[0]  # the easy world's background does not move
    tr = track(video, clip.colours, bg)
    found = tr.found.all(axis=1)  # [T]
    def colour_err(frames: slice) -> float:
        out = []
        for k in range(len(clip.colours)):
            start, end = tr.colour[:4, k], tr.colour[frames, k]
            if np.isnan(end).all() or np.isnan(start).all():
                out.append(LOST_COLOUR)
            else:
                out.append(float(np.linalg.norm(np.nanmean(end, 0) - np.nanmean(start, 0))))
        return float(np.mean(out))

    med = np.median(video.reshape(len(video), -1, 3).astype(np.float64), axis=1)  # [T, 3]
    bg_drift = float(np.linalg.norm(med[-4:].mean(0) - med[:4].mean(0)))
    with warnings.catch_warnings():  # all-nan rows (an object lost) stay nan
        warnings.simplefilter("ignore", RuntimeWarning)
        step = np.nanmean(np.linalg.norm(np.diff(tr.centroid, axis=0), axis=-1), axis=1)  # [T−1]
    pops = np.abs(np.diff(video.astype(np.float64), axis=0)).mean(axis=(1, 2, 3))  # [T−1]
    at = [t - 1 for t in join_frames if 1 <= t < len(video)]  # pair index (t−1, t)
    rest = [i for i in range(len(step)) if i not in set(at)]
    motion = float(np.nanmedian(step[rest])) if rest and not np.isnan(step[rest]).all() else 0.0
    jumps = [float(step[i]) if not np.isnan(step[i]) else float(np.hypot(*video.shape[1:3])) for i in at]
    jump = float(np.mean(jumps)) if jumps else motion
    excess = float(np.mean([j - motion for j in jumps])) if jumps else 0.0
    pop = float(np.mean(pops[at]) - np.median(pops[rest])) if at and rest else 0.0
    row = {"tracked": float(found.mean()), "colour_drift_err": colour_err(slice(-4, None)),
           "colour_window0_err": colour_err(slice(13, 17)),
           "background_drift_err": bg_drift, "join_jump_px": jump, "motion_px": motion, "join_excess_px": excess,
           "join_pop_err": pop}
    ok = (row["tracked"] >= BARS["tracked"] and row["colour_drift_err"] <= BARS["colour_drift_err"]
          and row["background_drift_err"] <= BARS["background_drift_err"]
          and row["join_excess_px"] <= BARS["join_excess_px"])
    row["pass"] = float(ok)
    return row


def write_sheet(path: Path, video: np.ndarray, join_frames: list[int]) -> None:
    """Every 4th frame (and the last), window joins framed in yellow."""
    from pusa.io import write_contact_sheet

    idx = sorted(set(range(0, len(video), 4)) | {len(video) - 1})
    marked = {i for i, t in enumerate(idx) if any(t <= j < t + 4 for j in join_frames)}
    write_contact_sheet(path, video[idx], columns=min(len(idx), 14), highlight=marked, overwrite=True)


def memory_probe(frames: int, steps: int, dtype: str) -> None:
    """In a process of its own: load Pusa-mini, reset the peak, make one video, print the peak (bytes)."""
    from pusa.mini.evaluate import heldout_clip
    from pusa.request import Models, ModelSpec, resolve, run

    models = Models(ModelSpec(dtype=dtype))
    clip = heldout_clip(0, "easy", 17, 64)
    pipe = models.any()
    request = resolve(request_for(clip, 0, frames, steps, 3.0, {}), pipe.config, models.rules, pipe.temporal_factor)
    pipe = models.get(request.vta_strength)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status("VmHWM")
    run(pipe, request)
    print(json.dumps({"frames": frames, "loaded": base, "peak": _status("VmHWM")}))


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def memory_notes(frames: int, steps: int, dtype: str) -> str:
    rows = {}
    for n in (17, frames):
        out = subprocess.run([sys.executable, __file__, "--memory-probe", str(n), "--steps", str(steps),
                              "--dtype", dtype], capture_output=True, text=True, check=True)
        rows[n] = json.loads(out.stdout.strip().splitlines()[-1])
    lines = ["Peak memory (one process per run; VmHWM reset after the model loads, so the peak is the run's):", "",
             "| frames | RSS after load (MiB) | peak during the run (MiB) | growth over load (MiB) |",
             "|---|---|---|---|"]
    for n, r in rows.items():
        mib = (r["loaded"] / 2**20, r["peak"] / 2**20, (r["peak"] - r["loaded"]) / 2**20)
        lines.append(f"| {n} | {mib[0]:.0f} | {mib[1]:.0f} | {mib[2]:.1f} |")
    a, b = rows[17]["peak"], rows[frames]["peak"]
    lines += ["", f"{frames} frames peak at {b / a:.3f}× the 17-frame peak (goal: within 10%)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.set_defaults(n=32)
    p.add_argument("--frames", type=int, default=161, help="frames per long video (4·k+1)")
    p.add_argument("--memory", action="store_true", help="also measure peak memory at 17 and --frames frames")
    p.add_argument("--memory-probe", type=int, default=None, help="(internal) one memory run of this many frames")
    p.add_argument("--cells", default="", help="comma-separated indices into the cell list (default: all; 0, the "
                   "reference, is always run)")
    args = p.parse_args(argv)
    if args.memory_probe is not None:
        return memory_probe(args.memory_probe, args.steps, args.dtype)
    check_args(args)
    if (args.frames - 1) % 4 or args.frames < 17:
        raise SystemExit(f"--frames must be 4·k+1 and at least 17, got {args.frames}")
    from pusa.mini.evaluate import heldout_clip
    from pusa.request import Models, ModelSpec

    t0 = time.time()
    models = Models(ModelSpec(dtype=args.dtype))
    todo = cells()
    if args.cells:
        picked = {0} | {int(i) for i in args.cells.split(",")}
        if max(picked) >= len(todo):
            raise SystemExit(f"--cells: indices 0–{len(todo) - 1}")
        todo = [c for i, c in enumerate(todo) if i in picked]
    progress = Progress(NAME, args.n * len(todo))
    rows: dict[str, list[dict[str, float]]] = {c.name: [] for c in todo}
    sheet = None
    for i in range(args.n):
        clip = heldout_clip(i, "easy", 17, 64)
        for cell in todo:
            video, lines = sample(models, clip, i, args.frames, args.steps, args.cfg, cell, args.cache)
            rows[cell.name].append(score(video, clip, joins(lines)))
            if i == 0 and cell.name == REFERENCE:
                sheet = (video, joins(lines), lines)
            progress.tick(f"{cell.name} clip {i}")
    rows |= paired_differences(rows, REFERENCE)
    out = Path(args.out)
    notes = [(f"{args.frames} frames from clip i's first frame and caption (held-out world seed 99,000, easy preset), "
             f"{args.steps} steps, CFG {args.cfg:g}, {args.dtype}. Bars of issue 19: tracked ≥ 0.95, colour drift "
             "≤ 20, background drift ≤ 10, join excess ≤ 2 px; `pass` is the share of videos meeting all four.")]
    if sheet is not None:
        write_sheet(out / f"{NAME}_sheet.png", sheet[0], sheet[1])
        notes += ["", f"Contact sheet of clip 0, {REFERENCE} (every 4th frame, joins framed in yellow):", "",
                  f"![long video]({NAME}_sheet.png)", "", "Its plan:", "", *(f"    {line}" for line in sheet[2])]
    if args.memory:
        notes += ["", memory_notes(args.frames, args.steps, args.dtype)]
    shown = Namespace(**{k: v for k, v in vars(args).items() if k not in ("memory", "memory_probe", "cells")})
    again = command(NAME, shown) + (" --memory" if args.memory else "") + (f" --cells {args.cells}" if args.cells else "")
    md, _ = write_results(NAME, out, f"Long video on Pusa-mini: {args.frames} frames, window 17", summarize(rows),
                          again, time.time() - t0, "\n".join(notes))
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
