"""Checkpoints (atomic, pruned, damage reported by file) and adapter exports (diffusers and DiffSynth)."""

from __future__ import annotations

import pytest
import torch
from peft import LoraConfig

from pusa.models.lora import load_loras
from pusa.tiny import tiny_pipeline
from pusa.training.checkpoint import CheckpointError, list_checkpoints, load_checkpoint, save_checkpoint
from pusa.training.config import WAN_LORA_TARGETS, load_config
from pusa.training.export import export_lora


def _save(root, step, keep=3):
    p = torch.nn.Parameter(torch.randn(3, 4))
    opt = torch.optim.AdamW([p], lr=1e-3)
    p.grad = torch.ones_like(p)
    opt.step()
    return save_checkpoint(root, step, {"w": p.detach()}, opt.state_dict(), {"last_epoch": step},
                           {"note": "x"}, ema={"w": p.detach() * 0.5}, keep=keep)


def test_checkpoint_round_trip(tmp_path):
    path = _save(tmp_path, 7)
    ckpt = load_checkpoint(path)
    assert ckpt.step == 7 and ckpt.state["note"] == "x"
    assert ckpt.trainable["w"].shape == (3, 4) and torch.equal(ckpt.ema["w"], ckpt.trainable["w"] * 0.5)
    assert ckpt.optimizer["state"][0]["exp_avg"].shape == (3, 4)


def test_prune_keeps_newest_and_ignores_incomplete(tmp_path):
    for step in (1, 2, 3, 4):
        _save(tmp_path, step, keep=2)
    (tmp_path / "step-00000009").mkdir()  # incomplete: no trainer_state.json
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000003", "step-00000004"]
    _save(tmp_path, 5, keep=0)  # keep=0 still never deletes the only good checkpoint
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000005"]


@pytest.mark.parametrize("name", ["trainable.safetensors", "optimizer.pt", "trainer_state.json", "ema.safetensors"])
def test_truncated_files_are_named(tmp_path, name):
    path = _save(tmp_path, 3)
    file = path / name
    data = file.read_bytes()
    file.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=name.replace(".", r"\.")):
        load_checkpoint(path)
    assert (path / "trainable.safetensors").exists()  # nothing was deleted


def test_missing_file_is_named(tmp_path):
    path = _save(tmp_path, 3)
    (path / "optimizer.pt").unlink()
    with pytest.raises(CheckpointError, match="optimizer.pt is missing"):
        load_checkpoint(path)


def test_config_overrides_and_errors(tmp_path):
    cfg_file = tmp_path / "c.toml"
    cfg_file.write_text('# pusa train c.toml\nmodel = "m"\ncache = "c"\nlora_rank = 8\n')
    cfg = load_config(cfg_file, {"lr": "1e-4", "gradient_checkpointing": "true", "lora_targets": "attn1.to_q,ffn.net.2"})
    assert (cfg.lora_rank, cfg.lr, cfg.gradient_checkpointing) == (8, 1e-4, True)
    assert cfg.lora_targets == ["attn1.to_q", "ffn.net.2"]
    with pytest.raises(ValueError, match="unknown config key 'lrate'"):
        load_config(cfg_file, {"lrate": "1"})
    with pytest.raises(ValueError, match="mixed_precision"):
        load_config(cfg_file, {"mixed_precision": "fp16"}).validate()


def _trained_lora_pipe(rank=4, alpha=8.0):
    pipe = tiny_pipeline("wan")
    pipe.transformer.add_adapter(LoraConfig(r=rank, lora_alpha=alpha, target_modules=list(WAN_LORA_TARGETS)))
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():  # pretend training: make B non-zero
        for name, p in pipe.transformer.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.2)
    return pipe


KW = dict(num_frames=9, height=32, width=32, num_inference_steps=2, max_sequence_length=16, output_type="latent")


@pytest.mark.parametrize("layout", ["diffusers", "diffsynth"])
def test_exports_reload_to_the_trained_model(tmp_path, layout):
    trained = _trained_lora_pipe()
    paths = export_lora(trained.transformer, tmp_path / "final")
    expected = trained("a ball", generator=torch.Generator().manual_seed(0), **KW).frames
    fresh = tiny_pipeline("wan")
    base = fresh("a ball", generator=torch.Generator().manual_seed(0), **KW).frames
    if layout == "diffusers":
        fresh.load_lora_weights(str(paths["diffusers"].parent))
    else:
        load_loras(fresh, [paths["diffsynth"]], [1.0])  # the reference merge W + 1·B·A
    got = fresh("a ball", generator=torch.Generator().manual_seed(0), **KW).frames
    assert (expected - base).abs().max() > 1e-3  # the adapter matters
    assert torch.allclose(got, expected, atol=1e-5)


def test_export_refuses_overwrite(tmp_path):
    trained = _trained_lora_pipe()
    export_lora(trained.transformer, tmp_path / "final")
    with pytest.raises(FileExistsError):
        export_lora(trained.transformer, tmp_path / "final")
