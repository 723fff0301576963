"""Moved: the latent cache's writer is ``pusa.training.cache_writer``, its reader ``pusa.training.cache_reader``.

Kept only for the callers not yet switched (``pusa.cli``, ``pusa.mini.recipe``); import from the new modules.
"""

from pusa.training.cache_reader import Bucket, DataError, LatentCache, batch_order, collate, pad_text  # noqa: F401
from pusa.training.cache_writer import cache_frames, choose_bucket, preprocess, read_metadata  # noqa: F401
