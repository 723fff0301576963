"""The FAFM trainer on tiny components: learning, exports, multi-process equality, exact resume."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from pusa.training.cache_reader import LatentCache
from pusa.training.config import TrainConfig

from .conftest import MAX_LEN

REPO = Path(__file__).resolve().parents[2]


def _config(train_setup, out, **kw) -> TrainConfig:
    model, cache, _ = train_setup
    base = dict(model=str(model), cache=str(cache), output_dir=str(out), lora_rank=8, lora_alpha=8.0, lr=2e-3,
                max_steps=30, batch_size=4, checkpoint_every=10, caption_dropout=0.1, seed=0)
    return TrainConfig(**{**base, **kw})


def test_training_lowers_heldout_loss_and_adapter_changes_pipeline(train_setup, tmp_path):
    from pusa.pipeline import PusaPipeline
    from pusa.training.export import export_lora
    from pusa.training.trainer import heldout_loss, train

    model_dir, _, held_dir = train_setup
    held = LatentCache(held_dir)
    base = PusaPipeline.from_pretrained(model_dir)
    before = heldout_loss(base.transformer, held, list(range(len(held))), MAX_LEN)
    result = train(_config(train_setup, tmp_path / "run"))
    after = heldout_loss(result["model"].eval(), held, list(range(len(held))), MAX_LEN)
    assert after < 0.9 * before, (before, after)

    paths = export_lora(result["model"], tmp_path / "final")
    kw = dict(num_frames=9, height=32, width=32, num_inference_steps=2, max_sequence_length=MAX_LEN, output_type="latent")
    plain = base("a red square moves left", generator=torch.Generator().manual_seed(0), **kw).frames
    base.load_lora_weights(str(paths["diffusers"].parent))
    adapted = base("a red square moves left", generator=torch.Generator().manual_seed(0), **kw).frames
    assert (adapted - plain).abs().max() > 1e-3


def test_full_finetune_and_ema_run(train_setup, tmp_path):
    from pusa.training.trainer import train

    result = train(_config(train_setup, tmp_path / "run", adapter="full", lr=1e-4, max_steps=4, ema_decay=0.9,
                           gradient_checkpointing=True, checkpoint_every=2))
    assert len(result["losses"]) == 4 and all(torch.isfinite(torch.tensor(result["losses"])))
    assert set(result["ema"]) == {n for n, p in result["model"].named_parameters() if p.requires_grad}


def test_grad_accumulation_matches_bigger_batch(train_setup, tmp_path):
    """batch 2 × accumulation 2 draws the same samples as batch 4 per process... per micro-step; both learn."""
    from pusa.training.trainer import train

    r = train(_config(train_setup, tmp_path / "acc", batch_size=2, grad_accum=2, max_steps=3))
    assert len(r["losses"]) == 3


def test_refuses_to_clobber_a_run(train_setup, tmp_path):
    from pusa.training.trainer import train

    train(_config(train_setup, tmp_path / "run", max_steps=2, checkpoint_every=1))
    with pytest.raises(ValueError, match="already has checkpoints; pass --resume"):
        train(_config(train_setup, tmp_path / "run", max_steps=2))


def test_unknown_target_module_one_line(train_setup, tmp_path):
    from pusa.training.trainer import train

    with pytest.raises(ValueError, match=r"unknown LoRA target module 'attn1.to_qq'; Wan block targets are: .*attn1\.to_q"):
        train(_config(train_setup, tmp_path / "run", lora_targets=["attn1.to_qq"]))


def _cli(*args) -> list[str]:
    return [sys.executable, "-m", "pusa.cli", "train", *args]


def _sets(train_setup, out, **kw) -> list[str]:
    cfg = _config(train_setup, out, **kw)
    keys = ("model", "cache", "output_dir", "lora_rank", "lora_alpha", "lr", "max_steps", "batch_size",
            "checkpoint_every", "caption_dropout", "seed", "keep_checkpoints")
    return [f"--set={k}={getattr(cfg, k)}" for k in keys]


def _losses(run: Path) -> list[float]:
    with open(run / "log.csv") as f:
        return [float(row["loss"]) for row in csv.DictReader(f)]


def test_two_processes_equal_one_process(train_setup, tmp_path):
    """2 CPU processes (torchrun → accelerate, gloo) at the same global batch: same loss per step (≤ 1e-4)."""
    one = subprocess.run(_cli(*_sets(train_setup, tmp_path / "one", max_steps=5, batch_size=4)),
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert one.returncode == 0, one.stderr[-2000:]
    launch = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", str(_free_port()),
              "-m", "pusa.cli", "train", *_sets(train_setup, tmp_path / "two", max_steps=5, batch_size=2)]
    two = subprocess.run(launch, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = _losses(tmp_path / "one"), _losses(tmp_path / "two")
    assert len(a) == len(b) == 5
    assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-4, (a, b)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _final_weights(run: Path) -> dict[str, torch.Tensor]:
    from pusa.training.checkpoint import list_checkpoints, load_checkpoint

    return load_checkpoint(list_checkpoints(run / "checkpoints")[-1]).trainable


def test_sigkill_then_resume_is_bit_identical(train_setup, tmp_path):
    steps = 60
    full = subprocess.run(_cli(*_sets(train_setup, tmp_path / "full", max_steps=steps, checkpoint_every=5)),
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert full.returncode == 0, full.stderr[-2000:]

    run = tmp_path / "killed"
    proc = subprocess.Popen(_cli(*_sets(train_setup, run, max_steps=steps, checkpoint_every=5)), cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (run / "checkpoints" / "step-00000010").exists() and time.time() < deadline:
        time.sleep(0.01)
    alive = proc.poll() is None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert alive, "the run finished before it could be killed; raise `steps`"
    assert not (run / "checkpoints" / f"step-{steps:08d}").exists()

    resumed = subprocess.run(_cli(*_sets(train_setup, run, max_steps=steps, checkpoint_every=5), "--resume"),
                             capture_output=True, text=True, timeout=300, cwd=REPO)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = _final_weights(tmp_path / "full"), _final_weights(run)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_bf16_mixed_precision_and_sample_videos(train_setup, tmp_path):
    from pusa.io import read_video
    from pusa.training.trainer import train

    result = train(_config(train_setup, tmp_path / "run", max_steps=2, mixed_precision="bf16", sample_every=2,
                           sample_prompts=["a red square moves left"], sample_seeds=[0, 1], sample_steps=2,
                           checkpoint_every=2))
    assert all(torch.isfinite(torch.tensor(result["losses"])))
    samples = sorted((tmp_path / "run" / "samples" / "step-00000002").glob("*.mp4"))
    assert [p.name for p in samples] == ["00-seed0.mp4", "00-seed1.mp4"]
    assert read_video(samples[0])[0].shape[0] == 9
    assert (tmp_path / "run" / "log.csv").read_text().count("\n") == 3  # header + 2 steps


def test_p_cond_draws_conditioning_tasks_and_their_clean_frames_carry_no_loss():
    """p_cond = 1: every sample has given frames at σ = 0 and one σ for the rest; the loss ignores what the
    model says at the given frames (their target holds noise it cannot see)."""
    from pusa.training.trainer import StepBatch, draw_sample_noise, fafm_step_loss

    config = TrainConfig(model="m", cache="c", p_cond=1.0, sigma_sampling="continuous", shift=1.0, seed=3)
    x1, tau, _ = draw_sample_noise(config, step=0, micro=0, positions=list(range(8)), latent_shape=(2, 5, 4, 4))
    assert tau.shape == (8, 5)
    for row in tau:
        assert 0 < int((row == 0).sum()) < 5 and len(set(row[row > 0].tolist())) == 1

    batch = StepBatch(torch.randn(8, 2, 5, 4, 4), torch.randn(8, 3, 6), torch.zeros(3, 6))
    given = (tau == 0)[:, None, :, None, None]

    def model(x, t, text, return_dict=False, garbage=0.0):
        return (torch.where(given, torch.full_like(x, garbage), x),)

    clean = fafm_step_loss(model, batch, x1, tau, torch.zeros(8, dtype=torch.bool))
    noisy = fafm_step_loss(lambda *a, **k: model(*a, **k, garbage=1e3), batch, x1, tau, torch.zeros(8, dtype=torch.bool))
    assert torch.isfinite(clean) and torch.equal(clean, noisy)


def test_config_rejects_bad_p_cond():
    with pytest.raises(ValueError, match="p_cond"):
        TrainConfig(model="m", cache="c", p_cond=1.5).validate()


def test_condition_patterns_restrict_the_tasks_p_cond_draws():
    from pusa.training.trainer import draw_sample_noise

    config = TrainConfig(model="m", cache="c", p_cond=1.0, condition_patterns=["i2v"], sigma_sampling="continuous", seed=3)
    _, tau, _ = draw_sample_noise(config, step=0, micro=0, positions=list(range(16)), latent_shape=(2, 5, 4, 4))
    assert bool((tau[:, 0] == 0).all()) and bool((tau[:, 1:] > 0).all())  # I2V only: frame 0 given, the rest free
    every = TrainConfig(model="m", cache="c", p_cond=1.0, sigma_sampling="continuous", seed=3)
    _, tau, _ = draw_sample_noise(every, step=0, micro=0, positions=list(range(16)), latent_shape=(2, 5, 4, 4))
    assert not bool((tau[:, 1:] > 0).all())  # the default draws other tasks too
    with pytest.raises(ValueError, match="condition_patterns.*i2v, prefix"):
        TrainConfig(model="m", cache="c", condition_patterns=["i2v", "outpaint"]).validate()
    with pytest.raises(ValueError, match="condition_patterns"):
        TrainConfig(model="m", cache="c", condition_patterns=[]).validate()
