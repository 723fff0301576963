"""The aggregation reproduces the published VBench-I2V rows (REFERENCE.md)."""

from __future__ import annotations

import pytest

from pusa.eval.vbench import aggregate_i2v

KEYS = ("subject_consistency", "background_consistency", "motion_smoothness", "dynamic_degree", "aesthetic_quality",
        "imaging_quality", "i2v_subject", "i2v_background", "camera_motion")
ROWS = {  # published per-dimension scores, then Total, I2V, Quality
    "Pusa V1.0": ((92.27, 96.02, 98.49, 52.60, 63.15, 68.27, 97.64, 99.24, 29.46), (87.32, 94.84, 79.80)),
    "Wan-I2V-14B": ((94.86, 97.07, 97.90, 51.38, 64.75, 70.44, 96.95, 96.44, 34.76), (86.86, 92.90, 80.82)),
}


@pytest.mark.parametrize("model", sorted(ROWS))
def test_reproduces_published_rows(model):
    dims, (total, i2v, quality) = ROWS[model]
    out = aggregate_i2v(dict(zip(KEYS, dims)))
    assert out["total"] == pytest.approx(total, abs=0.01)
    assert out["i2v"] == pytest.approx(i2v, abs=0.02)
    assert out["quality"] == pytest.approx(quality, abs=0.02)


def test_bad_input():
    dims = dict(zip(KEYS, ROWS["Pusa V1.0"][0]))
    with pytest.raises(ValueError, match="missing VBench-I2V dimension"):
        aggregate_i2v({k: v for k, v in dims.items() if k != "camera_motion"})
    with pytest.raises(ValueError, match="percentages"):
        aggregate_i2v({**dims, "dynamic_degree": 0.52 * 1000})
