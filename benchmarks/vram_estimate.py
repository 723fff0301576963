"""Expected peak GPU memory of Pusa inference and of VTA LoRA training, computed from shapes (no GPU, no weights).

Each model runs under torch's FakeTensorMode with MemTracker, which follows every tensor's bytes without
allocating any.

- Inference: parameters plus the peak of live activations during one transformer forward (bf16 weights and
  inputs, batch 1, the per-frame VTA path). CFG runs the two passes one after the other, so the transformer
  peak is one pass. The VAE's weights are counted in float32 (the pipeline runs it in float32); its decode
  activations are not tracked (MemTracker cannot follow the VAE's frame-by-frame loop; `--vae-tiling` bounds
  them).
- Training (``--train CONFIG``): one FAFM step of `pusa train` as the config sets it up: base weights in the
  config's base_dtype, LoRA weights + gradients + AdamW states in float32 (counted whole: the steady state,
  grad_accum micro-steps keep the gradients), bf16 autocast, gradient checkpointing, text states from the
  latent cache (no text encoder, no VAE on the GPU). Activations are tracked on 2- and 3-block models and
  extrapolated in depth (each checkpointed block adds its input), weights are counted at full depth; that
  keeps a full-size estimate to seconds of CPU.

Latent sizes come from each model's VAE config (``pusa.frames.vae_factors``: 8× for Wan2.1, 16× for Wan2.2's
48-channel VAE), token counts from the transformer's patch. Not counted: the CUDA context and allocator
fragmentation (leave ~2 GiB). Not a test: it prints what it computed; confirm on a GPU with
torch.cuda.max_memory_allocated when one is available.

    .venv/bin/python benchmarks/vram_estimate.py                         # inference table, every base
    .venv/bin/python benchmarks/vram_estimate.py --models Wan2.1-1.3B Wan2.2-TI2V-5B --res 480p 720p
    .venv/bin/python benchmarks/vram_estimate.py --train configs/pusa_ti2v5b_24gb.toml   # its bucket and base
    .venv/bin/python benchmarks/vram_estimate.py --train configs/pusa_wan13b_24gb.toml --bucket 81x720x1280
"""

from __future__ import annotations

import argparse
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from unittest import mock

import torch

GIB = 2**30
UMT5_XXL_PARAMS = 5.68e9  # encoder only (REFERENCE: UMT5-XXL, text_dim 4096)
WAN21_VAE: dict = {}  # AutoencoderKLWan's defaults are the Wan2.1 VAE
WAN22_VAE = {"base_dim": 160, "decoder_base_dim": 256, "z_dim": 48, "is_residual": True, "in_channels": 12,
             "out_channels": 12, "patch_size": 2, "scale_factor_temporal": 4,
             "scale_factor_spatial": 16}  # diffusers' Wan2.2-TI2V-5B vae/config.json


@dataclass(frozen=True)
class Base:
    """A Wan base: its DiT config (diffusers names), its VAE config, native frame count and sizes."""

    dit: dict
    vae: dict
    frames: int
    res: dict = field(default_factory=dict)


RES_21 = {"480p": (480, 832), "720p": (720, 1280)}
BASES = {
    "Wan2.1-1.3B": Base({"num_attention_heads": 12, "ffn_dim": 8960, "num_layers": 30, "in_channels": 16},
                        WAN21_VAE, 81, RES_21),
    "Wan2.1-14B": Base({"num_attention_heads": 40, "ffn_dim": 13824, "num_layers": 40, "in_channels": 16},
                       WAN21_VAE, 81, RES_21),
    # 720p for TI2V is 704×1280 (its native size: a multiple of 16 × patch 2 = 32)
    "Wan2.2-TI2V-5B": Base({"num_attention_heads": 24, "ffn_dim": 14336, "num_layers": 30, "in_channels": 48},
                           WAN22_VAE, 121, {"480p": (480, 832), "720p": (704, 1280)}),
}
# The shipped 24 GB training configs: their base and the bucket their first line preprocesses.
TRAIN_CONFIGS = {"configs/pusa_wan13b_24gb.toml": ("Wan2.1-1.3B", "81x480x832"),
                 "configs/pusa_ti2v5b_24gb.toml": ("Wan2.2-TI2V-5B", "121x480x832")}


def build_transformer(base: Base):
    from pusa.models import PusaTransformer3DModel

    channels = base.dit["in_channels"]
    return PusaTransformer3DModel(attention_head_dim=128, out_channels=channels, text_dim=4096, **base.dit)


def vae_model(base: Base):
    """The base's AutoencoderKLWan on the meta device (its config and parameter count, no memory)."""
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLWan

    with init_empty_weights():
        return AutoencoderKLWan(**base.vae)


def latent_shape(base: Base, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
    """(C, F, h, w) of the latents, from the VAE config's factors."""
    from pusa.frames import num_latent_frames, vae_factors

    r, s = vae_factors(vae_model(base).config)
    return base.dit["in_channels"], num_latent_frames(frames, r), height // s, width // s


def _peak(tracker) -> dict[str, float]:
    (dev,) = peak = tracker.get_tracker_snapshot("peak")
    return {str(k).split(".")[-1].split(":")[0].strip("<'"): v for k, v in peak[dev].items()}


def with_layers(base: Base, layers: int) -> Base:
    return Base({**base.dit, "num_layers": layers}, base.vae, base.frames, base.res)


def dit_params(base: Base) -> int:
    """The full-depth transformer's parameter count (meta device)."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        return sum(p.numel() for p in build_transformer(base).parameters())


def inference_peak(base: Base, frames: int, height: int, width: int) -> tuple[float, float]:
    """(parameter bytes, peak activation bytes) of one bf16 transformer forward.

    Without gradients each block's temporaries are freed before the next block runs, so the activation
    peak does not depend on depth: it is tracked on a 2-block model under fake tensors, and the weights are
    counted at full depth.
    """
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    c, f, h, w = latent_shape(base, frames, height, width)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try:
        with FakeTensorMode():
            module = build_transformer(with_layers(base, 2))
            tracker = MemTracker()
            tracker.track_external(module)
            with tracker, torch.no_grad():
                module(torch.randn(1, c, f, h, w), torch.rand(1, f, dtype=torch.float32) * 1000,
                       torch.randn(1, 512, 4096))
            kinds = _peak(tracker)
    finally:
        torch.set_default_dtype(previous)
    return dit_params(base) * 2.0, kinds["Total"] - kinds["PARAM"] - kinds["BUFFER"]


class _NoHandle:
    def remove(self) -> None:
        pass


def _frozen_params_take_no_hooks():
    """MemTracker hooks every parameter for its gradient; frozen ones (a LoRA's base) refuse hooks."""
    register, post = torch.Tensor.register_hook, torch.Tensor.register_post_accumulate_grad_hook
    stack = ExitStack()
    stack.enter_context(mock.patch.object(
        torch.Tensor, "register_hook", lambda t, hook: register(t, hook) if t.requires_grad else _NoHandle()))
    stack.enter_context(mock.patch.object(
        torch.Tensor, "register_post_accumulate_grad_hook",
        lambda t, hook: post(t, hook) if t.requires_grad else _NoHandle()))
    return stack


def _add_lora(model, config) -> None:
    """peft's LoRA on fake tensors: made in float32 (the trainer's choice), left where it is created (peft's
    ``.to(device)`` calls cannot swap fake parameters)."""
    from peft import LoraConfig
    from peft.tuners.tuners_utils import BaseTunerLayer

    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        with mock.patch.object(BaseTunerLayer, "_move_adapter_to_device_of_base_layer", lambda *a, **k: None), \
                mock.patch.object(torch.nn.Module, "to", lambda self, *a, **k: self):
            model.add_adapter(LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha,
                                         target_modules=list(config.lora_targets)))
    finally:
        torch.set_default_dtype(previous)


def _training_step(config, base: Base, frames: int, height: int, width: int) -> dict[str, float]:
    """Peak bytes by kind of one forward + backward as `pusa train` runs ``config`` on one clip (fake tensors)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    c, f, h, w = latent_shape(base, frames, height, width)
    text_len = config.max_sequence_length or 512
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16 if config.base_dtype == "bfloat16" else torch.float32)
    try:
        with FakeTensorMode():
            model = build_transformer(base)
            model.requires_grad_(False)
            _add_lora(model, config)
            if config.gradient_checkpointing:
                model.enable_gradient_checkpointing()
            model.train()
            tracker = MemTracker()
            tracker.track_external(model)
            b = config.batch_size
            with _frozen_params_take_no_hooks(), tracker:
                x0 = torch.randn(b, c, f, h, w, dtype=torch.float32)  # cached latents and text states: fp32
                tau = torch.rand(b, f, dtype=torch.float32)
                text = torch.randn(b, text_len, 4096, dtype=torch.float32)
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.mixed_precision == "bf16"):
                    v = model(x0, 1000.0 * tau, text, return_dict=False)[0]
                    loss = (v.float() - x0).pow(2).mean()
                loss.backward()
            kinds = _peak(tracker)
    finally:
        torch.set_default_dtype(previous)
    return kinds


def lora_params(config, base: Base) -> int:
    """Trainable LoRA parameters of ``config`` on the full-depth base (meta device)."""
    from accelerate import init_empty_weights

    with init_empty_weights():
        model = build_transformer(base)
        model.requires_grad_(False)
        _add_lora(model, config)
        return sum(p.numel() for p in model.parameters() if p.requires_grad)


def training_peak(config, base: Base, frames: int, height: int, width: int) -> dict[str, float]:
    """Peak bytes of a steady-state `pusa train` step on ``config`` (TrainConfig): base weights, LoRA weights +
    gradients + AdamW states (float32: 4 + 4 + 8 bytes per LoRA parameter; gradients counted whole, as they
    live across grad_accum micro-steps), and activations.

    Activations are tracked under fake tensors on 2- and 3-block models and extrapolated in depth: with
    gradient checkpointing each further block keeps only its input, so the peak grows by the same amount per
    block (T(3) − T(2); the 1→2 step is not used, the peak's place can move there).
    """
    if config.adapter != "lora":
        raise SystemExit(f"--train: adapter {config.adapter!r}; the estimate covers LoRA runs")
    layers = base.dit["num_layers"]
    two, three = (_training_step(config, with_layers(base, n), frames, height, width) for n in (2, 3))

    def activations(k: dict) -> float:
        return k["Total"] - k["PARAM"] - k["BUFFER"] - k["GRAD"] - k["OPT"]

    act = activations(three) + (layers - 3) * (activations(three) - activations(two))
    lora = lora_params(config, base)
    weight_bytes = 2 if config.base_dtype == "bfloat16" else 4
    base_weights = dit_params(base) * weight_bytes
    trained = lora * (4 + 4 + 8)
    return {"lora_params": float(lora), "base_weights": float(base_weights), "trained": float(trained),
            "activations": act, "per_block": activations(three) - activations(two),
            "Total": base_weights + trained + act}


def vae_weights(base: Base) -> float:
    """AutoencoderKLWan parameter bytes in float32 (the pipeline's VAE dtype)."""
    return sum(p.numel() for p in vae_model(base).parameters()) * 4.0


def inference_table(models: list[str], res: list[str], frames: int | None) -> None:
    text = UMT5_XXL_PARAMS * 2
    print(f"inference: peak GPU memory (GiB), bf16 DiT and text encoder, fp32 VAE, batch 1; "
          f"UMT5-XXL = {text / GIB:.1f} GiB")
    print("| model | res | frames | tokens | DiT weights | DiT activations | VAE weights | all resident "
          "| `--offload model` | `--offload group` |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in models:
        base = BASES[name]
        n = frames or base.frames
        for r in res:
            height, width = base.res[r]
            _, f, h, w = latent_shape(base, n, height, width)
            tokens = f * (h // 2) * (w // 2)
            dit_w, dit_act = inference_peak(base, n, height, width)
            vae_w = vae_weights(base)
            resident = text + dit_w + vae_w + dit_act
            offload = max(text, dit_w + dit_act, vae_w)  # one component on the GPU at a time
            group = dit_w / base.dit["num_layers"] * 2 + dit_act + vae_w  # ~two blocks resident, VAE kept
            print(f"| {name} | {height}×{width} | {n} | {tokens} | {dit_w / GIB:.1f} | {dit_act / GIB:.1f} | "
                  f"{vae_w / GIB:.1f} | {resident / GIB:.1f} | {offload / GIB:.1f} | {group / GIB:.1f} |")


def training_rows(paths: list[str], base_name: str | None, bucket: str | None) -> None:
    from pusa.training.cache_reader import Bucket
    from pusa.training.config import load_config

    print("training: peak GPU memory (GiB) of one `pusa train` step, steady state (AdamW states allocated)")
    print("| config | base | bucket | tokens | LoRA params | base weights | LoRA + grads + AdamW | activations "
          "| peak |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in paths:
        known = TRAIN_CONFIGS.get(path, (None, None))
        name, spec = base_name or known[0], bucket or known[1]
        if name is None or spec is None:
            raise SystemExit(f"--train {path}: pass --base ({', '.join(BASES)}) and --bucket FRAMESxHEIGHTxWIDTH")
        config = load_config(path)
        b, base = Bucket.parse(spec), BASES[name]
        _, f, h, w = latent_shape(base, b.num_frames, b.height, b.width)
        k = training_peak(config, base, b.num_frames, b.height, b.width)
        print(f"| `{path}` | {name} | {b} | {f * (h // 2) * (w // 2)} | {k['lora_params'] / 1e6:.0f} M | "
              f"{k['base_weights'] / GIB:.1f} | {k['trained'] / GIB:.1f} | {k['activations'] / GIB:.1f} | "
              f"{k['Total'] / GIB:.1f} |", flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=list(BASES), choices=list(BASES), help="inference rows")
    p.add_argument("--res", nargs="+", default=["480p", "720p"], choices=["480p", "720p"])
    p.add_argument("--frames", type=int, default=None, help="default: each model's native count (81, TI2V 121)")
    p.add_argument("--train", nargs="+", default=None, metavar="CONFIG",
                   help=f"training rows for these configs instead (shipped: {', '.join(TRAIN_CONFIGS)})")
    p.add_argument("--base", choices=list(BASES), default=None, help="with --train: the base (default: the config's)")
    p.add_argument("--bucket", default=None, help="with --train: FRAMESxHEIGHTxWIDTH (default: the config's)")
    args = p.parse_args()
    torch.set_num_threads(1)  # fake tensors compute nothing; one thread leaves the machine to others
    t0 = time.time()
    if args.train:
        training_rows(args.train, args.base, args.bucket)
    else:
        inference_table(args.models, args.res, args.frames)
    print(f"(computed in {time.time() - t0:.0f} s from shapes; not measured on a GPU)")


if __name__ == "__main__":
    main()
