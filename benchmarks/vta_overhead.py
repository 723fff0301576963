"""VTA overhead: forward time and peak memory of the scalar, per-frame and per-token timestep paths.

Each path runs in its own process, so peak memory is measured cleanly: on CPU as the rise of the
process's peak RSS during the first forward (ru_maxrss), on CUDA as torch.cuda.max_memory_allocated.
Time is the median of --repeats forwards after one warm-up. Not a test: it prints what it measured.

    .venv/bin/python benchmarks/vta_overhead.py                     # mid-size CPU config
    .venv/bin/python benchmarks/vta_overhead.py --device cuda --dim 5120 --heads 40 --ffn 13824 --layers 40 \
        --frames 21 --height 60 --width 104 --dtype bfloat16     # Wan2.1-14B at 480p×81 (needs a GPU)
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time


def measure(args: argparse.Namespace, path: str) -> dict:
    import torch

    from pusa.models import PusaTransformer3DModel

    torch.manual_seed(0)
    dtype = getattr(torch, args.dtype)
    device = torch.device(args.device)
    model = PusaTransformer3DModel(num_attention_heads=args.heads, attention_head_dim=args.dim // args.heads,
                                   in_channels=16, out_channels=16, text_dim=args.text_dim, ffn_dim=args.ffn,
                                   num_layers=args.layers).to(device, dtype).eval()
    x = torch.randn(1, 16, args.frames, args.height, args.width, device=device, dtype=dtype)
    text = torch.randn(1, args.text_len, args.text_dim, device=device, dtype=dtype)
    per_frame = torch.linspace(1000, 0, args.frames, device=device)[None]  # [1, F]
    tokens_per_frame = (args.height // 2) * (args.width // 2)
    t = {"scalar": torch.tensor([500.0], device=device), "per-frame": per_frame,
         "per-token": per_frame.repeat_interleave(tokens_per_frame, dim=1)}[path]

    def forward():
        with torch.no_grad():
            model(x, t, text, return_dict=False)
        if device.type == "cuda":
            torch.cuda.synchronize()

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        forward()
        peak = torch.cuda.max_memory_allocated() - base
    else:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        forward()
        peak = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        forward()
        times.append(time.perf_counter() - start)
    return {"path": path, "time_s": statistics.median(times), "peak_mib": peak / 2**20,
            "tokens": args.frames * tokens_per_frame}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dim", type=int, default=1024)
    p.add_argument("--heads", type=int, default=8)
    p.add_argument("--ffn", type=int, default=4096)
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--frames", type=int, default=21, help="latent frames")
    p.add_argument("--height", type=int, default=30, help="latent height")
    p.add_argument("--width", type=int, default=52, help="latent width")
    p.add_argument("--text-dim", type=int, default=4096)
    p.add_argument("--text-len", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--only", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.only:
        print(json.dumps(measure(args, args.only)))
        return
    rows = []
    for path in ("scalar", "per-frame", "per-token"):
        cmd = [sys.executable, *sys.argv, "--only", path]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    scalar = rows[0]
    print(f"config: dim {args.dim}, {args.layers} layers, ffn {args.ffn}, latent {args.frames}x{args.height}x{args.width} "
          f"({rows[0]['tokens']} tokens), {args.dtype} on {args.device}, median of {args.repeats}")
    print("| timestep path | forward (s) | vs scalar | peak extra memory (MiB) | vs scalar |")
    print("|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['path']} | {r['time_s']:.3f} | {r['time_s'] / scalar['time_s'] - 1:+.1%} | "
              f"{r['peak_mib']:.0f} | {r['peak_mib'] / scalar['peak_mib'] - 1:+.1%} |")


if __name__ == "__main__":
    main()
