"""Pixel ↔ latent frame mapping for a causal VAE (pusa.frames), DESIGN §4.

Latent 0 is pixel 0; latent j ≥ 1 covers pixels r(j−1)+1 … r·j; pixel p lands in ceil(p / r).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from pusa.frames import (
    check_frame_count,
    is_valid_frame_count,
    latent_index,
    latent_slots,
    nearest_frame_counts,
    num_latent_frames,
    pixel_range,
    vae_factors,
)


@pytest.mark.parametrize(
    "pixel, latent",
    [(0, 0), (1, 1), (2, 1), (3, 1), (4, 1), (5, 2), (8, 2), (9, 3), (12, 3), (13, 4), (40, 10), (77, 20), (80, 20)],
)
def test_latent_index_r4(pixel, latent):
    assert latent_index(pixel, 4) == latent


@pytest.mark.parametrize("r", [1, 2, 4, 8])
def test_latent_index_is_ceil(r):
    for p in range(0, 50):
        assert latent_index(p, r) == math.ceil(p / r)


def test_latent_index_rejects_negative():
    with pytest.raises(ValueError):
        latent_index(-1, 4)


def test_pixel_range_r4():
    assert list(pixel_range(0, 4)) == [0]
    assert list(pixel_range(1, 4)) == [1, 2, 3, 4]
    assert list(pixel_range(2, 4)) == [5, 6, 7, 8]
    assert list(pixel_range(20, 4)) == [77, 78, 79, 80]


@pytest.mark.parametrize("r", [2, 4])
def test_pixel_range_partitions_the_clip_and_inverts_latent_index(r):
    n = 8 * r + 1
    covered = [p for j in range(num_latent_frames(n, r)) for p in pixel_range(j, r)]
    assert covered == list(range(n))
    for j in range(num_latent_frames(n, r)):
        assert all(latent_index(p, r) == j for p in pixel_range(j, r))


def test_valid_frame_counts():
    assert is_valid_frame_count(81, 4)
    assert not is_valid_frame_count(80, 4)
    assert is_valid_frame_count(1, 4)
    assert is_valid_frame_count(5, 4)
    assert not is_valid_frame_count(0, 4)
    assert not is_valid_frame_count(82, 4)


def test_nearest_frame_counts():
    assert nearest_frame_counts(80, 4) == (77, 81)
    assert nearest_frame_counts(78, 4) == (77, 81)
    assert nearest_frame_counts(81, 4) == (81, 81)
    assert nearest_frame_counts(2, 4) == (1, 5)


def test_check_frame_count_message_names_neighbours():
    with pytest.raises(ValueError) as err:
        check_frame_count(80, 4)
    msg = str(err.value)
    assert "77" in msg and "81" in msg
    check_frame_count(81, 4)  # valid: no error


def test_num_latent_frames():
    assert num_latent_frames(81, 4) == 21
    assert num_latent_frames(1, 4) == 1
    assert num_latent_frames(13, 4) == 4
    with pytest.raises(ValueError):
        num_latent_frames(80, 4)


def test_vae_factors_diffusers_scale_keys():
    assert vae_factors({"scale_factor_temporal": 4, "scale_factor_spatial": 8}) == (4, 8)
    assert vae_factors(SimpleNamespace(scale_factor_temporal=2, scale_factor_spatial=16)) == (2, 16)


def test_vae_factors_from_temperal_downsample_only():
    # AutoencoderKLWan: three downsampling stages (spatial 2³ = 8), two of them temporal (2² = 4)
    assert vae_factors({"temperal_downsample": [False, True, True]}) == (4, 8)
    assert vae_factors(SimpleNamespace(temperal_downsample=[True, True, False, False])) == (4, 16)


def test_vae_factors_pusa_keys():
    assert vae_factors({"temporal_factor": 4, "spatial_factor": 8}) == (4, 8)
    assert vae_factors(SimpleNamespace(temporal_factor=2, spatial_factor=4)) == (2, 4)


@pytest.mark.parametrize("config", [{}, SimpleNamespace(), {"scale_factor_temporal": 4}])
def test_vae_factors_rejects_incomplete_config(config):
    with pytest.raises(ValueError):
        vae_factors(config)


def test_latent_slots():
    assert latent_slots(0, 13, 4) == [0, 1, 2, 3]
    assert latent_slots(77, 4, 4) == [20]
    assert latent_slots(80, 1, 4) == [20]
    assert latent_slots(0, 1, 4) == [0]
    assert latent_slots(0, 9, 4) == [0, 1, 2]
    assert latent_slots(69, 12, 4) == [18, 19, 20]
    assert latent_slots(0, 81, 4) == list(range(21))
