"""Does Pusa-mini read each fact of its caption? Held-out loss with the true caption against captions with
one fact changed (issue 4's direction question).

    python experiments/caption_reliance.py [--n 64] [--out docs/results]

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
T2V) and on Pusa-mini with its VTA LoRA (λ = 1). No sampling, so ``--steps`` and ``--cfg`` are unused.
"""

from __future__ import annotations

import time

from common import (
    Progress,
    check_args,
    command,
    load_pipeline,
    losses_at_sigmas,
    paired_differences,
    parser,
    summarize,
    write_results,
)

NAME = "caption_reliance"
SIGMAS = (0.3, 0.6, 0.9, 1.0)  # 1: the sampler's first step, where the caption is all the model has
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
    args = parser(__doc__).parse_args(argv)
    check_args(args)
    t0 = time.time()
    clips = one_object_clips(args.n)
    progress = Progress(NAME, args.n * len(MODELS))
    rows: dict[str, list[dict[str, float]]] = {}
    for model, strength in MODELS.items():
        pipe = load_pipeline(strength, args.dtype)
        per = {name: [] for name in CAPTIONS}
        for i, clip in clips:
            for name, row in losses_at_sigmas(pipe, clip, i, SIGMAS, captions(clip.caption)).items():
                per[name].append(row)
            progress.tick(f"{model} clip {i}")
        cells = {f"{model}: {name}": r for name, r in per.items()}
        rows |= cells
        rows |= paired_differences(cells, f"{model}: true caption")
    first = ", ".join(str(i) for i, _ in clips[:3])
    notes = (f"Clips: the first {args.n} held-out clips with one object and a direction (indices {first}, … "
             f"{clips[-1][0]}). Loss: mean ‖v_θ(x_σ, 1000σ, c) − (x1 − x0)‖² over the latent, in {args.dtype}.")
    md, _ = write_results(NAME, args.out, "Caption reliance: held-out loss with one caption fact changed",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
