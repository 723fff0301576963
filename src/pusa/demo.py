"""``make demo``: run ``pusa generate`` for three tasks on a tiny random-weight pipeline.

Until the trained Pusa-mini model ships (issue 4) the transformer is untrained, so free frames are
noise. What the demo shows is the per-frame machinery: clean conditioning frames (m = 0) come back
exactly where they were placed, lightly noised ones (m > 0) are reworked, and the contact sheets
mark the conditioned frames with a yellow border.

    python -m pusa.demo OUT_DIR
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np


def shape_image(size: int, colour: tuple[int, int, int], centre: tuple[float, float], background=(30, 60, 140)):
    """A filled disc on a flat background, uint8 [size, size, 3]."""
    yy, xx = np.mgrid[:size, :size]
    img = np.empty((size, size, 3), np.uint8)
    img[:] = background
    img[(yy - centre[0] * size) ** 2 + (xx - centre[1] * size) ** 2 < (0.18 * size) ** 2] = colour
    return img


def main(out_dir: str = "demo-output") -> None:
    from PIL import Image

    from pusa.tiny import tiny_pipeline

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = out / "tiny-model"
    if not (model / "model_index.json").exists():
        tiny_pipeline("packing").save_pretrained(model)
    Image.fromarray(shape_image(64, (230, 50, 40), (0.3, 0.3))).save(out / "start.png")
    Image.fromarray(shape_image(64, (230, 200, 40), (0.7, 0.7))).save(out / "end.png")
    pusa = [sys.executable, "-m", "pusa.cli", "generate", "--model", str(model), "--frames", "17",
            "--height", "64", "--width", "64", "--steps", "10", "--seed", "0", "--overwrite"]
    runs = {
        "t2v": ["--prompt", "a red circle moves right"],
        "i2v": ["--prompt", "a red circle moves right", "--image", f"{out / 'start.png'}@0"],
        "start_end": ["--prompt", "a circle turns yellow", "--image", f"{out / 'start.png'}@0",
                      "--image", f"{out / 'end.png'}@16:0.3"],
    }
    for name, args in runs.items():
        cmd = [*pusa, *args, "--out", str(out / f"{name}.mp4")]
        print("$", shlex.join(["pusa", *cmd[3:]]), flush=True)
        subprocess.run(cmd, check=True)
    print(f"\nDone. Contact sheets: {out}/*.png. The transformer has random weights (the trained mini model "
          "is issue 4), so free frames are noise; clean conditioning frames reappear exactly.")


if __name__ == "__main__":
    main(*sys.argv[1:2])
