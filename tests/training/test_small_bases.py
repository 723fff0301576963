"""The 24 GB training configs (Wan2.1-1.3B, Wan2.2-TI2V-5B) run a few steps on tiny components of the same
architecture, on CPU, exactly as configured except for sizes and step counts.

Each base is written in the diffusers layout the config's ``model`` points at (Wan2.1: a 16-channel 8×
AutoencoderKLWan and a 16-channel DiT; TI2V: the 48-channel patchified 16× AutoencoderKLWan and a
48-channel DiT), clips are preprocessed into a latent cache, and ``pusa.training.train`` runs the config
with its bf16 base, float32 LoRA, bf16 autocast and gradient checkpointing.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = {"configs/pusa_wan13b_24gb.toml": ("wan2.1", 32), "configs/pusa_ti2v5b_24gb.toml": ("ti2v", 64)}
FRAMES, MAX_LEN = 9, 16


def _clips(folder: Path, size: int, n: int = 4) -> None:
    """n captioned clips of a coloured square sliding right, size×size pixels."""
    from pusa.io import write_video

    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    with open(folder / "metadata.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["file_name", "text"])
        for i in range(n):
            video = np.full((FRAMES, size, size, 3), 20, np.uint8)
            y, colour = int(rng.integers(0, size // 2)), rng.integers(60, 255, 3)
            for t in range(FRAMES):
                video[t, y:y + size // 4, t * size // 16:t * size // 16 + size // 4] = colour
            write_video(folder / f"c{i}.mp4", video, fps=16)
            writer.writerow([f"c{i}.mp4", "a red square moves right"])


def _parts(kind: str) -> dict:
    from diffusers import AutoencoderKLWan

    from pusa.tiny import tiny_text_encoder, tiny_tokenizer, tiny_transformer
    from tests.models.test_ti2v import TINY_VAE22

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    vae = AutoencoderKLWan(**TINY_VAE22) if kind == "ti2v" else AutoencoderKLWan(base_dim=4, z_dim=16)
    return {"tokenizer": tokenizer, "text_encoder": tiny_text_encoder(len(tokenizer)), "vae": vae.eval(),
            "transformer": tiny_transformer(vae.config.z_dim, text_dim=32)}


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_config_starts_with_its_command(path):
    first = (ROOT / path).read_text().splitlines()[0]
    assert first == f"# pusa train {path}"


@pytest.mark.parametrize("path", sorted(CONFIGS))
def test_24gb_config_trains_on_tiny_components_of_its_architecture(path, tmp_path):
    from pusa.models.checkpoints import native_defaults
    from pusa.pipeline import PusaPipeline
    from pusa.training.cache_reader import Bucket
    from pusa.training.cache_writer import preprocess
    from pusa.training.config import load_config
    from pusa.training.export import export_checkpoint
    from pusa.training.trainer import train
    from tests.models import test_checkpoints, test_ti2v

    kind, size = CONFIGS[path]
    parts = _parts(kind)
    writer = test_ti2v._write_diffusers if kind == "ti2v" else test_checkpoints._write_diffusers
    writer(tmp_path / "model", parts)  # the diffusers layout `model` names in the config
    pipe = PusaPipeline(**parts, **native_defaults(parts["vae"].config))
    _clips(tmp_path / "data", size)
    preprocess(tmp_path / "data", tmp_path / "cache", pipe, [Bucket(FRAMES, size, size)], max_sequence_length=MAX_LEN)

    config = load_config(ROOT / path, {"model": str(tmp_path / "model"), "cache": str(tmp_path / "cache"),
                                       "output_dir": str(tmp_path / "run"), "max_steps": 2, "grad_accum": 2,
                                       "lora_rank": 4, "lora_alpha": 4.0, "checkpoint_every": 2})
    assert (config.mixed_precision, config.base_dtype, config.gradient_checkpointing, config.sample_every) == (
        "bf16", "bfloat16", True, 0)
    result = train(config)
    assert len(result["losses"]) == 2 and all(math.isfinite(x) for x in result["losses"])
    model = result["model"]
    trained = {p.dtype for p in model.parameters() if p.requires_grad}
    frozen = {n: p.dtype for n, p in model.named_parameters() if not p.requires_grad}
    assert trained == {torch.float32}  # LoRA weights (and so their AdamW states) in float32
    assert frozen["blocks.0.attn1.to_q.base_layer.weight"] == torch.bfloat16 and model.is_gradient_checkpointing
    assert model.config.in_channels == parts["vae"].config.z_dim  # 48 for TI2V
    out = export_checkpoint(tmp_path / "run")
    assert (out / "pusa_lora_diffsynth.safetensors").is_file()


def test_bf16_base_needs_a_lora_under_bf16_autocast():
    from pusa.training.config import load_config

    config = load_config(ROOT / "configs/pusa_ti2v5b_24gb.toml", {"mixed_precision": "no"})
    with pytest.raises(ValueError, match=r"^config base_dtype='bfloat16': expected 'float32' unless adapter"):
        config.validate()


def _doc_commands() -> list[str]:
    """`pusa ...` lines of docs/small_bases.md's bash blocks, continuation lines joined, comments dropped."""
    import re

    out = []
    for block in re.findall(r"```bash\n(.*?)```", (ROOT / "docs/small_bases.md").read_text(), re.DOTALL):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("pusa "):
                out.append(line)
    return out


@pytest.mark.parametrize("line", _doc_commands())
def test_doc_commands_name_real_options(line):
    import re
    import shlex

    import typer.main

    from pusa.cli import app

    argv = shlex.split(line)[1:]
    command = typer.main.get_command(app).commands[argv[0]]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    for flag in [a for a in argv[1:] if a.startswith("--") and not re.fullmatch(r"-?\d+(\.\d+)?", a)]:
        assert flag.split("=")[0] in known, f"{flag} is not an option of `pusa {argv[0]}` (in: {line})"
    if argv[0] == "train":
        assert (ROOT / argv[1]).is_file()
