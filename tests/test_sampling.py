"""Per-frame schedule matrix, the noised start, the Euler sampler and the timestep modes (pusa.sampling).

Expected values come from DESIGN §3 / REFERENCE.md ("Sampling") and analytic invariants.
"""

from __future__ import annotations

import math

import pytest
import torch

from pusa.flow import inference_sigmas
from pusa.sampling import (
    frame_multipliers,
    model_timesteps,
    noised_start,
    sample_euler,
    schedule_matrix,
)

# REFERENCE.md: N = 10, shift 5, t cast to bf16.
BF16_T_N10 = [1000, 980, 952, 920, 884, 832, 768, 680, 556, 358]
# trunc(bf16(t)·0.2), worked by hand: 200, 196, 190.4, 184, 176.8, 166.4, 153.6, 136, 111.2, 71.6
I2V_COND_T_N10 = [200, 196, 190, 184, 176, 166, 153, 136, 111, 71]
# trunc(bf16(t)·0.5): 500, 490, 476, 460, 442, 416, 384, 340, 278, 179
HALF_T_N10 = [500, 490, 476, 460, 442, 416, 384, 340, 278, 179]


def _pair(b=1, c=2, f=5, h=3, w=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, f, h, w, generator=g), torch.randn(b, c, f, h, w, generator=g)


# --- schedule matrix ----------------------------------------------------------------------------------


def test_schedule_matrix_free_and_conditioned_frames():
    sigmas = inference_sigmas(6, 5.0)
    mults = {0: 0.0, 2: 0.25, 4: 1.0}
    S = schedule_matrix(sigmas, 5, mults)
    assert S.shape == (7, 5)
    assert S.dtype == torch.float32
    for f in range(5):
        m = mults.get(f, 1.0)
        for i in range(7):
            assert S[i, f].item() == pytest.approx(m * sigmas[i].item(), abs=1e-7)
    # free frames are exactly the base schedule, m = 0 frames exactly zero
    assert torch.equal(S[:, 1], sigmas.float())
    assert torch.equal(S[:, 3], sigmas.float())
    assert torch.equal(S[:, 0], torch.zeros(7))


def test_schedule_matrix_no_conditions_is_base_schedule_everywhere():
    sigmas = inference_sigmas(4, 5.0)
    S = schedule_matrix(sigmas, 3, {})
    assert torch.equal(S, sigmas[:, None].expand(5, 3).float())


@pytest.mark.parametrize("frame", [-1, 5, 100])
def test_schedule_matrix_rejects_frame_outside(frame):
    with pytest.raises(ValueError):
        schedule_matrix(inference_sigmas(4), 5, {frame: 0.0})


@pytest.mark.parametrize("mult", [-0.1, 1.5, float("nan")])
def test_schedule_matrix_rejects_bad_multiplier(mult):
    with pytest.raises(ValueError):
        schedule_matrix(inference_sigmas(4), 5, {1: mult})


def test_frame_multipliers_dense_vector():
    m = frame_multipliers(4, {1: 0.3, 3: 0.0})
    torch.testing.assert_close(m, torch.tensor([1.0, 0.3, 1.0, 0.0]), atol=1e-7, rtol=0)


# --- noised start -------------------------------------------------------------------------------------


def test_noised_start_free_clean_and_mixed_frames():
    clean, noise = _pair(f=4)
    S = schedule_matrix(inference_sigmas(5), 4, {1: 0.0, 2: 0.3})
    x = noised_start(noise, clean, S)
    assert torch.equal(x[:, :, 0], noise[:, :, 0])  # free: pure noise, exactly
    assert torch.equal(x[:, :, 3], noise[:, :, 3])
    assert torch.equal(x[:, :, 1], clean[:, :, 1])  # m = 0: clean, exactly
    torch.testing.assert_close(x[:, :, 2], 0.7 * clean[:, :, 2] + 0.3 * noise[:, :, 2], atol=1e-6, rtol=0)


def test_noised_start_free_frames_ignore_clean_content():
    clean, noise = _pair(f=3)
    S = schedule_matrix(inference_sigmas(5), 3, {})
    garbage = torch.full_like(clean, float("inf"))
    assert torch.equal(noised_start(noise, garbage, S), noise)


def test_noised_start_m0_frame_is_a_copy_of_clean_whatever_the_noise():
    clean, noise = _pair(f=3)
    noise[:, :, 1] = float("inf")
    S = schedule_matrix(inference_sigmas(5), 3, {1: 0.0})
    assert torch.equal(noised_start(noise, clean, S)[:, :, 1], clean[:, :, 1])


# --- Euler sampler ---------------------------------------------------------------------------------------


def test_euler_m0_frame_bit_identical_with_garbage_model():
    clean, noise = _pair(f=5)
    S = schedule_matrix(inference_sigmas(8), 5, {0: 0.0, 3: 0.0, 4: 0.5})
    g = torch.Generator().manual_seed(11)

    def garbage(x, sigma):
        return torch.randn(x.shape, generator=g) * 1e6 + 3e7

    x = sample_euler(garbage, noised_start(noise, clean, S), S)
    assert torch.equal(x[:, :, 0], clean[:, :, 0])
    assert torch.equal(x[:, :, 3], clean[:, :, 3])
    # the other frames did move (the model's output is not ignored)
    assert not torch.equal(x[:, :, 1], noise[:, :, 1])


def test_euler_m0_frame_bit_identical_even_with_non_finite_velocity():
    clean, noise = _pair(f=3)
    S = schedule_matrix(inference_sigmas(4), 3, {1: 0.0})

    def nasty(x, sigma):
        v = torch.full_like(x, float("inf"))
        v[:, :, 1] = float("nan")
        return v

    x = sample_euler(nasty, noised_start(noise, clean, S), S)
    assert torch.equal(x[:, :, 1], clean[:, :, 1])


@pytest.mark.parametrize("num_steps, shift", [(1, 5.0), (4, 5.0), (10, 5.0), (25, 3.0)])
def test_euler_exact_velocity_lands_on_data(num_steps, shift):
    """The straight path has constant velocity x1 − x0, so Euler is exact: every frame lands on x0."""
    x0, x1 = _pair(b=2, f=6)
    S = schedule_matrix(inference_sigmas(num_steps, shift), 6, {0: 0.0, 2: 0.2, 5: 0.7})
    v_true = x1 - x0
    x = sample_euler(lambda x, s: v_true, noised_start(x1, x0, S), S)
    torch.testing.assert_close(x, x0, atol=1e-5, rtol=0)
    assert torch.equal(x[:, :, 0], x0[:, :, 0])


def test_euler_one_step_moves_each_frame_by_dsigma_times_v():
    x, _ = _pair(f=4, seed=3)
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(4))
    S = torch.tensor([[1.0, 0.5, 0.0, 0.8],
                      [0.75, 0.2, 0.0, 0.8]])
    out = sample_euler(lambda x_, s: v, x, S)
    for f, d in enumerate([-0.25, -0.3, 0.0, 0.0]):
        torch.testing.assert_close(out[:, :, f], x[:, :, f] + d * v[:, :, f], atol=1e-6, rtol=0)
    # a frame whose step is 0 is untouched bit for bit (frames 2 and 3)
    assert torch.equal(out[:, :, 2], x[:, :, 2]) and torch.equal(out[:, :, 3], x[:, :, 3])


def test_euler_passes_schedule_rows_in_order_and_does_not_mutate_input():
    x, _ = _pair(f=3)
    x_copy = x.clone()
    S = schedule_matrix(inference_sigmas(5), 3, {1: 0.4})
    seen = []

    def model(x_, sigma):
        seen.append(sigma.clone())
        return torch.ones_like(x_)

    sample_euler(model, x, S)
    assert len(seen) == 5
    for i, row in enumerate(seen):
        assert torch.equal(row, S[i])
    assert torch.equal(x, x_copy)


def test_euler_callback_contract():
    x, _ = _pair(f=3)
    S = schedule_matrix(inference_sigmas(4), 3, {0: 0.0})
    v = torch.randn(x.shape, generator=torch.Generator().manual_seed(5))
    calls = []
    out = sample_euler(lambda x_, s: v, x, S, callback=lambda d: calls.append(dict(d)))
    assert len(calls) == 4
    keys = {"i", "num_steps", "x", "sigma", "sigma_next", "v", "denoised"}
    x_prev = x
    for i, d in enumerate(calls):
        assert keys <= set(d), f"missing {keys - set(d)}"
        assert d["i"] == i and d["num_steps"] == 4
        assert torch.equal(d["sigma"], S[i]) and torch.equal(d["sigma_next"], S[i + 1])
        # denoised = x − σ·v, taken before the update
        torch.testing.assert_close(d["denoised"], x_prev - S[i][None, None, :, None, None] * v, atol=1e-6, rtol=0)
        x_prev = d["x"]
    assert torch.equal(calls[-1]["x"], out)


def test_euler_zero_steps_schedule_is_identity():
    x, _ = _pair(f=2)
    S = inference_sigmas(3)[:1, None].expand(1, 2)
    assert torch.equal(sample_euler(lambda x_, s: torch.ones_like(x_), x, S), x)


# --- timestep modes -------------------------------------------------------------------------------------


def _bf16(values: torch.Tensor) -> torch.Tensor:
    return values.to(torch.float32).to(torch.bfloat16).to(torch.float32)


def test_float_mode_is_1000_sigma_in_float32():
    S = schedule_matrix(inference_sigmas(10, 5.0), 5, {0: 0.2})
    for i in range(10):
        t = model_timesteps(S[i])
        assert t.dtype == torch.float32
        assert torch.equal(t, S[i].to(torch.float32) * 1000.0)
    # not rounded: 978.26… stays fractional
    assert model_timesteps(S[1])[1].item() == pytest.approx(978.26, abs=0.01)


def test_reference_mode_t2v_bf16_values():
    sigmas = inference_sigmas(10, 5.0)
    S = schedule_matrix(sigmas, 4, {})
    m = frame_multipliers(4, {})
    for i in range(10):
        t = model_timesteps(S[i], "reference", sigmas, m)
        assert t.tolist() == [float(BF16_T_N10[i])] * 4, f"row {i}: {t.tolist()}"


def test_reference_mode_t2v_is_not_truncated():
    """Below t = 128 bf16 keeps fractions (N = 30, shift 1 ends at t = 33.33 → bf16 33.25). T2V passes
    bf16(t) untruncated; a conditioned pipeline truncates the free frames."""
    sigmas = inference_sigmas(30, 1.0)
    expected = _bf16(sigmas[:-1] * 1000.0)
    assert bool((expected != torch.trunc(expected)).any())  # the check can tell the two apart
    assert expected[-1].item() == 33.25
    m_free = frame_multipliers(3, {})
    m_cond = frame_multipliers(3, {0: 0.0})
    S_free = schedule_matrix(sigmas, 3, {})
    S_cond = schedule_matrix(sigmas, 3, {0: 0.0})
    for i in range(30):
        t = model_timesteps(S_free[i], "reference", sigmas, m_free)
        assert t.tolist() == [expected[i].item()] * 3, f"row {i}"
        tc = model_timesteps(S_cond[i], "reference", sigmas, m_cond)
        assert tc[1:].tolist() == [math.trunc(expected[i].item())] * 2, f"row {i}"
        assert tc[0].item() == 0.0


def test_reference_mode_i2v_m02():
    sigmas = inference_sigmas(10, 5.0)
    mults = {0: 0.2}
    S = schedule_matrix(sigmas, 5, mults)
    m = frame_multipliers(5, mults)
    for i in range(10):
        t = model_timesteps(S[i], "reference", sigmas, m)
        assert t[1:].tolist() == [float(BF16_T_N10[i])] * 4, f"row {i}: {t.tolist()}"
        assert t[0].item() == float(I2V_COND_T_N10[i]), f"row {i}: {t.tolist()}"


def test_reference_mode_m0_frame_gets_zero_and_others_follow():
    sigmas = inference_sigmas(10, 5.0)
    mults = {0: 0.0, 4: 0.5}
    S = schedule_matrix(sigmas, 5, mults)
    m = frame_multipliers(5, mults)
    for i in range(10):
        t = model_timesteps(S[i], "reference", sigmas, m)
        assert t[0].item() == 0.0
        assert t[1:4].tolist() == [float(BF16_T_N10[i])] * 3, f"row {i}: {t.tolist()}"
        assert t[4].item() == float(HALF_T_N10[i]), f"row {i}: {t.tolist()}"


def test_reference_mode_v2v_all_frames_conditioned():
    sigmas = inference_sigmas(10, 5.0)
    mults = {f: 0.5 for f in range(3)}
    S = schedule_matrix(sigmas, 3, mults)
    m = frame_multipliers(3, mults)
    for i in range(10):
        t = model_timesteps(S[i], "reference", sigmas, m)
        assert t.tolist() == [float(HALF_T_N10[i])] * 3, f"row {i}: {t.tolist()}"


def test_reference_mode_needs_sigmas_and_multipliers():
    sigmas = inference_sigmas(4)
    with pytest.raises(ValueError):
        model_timesteps(sigmas[:1].expand(3), "reference")


def test_unknown_timestep_mode_raises():
    with pytest.raises(ValueError):
        model_timesteps(torch.ones(3), "bf16")  # type: ignore[arg-type]
