"""Release check: does a newly trained VTA adapter beat the shipped one on every task, as users run it?

    python experiments/candidate.py --candidate WORK/NAME/final [--n 64]
    python experiments/candidate.py --candidate WORK/NAME/final --part shipped &    # two cores: each half
    python experiments/candidate.py --candidate WORK/NAME/final --part candidate    # fills the cache, then
    python experiments/candidate.py --candidate WORK/NAME/final                     # this reads it back

Weights enter git history for good, so new Pusa-mini weights ship only when they are better where users
look. Each task runs as ``pusa generate`` runs it: the conditioned tasks with warm start
``WARM_START`` (0.9), 10 steps, CFG 3. Plain T2V runs on the base weights whatever the adapter, so it is
not compared; "t2v (LoRA on)" instead asks the non-destructiveness question (every frame at one σ with
the adapter fused, no warm start). The candidate is a recipe output (``python -m pusa.mini.recipe WORK
--stage lora --name NAME ...``); rows "candidate − shipped" are paired per clip (same clip, same seed).
"""

from __future__ import annotations

import time
from pathlib import Path

from flags import check_args, command, parser
from report import write_results
from samples import Cell, Progress, run_cells
from stats import paired_differences, summarize
from variants import load_pipeline, train_record, variant_pipeline

NAME = "candidate"
WARM_TASKS = ("i2v", "start_end", "keyframe@8", "extend", "complete", "transition")
MODELS = ("shipped", "candidate")
PAIRED = ("caption", "caption_colour", "caption_direction", "subject_consistency", "trajectory_px", "seam_px",
          "start_end_px", "key_px", "neighbour_px", "middle_px", "background_err", "flicker", "direction_err")


T2V_LORA = "t2v (LoRA on)"
ROWS = (*WARM_TASKS, T2V_LORA)  # each row: "MODEL: ROW"


def cells(steps: int, model: str, warm_start: float) -> list[Cell]:
    out = [Cell(f"{model}: {task}", task, steps, options={"warm_start": warm_start}) for task in WARM_TASKS]
    return out + [Cell(f"{model}: {T2V_LORA}", "t2v", steps)]


def extra(video, clip) -> dict[str, float]:
    from pusa.world.metrics import direction_error

    return {"direction_err": direction_error(video, clip.caption).value}


def budget(path: Path) -> str:
    rec = train_record(path)
    keys = ("steps", "batch", "rank", "p_async", "p_cond", "shift", "lr", "seconds")
    return ", ".join(f"{k} {rec[k]}" for k in keys if k in rec)


def main(argv: list[str] | None = None) -> None:
    p = parser(__doc__)
    p.add_argument("--candidate", required=True, type=Path, help="a recipe output, WORK/NAME/final")
    p.add_argument("--part", default="all", choices=("all", *MODELS),
                   help="sample one model's cells into the cache and stop (run both halves in parallel)")
    args = p.parse_args(argv)
    check_args(args)
    from pusa.mini.shipped import WARM_START

    if args.part != "shipped" and not args.candidate.is_dir():  # the shipped half can run while it trains
        raise SystemExit(f"--candidate {args.candidate}: no such folder (a recipe output, WORK/NAME/final)")
    t0 = time.time()
    models = MODELS if args.part == "all" else (args.part,)
    todo = {m: cells(args.steps, m, WARM_START) for m in models}
    progress = Progress(NAME, args.n * sum(len(c) for c in todo.values()))
    rows: dict[str, list[dict[str, float]]] = {}
    for model, model_cells in todo.items():
        pipe = load_pipeline(1.0, args.dtype) if model == "shipped" else variant_pipeline(args.candidate, args.dtype)
        rows |= run_cells(pipe, model_cells, args.n, args.cfg, args.cache, extra=extra, progress=progress)
        del pipe
    if args.part != "all":
        print(f"sampled the {args.part} cells into {args.cache}; run again without --part for the table")
        return
    for row in ROWS:
        diff = paired_differences({"candidate": rows[f"candidate: {row}"], "shipped": rows[f"shipped: {row}"]},
                                  "shipped", PAIRED)
        rows |= {f"candidate − shipped: {row}": d for d in diff.values()}
    notes = (f"Candidate: `{args.candidate}` ({budget(args.candidate)}).\n"
             + ("Conditioned tasks start from noise" if WARM_START is None else
                f"Conditioned tasks warm-start at {WARM_START}") + "; \"t2v (LoRA on)\" starts from noise.")
    md, _ = write_results(NAME, args.out, "Candidate VTA adapter against the shipped one (Pusa-mini, as users run it)",
                          summarize(rows), command(NAME, args), time.time() - t0, notes)
    print(f"wrote {md}")


if __name__ == "__main__":
    main()
