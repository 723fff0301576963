"""The embedded Pusa-mini: shipped files, loading, and `pusa generate` with no --model."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from pusa.cli import app
from pusa.io import read_video, write_video
from pusa.mini import MINI, MINI2
from pusa.mini.shipped import (
    AUTOENCODER,
    EXAMPLE_IMAGE,
    LORA,
    T2V_VTA_STRENGTH,
    VTA_DELTA,
    WARM_START,
    WEIGHTS,
    shipped_files,
    vta_step,
)

runner = CliRunner()


@pytest.fixture(scope="module")
def mini():
    from pusa.mini import default_pipeline

    return default_pipeline()


def test_shipped_weights_are_under_50_mb_and_safetensors():
    files = shipped_files()
    assert all(f.is_file() for f in files)
    every = [f for f in WEIGHTS.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in every) < 50 * 2**20  # every shipped weight together
    assert all(f.suffix in (".json", ".safetensors") for f in every)


def test_default_pipeline_is_the_mini_geometry_with_its_lora_fused(mini):
    cfg = mini.transformer.config
    config = MINI2 if AUTOENCODER.is_dir() else MINI  # Pusa-mini 2 ships a learned autoencoder
    assert cfg.num_layers == config.layers and cfg.prediction_type == config.prediction_type
    assert tuple(cfg.patch_size) == tuple(config.patch) and mini.spatial_factor == config.spatial_factor
    assert (mini.config.default_num_frames, mini.config.default_height) == (MINI.num_frames, MINI.height)
    from pusa.mini import default_pipeline
    from pusa.models.lora import read_lora

    base = default_pipeline(lora_strength=0.0)
    unfused = default_pipeline(fuse=False)
    g = torch.Generator().manual_seed(0)
    c, s = mini.transformer.config.in_channels, mini.spatial_factor
    h = mini.config.default_height // s
    x, text = torch.randn(1, c, 5, h, h, generator=g), torch.randn(1, MINI.max_sequence_length, 384, generator=g)
    t = torch.tensor([[0.0, 600.0, 700.0, 800.0, 900.0]])  # per-frame: the VTA path
    with torch.no_grad():
        v_fused, v_base, v_unfused = (p.transformer(x, t, text, return_dict=False)[0] for p in (mini, base, unfused))
    assert torch.allclose(v_fused, v_unfused, atol=1e-4)  # fusing is exact
    if vta_step() is None:  # trained on the tasks from scratch: one transformer, the strength has no effect
        assert torch.equal(v_fused, v_base) and not LORA.exists() and not VTA_DELTA.exists()
        return
    assert (v_fused - v_base).abs().max() > 1e-3  # the VTA step changes the model
    if VTA_DELTA.is_file():  # a full VTA fine-tune's Δ covers every weight
        from safetensors.torch import load_file

        assert set(load_file(str(VTA_DELTA))) == {n for n, _ in mini.transformer.named_parameters()}
    else:
        assert any("blocks.0.attn1.to_q" in k for k in read_lora(LORA))


def test_generate_without_model_uses_the_mini_and_notes_a_resized_image(tmp_path):
    img = np.full((120, 200, 3), 30, np.uint8)
    img[40:80, 60:100] = (230, 40, 40)
    Image.fromarray(img).save(tmp_path / "wide.png")
    out = tmp_path / "i2v.mp4"
    result = runner.invoke(app, ["generate", "--prompt", "a red square moves left", "--image", f"{tmp_path / 'wide.png'}@0",
                                 "--steps", "2", "--seed", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wide.png is 200×120" in result.output and "64×64" in result.output
    frames, _ = read_video(out)
    assert frames.shape == (MINI.num_frames, MINI.height, MINI.width, 3)
    settings = json.loads(out.with_suffix(".json").read_text())
    assert settings["model"] == "pusa-mini (embedded)"
    # conditioned tasks on the mini warm-start by default where its rules say so, say so, and record it; with no
    # rule (the shipped weights since the direction phase) nothing is said or recorded, and --warm-start sets one
    if WARM_START is None:
        assert settings["warm_start"] is None and "Pusa-mini starts the generated frames" not in result.output
        other = 0.9
    else:
        assert settings["warm_start"] == WARM_START and f"σ = {WARM_START:g}" in result.output
        other = 1.0  # the plain sampler
    off = tmp_path / "off.mp4"
    result = runner.invoke(app, ["generate", "--prompt", "a red square moves left", "--image", f"{tmp_path / 'wide.png'}@0",
                                 "--steps", "2", "--seed", "1", "--warm-start", str(other), "--out", str(off)])
    assert result.exit_code == 0 and "--warm-start 1 turns" not in result.output
    assert json.loads(off.with_suffix(".json").read_text())["warm_start"] == other  # as asked
    assert not np.array_equal(read_video(off)[0][1:], frames[1:])
    # video-to-video gives every slot: nothing to warm-start, no note
    write_video(tmp_path / "clip.mp4", np.repeat(img[None, :64, :64], MINI.num_frames, 0), fps=16)
    v2v = tmp_path / "v2v.mp4"
    result = runner.invoke(app, ["generate", "--prompt", "x", "--video", str(tmp_path / "clip.mp4"), "--noise", "0.5",
                                 "--steps", "1", "--out", str(v2v)])
    assert result.exit_code == 0, result.output
    assert "--warm-start 1 turns" not in result.output and json.loads(v2v.with_suffix(".json").read_text())["warm_start"] is None


def test_bfloat16_mini_keeps_time_embedding_and_norms_in_float32_and_stays_close(mini):
    from pusa.mini import default_pipeline

    bf = default_pipeline(dtype=torch.bfloat16)
    params = dict(bf.transformer.named_parameters())
    assert params["patch_embedding.weight"].dtype == torch.bfloat16
    assert all(p.dtype == torch.bfloat16 for n, p in params.items() if n.startswith("blocks.0.ffn"))
    assert params["condition_embedder.time_embedder.linear_1.weight"].dtype == torch.float32
    assert params["scale_shift_table"].dtype == torch.float32 and params["blocks.0.norm2.weight"].dtype == torch.float32
    g = torch.Generator().manual_seed(0)
    c, s = mini.transformer.config.in_channels, mini.spatial_factor
    h = mini.config.default_height // s
    x, text = torch.randn(1, c, 5, h, h, generator=g), torch.randn(1, MINI.max_sequence_length, 384, generator=g)
    t = torch.tensor([[0.0, 600.0, 700.0, 800.0, 900.0]])
    with torch.no_grad():
        v32 = mini.transformer(x, t, text, return_dict=False)[0]
        v16 = bf.transformer(x.to(torch.bfloat16), t, text.to(torch.bfloat16), return_dict=False)[0].float()
    rel = ((v16 - v32).norm() / v32.norm()).item()
    assert 0 < rel < 0.05, rel  # bf16 rounding, not a different model


def test_generate_bfloat16_on_the_embedded_mini_and_refuses_it_with_extra_loras(tmp_path):
    out = tmp_path / "x.mp4"
    result = runner.invoke(app, ["generate", "--dtype", "bfloat16", "--steps", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert read_video(out)[0].shape == (MINI.num_frames, MINI.height, MINI.width, 3)
    result = runner.invoke(app, ["generate", "--dtype", "bfloat16", "--lora", str(LORA), "--out", str(tmp_path / "y.mp4")])
    assert result.exit_code == 2 and "float32" in result.output and "Traceback" not in result.output


def test_text_to_video_on_the_embedded_mini_follows_its_t2v_rule_and_says_so(tmp_path):
    out = tmp_path / "t2v.mp4"
    result = runner.invoke(app, ["generate", "--prompt", "a red square moves left", "--steps", "2", "--seed", "0",
                                 "--out", str(out)])
    assert result.exit_code == 0, result.output
    t2v_settings = json.loads(out.with_suffix(".json").read_text())
    assert t2v_settings["warm_start"] is None  # nothing to start from
    if T2V_VTA_STRENGTH == 0.0:
        assert "base weights (VTA LoRA off)" in result.output and t2v_settings["vta_strength"] == 0.0
    else:
        assert "VTA LoRA off" not in result.output and t2v_settings["vta_strength"] == T2V_VTA_STRENGTH
    img = tmp_path / "f.png"
    Image.open(EXAMPLE_IMAGE).save(img)
    out2 = tmp_path / "i2v.mp4"
    result = runner.invoke(app, ["generate", "--prompt", "x", "--image", f"{img}@0", "--steps", "1", "--out", str(out2)])
    assert result.exit_code == 0 and "VTA LoRA off" not in result.output
    assert json.loads(out2.with_suffix(".json").read_text())["vta_strength"] in (1.0, None)


def test_example_image_is_a_world_frame():
    img = np.asarray(Image.open(EXAMPLE_IMAGE))
    assert img.shape == (MINI.height, MINI.width, 3)


def test_recipe_builds_model_base_from_the_shipped_transformer(tmp_path):
    """`recipe --stage export-base --from-shipped`: the trained variants' starting point is the shipped base."""
    from safetensors.torch import load_file

    from pusa.mini.recipe import stage_export_base
    from pusa.mini.shipped import TRANSFORMER

    folder = stage_export_base(tmp_path, from_shipped=True)

    def weights(path):
        return {k: v for f in sorted(path.glob("*.safetensors")) for k, v in load_file(f).items()}

    got, want = weights(folder / "transformer"), weights(TRANSFORMER)
    assert (folder / "model_index.json").is_file() and got.keys() == want.keys()
    assert all(torch.equal(got[k], want[k]) for k in want)


def test_a_weight_delta_interpolates_between_base_and_fine_tune():
    from pusa.mini.shipped import apply_weight_delta, weight_delta

    torch.manual_seed(0)
    base, tuned = torch.nn.Linear(3, 2), torch.nn.Linear(3, 2)
    delta = weight_delta(dict(tuned.named_parameters()), dict(base.named_parameters()))
    half = torch.nn.Linear(3, 2)
    half.load_state_dict(base.state_dict())
    apply_weight_delta(half, delta, 0.5)
    assert torch.allclose(half.weight, (base.weight + tuned.weight) / 2, atol=1e-6)
    apply_weight_delta(half, delta, 0.5)
    assert torch.allclose(half.bias, tuned.bias, atol=1e-6)  # s = 1 in two halves is the fine-tune
    with pytest.raises(ValueError, match="does not match"):
        apply_weight_delta(torch.nn.Linear(3, 2, bias=False), delta, 1.0)
