"""`pusa generate` on a tiny pipeline folder: outputs, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from pusa.cli import app, parse_image_spec, parse_keep
from pusa.io import read_video, write_video

runner = CliRunner()


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    img = np.zeros((48, 40, 3), np.uint8)
    img[10:30, 8:28] = (220, 40, 40)
    Image.fromarray(img).save(root / "red.png")
    rng = np.random.default_rng(0)
    write_video(root / "clip.mp4", rng.integers(0, 256, (17, 32, 32, 3), dtype=np.uint8), fps=16)
    (root / "broken.png").write_bytes(b"not an image at all")
    (root / "broken.mp4").write_bytes(b"\x00" * 100)
    return root


def _generate(model_dir, out, *args):
    return runner.invoke(app, ["generate", "--model", str(model_dir), "--prompt", "a red square", "--steps", "2",
                               "--seed", "0", "--out", str(out), *args])


def test_parse_specs():
    assert parse_image_spec("a.png") == ("a.png", 0, 0.0)
    assert parse_image_spec("dir@x/a.png@80:0.5") == ("dir@x/a.png", 80, 0.5)
    assert parse_image_spec("a.png@12") == ("a.png", 12, 0.0)
    assert parse_keep("0-12,77-80") == [(0, 12), (77, 80)]
    assert parse_keep("5") == [(5, 5)]


def test_generate_writes_playable_mp4_and_contact_sheet(model_dir, media, tmp_path):
    out = tmp_path / "i2v.mp4"
    result = _generate(model_dir, out, "--image", f"{media / 'red.png'}@0", "--frames", "13")
    assert result.exit_code == 0, result.output
    frames, fps = read_video(out)
    assert frames.shape == (13, 32, 32, 3) and fps == 16
    sheet = np.asarray(Image.open(out.with_suffix(".png")))
    assert sheet.ndim == 3 and sheet.shape[1] > sheet.shape[0]
    assert "latent 0" in out.with_suffix(".json").read_text()


def test_generate_warm_start_is_recorded_and_changes_the_video(model_dir, media, tmp_path):
    plain, warm = tmp_path / "plain.mp4", tmp_path / "warm.mp4"
    args = ("--image", f"{media / 'red.png'}@0", "--frames", "13", "--seed", "1")
    assert _generate(model_dir, plain, *args).exit_code == 0
    result = _generate(model_dir, warm, *args, "--warm-start", "0.8")
    assert result.exit_code == 0, result.output
    assert json.loads(warm.with_suffix(".json").read_text())["warm_start"] == 0.8
    assert json.loads(plain.with_suffix(".json").read_text())["warm_start"] is None
    assert not np.array_equal(read_video(plain)[0][1:], read_video(warm)[0][1:])


def test_generate_video_keep_ranges(model_dir, media, tmp_path):
    out = tmp_path / "complete.mp4"
    result = _generate(model_dir, out, "--video", str(media / "clip.mp4"), "--keep", "0,13-16", "--frames", "17")
    assert result.exit_code == 0, result.output
    assert read_video(out)[0].shape[0] == 17
    text = out.with_suffix(".json").read_text()
    assert "latent 0" in text and "latent 4" in text


def test_refuses_to_overwrite(model_dir, media, tmp_path):
    out = tmp_path / "a.mp4"
    assert _generate(model_dir, out).exit_code == 0
    before = out.read_bytes()
    result = _generate(model_dir, out)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert out.read_bytes() == before
    assert _generate(model_dir, out, "--overwrite").exit_code == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--image", "{media}/red.png@40"], "outside 0-8"),
        (["--image", "{media}/red.png@0:1.5"], "must be in [0, 1]"),
        (["--frames", "10"], "use 9 or 13"),
        (["--image", "{media}/missing.png"], "image not found"),
        (["--image", "{media}/broken.png"], "cannot read image"),
        (["--video", "{media}/missing.mp4"], "video not found"),
        (["--video", "{media}/broken.mp4"], "cannot read video"),
        (["--steps", "0"], "--steps 0"),
        (["--video", "{media}/clip.mp4", "--noise", "2"], "--noise 2.0 must be in [0, 1]"),
        (["--video", "{media}/clip.mp4", "--keep", "0-40", "--frames", "17"], "outside 0-16"),
        (["--keep", "0-4"], "--keep needs --video"),
        (["--height", "20"], "height=20 must be a multiple of 8; use 16 or 24"),
        (["--image", "{media}/red.png@0", "--warm-start", "0"], "--warm-start 0.0: must be a finite number in (0, 1]"),
    ],
)
def test_bad_input_one_line_exit_2(model_dir, media, tmp_path, args, message):
    out = tmp_path / "bad.mp4"
    result = _generate(model_dir, out, *[a.format(media=media) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], result.stderr
    assert "Traceback" not in result.output
    assert not any(tmp_path.iterdir())


def test_missing_model_folder(tmp_path):
    result = runner.invoke(app, ["generate", "--model", str(tmp_path / "nope"), "--out", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_real_process_exit_code_and_no_traceback(tmp_path):
    """The installed entry point, in a real process: one line on stderr and exit code 2."""
    proc = subprocess.run([sys.executable, "-m", "pusa.cli", "generate", "--model", str(tmp_path / "none")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1


def test_world_command(tmp_path):
    result = runner.invoke(app, ["world", str(tmp_path / "w"), "--n", "2", "--frames", "9", "--height", "32",
                                 "--width", "32"])
    assert result.exit_code == 0, result.output
    assert read_video(tmp_path / "w" / "clip_00001.mp4")[0].shape == (9, 32, 32, 3)
    assert (tmp_path / "w" / "metadata.csv").read_text().startswith("file_name,text")
    again = runner.invoke(app, ["world", str(tmp_path / "w"), "--n", "2"])
    assert again.exit_code == 2 and "already exists" in again.stderr
    bad = runner.invoke(app, ["world", str(tmp_path / "v"), "--preset", "nope"])
    assert bad.exit_code == 2 and "unknown world preset" in bad.stderr


def test_sequence_parallel_generate_matches_single_process(model_dir, media, tmp_path):
    """torchrun, 2 CPU processes (gloo): the same video as one process, written once by rank 0."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    args = ["--model", str(model_dir), "--prompt", "a red square", "--steps", "2", "--seed", "3", "--frames", "13",
            "--image", f"{media / 'red.png'}@0"]
    one = subprocess.run([sys.executable, "-m", "pusa.cli", "generate", *args, "--out", str(tmp_path / "one.mp4")],
                         capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                          str(port), "-m", "pusa.cli", "generate", *args, "--sequence-parallel",
                          "--out", str(tmp_path / "two.mp4")], capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = read_video(tmp_path / "one.mp4")[0].astype(int), read_video(tmp_path / "two.mp4")[0].astype(int)
    assert a.shape == b.shape and np.abs(a - b).max() <= 2


def test_sequence_parallel_needs_a_launcher(model_dir, tmp_path):
    result = _generate(model_dir, tmp_path / "x.mp4", "--sequence-parallel")
    assert result.exit_code == 2 and "needs a multi-process launch" in result.stderr


def test_lora_2_needs_a_two_expert_model(model_dir, tmp_path):
    import torch
    from safetensors.torch import save_file

    save_file({"blocks.0.self_attn.q.lora_A.default.weight": torch.zeros(2, 16),
               "blocks.0.self_attn.q.lora_B.default.weight": torch.zeros(16, 2)}, tmp_path / "low.safetensors")
    result = _generate(model_dir, tmp_path / "x.mp4", "--lora-2", str(tmp_path / "low.safetensors"))
    assert result.exit_code == 2 and "two-expert" in result.stderr
    assert not (tmp_path / "x.mp4").exists()
