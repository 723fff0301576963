"""`make train-smoke` end to end: world clips → preprocess → LoRA training → lower held-out loss."""

from __future__ import annotations

import subprocess
import sys


def test_smoke_lowers_heldout_loss(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "pusa.training.smoke", str(tmp_path / "work"), "--steps", "40"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("heldout_loss before=")
    before, after = (float(part.split("=")[1]) for part in last.split()[1:])
    assert after < 0.9 * before, last
