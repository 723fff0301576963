"""The learned causal autoencoder: Wan's frame layout, causality, config factors, save/load, the pipeline."""

from __future__ import annotations

import pytest
import torch

from pusa.frames import vae_factors
from pusa.models import CausalConvAutoencoder


def tiny(**kw) -> CausalConvAutoencoder:
    torch.manual_seed(0)
    return CausalConvAutoencoder(**{"widths": (8, 16), "spatial_factor": 2, "latent_channels": 4, **kw}).eval()


def test_shapes_follow_wans_causal_layout():
    ae = tiny()
    x = torch.rand(2, 3, 9, 8, 12) * 2 - 1
    z = ae.encode(x).latent_dist.mode()
    assert z.shape == (2, 4, 3, 4, 6)  # 9 frames → 1 + 8/4 latents, 2× spatial
    assert ae.decode(z).sample.shape == x.shape
    assert vae_factors(ae.config) == (4, 2)


def test_latent_j_sees_only_its_own_group_and_latent_0_only_frame_0():
    ae = tiny()
    x = torch.rand(1, 3, 9, 8, 8)
    z = ae.encode(x).latent_dist.mode()
    y = x.clone()
    y[:, :, 5:] = torch.rand(1, 3, 4, 8, 8)  # change group 2 (pixels 5–8) only
    w = ae.encode(y).latent_dist.mode()
    assert torch.equal(z[:, :, :2], w[:, :, :2]) and not torch.equal(z[:, :, 2], w[:, :, 2])
    # decoding is per latent too: a changed latent 2 changes pixels 5–8 only
    zz = z.clone()
    zz[:, :, 2] += 1
    a, b = ae.decode(z).sample, ae.decode(zz).sample
    assert torch.equal(a[:, :, :5], b[:, :, :5]) and not torch.equal(a[:, :, 5:], b[:, :, 5:])


def test_bad_geometry_and_config_are_one_line_errors():
    ae = tiny()
    with pytest.raises(ValueError, match="T = 4·k\\+1 frames and H, W multiples of 2"):
        ae.encode(torch.zeros(1, 3, 8, 8, 8))
    with pytest.raises(ValueError, match="does not match 1 stride-2 stages"):
        tiny(spatial_factor=4)


def test_save_and_load_keep_weights_and_latent_statistics(tmp_path):
    ae = tiny()
    ae.register_to_config(latents_mean=[0.1] * 4, latents_std=[2.0] * 4)
    ae.save_pretrained(tmp_path / "ae")
    back = CausalConvAutoencoder.from_pretrained(str(tmp_path / "ae"))
    x = torch.rand(1, 3, 5, 4, 4)
    assert torch.equal(back.encode(x).latent_dist.mode(), ae.encode(x).latent_dist.mode())
    assert back.config.latents_std == [2.0] * 4 and back.config.spatial_factor == 2


def test_the_pipeline_normalises_with_the_configs_statistics():
    from pusa.pipeline import latent_stats

    ae = tiny()
    ae.register_to_config(latents_mean=[0.5] * 4, latents_std=[2.0] * 4)
    mean, std = latent_stats(ae, 4, torch.device("cpu"), torch.float32)
    assert mean.flatten().tolist() == [0.5] * 4 and std.flatten().tolist() == [2.0] * 4
