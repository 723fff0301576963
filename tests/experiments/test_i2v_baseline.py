"""The Wan-I2V-style baseline of claim 1: widened input, exact start from the base, sampling, training resume."""

import json

import i2v_baseline as B
import pytest
import torch

from pusa import conditions as C
from pusa.mini import MINI, MiniConfig, build_pipeline, new_transformer, new_vae

TINY = MiniConfig(dim_head=8, heads=2, layers=1, num_frames=9, height=16, width=16)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    model = new_transformer(TINY, seed=3)
    with torch.no_grad():  # a non-zero head, so the widened model's output is not trivially zero
        model.proj_out.weight.normal_(0, 0.02)
    folder = tmp_path_factory.mktemp("base") / "transformer"
    model.save_pretrained(folder)
    return folder


def test_widened_model_starts_as_the_base(base_dir):
    from pusa.models import PusaTransformer3DModel

    base = PusaTransformer3DModel.from_pretrained(str(base_dir)).eval()
    wide = B.widen(base, 4).eval()
    c = base.config.in_channels
    assert wide.config.in_channels == 2 * c + 4 and wide.config.out_channels == c
    g = torch.Generator().manual_seed(0)
    x = torch.randn((1, c, 3, 4, 4), generator=g)
    extra = torch.randn((1, c + 4, 3, 4, 4), generator=g)  # anything: the new inputs start at zero
    text = torch.randn((1, TINY.max_sequence_length, 384), generator=g)
    t = torch.tensor([700.0])
    with torch.no_grad():
        want = base(x, t, text, return_dict=False)[0]
        got = wide(torch.cat([x, extra], dim=1), t, text, return_dict=False)[0]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


def test_condition_marks_only_the_first_latent():
    vae = new_vae(TINY)
    images = torch.rand((2, 16, 16, 3)) * 2 - 1
    mask, cond = B.encode_condition(vae, images, 9)
    assert mask.shape == (2, 4, 3, 4, 4) and cond.shape == (2, vae.latent_channels, 3, 4, 4)
    assert mask[:, :, 0].eq(1).all() and mask[:, :, 1:].eq(0).all()
    # the image is in latent 0 and nowhere else (later latents encode mid-grey, the same for both images)
    assert not torch.allclose(cond[0, :, 0], cond[1, :, 0])
    torch.testing.assert_close(cond[0, :, 1:], cond[1, :, 1:])


def test_baseline_pipeline_samples_i2v_and_refuses_other_tasks(base_dir):
    from pusa.models import PusaTransformer3DModel

    pipe = build_pipeline(new_transformer(TINY), TINY)
    model = B.widen(PusaTransformer3DModel.from_pretrained(str(base_dir)), 4).eval()
    baseline = B.BaselinePipeline(pipe, model)
    image = torch.rand((16, 16, 3))
    out = baseline("a red circle moves left", conditions=C.i2v(image), num_frames=9, num_inference_steps=2,
                   generator=torch.Generator().manual_seed(0))
    assert out.frames.shape == (1, 9, 16, 16, 3)
    assert 0 <= out.frames.min() and out.frames.max() <= 1
    with pytest.raises(ValueError, match="only does image-to-video"):
        baseline("x", conditions=C.start_end(image, image, 9), num_frames=9)
    with pytest.raises(ValueError, match="does not take"):
        baseline("x", conditions=C.i2v(image), image_encoding="hold")


def test_training_runs_through_the_streaming_trainer_and_resumes(base_dir, tmp_path):
    from pusa.models import PusaTransformer3DModel

    out = tmp_path / "run"
    kw = {"steps": 2, "batch": 2, "lr": 1e-3, "warmup": 1, "base": str(base_dir), "workers": 0,
          "checkpoint_every": 1, "progress": lambda m: None, "mini": TINY}
    folder = B.train(out, **kw)
    first = json.loads((out / "baseline.json").read_text())
    assert first["steps"] == 2 and first["clips_seen"] == 4 and first["seconds"] > 0
    assert [line.split(",")[0] for line in (out / "loss.csv").read_text().splitlines()] == ["step", "2"]
    assert json.loads((out / "pretrain_config.json").read_text())["ema_decay"] == 0  # exports the trained weights
    model = PusaTransformer3DModel.from_pretrained(str(folder))
    base = PusaTransformer3DModel.from_pretrained(str(base_dir))
    c = base.config.in_channels
    assert folder == out / "transformer"
    assert model.config.in_channels == 2 * c + 4 and model.config.out_channels == c  # [x_σ, mask, condition]
    assert all(torch.isfinite(p).all() for p in model.parameters())
    # every weight trained, the new input channels included (they started at zero)
    assert not torch.equal(model.patch_embedding.weight[:, :c], base.patch_embedding.weight)
    assert model.patch_embedding.weight[:, c:].abs().sum() > 0
    B.train(out, **kw)  # resumes at step 2 of 2: nothing more to do
    assert json.loads((out / "baseline.json").read_text())["steps"] == 2
    assert (out / "transformer" / "config.json").is_file()
    assert MINI.num_frames == 17  # the real config is untouched
