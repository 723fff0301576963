"""Tiny random-weight components in the real roles (tokenizer, UMT5 encoder, causal VAE, Wan DiT).

Used by the tests, the benchmarks and the training smoke run (``make train-smoke``), where a model must
load in a moment; the trained small model (``make demo``) is Pusa-mini, ``pusa.mini``. The outputs of a
random transformer are noise: these components prove plumbing, not quality.

    python -m pusa.tiny OUT_DIR [--vae wan|packing]   # save a tiny pipeline folder for `pusa generate --model`
"""

from __future__ import annotations

import argparse
from typing import Literal

import torch

WORDS = ("a an the red green blue yellow white black circle square triangle ball box moves bounces falls "
         "left right up down off wall floor slowly quickly on background and with of to camera pans").split()


def tiny_tokenizer(max_length: int = 16):
    """A word-level tokenizer over a small fixed vocabulary, built in memory (no download)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate(["<pad>", "</s>", "<unk>", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>",
                                   model_max_length=max_length)


def tiny_text_encoder(vocab_size: int, d_model: int = 32, seed: int = 0):
    from transformers import UMT5Config, UMT5EncoderModel

    torch.manual_seed(seed)
    cfg = UMT5Config(vocab_size=vocab_size, d_model=d_model, d_kv=8, d_ff=64, num_layers=1, num_heads=2,
                     relative_attention_num_buckets=8, pad_token_id=0, eos_token_id=1)
    return UMT5EncoderModel(cfg).eval()


def tiny_wan_vae(z_dim: int = 4, seed: int = 0):
    """AutoencoderKLWan with Wan's layout (×4 time, ×8 space) at base_dim 3."""
    from diffusers import AutoencoderKLWan

    torch.manual_seed(seed)
    return AutoencoderKLWan(base_dim=3, z_dim=z_dim, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                            temperal_downsample=[False, True, True], latents_mean=[0.0] * z_dim,
                            latents_std=[1.0] * z_dim).eval()


def tiny_transformer(in_channels: int, text_dim: int = 32, dim_head: int = 8, heads: int = 2, layers: int = 2,
                     seed: int = 0):
    from pusa.models import PusaTransformer3DModel

    torch.manual_seed(seed)
    return PusaTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=heads, attention_head_dim=dim_head,
                                  in_channels=in_channels, out_channels=in_channels, text_dim=text_dim,
                                  freq_dim=32, ffn_dim=4 * heads * dim_head, num_layers=layers,
                                  rope_max_seq_len=32).eval()


def tiny_pipeline(vae: Literal["wan", "packing"] = "wan", seed: int = 0):
    """A PusaPipeline with random tiny components; default geometry 9 frames at 32×32."""
    from pusa.models import PackingAutoencoder
    from pusa.pipeline import PusaPipeline

    tokenizer = tiny_tokenizer()
    text_encoder = tiny_text_encoder(len(tokenizer), seed=seed)
    if vae == "wan":
        autoencoder, channels = tiny_wan_vae(seed=seed), 4
    elif vae == "packing":
        autoencoder = PackingAutoencoder(temporal_factor=4, spatial_factor=4)
        channels = autoencoder.latent_channels
    else:
        raise ValueError(f"vae must be 'wan' or 'packing', got {vae!r}")
    transformer = tiny_transformer(channels, text_dim=text_encoder.config.d_model, seed=seed)
    return PusaPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=autoencoder, transformer=transformer,
                        fps=16, default_num_frames=9, default_height=32, default_width=32)


def main() -> None:
    parser = argparse.ArgumentParser(description="Save a tiny random-weight Pusa pipeline folder.")
    parser.add_argument("out", help="folder to write (must not exist)")
    parser.add_argument("--vae", choices=["wan", "packing"], default="packing")
    args = parser.parse_args()
    from pathlib import Path

    if Path(args.out).exists():
        parser.error(f"{args.out} already exists; choose a new folder")
    tiny_pipeline(args.vae).save_pretrained(args.out)
    print(f"saved a tiny random-weight pipeline ({args.vae} autoencoder) to {args.out}")


if __name__ == "__main__":
    main()
