"""Screenshots of every tab of a running ``pusa ui`` after one generation: docs/ui_<tab>.png.

    pusa world /tmp/w --n 1 --frames 17 --height 64 --width 64 --seed 7
    pusa ui --port 7860 --out-dir /tmp/ui-out &          # add --model DIR for another pipeline
    python docs/ui_screenshots.py http://127.0.0.1:7860/ docs /tmp/w/clip_00000.mp4 "there is a white circle drifting leftward against a plain black backdrop"

The committed ones show the shipped Pusa-mini (``pusa ui`` without --model, one torch thread) on
``pusa world /tmp/w --n 1 --seed 7`` with that clip's caption, seeds as the UI drew them: they show the
model as it is (retaken 2026-12-06 on Pusa-mini 2 with its direction phase, warm-start slider at its default 1, off; see docs/mini2.md). Needs Debian's chromium and
``pip install playwright`` (its own browser download is not used). Not part of the package or the
tests (the tests take their screenshot with plain ``chromium --headless``).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright
from PIL import Image

from pusa.io import read_video


def _shot(page, path: Path) -> None:
    """Full-page screenshot, saved with a 128-colour palette (a third of the size; the UI is flat colour)."""
    page.screenshot(path=str(path), full_page=True)
    Image.open(path).convert("RGB").quantize(128, Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        path, optimize=True)


def main(url: str, out: Path, video: str, prompt: str) -> None:
    frames, _ = read_video(video)
    tmp = Path(tempfile.mkdtemp())
    first, last = tmp / "first.png", tmp / "last.png"
    Image.fromarray(frames[0]).save(first)
    Image.fromarray(frames[-1]).save(last)
    shots = [("t2v", [], {}), ("i2v", [first], {}), ("start_end", [first, last], {"m last": "0.5", "steps": "50"}),
             ("keyframes", [first, None, None, last], {}), ("video", [video], {}), ("v2v", [video], {})]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for tab, uploads, numbers in shots:
            page.goto(f"{url}?tab={tab}")
            page.wait_for_selector(".pusa-timeline", timeout=30000)
            page.wait_for_timeout(1500)
            page.get_by_label("prompt", exact=True).fill(prompt)
            for label, value in numbers.items():
                page.get_by_label(f"number input for {label}", exact=True).fill(value)
                page.keyboard.press("Enter")
            inputs = page.locator('[role="tabpanel"]:visible input[type=file]')
            for i, path in enumerate(uploads):
                if path:
                    inputs.nth(i).set_input_files(str(path))
                    page.wait_for_timeout(1500)
            page.locator('[role="tabpanel"]:visible button', has_text="Generate").click()
            if tab == "start_end":  # one shot while sampling: every latent frame at its own σ
                page.wait_for_selector("text=/sampling: step [0-9]+/50/", timeout=120000)
                _shot(page, out / "ui_sampling.png")
            page.wait_for_selector("text=done:", timeout=300000)
            page.wait_for_timeout(2500)
            _shot(page, out / f"ui_{tab}.png")
            print(f"wrote {out / f'ui_{tab}.png'}")
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3], sys.argv[4])
