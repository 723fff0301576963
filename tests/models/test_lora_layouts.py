"""Wan LoRA layouts: detection, lossless conversion, loading with the right scale, stacking, fusing, errors.

Test LoRAs are written here from random A/B per target with each layout's real key names (independent of
the code under test); their "effect" is read back with the same names: delta = (alpha/r)·B·A, or B·A.
"""

from __future__ import annotations

import itertools

import pytest
import torch
from safetensors.torch import load_file, save_file
from typer.testing import CliRunner

from pusa.models.lora import (check_lora_matches, convert_lora, convert_lora_file, detect_layout, fuse_loras,
                              load_loras, lora_strengths, set_lora_strengths, unfuse_loras, unload_loras)
from pusa.models.lora_layouts import LAYOUTS, parse_lora
from pusa.tiny import tiny_pipeline

RANK = 4
# Original Wan target → diffusers module, from REFERENCE.md's rename list.
TARGETS = {"self_attn.q": "attn1.to_q", "self_attn.k": "attn1.to_k", "self_attn.v": "attn1.to_v",
           "self_attn.o": "attn1.to_out.0", "cross_attn.q": "attn2.to_q", "cross_attn.k": "attn2.to_k",
           "cross_attn.v": "attn2.to_v", "cross_attn.o": "attn2.to_out.0", "ffn.0": "ffn.net.0.proj",
           "ffn.2": "ffn.net.2"}
KW = dict(num_frames=9, height=32, width=32, num_inference_steps=2, max_sequence_length=16, output_type="latent")


def _in_out(dim: int, ffn: int, target: str) -> tuple[int, int]:
    return {"ffn.0": (dim, ffn), "ffn.2": (ffn, dim)}.get(target, (dim, dim))


def _factors(transformer, seed=0, rank=RANK, with_alpha=True):
    """{(block, target): (A [r, in], B [out, r], alpha)} for every target of every block; alpha/r ∈ {½, 1, 2}."""
    cfg = transformer.config
    dim = cfg.num_attention_heads * cfg.attention_head_dim
    g = torch.Generator().manual_seed(seed)
    out = {}
    for j, (i, t) in enumerate(itertools.product(range(cfg.num_layers), TARGETS)):
        d_in, d_out = _in_out(dim, cfg.ffn_dim, t)
        alpha = (rank / 2, float(rank), rank * 2.0)[j % 3] if with_alpha else None
        out[(i, t)] = (torch.randn(rank, d_in, generator=g) * 0.2, torch.randn(d_out, rank, generator=g) * 0.2, alpha)
    return out


def _keys(layout, block, target):
    """(A key, B key, alpha key or None) of one module."""
    if layout == "diffsynth":
        base = f"blocks.{block}.{target}"
        return f"{base}.lora_A.default.weight", f"{base}.lora_B.default.weight", None
    if layout == "diffusers":
        base = f"transformer.blocks.{block}.{TARGETS[target]}"
        return f"{base}.lora_A.weight", f"{base}.lora_B.weight", None
    base = f"diffusion_model.blocks.{block}.{target}" if layout == "comfy" else \
        "lora_unet_" + f"blocks.{block}.{target}".replace(".", "_")
    return f"{base}.lora_down.weight", f"{base}.lora_up.weight", f"{base}.alpha"


def _write(factors, layout):
    """A state dict in ``layout``; layouts without alpha get alpha/r folded into B (exact: powers of two)."""
    sd = {}
    for (i, t), (a, b, alpha) in factors.items():
        ka, kb, kalpha = _keys(layout, i, t)
        if kalpha and alpha is not None:
            sd[ka], sd[kb], sd[kalpha] = a, b, torch.tensor(alpha)
        else:
            sd[ka], sd[kb] = a, b * (1.0 if alpha is None else alpha / a.shape[0])
    return sd


def _effect(sd, layout, modules):
    """{(block, target): ΔW at strength 1}, read with this test's key names; no other key may exist."""
    out, seen = {}, set()
    for i, t in modules:
        ka, kb, kalpha = _keys(layout, i, t)
        scale = float(sd[kalpha]) / sd[ka].shape[0] if kalpha and kalpha in sd else 1.0
        out[(i, t)] = scale * sd[kb].double() @ sd[ka].double()
        seen |= {ka, kb} | ({kalpha} if kalpha in sd else set())
    assert set(sd) == seen, sorted(set(sd) - seen)[:3]
    return out


def _expected(factors, strength=1.0):
    return {k: strength * (1.0 if alpha is None else alpha / a.shape[0]) * (b.double() @ a.double())
            for k, (a, b, alpha) in factors.items()}


def _weights(pipe):
    return {(i, t): pipe.transformer.get_submodule(f"blocks.{i}.{TARGETS[t]}").weight.detach().double().clone()
            for i, t in itertools.product(range(pipe.transformer.config.num_layers), TARGETS)}


def _assert_weights(pipe, base, deltas, atol=1e-6):
    for key, w in _weights(pipe).items():
        expected = base[key] + sum(d[key] for d in deltas)
        assert torch.allclose(w, expected, atol=atol), (key, (w - expected).abs().max())


def _run(pipe):
    return pipe("a ball", generator=torch.Generator().manual_seed(0), **KW).frames


def _no_adapter(pipe):
    from peft.tuners.tuners_utils import BaseTunerLayer

    return not getattr(pipe.transformer, "peft_config", None) and \
        not any(isinstance(m, BaseTunerLayer) for m in pipe.transformer.modules())


@pytest.fixture
def pipe():
    return tiny_pipeline("wan")


# --- detection and conversion (pure) -----------------------------------------------------------

def test_detects_every_layout(pipe):
    factors = _factors(pipe.transformer)
    for layout in LAYOUTS:
        assert detect_layout(_write(factors, layout)) == layout
    ds = _write(factors, "diffsynth")
    assert detect_layout({k.replace(".default", ""): v for k, v in ds.items()}) == "diffsynth"
    assert detect_layout({f"diffusion_model.{k}": v for k, v in ds.items()}) == "diffsynth"
    assert detect_layout(_write(_factors(pipe.transformer, with_alpha=False), "comfy")) == "comfy"  # no .alpha
    bare = {k.removeprefix("transformer."): v for k, v in _write(factors, "diffusers").items()}
    assert detect_layout(bare) == "diffusers"


@pytest.mark.parametrize("src", LAYOUTS)
def test_round_trips_keep_every_delta(pipe, src):
    factors = _factors(pipe.transformer)
    sd = _write(factors, src)
    expected = _expected(factors)
    for dst in LAYOUTS:
        there = convert_lora(sd, dst)
        for key, delta in _effect(there, dst, factors).items():
            assert torch.allclose(delta, expected[key], atol=1e-12), (src, dst, key)
        back = convert_lora(there, src)
        assert set(back) == set(sd)
        for key, delta in _effect(back, src, factors).items():
            assert torch.allclose(delta, expected[key], atol=1e-12), (src, dst, "back", key)


def test_alpha_in_each_direction(pipe):
    factors = _factors(pipe.transformer)
    comfy = _write(factors, "comfy")
    # alpha layouts keep the tensors and the alpha as they are
    assert all(torch.equal(convert_lora(comfy, "comfy")[k], v) for k, v in comfy.items())
    to_musubi = convert_lora(comfy, "musubi")
    assert torch.equal(to_musubi["lora_unet_blocks_1_ffn_2.alpha"], comfy["diffusion_model.blocks.1.ffn.2.alpha"])
    # no-alpha layouts get alpha/r folded into B; A untouched
    ds = convert_lora(comfy, "diffsynth")
    a, b, alpha = factors[(0, "self_attn.q")]
    assert alpha / RANK == 0.5
    assert torch.equal(ds["blocks.0.self_attn.q.lora_A.default.weight"], a)
    assert torch.equal(ds["blocks.0.self_attn.q.lora_B.default.weight"], 0.5 * b)
    # and a file without alpha gets alpha = rank (scale 1) when written where alpha exists
    back = convert_lora(ds, "comfy")
    assert float(back["diffusion_model.blocks.0.self_attn.q.alpha"]) == RANK
    assert torch.equal(back["diffusion_model.blocks.0.self_attn.q.lora_up.weight"], 0.5 * b)


def test_bf16_power_of_two_scales_are_exact(pipe):
    factors = {k: (a.bfloat16(), b.bfloat16(), alpha) for k, (a, b, alpha) in _factors(pipe.transformer).items()}
    out = convert_lora(_write(factors, "comfy"), "diffusers")
    for (i, t), (a, b, alpha) in factors.items():
        got = out[f"transformer.blocks.{i}.{TARGETS[t]}.lora_B.weight"]
        assert got.dtype == torch.bfloat16 and torch.equal(got.float(), b.float() * alpha / RANK)


def test_bias_and_full_weight_patches(pipe):
    factors = _factors(pipe.transformer)
    comfy = _write(factors, "comfy")
    comfy["diffusion_model.blocks.0.self_attn.q.diff_b"] = torch.randn(16)
    comfy["diffusion_model.blocks.0.norm3.diff"] = torch.zeros(16)  # zero norm placeholder (distillation LoRAs)
    comfy["diffusion_model.blocks.1.diff_m"] = torch.zeros(1, 6, 16)
    assert set(convert_lora(comfy, "comfy")) == set(comfy)  # comfy keeps every tensor
    diffusers = convert_lora(comfy, "diffusers")
    assert torch.equal(diffusers["transformer.blocks.0.attn1.to_q.lora_B.bias"],
                       comfy["diffusion_model.blocks.0.self_attn.q.diff_b"])
    assert not any("norm" in k or "diff" in k for k in diffusers)  # zero patches carry no delta
    with pytest.raises(ValueError, match=r"1 non-zero patches have no place in the diffsynth layout.*diff_b"):
        convert_lora(comfy, "diffsynth")
    comfy["diffusion_model.blocks.0.norm3.diff"] = torch.ones(16)
    with pytest.raises(ValueError, match=r"2 non-zero patches .*norm3.diff"):
        convert_lora(comfy, "musubi")


def test_unknown_keys_raise_with_count_and_examples(pipe):
    sd = _write(_factors(pipe.transformer), "diffsynth")
    sd["blocks.0.self_attn.qq.lora_A.default.weight"] = torch.zeros(RANK, 16)
    sd["blocks.0.self_attn.q.dora_scale"] = torch.zeros(16)
    with pytest.raises(ValueError, match=r"2 of 42 keys are not Wan LoRA keys.*self_attn\.qq"):
        convert_lora(sd, "comfy")
    with pytest.raises(ValueError, match="not Wan LoRA keys in any known layout"):
        detect_layout({"model.layers.0.mlp.lora_A.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="mixes key namings"):
        detect_layout({"blocks.0.self_attn.q.lora_A.weight": torch.zeros(1),
                       "lora_unet_blocks_0_self_attn_q.lora_down.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="to='kohya'"):
        convert_lora(sd, "kohya")


def test_matches_diffusers_converters(pipe):
    """Our diffusers output has the same keys and B·A products as diffusers' own Wan LoRA converters."""
    from diffusers.loaders.lora_conversion_utils import (_convert_musubi_wan_lora_to_diffusers,
                                                         _convert_non_diffusers_wan_lora_to_diffusers)

    factors = _factors(pipe.transformer)
    for layout, theirs in (("comfy", _convert_non_diffusers_wan_lora_to_diffusers),
                           ("musubi", _convert_musubi_wan_lora_to_diffusers)):
        sd = _write(factors, layout)
        # clone: diffusers' comfy converter scales cross-attention/FFN tensors in place (diffusers 0.42)
        ours, ref = convert_lora(sd, "diffusers"), theirs({k: v.clone() for k, v in sd.items()})
        assert set(ours) == set(ref)
        for key in (k for k in ours if k.endswith("lora_A.weight")):
            kb = key.replace("lora_A", "lora_B")
            assert torch.allclose(ours[kb] @ ours[key], ref[kb] @ ref[key], atol=1e-6)


def test_matches_training_export(pipe):
    """A diffusers LoRA with lora_alpha/r = 2 in its metadata → the same file the trainer's DiffSynth export writes."""
    from pusa.training.export import to_diffsynth

    factors = _factors(pipe.transformer, with_alpha=False)
    sd = {k.removeprefix("transformer."): v for k, v in _write(factors, "diffusers").items()}
    ours = convert_lora(sd, "diffsynth", config={"r": RANK, "lora_alpha": 2 * RANK})
    ref = to_diffsynth(sd, 2.0)
    assert set(ours) == set(ref) and all(torch.equal(ours[k], ref[k]) for k in ref)


# --- loading on the tiny pipeline -------------------------------------------------------------

def test_same_output_in_every_layout(pipe):
    factors = _factors(pipe.transformer)
    base = _run(pipe)
    outputs = {}
    for layout in LAYOUTS:
        load_loras(pipe, [_write(factors, layout)], [1.4])
        outputs[layout] = _run(pipe)
        unload_loras(pipe)
        assert _no_adapter(pipe)
    assert (outputs["diffsynth"] - base).abs().max() > 1e-3
    for layout in LAYOUTS:
        assert torch.equal(outputs[layout], outputs["diffsynth"]), layout
    assert torch.equal(_run(pipe), base)  # unloading gave back the base model


@pytest.mark.parametrize("alpha", [1.0, 1.4])
def test_reference_merge_is_w_plus_alpha_ba(pipe, tmp_path, alpha):
    factors = _factors(pipe.transformer, with_alpha=False)
    save_file(_write(factors, "diffsynth"), tmp_path / "pusa_v1.safetensors")
    w0 = _weights(pipe)
    load_loras(pipe, [tmp_path / "pusa_v1.safetensors"], [alpha])
    fuse_loras(pipe)
    _assert_weights(pipe, w0, [_expected(factors, alpha)])


def test_comfy_alpha_is_alpha_over_rank(pipe):
    factors = _factors(pipe.transformer)
    assert {alpha / RANK for _, _, alpha in factors.values()} == {0.5, 1.0, 2.0}
    w0 = _weights(pipe)
    load_loras(pipe, [_write(factors, "comfy")], [1.0])
    fuse_loras(pipe)
    _assert_weights(pipe, w0, [{k: (alpha / RANK) * (b.double() @ a.double()) for k, (a, b, alpha) in factors.items()}])


def test_strength_changes_do_not_accumulate(pipe):
    factors = _factors(pipe.transformer)
    w0 = _weights(pipe)
    (name,) = load_loras(pipe, [_write(factors, "comfy")], [1.4])
    once = _run(pipe)
    for strength in (0.5, 2.0, 1.4):
        set_lora_strengths(pipe, {name: strength})
    assert lora_strengths(pipe) == pytest.approx({name: 1.4})
    assert torch.allclose(_run(pipe), once, atol=1e-6)
    fuse_loras(pipe)
    for strength in (3.0, 0.25):  # while fused: re-fused at the new strength, never piled up
        set_lora_strengths(pipe, {name: strength})
    _assert_weights(pipe, w0, [_expected(factors, 0.25)])


def test_stacked_loras_add_their_deltas(pipe, tmp_path):
    pusa = _factors(pipe.transformer, seed=1, with_alpha=False)
    distill = _factors(pipe.transformer, seed=2, rank=2)
    save_file(_write(pusa, "diffsynth"), tmp_path / "pusa_v1.safetensors")
    save_file(_write(distill, "comfy"), tmp_path / "lightning.safetensors")
    w0 = _weights(pipe)
    assert load_loras(pipe, [tmp_path / "pusa_v1.safetensors"], [1.4]) == ["pusa_v1"]
    assert load_loras(pipe, [tmp_path / "lightning.safetensors"], [1.0]) == ["lightning"]
    assert lora_strengths(pipe) == pytest.approx({"pusa_v1": 1.4, "lightning": 1.0})
    unfused = _run(pipe)
    fuse_loras(pipe)
    _assert_weights(pipe, w0, [_expected(pusa, 1.4), _expected(distill, 1.0)])
    assert torch.allclose(_run(pipe), unfused, atol=1e-5)
    unfuse_loras(pipe)
    _assert_weights(pipe, w0, [])  # fuse/unfuse gives back the original weights
    assert torch.allclose(_run(pipe), unfused, atol=1e-6)


def test_diffusers_file_metadata_sets_the_scale(pipe, tmp_path):
    """A diffusers export (lora_alpha = 2r in its adapter metadata) loads with scale 2 and converts with alpha 2r."""
    from diffusers.loaders import WanLoraLoaderMixin

    factors = _factors(pipe.transformer, with_alpha=False)
    layers = {k.removeprefix("transformer."): v for k, v in _write(factors, "diffusers").items()}
    WanLoraLoaderMixin.save_lora_weights(str(tmp_path), transformer_lora_layers=layers,
                                         transformer_lora_adapter_metadata={"r": RANK, "lora_alpha": 2 * RANK,
                                                                            "target_modules": list(TARGETS.values())})
    path = tmp_path / "pytorch_lora_weights.safetensors"
    w0 = _weights(pipe)
    load_loras(pipe, [path], [1.0])
    fuse_loras(pipe)
    _assert_weights(pipe, w0, [_expected(factors, 2.0)])
    convert_lora_file(path, tmp_path / "comfy.safetensors", "comfy")
    comfy = load_file(tmp_path / "comfy.safetensors")
    assert float(comfy["diffusion_model.blocks.0.ffn.0.alpha"]) == 2 * RANK


def test_bias_patch_loads(pipe):
    factors = _factors(pipe.transformer, with_alpha=False)
    sd = _write(factors, "comfy")
    diff_b = torch.randn(16)
    sd["diffusion_model.blocks.1.cross_attn.o.diff_b"] = diff_b
    bias0 = pipe.transformer.blocks[1].attn2.to_out[0].bias.detach().clone()
    load_loras(pipe, [sd], [1.4])
    fuse_loras(pipe)
    assert torch.allclose(pipe.transformer.blocks[1].attn2.to_out[0].bias, bias0 + 1.4 * diff_b, atol=1e-6)


@pytest.mark.parametrize("case, message", [
    ("block", r"1 of 21 modules.*blocks\.7\.self_attn\.q .*no such linear layer"),
    ("module", r"6 of 60 keys are not Wan LoRA keys.*blocks\.0\.self_attn\.x"),
    ("i2v", r"1 of 21 modules.*cross_attn\.k_img"),
    ("shape", r"2 of 20 modules.*ffn\.2: A \(4, 16\)"),
])
def test_mismatched_lora_raises_before_loading(pipe, tmp_path, case, message):
    factors = _factors(pipe.transformer)
    good = _write(factors, "comfy")
    a, b, alpha = factors[(0, "self_attn.q")]
    if case == "block":
        factors[(7, "self_attn.q")] = (a, b, alpha)
    elif case == "i2v":
        sd = _write(factors, "comfy")
        sd.update({"diffusion_model.blocks.0.cross_attn.k_img.lora_down.weight": a,
                   "diffusion_model.blocks.0.cross_attn.k_img.lora_up.weight": b})
    elif case == "shape":
        for i in (0, 1):
            factors[(i, "ffn.2")] = (a, factors[(i, "ffn.2")][1], alpha)  # A is [r, 16], ffn.2 takes 64
    sd = {k.replace("self_attn.q", "self_attn.x"): v for k, v in good.items()} if case == "module" else \
        sd if case == "i2v" else _write(factors, "comfy")
    save_file(good, tmp_path / "good.safetensors")
    w0 = _weights(pipe)
    with pytest.raises(ValueError, match=message):
        load_loras(pipe, [tmp_path / "good.safetensors", sd], [1.0])  # the good one must not load either
    assert _no_adapter(pipe)
    _assert_weights(pipe, w0, [], atol=0)


def test_rejects_pickles_and_bad_strengths(pipe, tmp_path):
    (tmp_path / "x.pt").write_bytes(b"\x80\x04")
    with pytest.raises(ValueError, match="safetensors"):
        load_loras(pipe, [tmp_path / "x.pt"], [1.0])
    sd = _write(_factors(pipe.transformer), "comfy")
    with pytest.raises(ValueError, match="one per LoRA"):
        load_loras(pipe, [sd, sd], [1.0, 1.0, 1.0])
    load_loras(pipe, [sd], names=["pusa"])
    with pytest.raises(ValueError, match="already loaded"):
        load_loras(pipe, [sd], names=["pusa"])
    with pytest.raises(ValueError, match="no LoRA adapter named"):
        set_lora_strengths(pipe, {"nope": 1.0})


# --- files and the command line ------------------------------------------------------------------

def test_convert_lora_file_and_cli(pipe, tmp_path):
    from pusa.cli import app

    factors = _factors(pipe.transformer)
    save_file(_write(factors, "musubi"), tmp_path / "in.safetensors")
    report = convert_lora_file(tmp_path / "in.safetensors", tmp_path / "ds.safetensors", "diffsynth")
    assert (report.source_layout, report.tensors_in, report.tensors_out) == ("musubi", 60, 40)
    _effect(load_file(tmp_path / "ds.safetensors"), "diffsynth", factors)
    with pytest.raises(FileExistsError):
        convert_lora_file(tmp_path / "in.safetensors", tmp_path / "ds.safetensors", "diffsynth")

    runner = CliRunner()
    out = tmp_path / "comfy.safetensors"
    ok = runner.invoke(app, ["convert-lora", str(tmp_path / "ds.safetensors"), str(out), "--to", "comfy"])
    assert ok.exit_code == 0, ok.output
    got = _effect(load_file(out), "comfy", factors)
    assert all(torch.allclose(got[k], v, atol=1e-12) for k, v in _expected(factors).items())
    save_file({"model.layers.0.weight": torch.zeros(2)}, tmp_path / "junk.safetensors")
    for args, message in (
        ([str(tmp_path / "ds.safetensors"), str(out), "--to", "comfy"], "already exists"),
        ([str(tmp_path / "ds.safetensors"), str(tmp_path / "o.safetensors"), "--to", "kohya"], "expected one of"),
        ([str(tmp_path / "nope.safetensors"), str(tmp_path / "o.safetensors"), "--to", "comfy"], "not found"),
        ([str(tmp_path / "junk.safetensors"), str(tmp_path / "o.safetensors"), "--to", "comfy"], "1 of 1 keys"),
    ):
        bad = runner.invoke(app, ["convert-lora", *args])
        lines = bad.stderr.strip().splitlines()
        assert bad.exit_code == 2 and len(lines) == 1, bad.stderr
        assert lines[0].startswith("error: ") and message in lines[0], bad.stderr
    assert ok.exit_code == 0 and runner.invoke(app, ["convert-lora", str(tmp_path / "ds.safetensors"), str(out),
                                                     "--to", "diffusers", "--overwrite"]).exit_code == 0
    assert detect_layout(load_file(out)) == "diffusers"


# --- full size, shapes only --------------------------------------------------------------------

@pytest.fixture(scope="module")
def wan14b():
    from accelerate import init_empty_weights

    from pusa.models import PusaTransformer3DModel

    with init_empty_weights():
        return PusaTransformer3DModel(num_attention_heads=40, attention_head_dim=128, ffn_dim=13824, num_layers=40,
                                      in_channels=16, out_channels=16, text_dim=4096)


def test_full_size_reference_lora_maps_onto_wan14b(wan14b):
    """The Pusa V1 LoRA key list (rank 512, 40 blocks × 10 targets × A/B) fits 14B linear layers' shapes."""
    rank, sd = 512, {}
    for i, t in itertools.product(range(40), TARGETS):
        d_in, d_out = _in_out(5120, 13824, t)
        sd[f"blocks.{i}.{t}.lora_A.default.weight"] = torch.empty(rank, d_in, device="meta")
        sd[f"blocks.{i}.{t}.lora_B.default.weight"] = torch.empty(d_out, rank, device="meta")
    assert len(sd) == 800
    params = sum(v.numel() for v in sd.values())
    assert 2.4e9 < params < 2.5e9  # REFERENCE.md: about 2.45 B LoRA parameters
    converted = convert_lora(sd, "diffusers")
    assert len(converted) == 800
    layers = dict(wan14b.named_modules())
    for key, value in converted.items():
        module, _, part = key.removeprefix("transformer.").partition(".lora_")
        out_f, in_f = layers[module].weight.shape
        assert tuple(value.shape) == ((rank, in_f) if part == "A.weight" else (out_f, rank)), key
    check_lora_matches(wan14b, parse_lora(sd))


def test_full_size_original_checkpoint_keys_map_onto_wan14b(wan14b):
    """Every key of the original Wan 14B naming maps through diffusers' converter to a parameter of the right shape."""
    from diffusers.loaders.single_file_utils import convert_wan_transformer_to_diffusers

    from tests.models.test_transformer import _original_key

    ours = wan14b.state_dict()
    original = {f"model.diffusion_model.{_original_key(k)}": v for k, v in ours.items()}
    assert "model.diffusion_model.blocks.39.norm3.weight" in original and len(original) == len(ours)
    converted = convert_wan_transformer_to_diffusers(dict(original))
    assert set(converted) == set(ours)
    assert all(converted[k].shape == v.shape for k, v in ours.items())
