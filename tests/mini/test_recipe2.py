"""Pusa-mini 2's recipe end to end at a few steps: autoencoder, base, VTA LoRA, assembled pipeline, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.mark.slow
def test_recipe2_runs_every_stage_and_the_result_generates(tmp_path):
    from pusa.mini import recipe2
    from pusa.request import ModelRules, Models, ModelSpec, Request, generate
    from pusa.world import make_clip

    work = tmp_path / "work"
    recipe2.stage_autoencoder(work, None, 1, max_steps=2, checkpoint_every=2, held_out=1, batch_size=1)
    ae = json.loads((work / "ae" / "autoencoder" / "config.json").read_text())
    assert ae["spatial_factor"] == 8 and len(ae["latents_std"]) == 16
    assert (work / "ae" / "psnr.csv").read_text().count("\n") == 2  # header + one checkpoint
    recipe2.stage_base(work, None, 1, 2, max_steps=2, checkpoint_every=1)
    probe = (work / "base" / "probe.csv").read_text().splitlines()
    assert probe[0].startswith("step,sigma,gap")  # the go/no-go at every checkpoint, at each probe σ
    assert [r.split(",")[:2] for r in probe[1:]] == [[s, str(g)] for s in ("1", "2") for g in recipe2.PROBE_SIGMAS]
    recipe2.stage_vta(work, None, 1, 2, 0.8, 4, 1e-3, "lora", max_steps=2, checkpoint_every=2)
    assert recipe2.stage_vta(work, None, 1, 2, 0.8, 4, 1e-3, "lora", max_steps=2) == work / "vta" / "final"  # done: skipped
    folder = recipe2.stage_assemble(work)
    cost = recipe2.cost(work)
    assert set(cost) == {"autoencoder", "base", "vta"} and all(c["cpu_s"] > 0 for c in cost.values())

    clip = make_clip(1)
    models = Models(ModelSpec(model=folder, loras=((folder / "pusa_mini_lora.safetensors", 1.0),)),
                    rules=ModelRules(None, None))
    from pusa import conditions as C

    gen = generate(Request(prompt=clip.caption, conditions=tuple(C.i2v(clip.frames[0])), seed=0, steps=2), models)
    assert gen.frames.shape == (17, 64, 64, 3) and np.isfinite(gen.frames).all()


@pytest.mark.slow
def test_recipe2_full_vta_stage_ships_the_base_and_its_delta(tmp_path):
    import shutil

    import torch
    from safetensors.torch import load_file

    from pusa.mini import recipe2
    from pusa.mini.shipped import LORA, VTA_DELTA, apply_weight_delta
    from pusa.models import PusaTransformer3DModel

    work = tmp_path / "work"
    recipe2.stage_autoencoder(work, None, 1, max_steps=2, checkpoint_every=2, held_out=1, batch_size=1)
    recipe2.stage_base(work, None, 1, 2, max_steps=2, checkpoint_every=2)
    assert recipe2.stage_vta(work, None, 1, 2, 0.8, 4, 1e-3, "full", max_steps=2, checkpoint_every=2) \
        == work / "vta" / "transformer"
    folder = recipe2.stage_assemble(work)
    assert (folder / VTA_DELTA.name).is_file() and not (folder / LORA.name).exists()
    assert (work / "pipeline_vta" / "transformer" / "config.json").is_file()
    weights = tmp_path / "weights"
    (weights).mkdir()
    (weights / LORA.name).write_bytes(b"old")  # the previous model's LoRA goes when a Δ ships
    recipe2.stage_ship(work, weights)
    assert not (weights / LORA.name).exists()
    base = PusaTransformer3DModel.from_pretrained(str(weights / "transformer"), torch_dtype=torch.float32)
    vta = PusaTransformer3DModel.from_pretrained(str(work / "vta" / "transformer"), torch_dtype=torch.float32)
    apply_weight_delta(base, load_file(str(weights / VTA_DELTA.name)), 1.0)
    for (name, p), (_, q) in zip(base.named_parameters(), vta.named_parameters()):
        assert torch.allclose(p, q, atol=1e-6), name  # base + Δ is the fine-tune
    shutil.rmtree(work)


@pytest.mark.slow
def test_recipe2_direction_phase_becomes_the_model(tmp_path):
    import torch

    from pusa.mini import recipe2
    from pusa.models import PusaTransformer3DModel

    work = tmp_path / "work"
    recipe2.stage_autoencoder(work, None, 1, max_steps=2, checkpoint_every=2, held_out=1, batch_size=1)
    recipe2.stage_base(work, None, 1, 2, max_steps=2, checkpoint_every=2)
    assert recipe2.model_stage(work) == "base"
    assert recipe2.stage_direction(work, 2, 1, 2, checkpoint_every=1) == work / "direction" / "transformer"
    assert recipe2.model_stage(work) == "direction"
    cfg = json.loads((work / "direction" / "pretrain_config.json").read_text())
    assert cfg["init"] == str(work / "base" / "transformer") and cfg["p_pure"] == recipe2.DIRECTION_P_PURE
    probe = (work / "direction" / "probe.csv").read_text().splitlines()
    assert len(probe) == 1 + 2 * len(recipe2.PROBE_SIGMAS)
    assert cfg["p_high"] == recipe2.DIRECTION_P_HIGH
    assert cfg["decay_steps"] == min(recipe2.DIRECTION_DECAY, 2)  # never longer than the phase
    probe_t2v = (work / "direction" / "probe_t2v.csv").read_text().splitlines()  # the text-to-video probe too
    assert len(probe_t2v) == 1 + 2 * len(recipe2.PROBE_T2V_SIGMAS)
    assert recipe2.stage_direction(work, 2, 1, 2) == work / "direction" / "transformer"  # done: skipped
    assert recipe2.stage_direction(work, 3, 1, 2, checkpoint_every=1) == work / "direction" / "transformer"
    assert json.loads((work / "direction" / "pretrain_result.json").read_text())["steps"] == 3  # asked for more
    assert set(recipe2.cost(work)) == {"autoencoder", "base", "direction"}

    def params(folder):
        return dict(PusaTransformer3DModel.from_pretrained(str(folder), torch_dtype=torch.float32).named_parameters())

    pipe = params(recipe2.stage_assemble(work) / "transformer")
    weights = tmp_path / "weights"
    weights.mkdir()
    shipped = params(recipe2.stage_ship(work, weights) / "transformer")
    tuned, base = params(work / "direction" / "transformer"), params(work / "base" / "transformer")
    assert any(not torch.equal(tuned[k], base[k]) for k in tuned)  # the phase moved the weights
    for name in tuned:  # the pipeline and the shipped weights are the direction phase's, not the base's
        assert torch.equal(pipe[name], tuned[name]) and torch.equal(shipped[name], tuned[name]), name
