"""``pusa eval DIR``: score every video in a folder, then write report.md, scores.json, scores.csv and PNG plots.

    pusa eval outputs/                      # → outputs/eval/report.md (+ scores.json, scores.csv, *.png)

Every score records the backend that produced it: ``proxy`` (pusa.eval.proxy, weight-free), ``vbench``
(VBench's networks, local weights only; pusa.eval.backends) or ``world`` (ground truth for videos listed
in a world.jsonl). Dimensions nobody can score here are reported missing, never invented. A total is
computed only when all nine VBench-I2V dimensions are present, and is called "proxy total" when any of
them came from a proxy; published VBench rows appear only in their own section, as reference.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pusa.eval.backends import WORLD_METRICS, choose_vbench, read_world_index, run_vbench, world_scores
from pusa.eval.proxy import CAMERA_MOTIONS, proxy_scores
from pusa.eval.vbench import DIMENSIONS, PUBLISHED, aggregate_i2v
from pusa.io import VIDEO_SUFFIXES, MediaError, atomic_path, read_video, write_contact_sheet

REPORTED = (*DIMENSIONS, "temporal_flickering")  # the nine VBench-I2V dimensions, then one outside the total
NO_PROXY = {  # dimension: the network VBench uses for it (REFERENCE.md); no weight-free stand-in exists
    "subject_consistency": "DINO ViT-B/16", "background_consistency": "CLIP ViT-B/32",
    "aesthetic_quality": "CLIP ViT-L/14 + LAION head", "imaging_quality": "MUSIQ",
    "i2v_subject": "DINO ViT-B/16 against the input image", "i2v_background": "DreamSim against the input image",
}
OUTPUTS = ("report.md", "scores.json", "scores.csv", "dimensions.png")
_CAMERA = re.compile(r"\bcamera\s+(?:(pan|tilt|zoom)(?:s|ning|ing)?\s+(left|right|up|down|in|out)"
                     r"|(?:is\s+)?(static|still))\b", re.IGNORECASE)
_VBENCH_NAME = re.compile(r"^(?P<prompt>.+)-(?P<i>\d+)$")


@dataclass
class Evaluation:
    folder: Path
    videos: list[dict]  # {"file", "prompt", "task", "frames", "height", "width", "scores": {dim: {value, backend}}}
    skipped: list[dict]  # {"file", "reason"}
    backends: dict[str, str]  # backend: one line on how it was used
    dimensions: dict[str, dict] = field(default_factory=dict)
    world: dict[str, dict] = field(default_factory=dict)
    total: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def find_videos(folder: str | Path) -> list[Path]:
    """The videos directly inside ``folder`` (temp files of unfinished writes, named ``.*``, excluded)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: folder not found" if not folder.exists() else f"{folder}: not a folder")
    videos = sorted(p for p in folder.iterdir()
                    if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith("."))
    if not videos:
        raise ValueError(f"{folder}: no videos to score ({', '.join(sorted(VIDEO_SUFFIXES))})")
    return videos


def expected_camera(text: str) -> str | None:
    """The camera motion a prompt asks for ("…, camera pans left" → pan_left), or None."""
    m = _CAMERA.search(text or "")
    if not m:
        return None
    label = "static" if m.group(3) else f"{m.group(1).lower()}_{m.group(2).lower()}"
    return label if label in CAMERA_MOTIONS else None


def describe(path: Path, world_row: dict | None, captions: dict[str, str], notes: list[str]) -> dict:
    """Prompt, task and expected camera of one video, from its settings .json, world.jsonl, metadata.csv or name."""
    settings = {}
    if path.with_suffix(".json").is_file():
        try:
            settings = json.loads(path.with_suffix(".json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            notes.append(f"{path.with_suffix('.json').name}: not valid JSON; prompt taken from the file name")
    name = _VBENCH_NAME.match(path.stem)
    prompt = (settings.get("prompt") or (world_row or {}).get("text") or captions.get(path.name)
              or (name.group("prompt") if name else path.stem))
    if world_row is not None:
        task = "world"
    elif settings:
        task = "i2v" if settings.get("image") else ("conditioned" if settings.get("conditions") else "t2v")
    else:
        task = "unknown"
    camera = settings.get("camera") if settings.get("camera") in CAMERA_MOTIONS else expected_camera(prompt)
    return {"file": path.name, "prompt": prompt, "task": task, "camera": camera}


def _read_captions(folder: Path) -> dict[str, str]:
    path = folder / "metadata.csv"
    if not path.is_file():
        return {}
    with open(path, newline="") as handle:
        return {r["file_name"]: r["text"] for r in csv.DictReader(handle) if r.get("file_name") and r.get("text")}


def evaluate_folder(folder: str | Path, backend: str = "auto", vbench_weights=None, vbench_python: str | None = None,
                    device: str = "auto", progress: Callable[[int, int, str], None] | None = None) -> Evaluation:
    """Score every video in ``folder``; unreadable videos are skipped (and listed), all unreadable is an error."""
    # 1. Inputs and backends, all checked before any video is decoded.
    folder = Path(folder)
    paths = find_videos(folder)
    weights, vbench_line = choose_vbench(backend, vbench_weights, vbench_python)
    world_rows = read_world_index(folder)
    ev = Evaluation(folder, [], [], {"proxy": "used for temporal_flickering, dynamic_degree, motion_smoothness and "
                                               "camera_motion (weight-free; not comparable with published VBench)",
                                      "vbench": vbench_line})
    ev.backends["world"] = (f"used for the {len(world_rows)} files in world.jsonl (ground truth)" if world_rows
                            else "not used (no world.jsonl in the folder)")
    captions = _read_captions(folder)
    # 2. Proxy (and world) scores per video.
    for i, path in enumerate(paths):
        if progress:
            progress(i, len(paths), path.name)
        try:
            frames, _ = read_video(path)
            info = describe(path, world_rows.get(path.name), captions, ev.notes)
            scores = proxy_scores(frames, info["camera"])
        except (MediaError, ValueError) as err:  # undecodable, or too short for the proxies
            ev.skipped.append({"file": path.name, "reason": str(err).splitlines()[0]})
            continue
        if path.name in world_rows:
            try:
                scores.update(world_scores(frames, world_rows[path.name]))
            except (ValueError, TypeError, KeyError) as err:
                ev.notes.append(f"{path.name}: no world metrics ({str(err).splitlines()[0]})")
        ev.videos.append({**info, "frames": int(frames.shape[0]), "height": int(frames.shape[1]),
                          "width": int(frames.shape[2]), "scores": scores})
    if progress:
        progress(len(paths), len(paths), "")
    if not ev.videos:
        first = ev.skipped[0]
        raise ValueError(f"{folder}: none of the {len(paths)} videos could be read (first: {first['reason']})")
    # 3. VBench's own scores replace proxies dimension by dimension.
    if weights is not None:
        by_file = run_vbench(folder, weights, vbench_python, device)
        for video in ev.videos:
            for dim, value in by_file.get(video["file"], {}).items():
                video["scores"][dim] = {"value": value, "backend": "vbench"}
    # 4. Per-dimension means and the total.
    ev.dimensions = summarise(ev.videos, weights is not None)
    ev.world = {m: _mean(ev.videos, m) for m in WORLD_METRICS if any(m in v["scores"] for v in ev.videos)}
    ev.total = total(ev.dimensions)
    return ev


def _mean(videos: list[dict], dim: str) -> dict:
    rows = [v["scores"][dim] for v in videos if dim in v["scores"]]
    backends = sorted({r["backend"] for r in rows})
    return {"value": float(np.mean([r["value"] for r in rows])) if rows else None, "videos": len(rows),
            "backend": backends[0] if len(backends) == 1 else ("mixed: " + ", ".join(backends) if backends else None)}


def summarise(videos: list[dict], vbench_used: bool = False) -> dict[str, dict]:
    """{dimension: {"value": percent or None, "backend", "videos", "missing": why or None}} over REPORTED."""
    out = {}
    for dim in REPORTED:
        row = _mean(videos, dim)
        row["value"] = None if row["value"] is None else 100.0 * row["value"]
        row["missing"] = None
        if row["value"] is None:
            if dim in NO_PROXY:
                row["missing"] = (f"no weight-free proxy (VBench uses {NO_PROXY[dim]})"
                                  + ("" if vbench_used else "; the vbench backend was not used"))
            elif dim == "camera_motion":
                row["missing"] = ("no video names an expected camera motion (a prompt like '…, camera pans left' "
                                  "or \"camera\" in its settings .json)")
            else:
                row["missing"] = "no video long enough (motion smoothness needs 3 frames)"
        out[dim] = row
    return out


def total(dimensions: dict[str, dict]) -> dict:
    """VBench-I2V total, quality and i2v from the nine dimensions, labelled "proxy total" if any input is a proxy."""
    missing = [d for d in DIMENSIONS if dimensions.get(d, {}).get("value") is None]
    backends = {dimensions[d]["backend"] for d in DIMENSIONS if d not in missing}
    label = "VBench-I2V total (vbench backend)" if backends == {"vbench"} else "proxy total"
    if missing:
        return {"label": label, "value": None, "quality": None, "i2v": None, "missing": missing}
    agg = aggregate_i2v({d: dimensions[d]["value"] for d in DIMENSIONS})
    return {"label": label, "value": agg["total"], "quality": agg["quality"], "i2v": agg["i2v"], "missing": []}


# ------------------------------------------------------------------------------------------ writing
def check_outputs(out: Path, overwrite: bool) -> None:
    """Refuse to replace an earlier report unless ``overwrite``."""
    existing = [out / n for n in OUTPUTS if (out / n).exists()] + sorted((out / "sheets").glob("sheet_*.png"))
    if existing and not overwrite:
        raise FileExistsError(f"{existing[0]} already exists; pass --overwrite or choose another --out")


def write_report(ev: Evaluation, out: str | Path, overwrite: bool = False, max_sheets: int = 32) -> list[Path]:
    """report.md, scores.json, scores.csv, dimensions.png and sheets/sheet_NNN.png (one per prompt group)."""
    out = Path(out)
    check_outputs(out, overwrite)
    groups: dict[str, list[dict]] = {}
    for video in ev.videos:
        groups.setdefault(video["prompt"], []).append(video)
    if overwrite:
        for stale in (out / "sheets").glob("sheet_*.png"):
            stale.unlink()
    sheets = [(prompt, _sheet(out / "sheets" / f"sheet_{k:03d}.png", ev.folder, members))
              for k, (prompt, members) in enumerate(list(groups.items())[:max_sheets])]
    written = [_bar_chart(out / "dimensions.png", ev.dimensions, ev.world, overwrite)]
    data = {"folder": str(ev.folder), "backends": ev.backends, "dimensions": ev.dimensions, "total": ev.total,
            "world": ev.world, "comparable_with_published_vbench": ev.total["label"] != "proxy total",
            "videos": ev.videos, "skipped": ev.skipped, "notes": ev.notes}
    with atomic_path(out / "scores.json", overwrite) as tmp:
        tmp.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    dims = [*REPORTED, *ev.world]
    with atomic_path(out / "scores.csv", overwrite) as tmp, open(tmp, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "prompt", "task", *[c for d in dims for c in (d, f"{d}_backend")]])
        for v in ev.videos:
            cells = [c for d in dims for c in ((v["scores"][d]["value"], v["scores"][d]["backend"])
                                               if d in v["scores"] else ("", ""))]
            writer.writerow([v["file"], v["prompt"], v["task"], *cells])
    with atomic_path(out / "report.md", overwrite) as tmp:
        tmp.write_text(markdown(ev, [(p, s.relative_to(out)) for p, s in sheets], len(groups)))
    return [out / "report.md", out / "scores.json", out / "scores.csv", *written, *(s for _, s in sheets)]


def _sheet(path: Path, folder: Path, members: list[dict], rows: int = 5, columns: int = 8) -> Path:
    """One row per video of the group (up to ``rows``), ``columns`` frames spread over each clip."""
    from PIL import Image

    tiles, size = [], None
    for video in members[:rows]:
        frames, _ = read_video(folder / video["file"])
        picks = frames[np.linspace(0, len(frames) - 1, min(columns, len(frames))).round().astype(int)]
        size = size or (picks.shape[2], picks.shape[1])  # (W, H) of the group's first video
        picks = np.stack([np.asarray(Image.fromarray(f).resize(size)) for f in picks])
        pad = np.full((columns - len(picks), *picks.shape[1:]), 32, np.uint8)  # short clips: dark filler
        tiles.append(np.concatenate([picks, pad]))
    return write_contact_sheet(path, np.concatenate(tiles), columns=columns, overwrite=True)


def _bar_chart(path: Path, dimensions: dict[str, dict], world: dict[str, dict], overwrite: bool) -> Path:
    from matplotlib.figure import Figure  # object API on the Agg canvas: no pyplot, no global backend
    from matplotlib.patches import Patch

    colours = {"proxy": "#4c72b0", "vbench": "#55a868", "world": "#c44e52"}
    rows = [(d, r["value"], r["backend"]) for d, r in dimensions.items()]
    rows += [(m, 100.0 * r["value"], "world") for m, r in world.items() if WORLD_METRICS[m][0] == "0–1"]
    fig = Figure(figsize=(max(6.0, 0.7 * len(rows)), 4.2), layout="constrained")
    ax = fig.add_subplot()
    for x, (dim, value, backend) in enumerate(rows):
        if value is None:
            ax.text(x, 2, "missing", rotation=90, ha="center", va="bottom", color="grey", fontsize=8)
            continue
        ax.bar(x, value, color=colours.get(backend, "#8c8c8c"))
        ax.text(x, value + 1, f"{value:.1f}", ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(rows)), [d for d, _, _ in rows], rotation=45, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(rows) - 0.4)  # keep a leading "missing" label off the axis
    ax.set_ylim(0, 125)  # headroom for the legend
    ax.set_ylabel("score (%)")
    ax.set_title("per-dimension scores; colour = backend (proxy numbers are not VBench numbers)", fontsize=9)
    ax.legend(handles=[Patch(color=c, label=n) for n, c in colours.items()], fontsize=8, loc="upper center", ncols=3)
    with atomic_path(path, overwrite) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return path


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def markdown(ev: Evaluation, sheets: list[tuple[str, Path]], n_groups: int) -> str:
    """The report text; the published rows get their own section at the end, never beside our numbers."""
    t = ev.total
    lines = [f"# pusa eval: {ev.folder}", "",
             f"{len(ev.videos)} videos scored, {len(ev.skipped)} skipped. Backend per dimension below; per-video "
             "scores with their backends are in scores.json and scores.csv.", "", "## Backends", ""]
    lines += [f"- **{name}**: {line}" for name, line in ev.backends.items()]
    lines += ["", "## Per-dimension scores (%)", "", "| dimension | score | backend | videos | note |",
              "|---|---|---|---|---|"]
    for dim, r in ev.dimensions.items():
        note = r["missing"] or ("not in the VBench-I2V total" if dim not in DIMENSIONS else "")
        lines.append(f"| {dim} | {_pct(r['value'])} | {r['backend'] or 'missing'} | {r['videos']} | {note} |")
    lines += ["", "![per-dimension scores](dimensions.png)", "", f"## {t['label'].capitalize()}", ""]
    if t["value"] is None:
        lines.append(f"**{t['label']}: not computed**; missing dimension(s): {', '.join(t['missing'])}.")
    else:
        lines.append(f"**{t['label']}: {t['value']:.2f}** (quality {t['quality']:.2f}, i2v {t['i2v']:.2f}).")
    if t["label"] == "proxy total":
        lines.append("A proxy total comes from weight-free stand-ins; "
                     "it is not comparable with published VBench totals.")
    if ev.world:
        lines += ["", "## Ground truth (world backend)", "", "| metric | mean | unit | videos | what |",
                  "|---|---|---|---|---|"]
        lines += [f"| {m} | {r['value']:.3f} | {WORLD_METRICS[m][0]} | {r['videos']} | {WORLD_METRICS[m][1]} |"
                  for m, r in ev.world.items()]
    if ev.skipped or ev.notes:
        lines += ["", "## Warnings", ""]
        lines += [f"- skipped {s['file']}: {s['reason']}" for s in ev.skipped] + [f"- {n}" for n in ev.notes]
    lines += ["", "## Contact sheets", ""]
    if n_groups > len(sheets):
        lines.append(f"First {len(sheets)} of {n_groups} prompt groups (--max-sheets).\n")
    for prompt, sheet in sheets:
        lines += [f"**{prompt}**", "", f"![{prompt}]({sheet.as_posix()})", ""]
    lines += ["## Published VBench-I2V rows (reference only)", "",
              "Scored by VBench's networks on the full 5,590-video suite. The numbers above are "
              + ("from the vbench backend on this folder." if t["label"] != "proxy total" else
                 "proxies or partial, so they are not comparable with these rows."), "",
              "| model | " + " | ".join(DIMENSIONS) + " | total | quality | i2v |",
              "|---|" + "---|" * (len(DIMENSIONS) + 3)]
    lines += [f"| {m} | " + " | ".join(f"{row[k]:.2f}" for k in (*DIMENSIONS, "total", "quality", "i2v")) + " |"
              for m, row in PUBLISHED.items()]
    return "\n".join(lines) + "\n"
