"""Training: the latent cache (``cache_writer`` writes it, ``cache_reader`` reads it) and the FAFM
trainer. Import submodules directly."""
