"""`pusa preprocess` and `pusa train` from the command line: outputs and one clear line per bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pusa.cli import app
from pusa.io import write_video

from .conftest import FRAMES, SIZE, write_clips

runner = CliRunner()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    from pusa.tiny import tiny_pipeline

    path = tmp_path_factory.mktemp("m") / "model"
    tiny_pipeline("wan").save_pretrained(path)
    return path


def _pre(model_dir, data, cache, *extra):
    return runner.invoke(app, ["preprocess", str(data), str(cache), "--model", str(model_dir),
                               "--bucket", f"{FRAMES}x{SIZE}x{SIZE}", "--max-sequence-length", "16", *extra])


def _one_line_error(result, needle):
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) >= 1 and lines[-1].startswith("error: ") and needle in lines[-1], result.stderr
    assert "Traceback" not in result.output


def test_preprocess_then_train_then_resume(model_dir, tmp_path):
    write_clips(tmp_path / "data", range(8))
    assert _pre(model_dir, tmp_path / "data", tmp_path / "cache").exit_code == 0
    args = ["train", "--model", str(model_dir), "--cache", str(tmp_path / "cache"), "--output-dir", str(tmp_path / "run"),
            "--set", "lora_rank=4", "--set", "lora_alpha=4", "--set", "batch_size=2", "--set", "checkpoint_every=2"]
    result = runner.invoke(app, [*args, "--max-steps", "2"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "final" / "pusa_lora_diffsynth.safetensors").is_file()
    _one_line_error(runner.invoke(app, [*args, "--max-steps", "4"]), "pass --resume")
    result = runner.invoke(app, [*args, "--max-steps", "4", "--resume"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "checkpoints" / "step-00000004").is_dir()

    # `pusa export`: the newest checkpoint exports to exactly the run's final LoRA; an older one differs
    from safetensors.torch import load_file

    lora = "diffusers/pytorch_lora_weights.safetensors"
    result = runner.invoke(app, ["export", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    final, newest = (load_file(tmp_path / "run" / d / lora) for d in ("final", "export-step-00000004"))
    assert final.keys() == newest.keys() and all(torch.equal(final[k], newest[k]) for k in final)
    assert runner.invoke(app, ["export", str(tmp_path / "run"), "--step", "2", "--out", str(tmp_path / "e2")]).exit_code == 0
    older = load_file(tmp_path / "e2" / lora)
    assert any(not torch.equal(final[k], older[k]) for k in final)
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "run")]), "already exists")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "run"), "--step", "3"]), "have 2, 4")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "run"), "--ema", "--overwrite"]), "no EMA")
    _one_line_error(runner.invoke(app, ["export", str(tmp_path / "data")]), "no complete checkpoint")


def test_bad_clip_skipped_and_counted(model_dir, tmp_path):
    write_clips(tmp_path / "data", range(3))
    with open(tmp_path / "data" / "metadata.csv", "a") as f:
        f.write("missing.mp4,a red square moves left\n")
    result = _pre(model_dir, tmp_path / "data", tmp_path / "cache")
    assert result.exit_code == 0, result.output
    assert "missing" in result.output


def test_empty_metadata(model_dir, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metadata.csv").write_text("file_name,text\n")
    _one_line_error(_pre(model_dir, tmp_path / "data", tmp_path / "cache"), "no rows")


def test_missing_caption_column(model_dir, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metadata.csv").write_text("file_name,caption\na.mp4,hello\n")
    _one_line_error(_pre(model_dir, tmp_path / "data", tmp_path / "cache"), "text")


def test_missing_video(model_dir, tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "metadata.csv").write_text("file_name,text\nnope.mp4,a red square\n")
    _one_line_error(_pre(model_dir, tmp_path / "data", tmp_path / "cache"), "missing")


def test_video_shorter_than_bucket(model_dir, tmp_path):
    (tmp_path / "data").mkdir()
    write_video(tmp_path / "data" / "short.mp4", np.zeros((5, SIZE, SIZE, 3), np.uint8), fps=16)
    (tmp_path / "data" / "metadata.csv").write_text("file_name,text\nshort.mp4,a red square\n")
    _one_line_error(_pre(model_dir, tmp_path / "data", tmp_path / "cache"), "too short")


def test_unknown_target_module(model_dir, tmp_path):
    write_clips(tmp_path / "data", range(4))
    assert _pre(model_dir, tmp_path / "data", tmp_path / "cache").exit_code == 0
    result = runner.invoke(app, ["train", "--model", str(model_dir), "--cache", str(tmp_path / "cache"),
                                 "--output-dir", str(tmp_path / "run"), "--set", "lora_targets=attn1.to_qq"])
    _one_line_error(result, "unknown LoRA target module 'attn1.to_qq'")


def test_unknown_config_key_and_missing_cache(model_dir, tmp_path):
    _one_line_error(runner.invoke(app, ["train", "--set", "lrate=1"]), "unknown config key 'lrate'")
    result = runner.invoke(app, ["train", "--model", str(model_dir), "--cache", str(tmp_path / "none")])
    _one_line_error(result, "run `pusa preprocess` first")
