"""Expected peak GPU memory of Pusa inference, computed from shapes (no GPU, no weights needed).

Each component runs once under torch's FakeTensorMode with MemTracker, which follows every tensor's
bytes without allocating any: parameters plus the peak of live activations during one forward
(bf16 weights and inputs, batch 1, the per-frame VTA path). CFG runs the two passes one after the
other, so the transformer peak is one pass. Not a test: it prints what it computed; confirm on a GPU
with `--measure` when one is available (torch.cuda.max_memory_allocated).

    .venv/bin/python benchmarks/vram_estimate.py            # the README table
"""

from __future__ import annotations

import argparse
import time

import torch

WAN = {"1.3B": dict(num_attention_heads=12, ffn_dim=8960, num_layers=30),
       "14B": dict(num_attention_heads=40, ffn_dim=13824, num_layers=40)}
RES = {"480p": (480, 832), "720p": (720, 1280)}
UMT5_XXL_PARAMS = 5.68e9  # encoder only (REFERENCE: UMT5-XXL, text_dim 4096)
GIB = 2**30


def tracked(build, run) -> tuple[float, float]:
    """(parameter bytes, peak activation bytes) of run(build()) under fake tensors."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with FakeTensorMode():
            module = build()
            tracker = MemTracker()
            tracker.track_external(module)
            with tracker, torch.no_grad():
                run(module)
            peak = tracker.get_tracker_snapshot("peak")
    finally:
        torch.set_default_dtype(previous)
    (dev,) = peak
    kinds = {str(k).split(".")[-1].split(":")[0].strip("<'"): v for k, v in peak[dev].items()}
    params = sum(v for k, v in kinds.items() if k in ("PARAM", "BUFFER"))
    return params, peak[dev]["Total"] - params


def transformer_peak(size: str, frames: int, height: int, width: int) -> tuple[float, float]:
    from pusa.models import PusaTransformer3DModel

    f = (frames - 1) // 4 + 1
    return tracked(
        lambda: PusaTransformer3DModel(attention_head_dim=128, in_channels=16, out_channels=16, text_dim=4096,
                                       **WAN[size]),
        lambda m: m(torch.randn(1, 16, f, height // 8, width // 8), torch.rand(1, f, dtype=torch.float32) * 1000,
                    torch.randn(1, 512, 4096)))


def vae_weights() -> float:
    """AutoencoderKLWan parameter bytes in bf16 (its decode activations are not tracked: MemTracker
    cannot follow the VAE's frame-by-frame loop; VAE tiling bounds them)."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan

    with init_empty_weights():
        vae = AutoencoderKLWan()
    return sum(p.numel() for p in vae.parameters()) * 2.0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=81)
    p.add_argument("--sizes", nargs="+", default=list(WAN))
    p.add_argument("--res", nargs="+", default=list(RES))
    args = p.parse_args()
    t0 = time.time()
    text = UMT5_XXL_PARAMS * 2
    print(f"peak GPU memory (GiB), bf16, batch 1, {args.frames} frames; text encoder UMT5-XXL = {text / GIB:.1f} GiB")
    vae_w = vae_weights()
    print("| model | res | tokens | DiT weights | DiT activations | all resident | model offload | group offload |")
    print("|---|---|---|---|---|---|---|---|")
    for res in args.res:
        h, w = RES[res]
        tokens = ((args.frames - 1) // 4 + 1) * (h // 16) * (w // 16)
        for size in args.sizes:
            dit_w, dit_act = transformer_peak(size, args.frames, h, w)
            n_layers = WAN[size]["num_layers"]
            resident = text + dit_w + vae_w + dit_act
            offload = max(text, dit_w + dit_act)  # one component on the GPU at a time
            group = dit_w / n_layers * 2 + dit_act  # about two blocks resident (block-level groups, streams)
            print(f"| Wan2.1-{size} | {res} | {tokens} | {dit_w / GIB:.1f} | {dit_act / GIB:.1f} | "
                  f"{resident / GIB:.1f} | {offload / GIB:.1f} | {group / GIB:.1f} |")
    print(f"(computed in {time.time() - t0:.0f} s; VAE weights {vae_w / GIB:.2f} GiB; decode activations not included)")


if __name__ == "__main__":
    main()
