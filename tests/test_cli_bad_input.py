"""Issue 21: every bad input to the commands other than `pusa generate` gets one line and exit code 2.

Each case is a CLI invocation run in a temporary folder holding the inputs it needs. The test asserts: exit
code 2, exactly one line on stderr starting with "error:" and holding the expected words, no traceback, no new
file or folder anywhere in the temporary folder and every existing file unchanged. No case loads a model.
The same checks have a Python API (a one-line ValueError), tested below the table.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import types
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from pusa.cli import app

runner = CliRunner()
HAS_PROC = Path("/proc/self").exists()
HAS_CUDA = torch.cuda.is_available()
GIB = 2**30


# --- inputs ----------------------------------------------------------------------------------------

def _loras(root: Path) -> None:
    key = "blocks.0.self_attn.q.lora_A.default.weight"
    save_file({key: torch.ones(4, 8)}, root / "good.safetensors")
    data = (root / "good.safetensors").read_bytes()
    (root / "truncated.safetensors").write_bytes(data[: len(data) // 2])
    (root / "empty.safetensors").write_bytes(b"")
    torch.save({key: torch.ones(4, 8)}, root / "pickle.safetensors")  # a pickle under the wrong name
    save_file({key: torch.tensor([[1.0, math.nan]])}, root / "nan.safetensors")
    save_file({key: torch.tensor([[1.0, math.inf]])}, root / "inf.safetensors")
    (root / "folder.safetensors").mkdir()
    (root / "existing.safetensors").write_bytes(b"keep me")
    (root / "weights.pt").write_bytes(b"keep me")


def _cache(root: Path) -> None:
    """A latent cache as far as `pusa train`'s checks read it: captions of up to 7 text tokens."""
    cache = root / "cache"
    cache.mkdir()
    samples = [{"file_name": f"c{i}.mp4", "caption": "x", "bucket": "9x32x32", "shard": "shard-00000.safetensors",
                "key": str(i), "text_len": n} for i, n in enumerate((5, 7, 3))]
    (cache / "manifest.json").write_text(json.dumps({"format": "pusa-latent-cache", "version": 1,
                                                     "shards": {"shard-00000.safetensors": {}}, "samples": samples}))
    save_file({"text": torch.zeros(2, 8)}, cache / "empty_prompt.safetensors")


def _world_unfinished(root: Path, record: dict) -> None:
    (root / "w").mkdir()
    (root / "w" / "clip_00000.mp4").write_bytes(b"a clip")
    (root / "w" / "world.jsonl").write_text(json.dumps(record) + "\n")


def _data(root: Path) -> None:
    """Data folders for `pusa preprocess`: ok.mp4 exists (its content is never read by these cases)."""
    for name, rows in (("up", ["ok.mp4", "../outside.mp4"]), ("absolute", ["ok.mp4", str(root / "outside.mp4")]),
                       ("link", ["ok.mp4", "link.mp4"]), ("late", ["ok.mp4", "ok.mp4", "sub/../../outside.mp4"]),
                       ("gone", ["nope.mp4", "lost.mp4"])):
        (root / name).mkdir()
        (root / name / "ok.mp4").write_bytes(b"not decoded")
        (root / name / "metadata.csv").write_text("file_name,text\n" + "".join(f"{r},a caption\n" for r in rows))
    (root / "outside.mp4").write_bytes(b"outside the data folder")
    (root / "link" / "link.mp4").symlink_to(root / "outside.mp4")
    (root / "gone" / "ok.mp4").unlink()


def _inputs(root: Path) -> None:
    _loras(root)
    _cache(root)
    _data(root)
    (root / "file.txt").write_text("a file, not a folder")
    (root / "videos").mkdir()
    (root / "run").mkdir()  # a `pusa train` output_dir without checkpoints
    (root / "done").mkdir()
    (root / "done" / "metadata.csv").write_text("file_name,text\n")


TRAIN = ["train", "--model", "model", "--cache", "cache", "--output-dir", "run"]

# (id, arguments, words the error line holds); paths are relative to the temporary folder (the cwd)
CASES = [
    # convert-lora: unreadable, corrupt, or wrong kind of file; outputs that cannot or may not be written
    ("lora-truncated", ["convert-lora", "truncated.safetensors", "o.safetensors", "--to", "comfy"],
     "truncated.safetensors: not a readable safetensors file"),
    ("lora-empty", ["convert-lora", "empty.safetensors", "o.safetensors", "--to", "comfy"],
     "empty.safetensors: not a readable safetensors file"),
    ("lora-pickle", ["convert-lora", "pickle.safetensors", "o.safetensors", "--to", "comfy"],
     "pickle.safetensors: not a readable safetensors file"),
    ("lora-nan", ["convert-lora", "nan.safetensors", "o.safetensors", "--to", "comfy"], "nan.safetensors: tensor"),
    ("lora-inf", ["convert-lora", "inf.safetensors", "o.safetensors", "--to", "comfy"], "NaN/inf"),
    ("lora-directory", ["convert-lora", "folder.safetensors", "o.safetensors", "--to", "comfy"],
     "is a directory, expected a .safetensors file"),
    ("lora-missing", ["convert-lora", "nope.safetensors", "o.safetensors", "--to", "comfy"], "not found"),
    ("lora-pt", ["convert-lora", "weights.pt", "o.safetensors", "--to", "comfy"], "must be a .safetensors file"),
    ("lora-bad-layout", ["convert-lora", "good.safetensors", "o.safetensors", "--to", "kohya"], "expected one of"),
    ("lora-malformed", ["convert-lora", "good.safetensors", "o.safetensors", "--to", "comfy"],
     "LoRA good.safetensors: 1 malformed LoRA modules"),
    ("lora-out-exists", ["convert-lora", "good.safetensors", "existing.safetensors", "--to", "comfy"],
     "existing.safetensors already exists; pass --overwrite"),
    ("lora-out-directory", ["convert-lora", "good.safetensors", "folder.safetensors", "--to", "comfy", "--overwrite"],
     "is a directory"),
    ("lora-out-suffix", ["convert-lora", "good.safetensors", "o.bin", "--to", "comfy"], "must end in .safetensors"),
    ("lora-out-under-file", ["convert-lora", "good.safetensors", "file.txt/o.safetensors", "--to", "comfy"],
     "is a file, not a folder"),
    # export
    ("export-out-file-overwrite", ["export", "run", "--out", "file.txt", "--overwrite"],
     "--out file.txt: is a file, expected a folder"),
    ("export-out-file", ["export", "run", "--out", "file.txt"], "is a file, expected a folder"),
    ("export-no-checkpoint", ["export", "run"], "no complete checkpoint"),
    # ui (all refused before gradio or a model is touched)
    ("ui-port-high", ["ui", "--port", "99999"], "--port 99999: must be 1-65535"),
    ("ui-port-zero", ["ui", "--port", "0"], "must be 1-65535"),
    ("ui-host-empty", ["ui", "--host", ""], "--host"),
    ("ui-lora-missing", ["ui", "--lora", "nope.safetensors"], "--lora nope.safetensors: file not found"),
    ("ui-lora-directory", ["ui", "--lora", "folder.safetensors"], "is a directory, expected a .safetensors file"),
    ("ui-lora-truncated", ["ui", "--lora", "truncated.safetensors"], "not a readable safetensors file"),
    ("ui-lora-pickle", ["ui", "--lora", "pickle.safetensors"], "not a readable safetensors file"),
    ("ui-lora-pt", ["ui", "--lora", "weights.pt"], "must be a .safetensors file"),
    # world
    ("world-huge-n", ["world", "w", "--n", "1000000000"], "GB free"),
    ("world-n-zero", ["world", "w", "--n", "0"], "--n 0: expected at least 1 clip"),
    ("world-one-frame", ["world", "w", "--frames", "1"], "--frames 1: expected 2-"),
    ("world-zero-frames", ["world", "w", "--frames", "0"], "--frames 0"),
    ("world-many-frames", ["world", "w", "--frames", "100001"], "--frames 100001"),
    ("world-zero-height", ["world", "w", "--height", "0"], "--height 0"),
    ("world-negative-width", ["world", "w", "--width", "-64"], "--width -64"),
    ("world-odd-width", ["world", "w", "--width", "63"], "even"),
    ("world-huge-size", ["world", "w", "--width", "100000", "--height", "100000"], "--height 100000"),
    ("world-huge-clip", ["world", "w", "--frames", "1024", "--width", "2048", "--height", "2048"], "GiB of memory"),
    ("world-negative-seed", ["world", "w", "--seed", "-1"], "--seed -1"),
    ("world-preset", ["world", "w", "--preset", "nope"], "unknown world preset 'nope'"),
    ("world-finished", ["world", "done"], "metadata.csv already exists; pass --overwrite"),
    ("world-out-file", ["world", "file.txt"], "is a file, expected a folder"),
    ("world-other-settings", ["world", "w", "--n", "3", "--seed", "1"], "written with other settings"),
    ("world-bad-journal", ["world", "w", "--n", "3"], "not valid JSON"),
    # train: every number finite and in range, checked before the run folder is touched
    ("train-lr-negative", [*TRAIN, "--set", "lr=-1"], "config lr=-1: expected a finite learning rate"),
    ("train-lr-zero", [*TRAIN, "--set", "lr=0"], "config lr=0"),
    ("train-lr-nan", [*TRAIN, "--set", "lr=NaN"], "config lr=nan"),
    ("train-lr-text", [*TRAIN, "--set", "lr=fast"], "expected a number"),
    ("train-max-steps", [*TRAIN, "--max-steps", "0"], "max_steps=0: expected an integer >= 1"),
    ("train-max-steps-float", [*TRAIN, "--set", "max_steps=1.5"], "max_steps=1.5"),
    ("train-batch-size", [*TRAIN, "--set", "batch_size=-2"], "batch_size=-2"),
    ("train-p-async", [*TRAIN, "--set", "p_async=2"], "p_async=2: expected a probability"),
    ("train-p-cond-nan", [*TRAIN, "--set", "p_cond=NaN"], "p_cond=nan"),
    ("train-shift-zero", [*TRAIN, "--set", "shift=0"], "shift=0"),
    ("train-shift-inf", [*TRAIN, "--set", "shift=Infinity"], "shift=inf"),
    ("train-lora-rank", [*TRAIN, "--set", "lora_rank=0"], "lora_rank=0"),
    ("train-lora-alpha-nan", [*TRAIN, "--set", "lora_alpha=NaN"], "lora_alpha=nan"),
    ("train-weight-decay", [*TRAIN, "--set", "weight_decay=-1"], "weight_decay=-1"),
    ("train-betas", [*TRAIN, "--set", "adam_betas=[0.9, 1.0]"], "adam_betas"),
    ("train-grad-norm", [*TRAIN, "--set", "max_grad_norm=0"], "max_grad_norm=0"),
    ("train-ema", [*TRAIN, "--set", "ema_decay=1"], "ema_decay=1"),
    ("train-warmup", [*TRAIN, "--set", "warmup_steps=-1"], "warmup_steps=-1"),
    ("train-seed", [*TRAIN, "--set", "seed=-1"], "seed=-1"),
    ("train-max-len-zero", [*TRAIN, "--set", "max_sequence_length=0"], "max_sequence_length=0: expected an integer"),
    ("train-max-len-short", [*TRAIN, "--set", "max_sequence_length=4"],
     "max_sequence_length=4: expected >= 7: the cache cache holds text states of up to 7 tokens"),
    ("train-bad-set", [*TRAIN, "--set", "lr"], "expected KEY=VALUE"),
    ("train-unknown-key", [*TRAIN, "--set", "lrate=1"], "unknown config key 'lrate'"),
    ("train-no-cache", ["train", "--model", "model", "--cache", "none", "--output-dir", "run"],
     "run `pusa preprocess` first"),
    # preprocess: reads only inside the data folder (every row checked before the model loads)
    ("preprocess-dotdot", ["preprocess", "up", "cache-new", "--model", "model"],
     "row 2 (file_name '../outside.mp4'): leaves the data folder"),
    ("preprocess-absolute", ["preprocess", "absolute", "cache-new", "--model", "model"], "row 2 (file_name '/"),
    ("preprocess-symlink", ["preprocess", "link", "cache-new", "--model", "model"],
     "row 2 (file_name 'link.mp4'): leaves the data folder"),
    ("preprocess-late-row", ["preprocess", "late", "cache-new", "--model", "model"], "row 3"),
    ("preprocess-all-missing", ["preprocess", "gone", "cache-new", "--model", "model"],
     "all 2 videos listed in gone/metadata.csv are missing"),
    ("preprocess-no-metadata", ["preprocess", "videos", "cache-new", "--model", "model"], "metadata.csv not found"),
    ("preprocess-max-len", ["preprocess", "up", "cache-new", "--model", "model", "--max-sequence-length", "0"],
     "--max-sequence-length 0"),
    ("preprocess-shard-size", ["preprocess", "up", "cache-new", "--model", "model", "--shard-size", "0"],
     "--shard-size 0"),
    # eval: the device is checked before anything is scored
    ("eval-device-banana", ["eval", "videos", "--device", "banana"], "--device banana: not a device; use cpu, cuda"),
    ("eval-device-cuda", ["eval", "videos", "--device", "cuda"], "--device cuda: CUDA is not available"),
    ("eval-max-sheets", ["eval", "videos", "--max-sheets", "-1"], "--max-sheets -1"),
]
if HAS_PROC:
    CASES += [
        ("lora-out-proc", ["convert-lora", "good.safetensors", "/proc/o.safetensors", "--to", "comfy"],
         "output /proc/o.safetensors: cannot write there"),
        ("world-out-proc", ["world", "/proc/pusa-world"], "/proc/pusa-world: cannot write there"),
    ]

_SETUP = {
    "world-other-settings": lambda root: _world_unfinished(root, {"file_name": "clip_00000.mp4", "seed": 1}),
    "world-bad-journal": lambda root: (_world_unfinished(root, {}),
                                       (root / "w" / "world.jsonl").write_text("not json\n{}\n")),
}
_SKIP = {"eval-device-cuda": HAS_CUDA}


def _snapshot(root: Path) -> dict[str, tuple]:
    """Every file and folder under root: folders by name, files by content hash, size and mtime."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames:
            found[os.path.relpath(os.path.join(dirpath, name), root)] = ("dir",)
        for name in filenames:
            path = os.path.join(dirpath, name)
            stat = os.stat(path)
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
            found[os.path.relpath(path, root)] = (digest, stat.st_size, stat.st_mtime_ns)
    return found


def _assert_one_error_line(result, words: str) -> None:
    assert "Traceback" not in result.output and "Traceback" not in result.stderr, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert lines[0].startswith("error: "), lines[0]
    assert words in lines[0], f"{words!r} not in {lines[0]!r}"
    assert "overwrite=True" not in lines[0], lines[0]
    assert result.exit_code == 2, (result.exit_code, lines)


@pytest.mark.parametrize(("args", "words"), [pytest.param(args, words, id=case) for case, args, words in CASES])
def test_bad_input_gets_one_line(args, words, request, tmp_path, monkeypatch):
    case = request.node.callspec.id
    if _SKIP.get(case):
        pytest.skip("this machine has the device the case asks for")
    _inputs(tmp_path)
    if case in _SETUP:
        _SETUP[case](tmp_path)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(tmp_path)
    result = runner.invoke(app, args)
    _assert_one_error_line(result, words)
    assert _snapshot(tmp_path) == before, "the command created or changed files"


# --- the warning and the interrupted run ------------------------------------------------------------

@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("192.168.1.5", True), ("::", True),
                                              ("127.0.0.1", False), ("localhost", False), ("::1", False)])
def test_ui_warns_when_binding_beyond_loopback(host, warned, monkeypatch, tmp_path):
    import pusa.ui

    calls = []
    monkeypatch.setitem(sys.modules, "gradio", types.ModuleType("gradio"))  # no real gradio import
    monkeypatch.setattr(pusa.ui, "launch", lambda **kw: calls.append(kw))
    result = runner.invoke(app, ["ui", "--host", host, "--out-dir", str(tmp_path / "ui")])
    assert result.exit_code == 0, result.output
    assert calls and calls[0]["host"] == host
    warning = f"warning: binding {host} exposes the app to your network"
    assert result.stderr.splitlines() == ([warning] if warned else [])


def test_world_interrupted_says_so_and_resumes(monkeypatch, tmp_path):
    from pusa.world import dataset

    real, calls = dataset.make_clip, []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    args = ["world", str(tmp_path / "w"), "--n", "4", "--frames", "5", "--height", "16", "--width", "16"]
    monkeypatch.setattr(dataset, "make_clip", flaky)
    stopped = runner.invoke(app, args)
    assert stopped.exit_code == 130
    assert "interrupted after 2 of 4 clips" in stopped.stderr and "run the same command again" in stopped.stderr
    assert sorted(p.name for p in (tmp_path / "w").iterdir()) == ["clip_00000.mp4", "clip_00001.mp4", "world.jsonl"]
    resumed = runner.invoke(app, args)
    assert resumed.exit_code == 0, resumed.output
    assert "resuming" in resumed.output and "2 of 4 clips already written" in resumed.output
    assert len(calls) == 3 + 2  # only the two missing clips were rendered again
    rows = (tmp_path / "w" / "metadata.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows] == ["file_name"] + [f"clip_{i:05d}.mp4" for i in range(4)]


# --- the same checks in the Python API ------------------------------------------------------------

@pytest.mark.parametrize(("name", "words"), [
    ("truncated", "not a readable safetensors file"), ("empty", "not a readable safetensors file"),
    ("pickle", "not a readable safetensors file"), ("nan", "holds 1 NaN/inf value"), ("inf", "NaN/inf"),
    ("folder", "is a directory, expected a .safetensors file")])
def test_read_lora_refuses_bad_files(name, words, tmp_path):
    from pusa.models.lora import read_lora

    _loras(tmp_path)
    with pytest.raises(ValueError, match="LoRA .*" + words.replace(".", r"\.")) as err:
        read_lora(tmp_path / f"{name}.safetensors")
    assert str(tmp_path / f"{name}.safetensors") in str(err.value) and "\n" not in str(err.value)
    assert set(read_lora(tmp_path / "good.safetensors")) == {"blocks.0.self_attn.q.lora_A.default.weight"}


def test_load_loras_refuses_a_state_dict_with_nan():
    from pusa.models.lora import load_loras

    pipe = types.SimpleNamespace(transformer=torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="LoRA #0: tensor 'k' holds 1 NaN/inf value"):
        load_loras(pipe, [{"k": torch.tensor([0.0, math.nan])}])


def test_check_device():
    from pusa.devices import check_device

    assert check_device("cpu") == "cpu" and check_device("CPU") == "cpu"
    assert check_device("auto") == ("cuda" if HAS_CUDA else "cpu")
    for bad in ("banana", "cuda:", "cuda:-1", "cpu:3", "gpu", "", "cuda:0:1"):
        with pytest.raises(ValueError, match=r"^--device .*: not a device; use cpu, cuda or cuda:N"):
            check_device(bad)
    with pytest.raises(ValueError, match="^--vbench-device banana: not a device"):
        check_device("banana", flag="--vbench-device")
    if HAS_CUDA:
        assert check_device("cuda") == "cuda" and check_device("cuda:0") == "cuda:0"
        with pytest.raises(ValueError, match="has .* CUDA device"):
            check_device(f"cuda:{torch.cuda.device_count()}")
    else:
        for name in ("cuda", "cuda:0", "cuda:7"):
            with pytest.raises(ValueError, match=f"^--device {name}: CUDA is not available on this machine; "
                                                 f"use --device cpu$"):
                check_device(name)


def test_check_writable(tmp_path, monkeypatch):
    from pusa.io import check_writable

    before = _snapshot(tmp_path)
    assert check_writable(tmp_path / "o.mp4", "--out") == tmp_path / "o.mp4"
    assert check_writable(tmp_path / "new" / "deeper" / "o.mp4", "--out") == tmp_path / "new" / "deeper" / "o.mp4"
    assert _snapshot(tmp_path) == before  # the probe is gone and no folder was created
    (tmp_path / "f").write_text("x")
    cases = [(tmp_path, "is a directory"), (tmp_path / "f" / "o.mp4", "is a file, not a folder"),
             (tmp_path / "f" / "a" / "o.mp4", "is a file, not a folder")]
    if HAS_PROC:
        cases += [(Path("/proc/o.mp4"), "cannot write there (read-only or special filesystem); choose another path"),
                  (Path("/sys/o.mp4"), "cannot write there"), (Path("/proc/self/o.mp4"), "cannot write there")]
    for path, words in cases:
        with pytest.raises(ValueError, match=f"^--out {path}: ") as err:
            check_writable(path, "--out")
        assert words in str(err.value)

    # a read-only mount: mkstemp fails with EROFS even for root
    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr("pusa.io.tempfile.mkstemp", read_only)
    with pytest.raises(ValueError, match=r"^--out .*o\.mp4: cannot write there \(read-only file system in "):
        check_writable(tmp_path / "o.mp4", "--out")


def test_check_writable_read_only_folder(tmp_path):
    from pusa.io import check_writable

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        try:  # root writes into 0o555 folders anyway: then there is nothing to refuse
            (folder / "probe").write_text("x")
            (folder / "probe").unlink()
            pytest.skip("this user can write into a read-only (0o555) folder (root)")
        except PermissionError:
            pass
        with pytest.raises(ValueError, match=r"^--out .*ro/o\.mp4: cannot write there"):
            check_writable(folder / "o.mp4", "--out")
        with pytest.raises(ValueError, match="cannot write there"):
            check_writable(folder / "sub" / "o.mp4", "--out")
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize(("key", "value"), [
    ("lr", -1), ("lr", 0), ("lr", math.nan), ("lr", math.inf), ("lr", 2), ("lr", True), ("lr", "1e-4"),
    ("max_steps", 0), ("max_steps", 1.5), ("batch_size", -1), ("grad_accum", 0), ("lora_rank", 0),
    ("p_async", 1.5), ("p_async", math.nan), ("p_cond", -0.1), ("shift", 0), ("shift", -math.inf),
    ("lora_alpha", math.nan), ("weight_decay", math.inf), ("max_grad_norm", math.nan), ("ema_decay", 1.0),
    ("caption_dropout", 2), ("adam_betas", (0.9,)), ("adam_betas", (0.9, math.nan)), ("warmup_steps", -1),
    ("seed", -1), ("seed", 2**64), ("sample_seeds", [-1]), ("max_sequence_length", 0),
    ("max_sequence_length", 2.5), ("log_every", 0), ("sample_steps", 0), ("sample_every", -1)])
def test_train_config_refuses_out_of_range_numbers(key, value):
    from pusa.training.config import TrainConfig

    with pytest.raises(ValueError, match=f"^config {key}=") as err:
        TrainConfig(model="m", cache="c", **{key: value}).validate()
    assert "\n" not in str(err.value)


def test_train_config_max_sequence_length_against_the_cache(tmp_path):
    from pusa.training.config import TrainConfig, cache_text_length

    _cache(tmp_path)
    cache = str(tmp_path / "cache")
    assert cache_text_length(cache) == 7 and cache_text_length(tmp_path / "none") is None
    TrainConfig(model="m", cache=cache).validate()  # the cache's own length
    TrainConfig(model="m", cache=cache, max_sequence_length=7).validate()
    with pytest.raises(ValueError, match="max_sequence_length=6: expected >= 7"):
        TrainConfig(model="m", cache=cache, max_sequence_length=6).validate()
    save_file({"text": torch.zeros(9, 8)}, tmp_path / "cache" / "empty_prompt.safetensors")
    with pytest.raises(ValueError, match="expected >= 9"):  # the empty prompt is padded too
        TrainConfig(model="m", cache=cache, max_sequence_length=8).validate()


def test_world_check_request_and_export_out_file(tmp_path):
    from pusa.training.export import export_checkpoint
    from pusa.world.dataset import check_request, write_dataset

    check_request(1, 2, 8, 8)
    for kwargs, words in (({"n": 0}, "n=0"), ({"num_frames": 1}, "num_frames=1"), ({"height": 7}, "height=7"),
                          ({"width": 4096}, "width=4096"), ({"seed": -1}, "seed=-1")):
        with pytest.raises(ValueError, match=words):
            write_dataset(tmp_path / "w", **{"n": 1, **kwargs})
    assert not (tmp_path / "w").exists()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file, expected a folder"):
        export_checkpoint(tmp_path, out_dir=tmp_path / "file", overwrite=True)
