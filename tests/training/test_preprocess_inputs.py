"""Issue 21: `preprocess` reads only inside the data folder, and leaves nothing behind when it writes nothing."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from pusa.io import write_video
from pusa.training.cache_reader import DataError, LatentCache
from pusa.training.cache_writer import check_clip_paths, check_clips_exist, preprocess, read_metadata

L, BUCKETS = 16, ["5x32x32"]


def _metadata(folder, names) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "metadata.csv").write_text("file_name,text\n" + "".join(f"{n},a red square\n" for n in names))


def _tree(root) -> dict[str, bytes | None]:
    return {os.path.relpath(os.path.join(d, n), root): (open(os.path.join(d, n), "rb").read() if n in files else None)
            for d, dirs, files in os.walk(root) for n in dirs + files}


@pytest.mark.parametrize(("name", "words"), [
    ("../outside.mp4", "leaves the data folder"), ("sub/../../outside.mp4", "leaves the data folder"),
    ("/etc/hostname", "an absolute path"), ("link.mp4", "leaves the data folder (resolves to ")])
def test_paths_outside_the_data_folder_are_refused_naming_the_row(name, words, tmp_path):
    data = tmp_path / "data"
    _metadata(data, ["inner.mp4", "sub/fine.mp4", name])
    (tmp_path / "outside.mp4").write_bytes(b"x")
    (data / "link.mp4").symlink_to(tmp_path / "outside.mp4")
    (data / "fine.mp4").write_bytes(b"x")
    (data / "inner.mp4").symlink_to(data / "fine.mp4")  # a link that stays inside is fine
    check_clip_paths(data, read_metadata(data)[:2])
    with pytest.raises(DataError, match=re.escape(f"metadata.csv row 3 (file_name '{name}'): {words}")) as err:
        check_clip_paths(data, read_metadata(data))
    assert "\n" not in str(err.value)
    before = _tree(tmp_path)
    with pytest.raises(DataError, match="row 3"):  # refused before the pipeline is touched: no model needed
        preprocess(data, tmp_path / "cache", pipe=None, buckets=BUCKETS, max_sequence_length=L)
    assert _tree(tmp_path) == before


def test_check_clips_exist(tmp_path):
    _metadata(tmp_path, ["a.mp4", "b.mp4"])
    with pytest.raises(DataError, match="all 2 videos listed in .*metadata.csv are missing"):
        check_clips_exist(tmp_path, read_metadata(tmp_path))
    (tmp_path / "b.mp4").write_bytes(b"x")
    check_clips_exist(tmp_path, read_metadata(tmp_path))  # one is enough; preprocess skips the others


def test_nothing_written_leaves_no_cache(tiny_packing_pipe, tmp_path):
    data = tmp_path / "data"
    _metadata(data, ["broken.mp4", "short.mp4", "gone.mp4"])
    (data / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not a video")
    write_video(data / "short.mp4", np.zeros((3, 32, 32, 3), np.uint8), fps=16)
    for cache in (tmp_path / "cache", tmp_path / "made" / "cache"):
        with pytest.raises(DataError, match="no usable clips"):
            preprocess(data, cache, tiny_packing_pipe, BUCKETS, max_sequence_length=L)
        assert not cache.exists() and not cache.parent.joinpath("made").exists()
    (tmp_path / "empty").mkdir()  # a folder the user made stays, empty
    with pytest.raises(DataError, match="no usable clips"):
        preprocess(data, tmp_path / "empty", tiny_packing_pipe, BUCKETS, max_sequence_length=L)
    assert list((tmp_path / "empty").iterdir()) == []
    write_video(data / "ok.mp4", np.zeros((5, 32, 32, 3), np.uint8), fps=16)
    _metadata(data, ["broken.mp4", "ok.mp4"])
    report = preprocess(data, tmp_path / "cache", tiny_packing_pipe, BUCKETS, max_sequence_length=L)
    assert report.encoded == 1 and len(LatentCache(tmp_path / "cache")) == 1
