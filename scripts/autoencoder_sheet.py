"""Pusa-mini 2's autoencoder, seen and measured: held-out clips against their reconstructions, and the PSNR curve.

    python scripts/autoencoder_sheet.py WORK/ae [--out docs/autoencoder.png] [--curve docs/autoencoder_psnr.png]

The sheet has, per clip, the true frames (0, 2, …, 16) and below them decode(encode(clip)); the first clips
are "easy" (one object, flat background), the rest "medium" (up to two objects, textured backgrounds).
The curve is WORK/ae/psnr.csv, the held-out PSNR the trainer logs at every checkpoint.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", type=Path, help="the autoencoder stage's folder (WORK/ae)")
    p.add_argument("--out", type=Path, default=Path("docs/autoencoder.png"))
    p.add_argument("--curve", type=Path, default=Path("docs/autoencoder_psnr.png"))
    p.add_argument("--clips", type=int, default=3, help="clips per preset")
    a = p.parse_args()
    from pusa.io import atomic_path, contact_sheet_array
    from pusa.mini import load_autoencoder
    from pusa.mini.autoencoder import held_out, psnr

    ae = load_autoencoder(a.run / "autoencoder")
    rows, labels = [], []
    for preset in ("easy", "medium"):
        clips = held_out(preset, a.clips)
        with torch.no_grad():
            recon = ae(clips).clamp(-1, 1)
        for x, y in zip(clips, recon):
            keep = list(range(0, x.shape[1], 2))
            to_u8 = lambda v: ((v.permute(1, 2, 3, 0).numpy() + 1) * 127.5 + 0.5).clip(0, 255).astype(np.uint8)
            rows += [contact_sheet_array(to_u8(x)[keep], columns=len(keep)),
                     contact_sheet_array(to_u8(y)[keep], columns=len(keep))]
            labels += [f"{preset}: truth", f"decoded {psnr(y[None], x[None]):.1f} dB"]
    label_w = 130
    block = np.concatenate(rows, 0)
    canvas = Image.new("RGB", (label_w + block.shape[1], block.shape[0]), (24, 24, 24))
    canvas.paste(Image.fromarray(block), (label_w, 0))
    draw, h = ImageDraw.Draw(canvas), rows[0].shape[0]
    for i, text in enumerate(labels):
        draw.text((6, i * h + h // 2 - 6), text, fill=(255, 220, 80) if i % 2 else (200, 200, 200))
    canvas = canvas.resize((canvas.width * 2, canvas.height * 2), Image.NEAREST)
    with atomic_path(a.out, overwrite=True) as tmp:
        canvas.save(tmp, format="PNG")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    log = list(csv.DictReader(open(a.run / "psnr.csv")))
    minutes = [float(r["seconds"]) / 60 for r in log]
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for key, name in (("psnr_easy", "easy"), ("psnr_medium", "medium")):
        ax.plot(minutes, [float(r[key]) for r in log], marker="o", ms=3, label=f"held-out {name}")
    ax.axhline(32, color="grey", ls="--", lw=1, label="bar (32 dB)")
    ax.set_xlabel("wall minutes (2 CPU threads, machine shared)")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title("Pusa-mini 2 autoencoder: held-out reconstruction")
    ax.legend()
    fig.tight_layout()
    with atomic_path(a.curve, overwrite=True) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    print(f"{a.out}\n{a.curve}")


if __name__ == "__main__":
    main()
