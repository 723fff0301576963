"""Does Pusa-mini read each fact of its caption? Held-out loss with the true caption against captions with
one fact changed (issue 4's direction question).

    python experiments/caption_reliance.py [--n 64] [--out docs/results]
    python experiments/caption_reliance.py --given first [--variant WORK/NAME/final ...]   # the I2V setting

A model that uses a caption word to denoise predicts the clip worse when that word is wrong. For held-out
clips with one object and a captioned direction (the first n such clips from clip 0), the flow-matching
loss (all latent frames at one σ, one noise draw per clip: seed = clip index, shared by every caption and
model) is measured with:

- the true caption;
- the caption with the direction reversed (``pusa.world.captions.counterfactual``: "to the left" → "to the
  right", named walls flipped);
- the colour changed (the palette colour half the palette away);
- the shape changed (the next shape);
- no caption ("", what classifier-free guidance subtracts).

Rows "… − true caption" are paired per clip. A difference near 0 means the model does not use that fact at
that σ; the "no caption" row is the most the text can be worth. Measured on the base (λ = 0, which runs
T2V) and on Pusa-mini with its VTA LoRA (λ = 1), plus any ``--variant`` (a trained recipe output). No
sampling, so ``--steps`` and ``--cfg`` are unused.

``--given first`` asks the question in the image-to-video setting (page ``caption_reliance_i2v``): latent frame
0 is given clean (σ = 0) and only the other frames are noised and scored. There the object's start is known,
so a model that read "to the left" could place it in the later frames; only σ ≥ 0.6 is measured.
"""

from __future__ import annotations

import time

from flags import check_args, command, parser
from report import write_results
from samples import Progress, losses_at_sigmas
from stats import paired_differences, summarize
from variants import load_pipeline

NAME = "caption_reliance"
SIGMAS = (0.3, 0.6, 0.9, 1.0)  # 1: the sampler's first step, where the caption is all the model has
SIGMAS_I2V = (0.6, 0.9, 1.0)
CAPTIONS = ("true caption", "direction reversed", "colour changed", "shape changed", "no caption")
MODELS = {"base": 0.0, "Pusa-mini": 1.0}


def one_object_clips(n: int, search: int = 1000):
    """The first ``n`` held-out clips with one object and a captioned direction."""
    from pusa.mini.evaluate import heldout_clip
    from pusa.world import parse_caption

    out = []
    for i in range(search):
        clip = heldout_clip(i)
        objects = parse_caption(clip.caption)
        if len(objects) == 1 and objects[0].direction is not None:
            out.append((i, clip))
            if len(out) == n:
                return out
    raise SystemExit(f"only {len(out)} one-object clips among the first {search} held-out clips; lower --n")


def captions(text: str) -> dict[str, str]:
    from pusa.world.captions import counterfactual

    return {"true caption": text, "direction reversed": counterfactual(text, "direction"),
            "colour changed": counterfactual(text, "colour"), "shape changed": counterfactual(text, "shape"),
            "no caption": ""}


def main(argv: list[str] | None = None) -> None:
    from pathlib import Path

    from variants import variant_pipeline

    p = parser(__doc__)
    p.add_argument("--given", default="none", choices=("none", "first"),
                   help="first: latent frame 0 given clean, the I2V setting (page caption_reliance_i2v)")
    p.add_argument("--variant", type=Path, action="append", default=[],
                   help="also measure a trained VTA variant (WORK/NAME/final; repeatable)")
    args = p.parse_args(argv)
    check_args(args)
    for v in args.variant:
        if not v.is_dir():
            raise SystemExit(f"--variant {v}: no such folder (a recipe output, WORK/NAME/final)")
    name = NAME if args.given == "none" else f"{NAME}_i2v"
    sigmas, given = (SIGMAS, ()) if args.given == "none" else (SIGMAS_I2V, (0,))
    t0 = time.time()
    clips = one_object_clips(args.n)
    models = {**MODELS, **{f"{v.parent.name}/{v.name}": v for v in args.variant}}
    progress = Progress(name, args.n * len(models))
    rows: dict[str, list[dict[str, float]]] = {}
    for model, what in models.items():
        pipe = load_pipeline(what, args.dtype) if isinstance(what, float) else variant_pipeline(what, args.dtype)
        per = {cap: [] for cap in CAPTIONS}
        for i, clip in clips:
            for cap, row in losses_at_sigmas(pipe, clip, i, sigmas, captions(clip.caption), given).items():
                per[cap].append(row)
            progress.tick(f"{model} clip {i}")
        cells = {f"{model}: {cap}": r for cap, r in per.items()}
        rows |= cells
        rows |= paired_differences(cells, f"{model}: true caption")
    first = ", ".join(str(i) for i, _ in clips[:3])
    notes = (f"Clips: the first {args.n} held-out clips with one object and a direction (indices {first}, … "
             f"{clips[-1][0]}). Loss: mean ‖v_θ(x_σ, 1000σ, c) − (x1 − x0)‖² over the latent, in {args.dtype}"
             + ("." if not given else "; latent frame 0 given clean (σ = 0) and left out of the loss."))
    title = "Caption reliance: held-out loss with one caption fact changed" + (
        "" if not given else " (I2V: frame 0 given)")
    md, _ = write_results(name, args.out, title, summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
