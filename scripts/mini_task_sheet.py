"""Contact sheet of every task on the embedded Pusa-mini (docs/mini_tasks.png).

For each task, two rows of every other frame (0, 2, …, 16) from a held-out clip: the clip itself and the
model's video from that task's conditions (given frames framed in yellow, as `pusa generate` does), made as
`pusa generate` makes it: through ``pusa.request`` with the model's run rules (the embedded model's own;
``--model``/``--lora`` with ``--warm-start``/``--t2v-strength`` for a candidate folder).

    python scripts/mini_task_sheet.py [--clip 3] [--out docs/mini_tasks.png]
    python scripts/mini_task_sheet.py --model WORK/pipeline --lora WORK/pipeline/pusa_mini_lora.safetensors
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pusa.io import atomic_path, contact_sheet_array
from pusa.mini.evaluate import heldout_clip, partner_clip, task_conditions, task_prompt

TASKS = ("t2v", "i2v", "start_end", "keyframe@8", "extend", "complete", "transition")


def conditioned_frames(conds) -> set[int]:
    return {p for c in conds for p in range(c.start, c.start + c.num_frames)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clip", type=int, default=3)
    p.add_argument("--model", type=Path, help="a candidate PusaPipeline folder (default: the embedded model)")
    p.add_argument("--lora", type=Path, help="the candidate's VTA LoRA")
    p.add_argument("--warm-start", type=float, default=1.0, help="candidate rule: warm start σ (1 = off)")
    p.add_argument("--t2v-strength", type=float, default=1.0, help="candidate rule: VTA LoRA strength for T2V")
    p.add_argument("--out", type=Path, default=Path("docs/mini_tasks.png"))
    a = p.parse_args()
    from pusa.request import ModelRules, Models, ModelSpec, Request, generate

    if a.model is None:
        models = Models(ModelSpec())
    else:
        spec = ModelSpec(model=a.model, loras=((a.lora, 1.0),) if a.lora else ())
        models = Models(spec, rules=ModelRules(a.t2v_strength if a.lora else None,
                                               None if a.warm_start == 1.0 else a.warm_start))
    clip = heldout_clip(a.clip)
    keep = list(range(0, len(clip.frames), 2))
    label_w, blocks = 110, []
    for task in TASKS:
        conds = task_conditions(task, clip)
        frames = generate(Request(prompt=task_prompt(task, clip), conditions=tuple(conds), seed=a.clip), models).frames
        video = (np.clip(frames, 0, 1) * 255 + 0.5).astype(np.uint8)
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
    print(f"{a.out}  (clip {a.clip}: {clip.caption}; rules {models.rules})")


if __name__ == "__main__":
    main()
