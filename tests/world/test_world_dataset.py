"""pusa.world.write_dataset: readable mp4s plus metadata.csv (file_name,text) in the reference layout."""

from __future__ import annotations

import csv
import json

import pytest

from pusa.io import read_video
from pusa.world import make_clip, write_dataset
from pusa.world.dataset import clip_seed
from pusa.world.metrics import psnr


def test_write_dataset(tmp_path):
    meta = write_dataset(tmp_path / "data", n=3, seed=5, config="full", num_frames=9, height=32, width=32)
    assert meta == tmp_path / "data" / "metadata.csv"
    with open(meta, newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file_name", "text"]
    assert [r[0] for r in rows[1:]] == ["clip_00000.mp4", "clip_00001.mp4", "clip_00002.mp4"]
    records = [json.loads(line) for line in (tmp_path / "data" / "world.jsonl").read_text().splitlines()]
    for i, (name, text) in enumerate(rows[1:]):
        frames, fps = read_video(tmp_path / "data" / name)
        assert frames.shape == (9, 32, 32, 3) and fps == 16.0
        clip = make_clip(clip_seed(5, i), num_frames=9, height=32, width=32, config="full")
        assert text == clip.caption and records[i]["seed"] == clip_seed(5, i)
        assert psnr(frames, clip.frames) > 25  # H.264 at this size: measured 30–38 dB
    assert len({r[1] for r in rows[1:]}) == 3


def test_write_dataset_refuses_to_overwrite(tmp_path):
    write_dataset(tmp_path, n=1, num_frames=5, height=16, width=16)
    with pytest.raises(FileExistsError):
        write_dataset(tmp_path, n=1, num_frames=5, height=16, width=16)
    write_dataset(tmp_path, n=1, num_frames=5, height=16, width=16, overwrite=True)


def test_dataset_seeds_do_not_overlap():
    assert len({clip_seed(s, i) for s in range(5) for i in range(100)}) == 500
    assert isinstance(clip_seed(0, 0), int)


def test_write_dataset_interrupted_then_resumed(tmp_path):
    """A stopped run leaves its clips and world.jsonl lines but no metadata.csv; the same call resumes it and
    ends with the dataset an uninterrupted run writes. Other settings are refused; overwrite starts again."""
    kw = dict(num_frames=5, height=16, width=16)

    def stop_after(k):
        def progress(done, total, name):
            if done == k:
                raise KeyboardInterrupt
        return progress

    with pytest.raises(KeyboardInterrupt):
        write_dataset(tmp_path / "w", 4, progress=stop_after(2), **kw)
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["clip_00000.mp4", "clip_00001.mp4", "world.jsonl"]
    with open(tmp_path / "w" / "world.jsonl", "a") as f:
        f.write('{"file_name": "clip_000')  # a line cut off by a kill
    with pytest.raises(ValueError, match="written with other settings"):
        write_dataset(tmp_path / "w", 4, seed=1, **kw)
    seen = []
    write_dataset(tmp_path / "w", 4, progress=lambda *a: seen.append(a), **kw)
    assert seen[0] == (2, 4, "clip_00001.mp4") and seen[-1] == (4, 4, "clip_00003.mp4") and len(seen) == 3
    write_dataset(tmp_path / "fresh", 4, **kw)
    for name in ("metadata.csv", "world.jsonl"):
        assert (tmp_path / "w" / name).read_text() == (tmp_path / "fresh" / name).read_text()
    write_dataset(tmp_path / "w", 2, seed=3, overwrite=True, **kw)
    assert len((tmp_path / "w" / "world.jsonl").read_text().splitlines()) == 2


def test_write_dataset_checks_the_request_first(tmp_path):
    for kw, words in (({"n": 0}, "n=0"), ({"num_frames": 1}, "num_frames=1"), ({"height": 0}, "height=0"),
                      ({"width": 33}, "width=33"), ({"n": 10**12}, "GB")):
        with pytest.raises(ValueError, match=words):
            write_dataset(tmp_path / "w", **{"n": 1, **kw})
    assert not (tmp_path / "w").exists()
