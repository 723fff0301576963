"""experiments/stats.py: bootstrap intervals, the Fréchet distance, paired differences."""

import numpy as np
import pytest
from stats import Stat, bootstrap_ci, frechet_distance, paired_differences, summarize


def test_bootstrap_ci_covers_the_mean_and_is_deterministic():
    x = np.random.default_rng(1).normal(5.0, 2.0, 64)
    s = bootstrap_ci(x)
    assert s.lo < s.mean < s.hi and s.n == 64
    assert s.mean == pytest.approx(x.mean())
    assert bootstrap_ci(x) == s  # fixed seed: same interval every time
    assert bootstrap_ci(x, seed=1) != s


def test_bootstrap_ci_shrinks_with_n_like_one_over_sqrt_n():
    rng = np.random.default_rng(2)
    small, large = bootstrap_ci(rng.normal(0, 1, 64)), bootstrap_ci(rng.normal(0, 1, 1024))
    ratio = (small.hi - small.lo) / (large.hi - large.lo)
    assert 2.5 < ratio < 6  # √(1024 / 64) = 4


def test_bootstrap_ci_of_a_constant_is_a_point_and_bad_input_is_refused():
    assert bootstrap_ci([3.0] * 5) == Stat(3.0, 3.0, 3.0, 5)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("nan")])


def test_frechet_distance_analytic_cases():
    a = np.random.default_rng(3).normal(size=(200, 5)) @ np.diag([1, 2, 3, 4, 5]) + 1.0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, -2.0, 0.0, 0.5, 3.0])
    assert frechet_distance(a, a + shift) == pytest.approx((shift**2).sum(), rel=1e-6)  # same Σ: |Δμ|²
    # b = 2a: Σ_b = 4Σ_a, so tr(Σ_a + 4Σ_a − 2·2Σ_a) = tr Σ_a, plus |μ_a|²
    cov = np.cov(a, rowvar=False)
    assert frechet_distance(a, 2 * a) == pytest.approx((a.mean(0) ** 2).sum() + np.trace(cov), rel=1e-6)


def test_paired_differences_are_per_clip_and_skip_constant_reference_metrics():
    rows = {"ref": [{"px": 10.0 + i, "psnr": 100.0} for i in range(5)],
            "a": [{"px": 8.0 + i, "psnr": 30.0} for i in range(5)],
            "b": [{"px": 10.0 + i, "psnr": 100.0} for i in range(5)]}
    diff = paired_differences(rows, "ref")
    assert list(diff) == ["a − ref", "b − ref"]
    assert diff["a − ref"] == [{"px": -2.0}] * 5  # psnr is constant (a cap) in the reference: left out
    table = summarize(diff)
    assert table["a − ref"]["px"] == Stat(-2.0, -2.0, -2.0, 5)  # unpaired CIs of a and ref would overlap
    assert table["b − ref"]["px"] == Stat(0.0, 0.0, 0.0, 5)
