"""Claim 1's training cost per step, both models measured the same way in one process.

    python experiments/claim1_timing.py --work WORK      # after scripts/train_claim1.sh WORK

The training records of scripts/train_claim1.sh hold each run's seconds, but the two runs can meet different
loads (side by side, other jobs, another day), and the baseline renders its clips in a worker process. Here
both are trained again, briefly, one after the other: the VTA LoRA with claim 1's recipe (p_cond 1, σ at
shift 5, rank 32, batch 4, on WORK/cache) and the Wan-I2V-style baseline (batch 8, clips rendered in this
process). Each runs twice, for a short and a longer step count, and the CPU time of this process
(user + system) is differenced: seconds per step = (cost(long) − cost(short)) / (long − short), so start-up,
model loading and export drop out. Runs go to WORK/timing/ (deleted and redone each time) and the result to
WORK/timing.json, which experiments/claim1.py reads for its cost ratio.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

LORA = {"batch": 4, "p_async": 1.0, "p_cond": 1.0, "rank": 32, "lr": 1e-3, "shift": 5.0, "warmup": 10}
BASELINE = {"batch": 8, "lr": 2e-4, "warmup": 20, "train_shift": 5.0}  # scripts/train_claim1.sh


def cpu_seconds(run: Callable[[], object]) -> float:
    t0 = time.process_time()
    run()
    return time.process_time() - t0


def per_step(cost: Callable[[int], float], short: int, long: int) -> tuple[float, dict[int, float]]:
    """Seconds per step from two runs of ``cost(steps)``, fixed costs differenced out; also the raw costs."""
    if not 0 < short < long:
        raise ValueError(f"need 0 < short < long step counts, got {short} and {long}")
    raw = {short: cost(short), long: cost(long)}
    return (raw[long] - raw[short]) / (long - short), raw


def lora_cost(work: Path, steps: int) -> float:
    from pusa.mini.recipe import stage_lora

    name = f"timing/lora-{steps}"
    shutil.rmtree(work / name, ignore_errors=True)
    return cpu_seconds(lambda: stage_lora(work, name, steps, LORA["batch"], LORA["p_async"], LORA["rank"],
                                          LORA["lr"], shift=LORA["shift"], warmup=LORA["warmup"],
                                          p_cond=LORA["p_cond"]))


def baseline_cost(work: Path, steps: int) -> float:
    from i2v_baseline import train

    out = work / "timing" / f"baseline-{steps}"
    shutil.rmtree(out, ignore_errors=True)
    return cpu_seconds(lambda: train(out, steps, BASELINE["batch"], BASELINE["lr"], BASELINE["warmup"], workers=0,
                                     train_shift=BASELINE["train_shift"], checkpoint_every=10 ** 9,
                                     progress=lambda m: None))


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, type=Path, help="claim 1's folder (scripts/train_claim1.sh)")
    p.add_argument("--lora-steps", default="10,40", help="short,long step counts for the LoRA")
    p.add_argument("--baseline-steps", default="10,30", help="short,long step counts for the baseline")
    args = p.parse_args(argv)
    for need in ("model-base/model_index.json", "cache/manifest.json"):
        if not (args.work / need).is_file():
            raise SystemExit(f"{args.work / need}: missing; run scripts/train_claim1.sh {args.work} first")
    try:
        lora_steps, base_steps = ([int(x) for x in s.split(",")] for s in (args.lora_steps, args.baseline_steps))
    except ValueError:
        raise SystemExit("--lora-steps and --baseline-steps take two integers, e.g. 10,40") from None
    import torch

    lora, lora_raw = per_step(lambda n: lora_cost(args.work, n), *lora_steps)
    base, base_raw = per_step(lambda n: baseline_cost(args.work, n), *base_steps)
    record = {"lora_step_s": round(lora, 3), "lora_batch": LORA["batch"],
              "baseline_step_s": round(base, 3), "baseline_batch": BASELINE["batch"],
              "lora_runs_s": lora_raw, "baseline_runs_s": base_raw,
              "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
              "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M")}
    from pusa.io import atomic_path

    with atomic_path(args.work / "timing.json", overwrite=True) as tmp:
        tmp.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
