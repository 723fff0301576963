"""`pusa eval DIR`: report files and plots, backend per dimension, "proxy total" labelling, bad input."""

from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pusa.cli import app
from pusa.eval import backends
from pusa.eval.backends import VBENCH_DIMENSIONS, choose_vbench, read_world_index
from pusa.eval.report import (
    NO_PROXY,
    REPORTED,
    Evaluation,
    evaluate_folder,
    expected_camera,
    markdown,
    summarise,
    total,
)
from pusa.eval.vbench import DIMENSIONS, PUBLISHED, aggregate_i2v
from pusa.io import write_video

runner = CliRunner()
PROMPT = "a red square moves right, camera pans left"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _square(dx: int) -> np.ndarray:
    """9 frames, 32×32: a red square moving dx px per frame on a dark background."""
    frames = np.full((9, 32, 32, 3), 20, np.uint8)
    for t in range(9):
        frames[t, 12:20, 2 + dx * t:10 + dx * t] = (220, 40, 40)
    return frames


@pytest.fixture
def folder(tmp_path):
    """Two samples of one prompt (VBench names) and one i2v video with a settings .json."""
    root = tmp_path / "videos"
    for i in range(2):
        write_video(root / f"{PROMPT}-{i}.mp4", _square(2), fps=8)
    write_video(root / "single.mp4", _square(1), fps=8)
    (root / "single.json").write_text(json.dumps({"prompt": "a slow square", "image": "start.png"}))
    return root


def _eval(*args):
    return runner.invoke(app, ["eval", *map(str, args)])


def _is_png(path) -> tuple[int, int]:
    assert path.read_bytes()[:8] == PNG_MAGIC
    with Image.open(path) as img:
        img.verify()
    with Image.open(path) as img:
        return img.size


def test_report_files_and_plots(folder):
    result = _eval(folder)
    assert result.exit_code == 0, result.output
    out = folder / "eval"
    assert {p.name for p in out.iterdir()} == {"report.md", "scores.json", "scores.csv", "dimensions.png", "sheets"}
    w, h = _is_png(out / "dimensions.png")
    assert w > 300 and h > 200
    sheets = sorted((out / "sheets").iterdir())
    assert len(sheets) == 2  # one per prompt group
    # the group of two samples: 2 rows × 8 columns of 32 px frames upscaled ×3, 2 px padding
    assert sorted(_is_png(s) for s in sheets) == [(8 * 100, 1 * 100), (8 * 100, 2 * 100)]
    report = (out / "report.md").read_text()
    assert "![per-dimension scores](dimensions.png)" in report
    assert all(f"]({s.relative_to(out).as_posix()})" in report for s in sheets)
    rows = (out / "scores.csv").read_text().splitlines()
    assert len(rows) == 4 and rows[0].startswith("file,prompt,task,subject_consistency,subject_consistency_backend")


def test_backend_recorded_per_dimension(folder):
    assert _eval(folder).exit_code == 0
    data = json.loads((folder / "eval" / "scores.json").read_text())
    videos = {v["file"]: v for v in data["videos"]}
    assert videos["single.mp4"]["task"] == "i2v" and videos["single.mp4"]["prompt"] == "a slow square"
    assert videos[f"{PROMPT}-0.mp4"]["prompt"] == PROMPT
    for video in data["videos"]:
        assert {s["backend"] for s in video["scores"].values()} == {"proxy"}
        assert not set(video["scores"]) & set(NO_PROXY)  # nothing invented for the network-only dimensions
    dims = data["dimensions"]
    assert set(dims) == set(REPORTED)
    for dim in NO_PROXY:
        assert dims[dim]["value"] is None and dims[dim]["backend"] is None
        assert "no weight-free proxy" in dims[dim]["missing"]
    assert dims["camera_motion"]["videos"] == 2  # only the prompt that names a camera motion
    assert dims["temporal_flickering"]["backend"] == "proxy" and dims["temporal_flickering"]["videos"] == 3
    assert "not importable" in data["backends"]["vbench"] or "no local weights" in data["backends"]["vbench"]


def test_proxy_total_label_and_missing(folder):
    result = _eval(folder)
    assert "proxy total: not computed" in result.stdout
    data = json.loads((folder / "eval" / "scores.json").read_text())
    assert data["total"]["label"] == "proxy total" and data["total"]["value"] is None
    assert set(data["total"]["missing"]) == set(NO_PROXY)
    assert data["comparable_with_published_vbench"] is False
    report = (folder / "eval" / "report.md").read_text()
    assert "**proxy total: not computed**; missing dimension(s): subject_consistency" in report


def _full(backend_of) -> dict:
    rows = [{"file": "x.mp4", "scores": {d: {"value": PUBLISHED["Pusa V1.0"][d] / 100, "backend": backend_of(d)}
                                        for d in DIMENSIONS}}]
    return summarise(rows, vbench_used=True)


def test_total_labels():
    mixed = total(_full(lambda d: "proxy" if d in ("dynamic_degree", "motion_smoothness") else "vbench"))
    assert mixed["label"] == "proxy total"
    assert mixed["value"] == pytest.approx(aggregate_i2v(PUBLISHED["Pusa V1.0"])["total"])
    assert total(_full(lambda d: "vbench"))["label"] == "VBench-I2V total (vbench backend)"


def test_proxy_total_never_beside_published_rows():
    dims = _full(lambda d: "proxy")
    for d in DIMENSIONS:  # our own numbers, unlike any published row
        dims[d]["value"] = 70.0
    dims["temporal_flickering"] = {"value": 99.0, "backend": "proxy", "videos": 1, "missing": None}
    ev = Evaluation(folder=Path("v"), videos=[], skipped=[], backends={}, dimensions=dims,
                    total=total(dims))
    text = markdown(ev, [], 0)
    ours, published = text.split("## Published VBench-I2V rows (reference only)")
    assert f"**proxy total: {ev.total['value']:.2f}**" in ours and "not comparable with published" in ours
    assert "87.32" not in ours and "| Pusa V1.0 | 92.27" in published and "proxy total" not in published


def test_published_rows_reproduce_their_totals():
    for row in PUBLISHED.values():
        assert aggregate_i2v(row)["total"] == pytest.approx(row["total"], abs=0.01)


@pytest.mark.parametrize("prompt, camera", [
    ("a boat at sea, camera pans left", "pan_left"), ("a city, Camera zooming in", "zoom_in"),
    ("a field, camera static", "static"), ("a cat tilts up its head", None), ("a tree, camera pans up", None),
])
def test_expected_camera(prompt, camera):
    assert expected_camera(prompt) == camera


def _one_error_line(result, message):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.output


def test_bad_input_one_line_exit_2(tmp_path):
    _one_error_line(_eval(tmp_path / "nope"), "folder not found")
    (tmp_path / "empty").mkdir()
    _one_error_line(_eval(tmp_path / "empty"), "no videos to score")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "broken.mp4").write_bytes(b"\x00" * 100)
    _one_error_line(_eval(tmp_path / "bad"), "none of the 1 videos could be read (first: cannot read video")
    assert "broken.mp4" in _eval(tmp_path / "bad").stderr
    assert not (tmp_path / "bad" / "eval").exists()


def test_unreadable_video_is_skipped_and_listed(folder):
    (folder / "broken.mp4").write_bytes(b"\x00" * 100)
    result = _eval(folder)
    assert result.exit_code == 0, result.output
    assert result.stderr.strip().splitlines() == [
        f"warning: skipped broken.mp4: cannot read video {folder / 'broken.mp4'}: not a decodable video (OSError)"]
    assert "- skipped broken.mp4: cannot read video" in (folder / "eval" / "report.md").read_text()
    assert json.loads((folder / "eval" / "scores.json").read_text())["skipped"][0]["file"] == "broken.mp4"


def test_existing_report_needs_overwrite(folder):
    assert _eval(folder).exit_code == 0
    before = (folder / "eval" / "report.md").read_bytes()
    _one_error_line(_eval(folder), "report.md already exists; pass --overwrite")
    assert (folder / "eval" / "report.md").read_bytes() == before
    assert _eval(folder, "--overwrite").exit_code == 0
    assert not list((folder / "eval").glob(".*"))  # no temp files left


# ------------------------------------------------------------------------------------------ vbench
@pytest.fixture
def no_vbench(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "vbench" else real(name, *a))
    monkeypatch.delenv(backends.WEIGHTS_ENV, raising=False)


def test_vbench_absent_is_refused_or_falls_back(no_vbench, folder, tmp_path):
    with pytest.raises(ValueError, match="vbench package is not importable"):
        choose_vbench("vbench", tmp_path, None)
    assert choose_vbench("auto", tmp_path, None) == (
        None, f"not used: the vbench package is not importable by {sys.executable}")
    _one_error_line(_eval(folder, "--backend", "vbench", "--vbench-weights", tmp_path),
                    "--backend vbench: the vbench package is not importable")
    assert not (folder / "eval").exists()


def test_vbench_without_local_weights_is_one_clear_error(monkeypatch, folder, tmp_path):
    monkeypatch.setattr(backends, "vbench_missing", lambda python=None: None)  # pretend vbench is importable
    monkeypatch.delenv(backends.WEIGHTS_ENV, raising=False)
    _one_error_line(_eval(folder, "--backend", "vbench"),
                    "--backend vbench needs local weights: pass --vbench-weights DIR")
    _one_error_line(_eval(folder, "--backend", "vbench", "--vbench-weights", tmp_path / "nope"), "not a folder")
    assert choose_vbench("auto", None, None)[0] is None  # auto: proxy, never a download
    monkeypatch.setenv(backends.WEIGHTS_ENV, str(tmp_path))
    assert choose_vbench("vbench", None, None)[0] == tmp_path


FAKE_VBENCH = textwrap.dedent("""
    import json, os, socket, subprocess, sys

    def blocked(call):
        try:
            call()
        except OSError as err:  # our guard's refusal, not merely a closed port or a missing wget
            return "network access is blocked" in str(err)
        return False

    class VBench:
        def __init__(self, device, full_info_dir, output_path):
            self.out = output_path

        def evaluate(self, videos_path, name, dimension_list=None, local=False, mode="", **kwargs):
            probe = {"socket": blocked(lambda: socket.create_connection(("127.0.0.1", 9), timeout=1)),
                     "wget": blocked(lambda: subprocess.run(["wget", "https://example.invalid/w.pth"])),
                     "python_ok": subprocess.run([sys.executable, "-c", "pass"]).returncode == 0,
                     "cache": os.environ["VBENCH_CACHE_DIR"], "local": local, "mode": mode}
            json.dump(probe, open(os.path.join(os.environ["VBENCH_CACHE_DIR"], "probe.json"), "w"))
            videos = sorted(f for f in os.listdir(videos_path) if f.endswith(".mp4"))
            results = {d: [0.5, [{"video_path": os.path.join(videos_path, f), "video_results": 0.5} for f in videos]]
                       for d in dimension_list}
            json.dump(results, open(os.path.join(self.out, name + "_eval_results.json"), "w"))
""")


def test_vbench_backend_runs_offline_and_is_recorded(monkeypatch, folder, tmp_path):
    package = tmp_path / "site" / "vbench"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(FAKE_VBENCH)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    weights = tmp_path / "weights"
    weights.mkdir()
    ev = evaluate_folder(folder, "vbench", weights)
    probe = json.loads((weights / "probe.json").read_text())
    assert probe == {"socket": True, "wget": True, "python_ok": True, "cache": str(weights), "local": True,
                     "mode": "custom_input"}
    for video in ev.videos:
        assert {d: video["scores"][d] for d in VBENCH_DIMENSIONS} == {d: {"value": 0.5, "backend": "vbench"}
                                                                     for d in VBENCH_DIMENSIONS}
        assert video["scores"]["temporal_flickering"]["backend"] == "proxy"
    assert ev.dimensions["aesthetic_quality"] == {"value": 50.0, "videos": 3, "backend": "vbench", "missing": None}
    assert ev.total["label"] == "proxy total" and set(ev.total["missing"]) == {"i2v_subject", "i2v_background"}


# ------------------------------------------------------------------------------------------- world
def test_world_backend_on_world_clips(tmp_path):
    from pusa.world import write_dataset

    write_dataset(tmp_path / "w", 2, num_frames=9, height=32, width=32)
    ev = evaluate_folder(tmp_path / "w", "proxy")
    assert set(ev.world) == set(backends.WORLD_METRICS)
    assert all(r["backend"] == "world" and r["videos"] == 2 for r in ev.world.values())
    assert ev.world["world_caption_adherence"]["value"] == 1.0  # the ground-truth clips themselves
    assert ev.world["world_frame0_psnr"]["value"] > 25.0
    assert not set(ev.world) & set(ev.dimensions)  # ground truth never enters the VBench dimensions
    assert {v["task"] for v in ev.videos} == {"world"}


def test_malformed_world_index_names_the_line(tmp_path):
    (tmp_path / "world.jsonl").write_text('{"file_name": "a.mp4", "seed": 1}\n{"file_name": \n')
    with pytest.raises(ValueError, match=r"world.jsonl:2: not valid JSON"):
        read_world_index(tmp_path)
