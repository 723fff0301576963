"""How well true clips keep their shape under issue 18's shape bar: the ceiling for generated video.

    python experiments/shape_ceiling.py [--n 64]

For the held-out clips ``experiments/release.py`` uses (world seed 99,000, easy), frames 1–16 of the true clip
and of its round trip through the shipped autoencoder are scored as release.py scores generated image-to-video:
the object's mask against frame 0's after aligning centroids (``pusa.world.metrics.aligned_shape_iou``), and the
share of frames at IoU ≥ 0.8. Prints the means with 95% bootstrap CIs.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from stats import bootstrap_ci


def main(argv: list[str] | None = None) -> None:
    from pusa.mini import load_autoencoder
    from pusa.mini.autoencoder import to_pixels
    from pusa.mini.evaluate import heldout_clip
    from pusa.mini.shipped import AUTOENCODER
    from pusa.world.metrics import aligned_shape_iou

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=64)
    args = p.parse_args(argv)
    ae = load_autoencoder(AUTOENCODER).eval()
    scores: dict[str, list[float]] = {k: [] for k in ("true_iou", "true_ok", "autoencoder_iou", "autoencoder_ok")}
    for i in range(args.n):
        clip = heldout_clip(i)
        with torch.no_grad():
            y = ae(to_pixels(torch.from_numpy(clip.frames)[None]))[0].permute(1, 2, 3, 0).clamp(-1, 1)
        decoded = ((y + 1) * 127.5 + 0.5).to(torch.uint8).numpy()
        for name, video in (("true", clip.frames), ("autoencoder", decoded)):
            iou = aligned_shape_iou(video[1:], clip.frames[0], clip.colours[0])
            scores[f"{name}_iou"].append(float(np.nanmean(iou)))
            scores[f"{name}_ok"].append(float(np.mean(iou >= 0.8)))
    for name, values in scores.items():
        s = bootstrap_ci(values)
        print(f"{name}: {s.mean:.3f} [{s.lo:.3f}, {s.hi:.3f}] (n = {args.n})")


if __name__ == "__main__":
    main()
