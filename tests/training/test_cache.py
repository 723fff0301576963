"""The latent cache: metadata.csv → safetensors shards (cache_writer) → batches (cache_reader), on the tiny
packing pipeline."""

from __future__ import annotations

import csv
import logging
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from pusa.conditions import fit_frames, to_frames
from pusa.io import read_video, write_video
from pusa.training.cache_reader import Bucket, DataError, LatentCache, batch_order, collate, pad_text
from pusa.training.cache_writer import cache_frames, choose_bucket, preprocess, read_metadata

L = 16  # the tiny tokenizer's max length
BUCKETS = ["9x32x32", "5x32x32", "5x32x48"]
# file, frames, height, width, caption, expected bucket
CLIPS = [("a.mp4", 9, 32, 32, "a red circle moves left", "9x32x32"),
         ("b.mp4", 13, 40, 40, "a blue square moves right", "9x32x32"),
         ("c.mp4", 9, 32, 48, "the green ball bounces", "5x32x48"),
         ("d.mp4", 5, 48, 32, "a yellow box falls down", "5x32x32"),
         ("e.mp4", 9, 32, 32, "a white triangle moves up", "9x32x32")]


def moving_square(frames: int, height: int, width: int, seed: int) -> np.ndarray:
    """uint8 [T, H, W, 3]: a coloured square sliding over a plain background."""
    rng = np.random.default_rng(seed)
    video = np.empty((frames, height, width, 3), np.uint8)
    video[:] = rng.integers(0, 256, 3, dtype=np.uint8)
    colour = rng.integers(0, 256, 3, dtype=np.uint8)
    for t in range(frames):
        x = 2 * t % (width - 8)
        video[t, height // 3:height // 3 + 8, x:x + 8] = colour
    return video


def write_metadata(data_dir: Path, rows: list[tuple[str, str]], header=("file_name", "text")) -> None:
    with open(data_dir / "metadata.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("videos")
    for seed, (name, n, h, w, _, _) in enumerate(CLIPS):
        write_video(root / name, moving_square(n, h, w, seed), fps=16)
    write_video(root / "short.mp4", moving_square(3, 32, 32, 9), fps=16)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    return root


@pytest.fixture
def data(videos, tmp_path) -> Path:
    """A fresh data folder (videos copied) with the five good clips in metadata.csv."""
    root = tmp_path / "data"
    shutil.copytree(videos, root)
    write_metadata(root, [(c[0], c[4]) for c in CLIPS])
    return root


@pytest.fixture
def pipe(tiny_packing_pipe):
    return tiny_packing_pipe


class CountingEncoder:
    """Wraps pipe.encode_frames and counts the clips it encodes."""

    def __init__(self, pipe, monkeypatch):
        self.calls, self._encode = 0, pipe.encode_frames
        monkeypatch.setattr(pipe, "encode_frames", self)

    def __call__(self, frames):
        self.calls += 1
        return self._encode(frames)


def files(cache: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(cache.iterdir())}


def stop_at(n: int):
    def progress(done, total, file_name):
        if done == n:
            raise KeyboardInterrupt(f"stopped after {file_name}")
    return progress


# --- round trip -----------------------------------------------------------------------------------


def test_round_trip_latents_and_text_equal_the_pipeline(pipe, data, tmp_path):
    report = preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    assert (report.total, report.encoded, report.already_cached, report.skipped) == (5, 5, 0, [])
    cache = LatentCache(tmp_path / "cache")
    assert len(cache) == 5 and len(cache.shards) == 3
    assert cache.config["max_sequence_length"] == L and cache.config["latent_channels"] == 192
    for i, (name, _, _, _, caption, bucket) in enumerate(CLIPS):
        item = cache[i]
        b = Bucket.parse(bucket)
        assert (item["file_name"], item["caption"], item["bucket"]) == (name, caption, b)
        frames = fit_frames(to_frames(read_video(data / name)[0][:b.num_frames]), b.height, b.width)
        assert torch.equal(item["latents"], pipe.encode_frames(frames)[0])
        assert item["text"].shape[0] == len(caption.split()) + 1  # words + </s>: trimmed
        assert torch.equal(pad_text(item["text"], L), pipe.encode_prompt([caption], L)[0])
    assert torch.equal(cache.pad_text(cache.empty_prompt(), L), pipe.encode_prompt([""], L)[0])


def test_bfloat16_cache(pipe, data, tmp_path):
    preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L, dtype=torch.bfloat16)
    cache = LatentCache(tmp_path / "cache")
    assert cache[0]["latents"].dtype == cache[0]["text"].dtype == cache.empty_prompt().dtype == torch.bfloat16
    with pytest.raises(DataError, match=r"dtype='bfloat16' \(this run: 'float32'\)"):
        preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L)


# --- buckets --------------------------------------------------------------------------------------


def test_bucket_parse_and_choice():
    assert Bucket.parse("17x64x48") == Bucket(17, 64, 48) and str(Bucket(17, 64, 48)) == "17x64x48"
    for bad in ("17x64", "ax64x64", "0x64x64", ""):
        with pytest.raises(DataError, match="FRAMESxHEIGHTxWIDTH"):
            Bucket.parse(bad)
    buckets = ["9x32x32", "5x32x32", "5x32x48", "9x64x64"]
    assert choose_bucket(13, 40, 40, buckets) == Bucket(9, 64, 64)  # equal ratios tie → the largest
    assert choose_bucket(13, 40, 40, buckets[:3]) == Bucket(9, 32, 32)
    assert choose_bucket(9, 100, 160, buckets) == Bucket(5, 32, 48)  # closest ratio beats more frames
    assert choose_bucket(5, 480, 320, buckets) == Bucket(5, 32, 32)  # only the short buckets fit
    assert choose_bucket(4, 32, 32, buckets) is None


def test_preprocess_assigns_buckets_and_checks_them(pipe, data, tmp_path):
    preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L)
    groups = LatentCache(tmp_path / "cache").buckets()
    assert groups == {Bucket(5, 32, 32): [3], Bucket(5, 32, 48): [2], Bucket(9, 32, 32): [0, 1, 4]}
    with pytest.raises(DataError, match=r"bucket 8x32x32: num_frames=8 .* use 5 or 9"):
        preprocess(data, tmp_path / "other", pipe, ["8x32x32"], max_sequence_length=L)
    with pytest.raises(DataError, match=r"bucket 9x36x32: height=36 must be a multiple of 8; use 32 or 40"):
        preprocess(data, tmp_path / "other", pipe, ["9x36x32"], max_sequence_length=L)
    assert not (tmp_path / "other").exists()


# --- resume -----------------------------------------------------------------------------------------


def test_rerun_skips_cached_clips_and_adds_new_ones(pipe, data, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    preprocess(data, cache, pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    before = files(cache)
    counter = CountingEncoder(pipe, monkeypatch)
    report = preprocess(data, cache, pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    assert counter.calls == 0 and (report.encoded, report.already_cached) == (0, 5)
    assert files(cache) == before
    write_metadata(data, [(c[0], c[4]) for c in CLIPS] + [("a.mp4", "a ball on the floor")])
    report = preprocess(data, cache, pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    assert counter.calls == 1 and (report.encoded, report.already_cached) == (1, 5)
    assert all(files(cache)[name] == data for name, data in before.items() if name.startswith("shard"))
    assert LatentCache(cache)[5]["caption"] == "a ball on the floor"


def test_interrupted_run_resumes_to_the_same_cache(pipe, data, tmp_path, monkeypatch):
    kw = dict(max_sequence_length=L, shard_size=2)
    preprocess(data, tmp_path / "whole", pipe, BUCKETS, **kw)
    with pytest.raises(KeyboardInterrupt):  # stopped mid-shard: shard 0 written, clip 3 only in memory
        preprocess(data, tmp_path / "resumed", pipe, BUCKETS, progress=stop_at(3), **kw)
    assert len(LatentCache(tmp_path / "resumed")) == 2
    counter = CountingEncoder(pipe, monkeypatch)
    seen = []
    preprocess(data, tmp_path / "resumed", pipe, BUCKETS, progress=lambda *a: seen.append(a), **kw)
    assert counter.calls == 3 and [s[:2] for s in seen] == [(3, 5), (4, 5), (5, 5)]
    assert files(tmp_path / "resumed") == files(tmp_path / "whole")  # byte for byte


def test_a_failed_later_run_keeps_everything_written(pipe, data, tmp_path):
    cache = tmp_path / "cache"
    preprocess(data, cache, pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    before = files(cache)
    write_metadata(data, [(c[0], c[4]) for c in CLIPS] + [(c[0], "the " + c[4]) for c in CLIPS])
    with pytest.raises(KeyboardInterrupt):
        preprocess(data, cache, pipe, BUCKETS, max_sequence_length=L, shard_size=2, progress=stop_at(7))
    after = files(cache)
    assert all(after[name] == content for name, content in before.items() if name != "manifest.json")
    assert len(LatentCache(cache)) == 7  # the old five and one new shard of two
    with pytest.raises(DataError, match="refusing to mix"):
        preprocess(data, cache, pipe, BUCKETS, max_sequence_length=8)
    assert files(cache) == after


# --- bad clips --------------------------------------------------------------------------------------


def test_bad_clips_are_skipped_and_counted(pipe, data, tmp_path, caplog):
    rows = [(c[0], c[4]) for c in CLIPS]
    write_metadata(data, rows[:2] + [("gone.mp4", "a ball"), ("broken.mp4", "a box"), ("short.mp4", "a wall")]
                   + rows[2:])
    with caplog.at_level(logging.WARNING, logger="pusa.training.cache_writer"):
        report = preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L)
    assert report.counts == {"missing": 1, "undecodable": 1, "too short": 1}
    assert [s.file_name for s in report.skipped] == ["gone.mp4", "broken.mp4", "short.mp4"]
    assert report.skip_summary() == "1 missing, 1 undecodable, 1 too short (needs ≥ 5 frames)"
    assert "skipped 3" in report.summary()
    for name in ("gone.mp4", "broken.mp4", "short.mp4"):
        assert any(name in r.getMessage() for r in caplog.records)
    cache = LatentCache(tmp_path / "cache")
    assert [cache[i]["file_name"] for i in range(len(cache))] == [c[0] for c in CLIPS]


def test_all_bad_clips_raise_one_line(pipe, data, tmp_path):
    write_metadata(data, [("gone.mp4", "a"), ("lost.mp4", "b"), ("short.mp4", "c")])
    with pytest.raises(DataError) as err:
        preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L)
    assert str(err.value).endswith("no usable clips in " + str(data / "metadata.csv")
                                   + ": 2 missing, 1 too short (needs ≥ 5 frames)")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content, message", [
    (None, r"metadata.csv not found; put a metadata.csv with the header file_name,text"),
    ("", r"metadata.csv is empty"),
    ("file_name,text\n", r"metadata.csv has no rows"),
    ("file_name,caption\na.mp4,a ball\n", r"no 'text' \(caption\) column; its columns are \['file_name', 'caption'\]"),
    ("video,text\na.mp4,a ball\n", r"no 'file_name' \(video file\) column; its columns are \['video', 'text'\]"),
])
def test_metadata_errors_are_one_clear_line(tmp_path, content, message):
    if content is not None:
        (tmp_path / "metadata.csv").write_text(content)
    with pytest.raises(DataError, match=message) as err:
        read_metadata(tmp_path)
    assert "\n" not in str(err.value)


def test_metadata_tolerates_bom_spaces_and_extra_columns(tmp_path):
    (tmp_path / "metadata.csv").write_text("\ufefffile_name , text,fps\na.mp4, a ball ,16\nb.mp4,,16\n")
    assert [(c.file_name, c.text) for c in read_metadata(tmp_path)] == [("a.mp4", "a ball"), ("b.mp4", "")]


# --- corruption -------------------------------------------------------------------------------------


@pytest.fixture
def cache_dir(pipe, data, tmp_path) -> Path:
    preprocess(data, tmp_path / "cache", pipe, BUCKETS, max_sequence_length=L, shard_size=2)
    return tmp_path / "cache"


def test_truncated_or_corrupted_shard_names_the_file(cache_dir):
    shard = cache_dir / "shard-00001.safetensors"
    content = shard.read_bytes()
    shard.write_bytes(content[:len(content) // 2])
    cache = LatentCache(cache_dir)
    assert cache[0]["latents"].shape == (192, 3, 8, 8)  # other shards still load
    with pytest.raises(DataError, match=r"shard-00001\.safetensors is truncated or corrupted") as err:
        cache[2]
    assert "\n" not in str(err.value)
    shard.write_bytes(b"\xff" * len(content))  # same size, garbage header
    with pytest.raises(DataError, match=r"shard-00001\.safetensors is corrupted or truncated"):
        LatentCache(cache_dir)[3]
    shard.write_bytes(content[:8] + content[8:-1] + bytes([content[-1] ^ 1]))  # one flipped bit in the data
    assert LatentCache(cache_dir)[3] is not None  # only the checksum sees it
    with pytest.raises(DataError, match=r"shard-00001\.safetensors is corrupted: its sha256"):
        LatentCache(cache_dir, verify=True)[3]


def test_truncated_manifest_names_the_file_and_preprocess_leaves_it(pipe, data, cache_dir):
    manifest = cache_dir / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:-40])
    with pytest.raises(DataError, match=r"manifest\.json is corrupted or truncated"):
        LatentCache(cache_dir)
    before = files(cache_dir)
    with pytest.raises(DataError, match=r"manifest\.json is corrupted or truncated"):
        preprocess(data, cache_dir, pipe, BUCKETS, max_sequence_length=L)
    assert files(cache_dir) == before


def test_missing_cache_and_foreign_folder(pipe, data, tmp_path):
    with pytest.raises(DataError, match=r"config\.json is missing; not a preprocessed cache"):
        LatentCache(tmp_path / "nowhere")
    (tmp_path / "odd").mkdir()
    (tmp_path / "odd" / "shard-00000.safetensors").write_bytes(b"mine")
    with pytest.raises(DataError, match="holds cache files but no config.json"):
        preprocess(data, tmp_path / "odd", pipe, BUCKETS, max_sequence_length=L)
    assert (tmp_path / "odd" / "shard-00000.safetensors").read_bytes() == b"mine"


# --- batches --------------------------------------------------------------------------------------


class FakeCache:
    def buckets(self):
        return {Bucket(5, 32, 48): list(range(10, 17)), Bucket(9, 32, 32): list(range(10))}


def test_batch_order_is_deterministic_and_bucket_pure():
    cache = FakeCache()
    order = batch_order(cache, 3, seed=1, epoch=0)
    assert order == batch_order(cache, 3, seed=1, epoch=0)
    assert order != batch_order(cache, 3, seed=1, epoch=1) and order != batch_order(cache, 3, seed=2, epoch=0)
    assert len(order) == 3 + 2 and all(len(b) == 3 for b in order)  # 10 → 3 batches, 7 → 2 (rest dropped)
    flat = [i for b in order for i in b]
    assert len(set(flat)) == len(flat)
    assert all(set(b) <= set(range(10)) or set(b) <= set(range(10, 17)) for b in order)
    with pytest.raises(DataError, match=r"no bucket holds batch_size=11 samples \(5x32x48: 7, 9x32x32: 10\)"):
        batch_order(cache, 11, seed=0, epoch=0)


def test_collate_stacks_one_bucket(cache_dir):
    cache = LatentCache(cache_dir)
    (batch,) = batch_order(cache, 3, seed=0, epoch=0)  # only 9x32x32 holds three samples
    out = collate(cache, batch)
    assert out["latents"].shape == (3, 192, 3, 8, 8) and out["text"].shape == (3, L, 32)
    assert out["captions"] == [CLIPS[i][4] for i in batch]
    with pytest.raises(ValueError, match="one bucket"):
        collate(cache, [0, 2])
    with pytest.raises(ValueError, match="more than max_sequence_length=4"):
        collate(cache, [0], max_sequence_length=4)
    clone = pickle.loads(pickle.dumps(cache))  # DataLoader workers
    assert torch.equal(clone[4]["latents"], cache[4]["latents"])


def test_cache_frames_writes_generated_clips_and_skips_them_on_restart(tmp_path):
    from pusa.tiny import tiny_pipeline

    pipe = tiny_pipeline("packing")
    rng = np.random.default_rng(0)
    clips = [(f"c{i}", rng.integers(0, 256, (5, 32, 32, 3), dtype=np.uint8), f"a red square {i}") for i in range(3)]
    assert cache_frames(tmp_path / "cache", pipe, clips[:2], max_sequence_length=8, shard_size=2) == 2
    assert cache_frames(tmp_path / "cache", pipe, clips, max_sequence_length=8, shard_size=2) == 1
    cache = LatentCache(tmp_path / "cache", verify=True)
    assert len(cache) == 3 and [cache[i]["caption"] for i in range(3)] == [c for _, _, c in clips]
    expect = pipe.encode_frames(torch.from_numpy(clips[2][1]).float() / 255)[0]
    assert torch.allclose(cache[2]["latents"], expect)
    assert str(cache[0]["bucket"]) == "5x32x32"
