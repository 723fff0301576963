"""Wan2.2-TI2V-5B as a Pusa base: its 48-channel 16× VAE, both checkpoint layouts, and parity with diffusers.

Tiny random-weight components with the real structure (AutoencoderKLWan with z_dim 48, is_residual,
patch 2; a 48-channel Wan DiT) are written in the diffusers layout (Wan-AI/Wan2.2-TI2V-5B-Diffusers) and
the original release layout (Wan-AI/Wan2.2-TI2V-5B: config.json with model_type "ti2v", Wan2.2_VAE.pth).
The original VAE names are enumerated here from Wan's own module definitions (wan/modules/vae2_2.py:
Encoder3d / Decoder3d with Down_/Up_ResidualBlock), independently of the converter under test.

Parity: diffusers runs TI2V with one timestep per token (``expand_timesteps``), the first frame's tokens at
t = 0 for image-to-video. Pusa's per-frame path fed the same value per frame must give the same velocity,
and Pusa's image-to-video (frame 0 at m = 0) the same latents as diffusers' own WanImageToVideoPipeline
call on the same weights, noise and sigma table.
"""

from __future__ import annotations

import itertools
import json
import math
import re

import numpy as np
import pytest
import torch
from accelerate import init_empty_weights
from safetensors.torch import save_file

from pusa import conditions as C
from pusa.flow import inference_sigmas
from pusa.frames import vae_factors
from pusa.loading import load_pipeline
from pusa.models import PusaTransformer3DModel
from pusa.models.checkpoints import (
    WAN22_LATENTS_MEAN,
    WAN22_LATENTS_STD,
    WAN22_VAE,
    WAN_DIT_SINGLE,
    WAN_T5,
    WAN_TOKENIZER,
    check_state_dict,
    convert_wan22_vae,
    detect_base_layout,
    native_defaults,
    wan_transformer_config,
    wan_vae_config,
)
from pusa.models.transformer import PUSA_CONFIG_KEYS
from pusa.pipeline import PusaPipeline
from tests.models.test_checkpoints import _meta, t5_to_wan, tiny_wan_parts, wan_dit_shapes
from tests.models.test_transformer import _original_key

FRAMES, SIZE = 17, 64  # 5 latent frames; 64 px → 4×4 latents at 16× → 2×2 tokens per frame
KW = {"num_frames": FRAMES, "height": SIZE, "width": SIZE, "num_inference_steps": 2, "max_sequence_length": 16}
# diffusers' Wan-AI/Wan2.2-TI2V-5B-Diffusers vae/config.json (scripts/convert_wan_to_diffusers.py, vae22)
VAE22 = {"base_dim": 160, "decoder_base_dim": 256, "z_dim": 48, "is_residual": True, "in_channels": 12,
         "out_channels": 12, "patch_size": 2, "scale_factor_temporal": 4, "scale_factor_spatial": 16,
         "latents_mean": WAN22_LATENTS_MEAN, "latents_std": WAN22_LATENTS_STD}
TINY_VAE22 = VAE22 | {"base_dim": 4, "decoder_base_dim": 4}  # same structure (dim_mult 1,2,4,4, 2 res blocks), narrow
# The release's config.json (Wan-AI/Wan2.2-TI2V-5B) and a tiny one in the same names.
RELEASE_5B = {"_class_name": "WanModel", "_diffusers_version": "0.33.0", "dim": 3072, "eps": 1e-06, "ffn_dim": 14336,
              "freq_dim": 256, "in_dim": 48, "model_type": "ti2v", "num_heads": 24, "num_layers": 30, "out_dim": 48,
              "text_len": 512}
TINY_5B = RELEASE_5B | {"dim": 16, "ffn_dim": 64, "freq_dim": 32, "num_heads": 2, "num_layers": 2, "text_dim": 32}
MODEL_INDEX = {"_class_name": "WanPipeline", "_diffusers_version": "0.35.0.dev0", "boundary_ratio": None,
               "expand_timesteps": True, "scheduler": ["diffusers", "UniPCMultistepScheduler"],
               "text_encoder": ["transformers", "UMT5EncoderModel"], "tokenizer": ["transformers", "T5TokenizerFast"],
               "transformer": ["diffusers", "WanTransformer3DModel"], "transformer_2": [None, None],
               "vae": ["diffusers", "AutoencoderKLWan"]}


# --- Wan2.2 VAE names, from Wan's module definitions (vae2_2.py) ------------------------------------

def _residual(prefix: str, i: int, o: int) -> dict[str, tuple]:
    """ResidualBlock(i, o): residual = (RMS_norm, SiLU, CausalConv3d, RMS_norm, SiLU, Dropout, CausalConv3d)."""
    shapes = {f"{prefix}residual.0.gamma": (i, 1, 1, 1), f"{prefix}residual.2.weight": (o, i, 3, 3, 3),
              f"{prefix}residual.2.bias": (o,), f"{prefix}residual.3.gamma": (o, 1, 1, 1),
              f"{prefix}residual.6.weight": (o, o, 3, 3, 3), f"{prefix}residual.6.bias": (o,)}
    if i != o:
        shapes |= {f"{prefix}shortcut.weight": (o, i, 1, 1, 1), f"{prefix}shortcut.bias": (o,)}
    return shapes


def _middle(prefix: str, d: int) -> dict[str, tuple]:
    """Sequential(ResidualBlock, AttentionBlock (RMS_norm over images, 1×1 qkv and proj), ResidualBlock)."""
    return {**_residual(f"{prefix}middle.0.", d, d), **_residual(f"{prefix}middle.2.", d, d),
            f"{prefix}middle.1.norm.gamma": (d, 1, 1), f"{prefix}middle.1.to_qkv.weight": (3 * d, d, 1, 1),
            f"{prefix}middle.1.to_qkv.bias": (3 * d,), f"{prefix}middle.1.proj.weight": (d, d, 1, 1),
            f"{prefix}middle.1.proj.bias": (d,)}


def _resample(prefix: str, d: int, temporal: bool, up: bool) -> dict[str, tuple]:
    """Resample: a 3×3 Conv2d at resample.1 (stride 2 down, after nearest ×2 up; Wan2.2 keeps the width),
    plus a (3,1,1) time_conv for the 3-D modes (×2 channels when upsampling: two frames per frame)."""
    shapes = {f"{prefix}resample.1.weight": (d, d, 3, 3), f"{prefix}resample.1.bias": (d,)}
    if temporal:
        c = 2 * d if up else d
        shapes |= {f"{prefix}time_conv.weight": (c, d, 3, 1, 1), f"{prefix}time_conv.bias": (c,)}
    return shapes


def wan22_vae_shapes(dim: int, dec_dim: int, z_dim: int = 48, dim_mult=(1, 2, 4, 4), num_res_blocks: int = 2,
                     temperal_downsample=(False, True, True)) -> dict[str, tuple]:
    """Every key of Wan's WanVAE_ (vae2_2.py) and its shape."""
    shapes = {"conv1.weight": (2 * z_dim, 2 * z_dim, 1, 1, 1), "conv1.bias": (2 * z_dim,),
              "conv2.weight": (z_dim, z_dim, 1, 1, 1), "conv2.bias": (z_dim,)}
    dims = [dim * u for u in (1, *dim_mult)]
    shapes |= {"encoder.conv1.weight": (dims[0], 12, 3, 3, 3), "encoder.conv1.bias": (dims[0],)}
    for i, (a, b) in enumerate(itertools.pairwise(dims)):  # Down_ResidualBlock(a, b, mult=num_res_blocks)
        for j in range(num_res_blocks):
            shapes |= _residual(f"encoder.downsamples.{i}.downsamples.{j}.", a if j == 0 else b, b)
        if i != len(dim_mult) - 1:
            shapes |= _resample(f"encoder.downsamples.{i}.downsamples.{num_res_blocks}.", b, temperal_downsample[i],
                                up=False)
    shapes |= _middle("encoder.", dims[-1])
    shapes |= {"encoder.head.0.gamma": (dims[-1], 1, 1, 1), "encoder.head.2.weight": (2 * z_dim, dims[-1], 3, 3, 3),
               "encoder.head.2.bias": (2 * z_dim,)}
    dims = [dec_dim * u for u in (dim_mult[-1], *dim_mult[::-1])]
    temperal_upsample = temperal_downsample[::-1]
    shapes |= {"decoder.conv1.weight": (dims[0], z_dim, 3, 3, 3), "decoder.conv1.bias": (dims[0],)}
    shapes |= _middle("decoder.", dims[0])
    for i, (a, b) in enumerate(itertools.pairwise(dims)):  # Up_ResidualBlock(a, b, mult=num_res_blocks + 1)
        for j in range(num_res_blocks + 1):
            shapes |= _residual(f"decoder.upsamples.{i}.upsamples.{j}.", a if j == 0 else b, b)
        if i != len(dim_mult) - 1:
            shapes |= _resample(f"decoder.upsamples.{i}.upsamples.{num_res_blocks + 1}.", b, temperal_upsample[i],
                                up=True)
    shapes |= {"decoder.head.0.gamma": (dims[-1], 1, 1, 1), "decoder.head.2.weight": (12, dims[-1], 3, 3, 3),
               "decoder.head.2.bias": (12,)}
    return shapes


_RESNET_TO_WAN = (("norm1.", "residual.0."), ("conv1.", "residual.2."), ("norm2.", "residual.3."),
                  ("conv2.", "residual.6."), ("conv_shortcut.", "shortcut."))


def vae22_to_wan(state_dict: dict, num_res_blocks: int = 2) -> dict:
    """AutoencoderKLWan(is_residual=True) names → Wan2.2_VAE.pth names (the inverse of the loader's renaming)."""
    def resnet(rest):
        for new, old in _RESNET_TO_WAN:
            if rest.startswith(new):
                return old + rest[len(new):]
        raise AssertionError(rest)

    out = {}
    for key, value in state_dict.items():
        k = re.sub(r"^quant_conv\.", "conv1.", re.sub(r"^post_quant_conv\.", "conv2.", key))
        k = k.replace(".conv_in.", ".conv1.").replace(".norm_out.", ".head.0.").replace(".conv_out.", ".head.2.")
        k = k.replace("mid_block.attentions.0.", "middle.1.")
        if m := re.match(r"(\w+)\.mid_block\.resnets\.(\d)\.(.+)", k):
            k = f"{m[1]}.middle.{2 * int(m[2])}.{resnet(m[3])}"
        elif m := re.match(r"(encoder\.down|decoder\.up)_blocks\.(\d+)\.resnets\.(\d+)\.(.+)", k):
            kind = m[1].split(".")[1]
            k = f"{m[1]}samples.{m[2]}.{kind}samples.{m[3]}.{resnet(m[4])}"
        elif m := re.match(r"encoder\.down_blocks\.(\d+)\.downsampler\.(.+)", k):
            k = f"encoder.downsamples.{m[1]}.downsamples.{num_res_blocks}.{m[2]}"
        elif m := re.match(r"decoder\.up_blocks\.(\d+)\.upsampler\.(.+)", k):
            k = f"decoder.upsamples.{m[1]}.upsamples.{num_res_blocks + 1}.{m[2]}"
        out[k] = value
    return out


# --- fixtures ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def parts():
    from diffusers import AutoencoderKLWan

    return tiny_wan_parts(AutoencoderKLWan(**TINY_VAE22), 48)


@pytest.fixture(scope="module")
def pipe(parts):
    return PusaPipeline(**parts, **native_defaults(parts["vae"].config))


def _wan_transformer(transformer):
    from diffusers import WanTransformer3DModel

    config = {k: v for k, v in transformer.config.items() if not k.startswith("_") and k not in PUSA_CONFIG_KEYS}
    model = WanTransformer3DModel(**config).eval()
    model.load_state_dict(transformer.state_dict())
    return model


def _write_diffusers(root, parts):
    from diffusers import UniPCMultistepScheduler

    _wan_transformer(parts["transformer"]).save_pretrained(root / "transformer")
    parts["vae"].save_pretrained(root / "vae")
    vae_config = json.loads((root / "vae" / "config.json").read_text())
    # the released file also carries clip_output, which this diffusers' AutoencoderKLWan no longer takes
    (root / "vae" / "config.json").write_text(json.dumps(vae_config | {"clip_output": False}, indent=2))
    parts["text_encoder"].save_pretrained(root / "text_encoder")
    parts["tokenizer"].save_pretrained(root / "tokenizer")
    UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=5.0).save_pretrained(
        root / "scheduler")
    (root / "model_index.json").write_text(json.dumps(MODEL_INDEX, indent=2))


def _write_original(root, parts):
    root.mkdir()
    save_file({_original_key(k): v.contiguous() for k, v in parts["transformer"].state_dict().items()},
              root / WAN_DIT_SINGLE)
    (root / "config.json").write_text(json.dumps(TINY_5B, indent=2))
    torch.save(t5_to_wan(parts["text_encoder"].state_dict()), root / WAN_T5)
    torch.save(vae22_to_wan(parts["vae"].state_dict()), root / WAN22_VAE)
    parts["tokenizer"].save_pretrained(root / WAN_TOKENIZER)


@pytest.fixture(scope="module")
def folders(parts, pipe, tmp_path_factory):
    base = tmp_path_factory.mktemp("ti2v")
    pipe.save_pretrained(base / "pusa")
    _write_diffusers(base / "diffusers", parts)
    _write_original(base / "wan", parts)
    return {name: base / name for name in ("pusa", "diffusers", "wan")}


@pytest.fixture(scope="module")
def loaded(folders):
    return {name: load_pipeline(path) for name, path in folders.items()}


def _image(seed=0):
    return torch.rand(SIZE, SIZE, 3, generator=torch.Generator().manual_seed(seed))


def _video(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


TASKS = {
    "t2v": lambda: C.t2v(),
    "i2v": lambda: C.i2v(_image()),
    "start_end": lambda: C.start_end(_image(), _image(1), FRAMES, 0.0, 0.5),
    "keyframes": lambda: C.keyframes({0: _image(), 8: _image(2), 16: _image(3)}),
    "extend": lambda: C.extend(_video(FRAMES), keep=5),
    "complete": lambda: C.complete(_video(FRAMES)),
    "transition": lambda: C.transition(_video(FRAMES), _video(FRAMES, 1), FRAMES, tail=5, head=4),
    "v2v": lambda: C.v2v(_video(FRAMES), noise=0.5),
}


# --- the VAE's factors and the written names ---------------------------------------------------------

def test_vae_factors_read_16x_from_the_config(parts):
    config = dict(parts["vae"].config)  # every key, as in the released vae/config.json
    assert vae_factors(config) == (4, 16)
    assert vae_factors({k: v for k, v in config.items() if not k.startswith("scale_factor")}) == (4, 16)  # layers
    with pytest.raises(ValueError, match=r"scale_factor_spatial=8 but its layers compress 16x"):
        vae_factors(config | {"scale_factor_spatial": 8})  # diffusers' default left in a patchified VAE's config


def test_written_original_vae_names_are_wans(parts):
    vae = parts["vae"].state_dict()
    original = {k: tuple(v.shape) for k, v in vae22_to_wan(vae).items()}
    assert original == wan22_vae_shapes(4, 4)
    assert convert_wan22_vae(vae22_to_wan(vae)).keys() == vae.keys()


def test_native_geometry_comes_from_the_model(parts, folders, loaded):
    assert native_defaults(parts["vae"].config) == {"fps": 24, "default_num_frames": 121, "default_height": 704,
                                                    "default_width": 1280}
    assert native_defaults({"temperal_downsample": [False, True, True], "z_dim": 16})["default_height"] == 480
    for name, (pipe, layout) in loaded.items():
        assert layout == name
        assert (pipe.config.fps, pipe.config.default_num_frames, pipe.config.default_height,
                pipe.config.default_width) == (24, 121, 704, 1280), name
        assert pipe.spatial_factor == 16 and pipe.temporal_factor == 4


# --- loading ------------------------------------------------------------------------------------------

def test_detects_each_layout(folders):
    assert {name: detect_base_layout(path) for name, path in folders.items()} == {
        "pusa": "pusa", "diffusers": "diffusers", "wan": "wan"}


@pytest.mark.parametrize("layout", ["pusa", "diffusers", "wan"])
def test_layouts_load_identical_weights(layout, loaded, parts):
    pipe, _ = loaded[layout]
    assert isinstance(pipe.transformer, PusaTransformer3DModel)
    for name in ("text_encoder", "vae", "transformer"):
        got, want = pipe.components[name].state_dict(), parts[name].state_dict()
        assert got.keys() == want.keys(), name
        assert all(torch.equal(got[k], want[k]) for k in want), name


def test_incomplete_or_mismatched_release_is_one_line(folders, tmp_path):
    import shutil

    root = tmp_path / "wan"
    shutil.copytree(folders["wan"], root)
    (root / WAN22_VAE).unlink()
    with pytest.raises(ValueError, match=r"original Wan layout is missing Wan2\.2_VAE\.pth$"):
        load_pipeline(root)
    vae = torch.load(folders["wan"] / WAN22_VAE, weights_only=True)
    vae.pop("decoder.upsamples.1.upsamples.3.time_conv.weight")
    torch.save(vae, root / WAN22_VAE)
    with pytest.raises(ValueError, match=r"Wan2\.2_VAE\.pth does not match AutoencoderKLWan: 1 missing \(e\.g\. "
                                         r"decoder\.up_blocks\.1\.upsampler\.time_conv\.weight\)$"):
        load_pipeline(root)


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_runs_from_each_layout(task, pipe, loaded):
    """Every task zero-shot through the same conditions and schedule matrix; each layout gives the same video."""
    kwargs = dict(conditions=TASKS[task](), guidance_scale=2.0, **KW)
    ref = pipe("a red circle moves left", generator=torch.Generator().manual_seed(0), **kwargs)
    assert ref.frames.shape == (1, FRAMES, SIZE, SIZE, 3) and np.isfinite(ref.frames).all()
    for name, (loaded_pipe, _) in loaded.items():
        out = loaded_pipe("a red circle moves left", generator=torch.Generator().manual_seed(0), **kwargs)
        assert np.array_equal(out.frames, ref.frames), name
        assert [p.slots for p in out.plans] == [p.slots for p in ref.plans]


def test_height_not_a_multiple_of_32_is_one_line(pipe):
    with pytest.raises(ValueError, match=r"^height=48 must be a multiple of 32; use 32 or 64$"):
        pipe("a ball", **(KW | {"height": 48}))
    with pytest.raises(ValueError, match=r"^width=720 must be a multiple of 32; use 704 or 736$"):
        pipe.check_inputs("a ball", None, (), 121, 704, 720, 10, 3.0, 5.0)
    pipe.check_inputs("a ball", None, (), 121, 704, 1280, 10, 3.0, 5.0)  # the native 704×1280 passes


def test_cli_reports_a_bad_height_in_one_line(folders, tmp_path):
    """docs/small_bases.md's example (the tiny model's position tables end at 1024 px: a narrower width)."""
    from typer.testing import CliRunner

    from pusa.cli import app

    result = CliRunner().invoke(app, ["generate", "--model", str(folders["diffusers"]), "--prompt", "a red ball",
                                      "--height", "720", "--width", "64", "--frames", "5",
                                      "--out", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1] == "error: height=720 must be a multiple of 32; use 704 or 736"
    assert not any(tmp_path.iterdir())


# --- parity with diffusers' per-token TI2V path ---------------------------------------------------------

def test_per_frame_path_equals_diffusers_per_token_path(parts):
    """[B, F] timesteps against diffusers' WanTransformer3DModel fed the same values repeated per token."""
    base = _wan_transformer(parts["transformer"])
    pusa = parts["transformer"]
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 48, 5, 4, 6, generator=g)  # tokens per frame: 2·3 = 6
    text = torch.randn(2, 7, 32, generator=g)
    for t in (torch.tensor([[0.0, 937.5, 937.5, 937.5, 937.5], [0.0, 625.0, 625.0, 625.0, 625.0]]),  # TI2V's I2V
              torch.tensor([[1000.0, 0.0, 833.3, 200.0, 625.0], [0.0, 0.0, 10.0, 999.0, 357.1]])):  # any schedule
        mask = torch.ones(1, 1, 5, 4, 6)
        mask[:, :, 0] = 0
        tokens = t.repeat_interleave(6, dim=1)  # frame-major [B, L], as diffusers' mask[:, ::2, ::2]·t flattened
        with torch.no_grad():
            ref = base(x, tokens, text, return_dict=False)[0]
            out = pusa(x, t, text, return_dict=False)[0]
        assert (out - ref).abs().max() <= 1e-5
    # the pipeline's own construction of the per-token vector is the frame-major repeat used above
    t = 937.5
    assert torch.equal((mask[0][0][:, ::2, ::2] * t).flatten(), torch.tensor([0.0] + [t] * 4).repeat_interleave(6))


class _PusaSigmas:
    """A diffusers FlowMatchEulerDiscreteScheduler on Pusa's sigma table (flow.inference_sigmas), shift applied once."""

    @staticmethod
    def make(shift: float):
        from diffusers import FlowMatchEulerDiscreteScheduler

        class Scheduler(FlowMatchEulerDiscreteScheduler):
            def set_timesteps(self, num_inference_steps=None, device=None, **kwargs):
                sigmas = inference_sigmas(num_inference_steps, shift)[:-1]
                super().set_timesteps(sigmas=sigmas.tolist(), device=device)

        return Scheduler(shift=1.0)  # the table is already shifted


@pytest.fixture
def no_ftfy(monkeypatch):
    """diffusers' Wan I2V pipeline calls ftfy.fix_text without checking that ftfy is installed (it is not
    here); on these ASCII prompts fix_text is the identity."""
    from types import SimpleNamespace

    from diffusers.pipelines.wan import pipeline_wan, pipeline_wan_i2v

    for module in (pipeline_wan, pipeline_wan_i2v):
        monkeypatch.setattr(module, "ftfy", SimpleNamespace(fix_text=lambda text: text), raising=False)


def _diffusers_pipe(parts, cls):
    from diffusers import WanImageToVideoPipeline, WanPipeline

    kwargs = {"tokenizer": parts["tokenizer"], "text_encoder": parts["text_encoder"], "vae": parts["vae"],
              "transformer": _wan_transformer(parts["transformer"]), "scheduler": _PusaSigmas.make(5.0),
              "expand_timesteps": True}
    if cls == "i2v":
        return WanImageToVideoPipeline(image_encoder=None, image_processor=None, **kwargs)
    return WanPipeline(**kwargs)


@pytest.mark.parametrize("guidance", [1.0, 3.0])
def test_i2v_equals_diffusers_ti2v_image_to_video(parts, pipe, guidance, no_ftfy):
    """Frame 0 at t = 0 (m = 0) is diffusers' TI2V image-to-video: same weights, noise and sigmas, same latents."""
    image = _image()
    common = KW | {"num_inference_steps": 4, "guidance_scale": guidance, "output_type": "latent"}
    ref = _diffusers_pipe(parts, "i2v")(image=image.permute(2, 0, 1)[None], prompt="a red circle moves left",
                                         negative_prompt="blue", generator=torch.Generator().manual_seed(0),
                                         **common).frames
    out = pipe("a red circle moves left", negative_prompt="blue", conditions=C.i2v(image),
               generator=torch.Generator().manual_seed(0), shift=5.0, **common).frames
    assert out.shape == ref.shape == (1, 48, 5, 4, 4)
    assert (out - ref).abs().max() <= 1e-5
    assert (out[:, :, 1:] - out[:, :, :1]).abs().max() > 1e-2  # the free frames moved (the test could fail)


def test_t2v_equals_diffusers_ti2v_text_to_video(parts, pipe, no_ftfy):
    common = KW | {"num_inference_steps": 3, "guidance_scale": 3.0, "output_type": "latent"}
    ref = _diffusers_pipe(parts, "t2v")(prompt="a blue box falls", negative_prompt="",
                                        generator=torch.Generator().manual_seed(1), **common).frames
    out = pipe("a blue box falls", negative_prompt="", generator=torch.Generator().manual_seed(1), shift=5.0,
               **common).frames
    assert (out - ref).abs().max() <= 1e-5


# --- full size, shapes only -----------------------------------------------------------------------------

def test_full_size_5b_dit_maps_onto_the_transformer():
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    config = wan_transformer_config(RELEASE_5B)
    # diffusers' scripts/convert_wan_to_diffusers.py, "Wan2.2-TI2V-5B"
    assert config == {"patch_size": (1, 2, 2), "num_attention_heads": 24, "attention_head_dim": 128,
                      "in_channels": 48, "out_channels": 48, "text_dim": 4096, "freq_dim": 256, "ffn_dim": 14336,
                      "num_layers": 30, "cross_attn_norm": True, "qk_norm": "rms_norm_across_heads", "eps": 1e-6}
    with init_empty_weights():
        model = PusaTransformer3DModel(**config)
    shapes = wan_dit_shapes(RELEASE_5B)
    check_state_dict(model, convert_wan_transformer_to_diffusers(_meta(shapes)), "5B")  # every key, every shape
    n = sum(math.prod(s) for s in shapes.values())
    assert n == sum(p.numel() for p in model.parameters())
    assert 4.9e9 < n < 5.1e9, n


def test_full_size_wan22_vae_maps_onto_autoencoder():
    from diffusers import AutoencoderKLWan

    original = _meta(wan22_vae_shapes(160, 256))
    config = wan_vae_config(original)
    assert config == VAE22
    with init_empty_weights():
        model = AutoencoderKLWan(**config)
    check_state_dict(model, convert_wan22_vae(original), WAN22_VAE)
    assert vae_factors(model.config) == (4, 16)
    assert 0.70e9 < sum(p.numel() for p in model.parameters()) < 0.71e9  # 704.7 M


def test_full_size_5b_per_frame_forward_on_meta():
    """704×1280×121 (31×44×80 latents, 27,280 tokens): the VTA path runs shape-only on the meta device."""
    with init_empty_weights():
        model = PusaTransformer3DModel(**wan_transformer_config(RELEASE_5B))
    model = model.to("meta")
    x = torch.empty(1, 48, 31, 704 // 16, 1280 // 16, device="meta")
    with torch.no_grad():
        out = model(x, torch.empty(1, 31, device="meta"), torch.empty(1, 512, 4096, device="meta")).sample
    assert out.shape == x.shape
