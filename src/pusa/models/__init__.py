"""Models: the VTA transformer and autoencoders with Wan's causal frame layout."""

from pusa.models.causal_autoencoder import CausalConvAutoencoder
from pusa.models.packing_autoencoder import PackingAutoencoder
from pusa.models.transformer import PusaTransformer3DModel

__all__ = ["CausalConvAutoencoder", "PackingAutoencoder", "PusaTransformer3DModel"]
