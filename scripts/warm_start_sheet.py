"""Image-to-video on Pusa-mini with and without warm start, side by side (docs/warm_start_i2v.png).

For each held-out clip, three rows of every other frame (0, 2, …, 16): the clip, the plain sampler
(generated frames start from pure noise) and the warm start (they start from frame 0 noised to σ = m).
Same prompt, same seed (= clip index), 10 steps, CFG 3.

    python scripts/warm_start_sheet.py [--clips 0,1,2,3] [--warm-start 0.9] [--out docs/warm_start_i2v.png]
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pusa.io import atomic_path, contact_sheet_array
from pusa.mini.evaluate import generate, heldout_clip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clips", default="0,1,2,3", help="comma-separated held-out clip indices")
    p.add_argument("--warm-start", type=float, default=None, help="σ the generated frames start from (default: the mini's)")
    p.add_argument("--out", type=Path, default=Path("docs/warm_start_i2v.png"))
    a = p.parse_args()
    from pusa.mini import default_pipeline
    from pusa.mini.shipped import WARM_START

    warm = WARM_START if a.warm_start is None else a.warm_start
    if warm is None:
        raise SystemExit("the shipped Pusa-mini has no warm start rule; pass --warm-start SIGMA to compare one")
    pipe = default_pipeline()
    label_w, blocks = 150, []
    for i in (int(c) for c in a.clips.split(",")):
        clip = heldout_clip(i)
        keep = list(range(0, len(clip.frames), 2))
        rows = [("truth", clip.frames), ("plain sampler", generate(pipe, "i2v", clip, seed=i)),
                (f"warm start {warm:g}", generate(pipe, "i2v", clip, seed=i, warm_start=warm))]
        block = np.concatenate([contact_sheet_array(v[keep], columns=len(keep), highlight={0} if k else set())
                                for k, (_, v) in enumerate(rows)], 0)
        canvas = Image.new("RGB", (label_w + block.shape[1], block.shape[0] + 6), (24, 24, 24))
        canvas.paste(Image.fromarray(block), (label_w, 0))
        d = ImageDraw.Draw(canvas)
        for k, (name, _) in enumerate(rows):
            d.text((6, (2 * k + 1) * block.shape[0] // 6 - 6), f"clip {i}: {name}" if k == 0 else name,
                   fill=(200, 200, 200) if k == 0 else (255, 220, 80))
        blocks.append(np.asarray(canvas))
    sheet = Image.fromarray(np.concatenate(blocks, 0))
    sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
    with atomic_path(a.out, overwrite=True) as tmp:
        sheet.save(tmp, format="PNG")
    print(a.out)


if __name__ == "__main__":
    main()
