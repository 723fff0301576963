"""Wall time of one image-to-video generation on the embedded Pusa-mini (issue 4: ≤ 20 s, goal ≤ 10 s).

Two measurements on this machine's CPU:
1. the whole command a user runs, ``pusa generate --image example.png@0`` (10 steps, CFG 3, decode, mp4,
   contact sheet), as a subprocess: Python start, imports and model loading included;
2. the same work in-process, split into load / sample / decode+write, median of --repeat runs, with the
   mini's default warm start (as ``pusa generate``) and with the plain sampler.

    python benchmarks/mini_i2v.py [--repeat 3] [--dtype float32 bfloat16]

``--dtype`` lists the transformer precisions to time (``pusa generate --dtype``); bfloat16 is about twice
as fast on CPUs with AMX.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cli_wall(out: Path, dtype: str) -> float:
    from pusa.mini.shipped import EXAMPLE_IMAGE, EXAMPLE_PROMPT

    cmd = [sys.executable, "-m", "pusa.cli", "generate", "--prompt", EXAMPLE_PROMPT, "--image", f"{EXAMPLE_IMAGE}@0",
           "--seed", "0", "--out", str(out), "--overwrite", "--dtype", dtype]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


# What a fresh interpreter pays before any work: each line imports the previous one's modules plus its own.
IMPORT_FLOOR = (("python", "pass"), ("torch", "import torch"),
                ("torch._dynamo (diffusers imports it)", "import torch, torch._dynamo"),
                ("diffusers ModelMixin", "import diffusers.models.modeling_utils"),
                ("diffusers Wan transformer (its package imports every transformer)",
                 "import diffusers.models.transformers.transformer_wan"),
                ("pusa.loading + pusa.mini (what pusa generate imports)", "import pusa.loading, pusa.mini"))


def import_floor(repeat: int) -> list[tuple[str, float]]:
    """Median wall seconds of ``python -c STATEMENT`` for each of IMPORT_FLOOR."""
    out = []
    for name, statement in IMPORT_FLOOR:
        walls = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", statement], check=True)
            walls.append(time.perf_counter() - t0)
        out.append((name, statistics.median(walls)))
    return out


def in_process(out: Path, repeat: int, dtype: str) -> dict[str, float]:
    import torch

    from pusa import conditions as C
    from pusa.io import read_image, write_contact_sheet, write_video
    from pusa.mini import default_pipeline
    from pusa.mini.shipped import EXAMPLE_IMAGE, EXAMPLE_PROMPT, WARM_START

    t0 = time.perf_counter()
    pipe = default_pipeline(dtype=getattr(torch, dtype))
    load = time.perf_counter() - t0
    image = read_image(EXAMPLE_IMAGE)
    samples, plain, writes = [], [], []
    for i in range(repeat):
        t0 = time.perf_counter()
        frames = pipe(EXAMPLE_PROMPT, conditions=C.i2v(image), num_inference_steps=10, guidance_scale=3.0,
                      generator=torch.Generator().manual_seed(i), warm_start=WARM_START).frames[0]
        t1 = time.perf_counter()
        write_video(out, frames, fps=pipe.config.fps, overwrite=True)
        write_contact_sheet(out.with_suffix(".png"), frames, highlight={0}, overwrite=True)
        samples.append(t1 - t0)
        writes.append(time.perf_counter() - t1)
        t2 = time.perf_counter()
        pipe(EXAMPLE_PROMPT, conditions=C.i2v(image), num_inference_steps=10, guidance_scale=3.0,
             generator=torch.Generator().manual_seed(i))
        plain.append(time.perf_counter() - t2)
    rule = "no warm start" if WARM_START is None else f"warm start {WARM_START:g}"
    return {"load": load, f"sample+decode (the mini's rule: {rule})": statistics.median(samples),
            "sample+decode (plain sampler)": statistics.median(plain), "write": statistics.median(writes)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--dtype", nargs="+", default=["float32", "bfloat16"], choices=["float32", "bfloat16"])
    a = p.parse_args()
    import torch

    print(f"machine: {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print("import floor (fresh interpreter, median): " + ", ".join(f"{n} {w:.2f} s" for n, w in import_floor(a.repeat)))
    for dtype in a.dtype:
        with tempfile.TemporaryDirectory() as tmp:
            walls = [cli_wall(Path(tmp) / f"cli{i}.mp4", dtype) for i in range(a.repeat)]
            parts = in_process(Path(tmp) / "inproc.mp4", a.repeat, dtype)
        print(f"[{dtype}] pusa generate (subprocess, I2V, 10 steps, CFG 3): median {statistics.median(walls):.2f} s "
              f"(runs: {', '.join(f'{w:.2f}' for w in walls)})")
        print(f"[{dtype}] in-process: " + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items()))


if __name__ == "__main__":
    main()
