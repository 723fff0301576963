"""Flow-matching math (pusa.flow): schedules, PTSS training sigmas, interpolation and the FAFM loss.

Expected numbers come from DESIGN.md §2 / REFERENCE.md or from closed-form facts, never from running
the code under test.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from pusa.flow import (
    condition_mask,
    fafm_loss,
    fafm_target,
    inference_sigmas,
    interpolate,
    loss_frame_weights,
    shift_sigma,
    task_sigmas,
    training_sigma_grid,
    training_sigmas,
)

# REFERENCE.md, "Sampling": N = 10, shift 5, t = 1000·σ.
REFERENCE_T_N10 = [1000, 978.26, 952.38, 921.05, 882.35, 833.33, 769.23, 681.82, 555.56, 357.14]


def _shift(sigma: float, s: float) -> float:
    """σ' = s·σ / (1 + (s − 1)·σ), DESIGN §2, in plain Python floats."""
    return s * sigma / (1 + (s - 1) * sigma)


# --- inference schedule -------------------------------------------------------------------------


def test_inference_sigmas_n4_matches_design_check():
    t = inference_sigmas(4, 5.0) * 1000
    expected = torch.tensor([1000.0, 937.5, 2500.0 / 3.0, 625.0, 0.0])
    assert t.shape == (5,)
    torch.testing.assert_close(t.double(), expected.double(), atol=1e-3, rtol=0)


def test_inference_sigmas_n10_matches_reference_table():
    t = inference_sigmas(10, 5.0)[:-1] * 1000
    torch.testing.assert_close(t.double(), torch.tensor(REFERENCE_T_N10, dtype=torch.float64), atol=0.01, rtol=0)


@pytest.mark.parametrize("n, shift", [(1, 5.0), (4, 5.0), (10, 5.0), (30, 3.0), (7, 1.0)])
def test_inference_sigmas_shape_endpoints_and_monotone(n, shift):
    s = inference_sigmas(n, shift)
    assert s.shape == (n + 1,)
    assert s.dtype == torch.float32
    assert s[0].item() == pytest.approx(1.0, abs=1e-7)
    assert s[-1].item() == 0.0
    assert bool((s[1:] < s[:-1]).all()), f"not strictly decreasing: {s}"
    # σ_i = shift(1 − i/N) for i < N (DESIGN §2)
    expected = [_shift(1 - i / n, shift) for i in range(n)] + [0.0]
    torch.testing.assert_close(s.double(), torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=0)


def test_inference_sigmas_shift_one_is_linspace():
    torch.testing.assert_close(inference_sigmas(8, 1.0), torch.linspace(1, 0, 9), atol=1e-7, rtol=0)


@pytest.mark.parametrize("steps", [0, -1, -10])
def test_inference_sigmas_rejects_fewer_than_one_step(steps):
    with pytest.raises(ValueError):
        inference_sigmas(steps, 5.0)


# --- shift ----------------------------------------------------------------------------------------


def test_shift_sigma_identity_at_one():
    sigma = torch.linspace(0, 1, 101, dtype=torch.float64)
    torch.testing.assert_close(shift_sigma(sigma, 1.0), sigma, atol=1e-15, rtol=0)


@pytest.mark.parametrize("shift", [0.5, 3.0, 5.0, 8.0])
def test_shift_sigma_formula(shift):
    values = [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0]
    got = shift_sigma(torch.tensor(values, dtype=torch.float64), shift)
    expected = torch.tensor([_shift(v, shift) for v in values], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)
    # fixed points 0 and 1, and a known value: shift 5 maps 0.5 to 5/6
    assert got[0].item() == 0.0 and got[-1].item() == pytest.approx(1.0, abs=1e-12)
    if shift == 5.0:
        assert got[3].item() == pytest.approx(5 / 6, abs=1e-12)


@pytest.mark.parametrize("shift", [0.0, -1.0])
def test_shift_sigma_rejects_non_positive_shift(shift):
    with pytest.raises(ValueError):
        shift_sigma(torch.tensor([0.5]), shift)


# --- training sigmas (PTSS) ----------------------------------------------------------------------


def test_training_sigma_grid_is_the_shifted_1000_step_grid():
    grid = training_sigma_grid(5.0)
    assert grid.shape == (1000,)
    assert grid[0].item() == pytest.approx(1.0, abs=1e-7)
    assert grid[-1].item() == pytest.approx(_shift(1 / 1000, 5.0), rel=1e-5)
    assert grid[500].item() == pytest.approx(_shift(0.5, 5.0), rel=1e-6)
    assert len(torch.unique(grid)) == 1000


@pytest.mark.parametrize("mode", ["grid", "continuous"])
def test_training_sigmas_shape(mode):
    g = torch.Generator().manual_seed(0)
    s = training_sigmas(3, 7, p_async=0.5, mode=mode, generator=g)
    assert s.shape == (3, 7)


@pytest.mark.parametrize("mode", ["grid", "continuous"])
def test_training_sigmas_sync_rows_share_one_sigma(mode):
    g = torch.Generator().manual_seed(1)
    s = training_sigmas(256, 6, p_async=0.0, mode=mode, generator=g)
    assert torch.equal(s, s[:, :1].expand_as(s))
    # …but different rows still draw different values
    assert len(torch.unique(s[:, 0])) > 100


@pytest.mark.parametrize("mode", ["grid", "continuous"])
def test_training_sigmas_async_rows_differ(mode):
    g = torch.Generator().manual_seed(2)
    s = training_sigmas(256, 4, p_async=1.0, mode=mode, generator=g)
    rows_all_equal = (s == s[:, :1]).all(dim=1)
    # P(all 4 frames coincide on the 1000-grid) = 1e-9 per row; continuous: 0
    assert int(rows_all_equal.sum()) == 0


@pytest.mark.parametrize("num_frames", [2, 4])
def test_ptss_async_fraction_matches_p_async(num_frames):
    """Fraction of rows with non-identical frames ≈ p·(1 − 1000^−(F−1)), within 5 binomial sd."""
    n, p = 4000, 0.3
    g = torch.Generator().manual_seed(3)
    s = training_sigmas(n, num_frames, p_async=p, mode="grid", generator=g)
    mixed = (s != s[:, :1]).any(dim=1).float().mean().item()
    # an async row looks synchronous when all its independent grid draws coincide
    p_eff = p * (1 - 1000.0 ** -(num_frames - 1))
    sd = math.sqrt(p_eff * (1 - p_eff) / n)
    assert abs(mixed - p_eff) < 5 * sd, f"async fraction {mixed:.4f}, expected {p_eff:.4f} ± {5 * sd:.4f}"


def test_ptss_async_fraction_continuous():
    n, p = 4000, 0.7
    g = torch.Generator().manual_seed(4)
    s = training_sigmas(n, 3, p_async=p, mode="continuous", generator=g)
    mixed = (s != s[:, :1]).any(dim=1).float().mean().item()
    sd = math.sqrt(p * (1 - p) / n)
    assert abs(mixed - p) < 5 * sd


def test_grid_mode_values_are_grid_members():
    shift = 3.0
    g = torch.Generator().manual_seed(5)
    s = training_sigmas(64, 8, p_async=0.5, shift=shift, mode="grid", generator=g)
    grid = training_sigma_grid(shift)
    assert bool(torch.isin(s, grid).all())
    # and the grid is the documented one: shift(1 − k/1000), k = 0…999
    k = torch.arange(1000, dtype=torch.float64)
    torch.testing.assert_close(grid.double(), shift * (1 - k / 1000) / (1 + (shift - 1) * (1 - k / 1000)),
                               atol=1e-6, rtol=0)


def test_grid_mode_index_is_uniform():
    """The grid index is uniform: about half of the draws come from the first 500 grid points,
    i.e. σ ≥ shift(0.501) (the grid is decreasing)."""
    g = torch.Generator().manual_seed(6)
    s = training_sigmas(1000, 8, p_async=1.0, shift=5.0, mode="grid", generator=g).flatten()
    frac = (s > _shift(0.5005, 5.0)).float().mean().item()
    sd = math.sqrt(0.25 / s.numel())
    assert abs(frac - 0.5) < 5 * sd


def test_continuous_mode_values_in_unit_interval_and_shifted_uniform():
    g = torch.Generator().manual_seed(7)
    s = training_sigmas(1000, 8, p_async=1.0, shift=5.0, mode="continuous", generator=g)
    assert s.dtype == torch.float32
    assert bool((s > 0).all()) and bool((s <= 1).all())
    # σ = shift(u), u ~ U(0, 1)  ⇒  P(σ ≤ shift(q)) = q; shift 5: median 5/6, quartile shift(0.25) = 5/8
    flat = s.flatten().double()
    sd = math.sqrt(0.25 / flat.numel())
    assert abs((flat <= 5 / 6).double().mean().item() - 0.5) < 5 * sd
    assert abs((flat <= 5 / 8).double().mean().item() - 0.25) < 5 * sd
    # continuous values are not confined to the grid
    assert not bool(torch.isin(s.flatten()[:100], training_sigma_grid(5.0)).all())


@pytest.mark.parametrize("p", [-0.1, 1.1, 2.0])
def test_training_sigmas_rejects_bad_p_async(p):
    with pytest.raises(ValueError):
        training_sigmas(2, 3, p_async=p)


def test_training_sigmas_rejects_bad_mode():
    with pytest.raises(ValueError):
        training_sigmas(2, 3, mode="uniform")  # type: ignore[arg-type]


def test_training_sigmas_reproducible_with_generator():
    a = training_sigmas(5, 4, p_async=0.5, generator=torch.Generator().manual_seed(9))
    b = training_sigmas(5, 4, p_async=0.5, generator=torch.Generator().manual_seed(9))
    assert torch.equal(a, b)


# --- interpolation and the FAFM loss ---------------------------------------------------------------


def _latents(b=2, c=3, f=5, h=4, w=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, f, h, w, generator=g), torch.randn(b, c, f, h, w, generator=g)


def test_interpolate_framewise_matches_manual_loop():
    x0, x1 = _latents()
    tau = torch.tensor([[0.0, 0.25, 0.5, 0.9, 1.0], [1.0, 0.1, 0.0, 0.6, 0.33]])
    xt = interpolate(x0, x1, tau)
    assert xt.shape == x0.shape
    for b in range(2):
        for f in range(5):
            t = tau[b, f].item()
            torch.testing.assert_close(xt[b, :, f], (1 - t) * x0[b, :, f] + t * x1[b, :, f], atol=1e-6, rtol=0)
    # endpoints: τ = 0 is data, τ = 1 is noise
    torch.testing.assert_close(xt[0, :, 0], x0[0, :, 0], atol=0, rtol=0)
    torch.testing.assert_close(xt[0, :, 4], x1[0, :, 4], atol=0, rtol=0)


def test_interpolate_accepts_shared_frame_vector():
    x0, x1 = _latents()
    tau = torch.tensor([0.2, 0.4, 0.6, 0.8, 1.0])
    xt = interpolate(x0, x1, tau)
    for f in range(5):
        t = tau[f].item()
        torch.testing.assert_close(xt[:, :, f], (1 - t) * x0[:, :, f] + t * x1[:, :, f], atol=1e-6, rtol=0)


def test_interpolate_equal_tau_is_scalar_path():
    x0, x1 = _latents()
    xt = interpolate(x0, x1, torch.full((2, 5), 0.3))
    torch.testing.assert_close(xt, 0.7 * x0 + 0.3 * x1, atol=1e-6, rtol=0)


def test_interpolate_rejects_wrong_frame_count():
    x0, x1 = _latents()
    with pytest.raises(ValueError):
        interpolate(x0, x1, torch.rand(2, 4))


def test_fafm_target_is_noise_minus_data():
    x0, x1 = _latents()
    torch.testing.assert_close(fafm_target(x0, x1), x1 - x0, atol=0, rtol=0)
    # it is the σ-derivative of the path: (x_{σ+h} − x_σ)/h
    tau = torch.full((2, 5), 0.4)
    fd = (interpolate(x0, x1, tau + 0.25) - interpolate(x0, x1, tau)) / 0.25
    torch.testing.assert_close(fd, fafm_target(x0, x1), atol=1e-5, rtol=0)


def test_fafm_loss_zero_for_exact_target():
    x0, x1 = _latents()
    assert fafm_loss(x1 - x0, x0, x1).item() == 0.0
    assert fafm_loss(x1 - x0, x0, x1, frame_weights=torch.rand(2, 5) + 0.1).item() == 0.0


def test_fafm_loss_is_mse():
    x0, x1 = _latents()
    v = torch.randn_like(x0)
    expected = F.mse_loss(v, x1 - x0)
    torch.testing.assert_close(fafm_loss(v, x0, x1), expected, atol=1e-6, rtol=1e-6)


def test_fafm_loss_ones_weights_equal_unweighted():
    x0, x1 = _latents()
    v = torch.randn_like(x0)
    torch.testing.assert_close(fafm_loss(v, x0, x1, frame_weights=torch.ones(2, 5)), fafm_loss(v, x0, x1),
                               atol=1e-6, rtol=1e-6)
    # a uniform weight of any size is the same as no weight
    torch.testing.assert_close(fafm_loss(v, x0, x1, frame_weights=torch.full((2, 5), 3.7)), fafm_loss(v, x0, x1),
                               atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("frame", [0, 2, 4])
def test_fafm_loss_one_hot_weight_is_that_frames_mse(frame):
    x0, x1 = _latents()
    v = torch.randn_like(x0)
    w = torch.zeros(2, 5)
    w[:, frame] = 1.0
    expected = F.mse_loss(v[:, :, frame], (x1 - x0)[:, :, frame])
    torch.testing.assert_close(fafm_loss(v, x0, x1, frame_weights=w), expected, atol=1e-6, rtol=1e-6)


def test_fafm_loss_single_sample_one_hot():
    x0, x1 = _latents(b=1)
    v = torch.randn_like(x0)
    w = torch.tensor([[0.0, 0.0, 0.0, 2.5, 0.0]])
    expected = ((v[0, :, 3] - (x1 - x0)[0, :, 3]) ** 2).mean()
    torch.testing.assert_close(fafm_loss(v, x0, x1, frame_weights=w), expected, atol=1e-6, rtol=1e-6)


# --- conditioning-task sigmas (pusa's p_cond option) ---------------------------------------------


@pytest.mark.parametrize("num_frames", [2, 3, 5, 21])
def test_condition_mask_gives_some_but_not_all_frames(num_frames):
    g = torch.Generator().manual_seed(11)
    for _ in range(300):
        m = condition_mask(num_frames, g)
        assert m.dtype == torch.bool and m.shape == (num_frames,)
        assert 0 < int(m.sum()) < num_frames


def test_condition_mask_draws_each_pattern():
    """Over many draws on 5 frames: I2V (frame 0 only), extension prefixes of 2-4, start+end and other
    keyframe sets all occur, each in roughly its share (I2V also arises from 'keyframes': ≥ 1/4)."""
    g = torch.Generator().manual_seed(12)
    seen = [tuple(condition_mask(5, g).tolist()) for _ in range(4000)]
    i2v = (True, False, False, False, False)
    start_end = (True, False, False, False, True)
    prefixes = {tuple([True] * k + [False] * (5 - k)) for k in (2, 3, 4)}
    share = {"i2v": seen.count(i2v) / len(seen), "start_end": seen.count(start_end) / len(seen),
             "prefix": sum(seen.count(p) for p in prefixes) / len(seen)}
    assert 0.25 <= share["i2v"] < 0.30, share  # 1/4 + 1/4·(1/30)
    assert 0.25 <= share["start_end"] < 0.30, share
    assert 0.25 <= share["prefix"] < 0.32, share  # 1/4 + 1/4·(3/30)
    assert len(set(seen)) == 30  # every non-empty proper subset of 5 frames is reachable via 'keyframes'


def test_condition_mask_draws_only_the_patterns_asked_for():
    g = torch.Generator().manual_seed(5)
    ends = {tuple(condition_mask(5, g, patterns=("start_end", "prefix")).tolist()) for _ in range(200)}
    assert ends == {(True, False, False, False, True)} | {tuple([True] * k + [False] * (5 - k)) for k in (2, 3, 4)}
    with pytest.raises(ValueError, match="non-empty subset"):
        condition_mask(5, g, patterns=("inpaint",))


def test_condition_mask_rejects_one_frame():
    with pytest.raises(ValueError, match="at least 2 latent frames"):
        condition_mask(1)


def test_task_sigmas_p_cond_zero_is_training_sigmas():
    a = task_sigmas(6, 5, 0.0, p_async=0.5, mode="continuous", generator=torch.Generator().manual_seed(3))
    b = training_sigmas(6, 5, p_async=0.5, mode="continuous", generator=torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("mode", ["grid", "continuous"])
def test_task_sigmas_p_cond_one_rows_are_tasks(mode):
    """Every row: some frames exactly 0, and every other frame at one shared σ > 0."""
    s = task_sigmas(500, 5, 1.0, mode=mode, generator=torch.Generator().manual_seed(4))
    for row in s:
        given, free = row == 0, row[row != 0]
        assert 0 < int(given.sum()) < 5
        assert torch.all(free == free[0]) and free[0] > 0


def test_task_sigmas_task_fraction_matches_p_cond():
    n, p = 4000, 0.4
    s = task_sigmas(n, 5, p, p_async=1.0, mode="continuous", generator=torch.Generator().manual_seed(5))
    tasks = (s == 0).any(dim=1).float().mean().item()  # continuous PTSS draws never hit exactly 0
    sd = math.sqrt(p * (1 - p) / n)
    assert abs(tasks - p) < 5 * sd


def test_task_sigmas_p_pure_share_of_tasks_at_one():
    n, p = 4000, 0.3
    s = task_sigmas(n, 5, 1.0, p_pure=p, mode="continuous", generator=torch.Generator().manual_seed(6))
    pure = torch.tensor([bool((row[row != 0] == 1.0).all()) for row in s]).float().mean().item()
    assert abs(pure - p) < 5 * math.sqrt(p * (1 - p) / n)  # continuous shared draws are never exactly 1
    assert ((s == 0) | (s == 1)).all(dim=1).float().mean().item() == pure  # given at 0, the rest at 1
    plain = task_sigmas(n, 5, 1.0, p_pure=0.0, mode="continuous", generator=torch.Generator().manual_seed(6))
    assert not ((plain == 1.0).any())
    pt = task_sigmas(n, 5, 0.5, p_pure=1.0, p_async=1.0, mode="continuous", generator=torch.Generator().manual_seed(7))
    tasks = (pt == 0).any(dim=1)
    assert not (pt[~tasks] == 1.0).any()  # PTSS rows are not touched
    assert ((pt[tasks] == 0) | (pt[tasks] == 1)).all()  # every task row: given at 0, the rest at 1
    with pytest.raises(ValueError, match="p_pure"):
        task_sigmas(2, 3, 0.5, p_pure=1.5)


def test_task_sigmas_p_high_puts_a_share_of_t2v_rows_in_the_band():
    from pusa.flow import HIGH_BAND

    n, p, low = 4000, 0.6, HIGH_BAND[0]
    s = task_sigmas(n, 5, 0.5, p_async=0.0, shift=3.0, p_high=p, mode="continuous",
                    generator=torch.Generator().manual_seed(8))
    tasks = (s == 0).any(dim=1)
    t2v = s[~tasks]
    assert (t2v == t2v[:, :1]).all()  # p_async 0: every text-to-video row has one σ
    share = (t2v[:, 0] >= low).float().mean().item()
    above = 1 - (low / (3 - 2 * low))  # P(shift-3 σ ≥ low) for the rows left as they were: σ = 3u / (1 + 2u)
    want = p + (1 - p) * above
    assert abs(share - want) < 5 * math.sqrt(want * (1 - want) / len(t2v))

    def draw(**kw):
        return task_sigmas(256, 5, 0.5, mode="continuous", generator=torch.Generator().manual_seed(8), **kw)

    assert torch.equal(draw(p_high=0.0), draw())  # p_high 0 draws exactly as before
    only = task_sigmas(64, 5, 0.0, p_high=1.0, mode="continuous", generator=torch.Generator().manual_seed(9))
    assert ((only >= low) & (only <= 1)).all() and (only == only[:, :1]).all()  # p_cond 0: every row in the band
    with pytest.raises(ValueError, match="p_high"):
        task_sigmas(2, 3, 0.5, p_high=-0.1)
    with pytest.raises(ValueError, match="high_band"):
        task_sigmas(2, 3, 0.5, p_high=0.5, high_band=(0.9, 0.8))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_task_sigmas_rejects_bad_p_cond(p):
    with pytest.raises(ValueError, match="p_cond"):
        task_sigmas(2, 3, p)


def test_loss_frame_weights_drop_clean_frames():
    tau = torch.tensor([[0.0, 0.5, 0.25], [0.75, 0.0, 0.0]])
    assert torch.equal(loss_frame_weights(tau), torch.tensor([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]]))
    assert torch.equal(loss_frame_weights(tau, sigma_weighting=True), torch.tensor([[0.0, 0.5, 0.25], [0.75, 0.0, 0.0]]))


def test_fafm_loss_ignores_frames_at_sigma_zero():
    """With the σ = 0 frames masked, anything the model says there does not change the loss."""
    x0, x1 = _latents()
    v = torch.randn_like(x0)
    tau = torch.tensor([[0.0, 0.3, 0.3, 0.3, 0.3], [0.0, 0.0, 0.6, 0.6, 0.6]])
    w = loss_frame_weights(tau)
    v_other = v.clone()
    v_other[0, :, 0] += 100.0
    v_other[1, :, :2] -= 50.0
    torch.testing.assert_close(fafm_loss(v_other, x0, x1, w), fafm_loss(v, x0, x1, w))
    # and it is the plain MSE over the elements of the remaining frames
    err = (v - (x1 - x0)) ** 2
    kept = torch.cat([err[0, :, 1:].flatten(), err[1, :, 2:].flatten()]).mean()
    torch.testing.assert_close(fafm_loss(v, x0, x1, w), kept)


def test_fafm_loss_all_frames_masked_is_zero_with_grad():
    x0, x1 = _latents(b=1)
    v = torch.randn_like(x0, requires_grad=True)
    loss = fafm_loss(v, x0, x1, frame_weights=torch.zeros(1, 5))
    loss.backward()
    assert loss.item() == 0.0 and torch.all(v.grad == 0)
