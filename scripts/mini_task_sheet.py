"""Contact sheet of every task on the embedded Pusa-mini (docs/mini_tasks.png).

For each task, two rows of every other frame (0, 2, …, 16) from a held-out clip: the clip itself and the
model's video from that task's conditions (given frames framed in yellow, as `pusa generate` does), made as
`pusa generate` makes it: text-to-video on the base weights, every conditioned task with the VTA LoRA and
the mini's warm start (``--warm-start 1`` shows the plain sampler instead).

    python scripts/mini_task_sheet.py [--clip 3] [--warm-start 0.9] [--out docs/mini_tasks.png]
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pusa.io import atomic_path, contact_sheet_array
from pusa.mini.evaluate import generate, heldout_clip, partner_clip, task_conditions

TASKS = ("t2v", "i2v", "start_end", "keyframe@8", "extend", "complete", "transition")


def conditioned_frames(conds) -> set[int]:
    return {p for c in conds for p in range(c.start, c.start + c.num_frames)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=int, default=3)
    p.add_argument("--warm-start", type=float, default=None, help="σ the generated frames start from (default: the mini's)")
    p.add_argument("--out", type=Path, default=Path("docs/mini_tasks.png"))
    a = p.parse_args()
    from pusa.mini import default_pipeline
    from pusa.mini.shipped import WARM_START

    pipe = default_pipeline()
    base = default_pipeline(lora_strength=0.0, text=(pipe.tokenizer, pipe.text_encoder))
    warm = WARM_START if a.warm_start is None else a.warm_start
    options = {} if warm == 1.0 else {"warm_start": warm}
    clip = heldout_clip(a.clip)
    keep = list(range(0, len(clip.frames), 2))
    label_w, blocks = 110, []
    for task in TASKS:
        conds = task_conditions(task, clip)
        video = generate(base, task, clip, seed=a.clip) if task == "t2v" else \
            generate(pipe, task, clip, seed=a.clip, **options)
        truth = clip.frames.copy()
        if task == "transition":  # what the model was given: A's end, then B's start
            b = partner_clip(clip).frames
            truth = np.concatenate([clip.frames[-5:], np.zeros_like(clip.frames[:8]), b[:4]])
        given = {keep.index(f) for f in conditioned_frames(conds) if f in keep}
        rows = [contact_sheet_array(truth[keep], columns=len(keep)),
                contact_sheet_array(video[keep], columns=len(keep), highlight=given)]
        block = np.concatenate(rows, 0)
        canvas = Image.new("RGB", (label_w + block.shape[1], block.shape[0]), (24, 24, 24))
        canvas.paste(Image.fromarray(block), (label_w, 0))
        d = ImageDraw.Draw(canvas)
        d.text((6, block.shape[0] // 4 - 6), f"{task}: truth", fill=(200, 200, 200))
        d.text((6, 3 * block.shape[0] // 4 - 6), "Pusa-mini", fill=(255, 220, 80))
        blocks.append(np.asarray(canvas))
    sheet = Image.fromarray(np.concatenate(blocks, 0))
    sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
    with atomic_path(a.out, overwrite=True) as tmp:
        sheet.save(tmp, format="PNG")
    print(f"{a.out}  (clip {a.clip}: {clip.caption}; warm start {warm:g})")


if __name__ == "__main__":
    main()
