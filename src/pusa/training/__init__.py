"""Training: the latent cache (``pusa.training.data``) and the FAFM trainer. Import submodules directly."""
