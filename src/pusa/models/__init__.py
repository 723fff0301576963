"""Models: the VTA transformer and autoencoders with Wan's causal frame layout."""

from pusa.models.packing_autoencoder import PackingAutoencoder
from pusa.models.transformer import PusaTransformer3DModel

__all__ = ["PackingAutoencoder", "PusaTransformer3DModel"]
