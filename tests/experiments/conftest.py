"""The experiments are plain scripts in experiments/ that import their shared modules (stats, report, plots,
flags, samples, variants) as top-level modules: the script's own folder is on sys.path."""

import sys
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
if str(EXPERIMENTS) not in sys.path:
    sys.path.insert(0, str(EXPERIMENTS))
