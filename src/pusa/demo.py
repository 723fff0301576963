"""``make demo``: image-to-video on the embedded Pusa-mini, from the example image shipped with it.

    python -m pusa.demo [OUT_DIR]

Runs ``pusa generate`` (10 steps, CFG 3) with the example image as a clean frame 0 and its caption as
the prompt, then prints where the video and its contact sheet are. Takes seconds on a laptop CPU.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import time
from pathlib import Path


def main(out_dir: str = "demo-output") -> None:
    from pusa.mini.shipped import EXAMPLE_IMAGE, EXAMPLE_PROMPT

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    video = out / "i2v.mp4"
    cmd = [sys.executable, "-m", "pusa.cli", "generate", "--prompt", EXAMPLE_PROMPT, "--image", f"{EXAMPLE_IMAGE}@0",
           "--seed", "0", "--out", str(video), "--overwrite"]
    print("$", shlex.join(["pusa", *cmd[3:]]), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    print(f"\nimage-to-video on the embedded Pusa-mini in {time.perf_counter() - t0:.1f} s")
    print(f"  video:         {video}")
    print(f"  contact sheet: {video.with_suffix('.png')}  (the given frame has a yellow border)")
    print(f"  settings:      {video.with_suffix('.json')}")
    print("Try another task: pusa generate --help, or the web app: pusa ui")


if __name__ == "__main__":
    main(*sys.argv[1:2])
