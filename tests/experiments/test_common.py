"""experiments/common.py: bootstrap intervals, the Fréchet distance, the results writer; and one smoke run
of every experiment script (n = 1, one step) on the shipped Pusa-mini."""

import importlib

import numpy as np
import pytest
from common import (
    Stat,
    bootstrap_ci,
    frechet_distance,
    markdown,
    paired_differences,
    panels,
    read_markdown,
    summarize,
    write_results,
)
from PIL import Image


def test_bootstrap_ci_covers_the_mean_and_is_deterministic():
    x = np.random.default_rng(1).normal(5.0, 2.0, 64)
    s = bootstrap_ci(x)
    assert s.lo < s.mean < s.hi and s.n == 64
    assert s.mean == pytest.approx(x.mean())
    assert bootstrap_ci(x) == s  # fixed seed: same interval every time
    assert bootstrap_ci(x, seed=1) != s


def test_bootstrap_ci_shrinks_with_n_like_one_over_sqrt_n():
    rng = np.random.default_rng(2)
    small, large = bootstrap_ci(rng.normal(0, 1, 64)), bootstrap_ci(rng.normal(0, 1, 1024))
    ratio = (small.hi - small.lo) / (large.hi - large.lo)
    assert 2.5 < ratio < 6  # √(1024 / 64) = 4


def test_bootstrap_ci_of_a_constant_is_a_point_and_bad_input_is_refused():
    assert bootstrap_ci([3.0] * 5) == Stat(3.0, 3.0, 3.0, 5)
    with pytest.raises(ValueError, match="non-empty"):
        bootstrap_ci([])
    with pytest.raises(ValueError, match="finite"):
        bootstrap_ci([1.0, float("nan")])


def test_frechet_distance_analytic_cases():
    a = np.random.default_rng(3).normal(size=(200, 5)) @ np.diag([1, 2, 3, 4, 5]) + 1.0
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shift = np.array([1.0, -2.0, 0.0, 0.5, 3.0])
    assert frechet_distance(a, a + shift) == pytest.approx((shift**2).sum(), rel=1e-6)  # same Σ: |Δμ|²
    # b = 2a: Σ_b = 4Σ_a, so tr(Σ_a + 4Σ_a − 2·2Σ_a) = tr Σ_a, plus |μ_a|²
    cov = np.cov(a, rowvar=False)
    assert frechet_distance(a, 2 * a) == pytest.approx((a.mean(0) ** 2).sum() + np.trace(cov), rel=1e-6)


def test_summarize_and_write_results_make_a_table_and_a_png(tmp_path):
    rows = {"cell A": [{"psnr": 30.0 + i, "dist_px": 1.0} for i in range(8)], "cell B": [{"psnr": 20.0}] * 4}
    table = summarize(rows)
    assert table["cell B"]["psnr"] == Stat(20.0, 20.0, 20.0, 4)
    md, png = write_results("demo", tmp_path / "out", "A demo", table, "python experiments/demo.py --n 8", 65.0,
                            notes="A note.")
    text = md.read_text()
    assert text.startswith("# A demo\n")
    assert "| cell A | psnr ↑ | 33.5 |" in text and "| cell A | dist_px ↓ | 1.000 | [1.000, 1.000] | 8 |" in text
    assert "    python experiments/demo.py --n 8" in text and "Wall time 1.1 min" in text and "A note." in text
    assert "![demo](demo.png)" in text
    with Image.open(png) as img:
        assert img.format == "PNG" and img.size[0] > 100
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["demo.md", "demo.png"]  # no temp files left


def test_paired_differences_are_per_clip_and_skip_constant_reference_metrics():
    rows = {"ref": [{"px": 10.0 + i, "psnr": 100.0} for i in range(5)],
            "a": [{"px": 8.0 + i, "psnr": 30.0} for i in range(5)],
            "b": [{"px": 10.0 + i, "psnr": 100.0} for i in range(5)]}
    diff = paired_differences(rows, "ref")
    assert list(diff) == ["a − ref", "b − ref"]
    assert diff["a − ref"] == [{"px": -2.0}] * 5  # psnr is constant (a cap) in the reference: left out
    table = summarize(diff)
    assert table["a − ref"]["px"] == Stat(-2.0, -2.0, -2.0, 5)  # unpaired CIs of a and ref would overlap
    assert table["b − ref"]["px"] == Stat(0.0, 0.0, 0.0, 5)


def test_a_page_reads_back_to_its_table_and_paired_cells_get_their_own_panel(tmp_path):
    rows = {"ref": [{"seam_px": 10.0 + i, "acc": i % 2} for i in range(6)],
            "a": [{"seam_px": 8.0 + 1.5 * i, "acc": 1.0} for i in range(6)]}
    rows |= paired_differences(rows, "ref")
    table = summarize(rows)
    md, png = write_results("x", tmp_path, "Title", table, "cmd", 1.0)
    title, back = read_markdown(md.read_text())
    assert title == "Title" and list(back) == list(table)
    for cell, metrics in table.items():  # the page rounds (fmt): 3 significant digits, 1 decimal from 10 up
        for metric, s in metrics.items():
            got = back[cell][metric]
            assert got.n == s.n and np.allclose([got.mean, got.lo, got.hi], [s.mean, s.lo, s.hi], rtol=5e-3, atol=1e-3)
    assert [(m, cells, t) for m, cells, t in panels(back)] == [
        ("seam_px", ["ref", "a"], "seam_px (lower is better)"), ("seam_px", ["a − ref"], "seam_px: paired, cell − ref"),
        ("acc", ["ref", "a"], "acc (higher is better)"), ("acc", ["a − ref"], "acc: paired, cell − ref")]
    assert Image.open(png).size[0] > 0


def test_markdown_names_the_weights():
    text = markdown("T", {"c": {"m": Stat(1.0, 0.5, 1.5, 3)}}, "cmd", 1.0)
    assert "weights: transformer " in text and "VTA LoRA " in text


def test_a_cell_guidance_overrides_the_experiment_scale(monkeypatch):
    import common

    import pusa.mini.evaluate as ev

    seen = []
    monkeypatch.setattr(common, "sample", lambda pipe, cell, clip, i, guidance, cache: seen.append(guidance))
    monkeypatch.setattr(ev, "heldout_clip", lambda *a: None)
    monkeypatch.setattr(ev, "score", lambda task, video, clip: {"m": 0.0})
    pipe = type("Pipe", (), {"config": type("Config", (), {"default_num_frames": 17, "default_height": 64})})()
    cells = [common.Cell("a", "t2v"), common.Cell("b", "t2v", guidance=5.0), common.Cell("c", "t2v", guidance=1.0)]
    common.run_cells(pipe, cells, 2, 3.0)
    assert seen == [3.0, 5.0, 1.0] * 2


def test_guidance_scales_are_parsed_and_checked():
    guidance = importlib.import_module("guidance")
    assert guidance.scales("1, 2,8") == [1.0, 2.0, 8.0]
    for bad in ("", "a,2", "0.5"):
        with pytest.raises(SystemExit, match="--scales"):
            guidance.scales(bad)


SCRIPTS = ["zero_shot", "non_destructive", "steps", "keyframe_encoding", "cond_noise", "precision", "warm_start",
           "guidance"]


@pytest.mark.slow
@pytest.mark.parametrize("name", SCRIPTS)
def test_experiment_runs_and_writes_its_table_and_plot(name, tmp_path):
    module = importlib.import_module(name)
    args = ["--n", "1", "--steps", "1", "--out", str(tmp_path / "results"), "--cache", str(tmp_path / "cache")]
    module.main(args)
    out = tmp_path / "results"
    assert sorted(p.name for p in out.iterdir()) == [f"{name}.md", f"{name}.png"]
    text = (out / f"{name}.md").read_text()
    assert f"python experiments/{name}.py --n 1 --steps 1" in text and "| 1 |" in text
    cached = sorted((tmp_path / "cache").rglob("*.npy"))
    assert cached  # every sample went through the cache
    stamp = [p.stat().st_mtime_ns for p in cached]
    module.main(args)  # a rerun reads every sample back instead of generating it
    assert [p.stat().st_mtime_ns for p in sorted((tmp_path / "cache").rglob("*.npy"))] == stamp


def test_caption_reliance_picks_one_object_clips_and_changes_one_fact_each():
    from pusa.world import parse_caption

    reliance = importlib.import_module("caption_reliance")
    clips = reliance.one_object_clips(3)
    assert [i for i, _ in clips] == sorted(i for i, _ in clips) and len(clips) == 3
    for _, clip in clips:
        truth = parse_caption(clip.caption)
        assert len(truth) == 1 and truth[0].direction is not None
        caps = reliance.captions(clip.caption)
        assert list(caps) == list(reliance.CAPTIONS) and caps["no caption"] == ""
        changed = {name: parse_caption(text)[0] for name, text in caps.items() if text}
        assert changed["direction reversed"].direction != truth[0].direction
        assert changed["colour changed"].colour != truth[0].colour
        assert changed["shape changed"].shape != truth[0].shape
    with pytest.raises(SystemExit, match="lower --n"):
        reliance.one_object_clips(5, search=3)


@pytest.mark.slow
def test_caption_reliance_writes_losses_and_paired_differences(tmp_path):
    reliance = importlib.import_module("caption_reliance")
    reliance.main(["--n", "2", "--out", str(tmp_path)])  # paired rows need 2 clips
    text = (tmp_path / "caption_reliance.md").read_text()
    for model in reliance.MODELS:
        assert f"| {model}: direction reversed − {model}: true caption | loss@σ=0.9" in text
    assert (tmp_path / "caption_reliance.png").is_file()
    reliance.main(["--n", "2", "--out", str(tmp_path), "--given", "first", "--steps", "10"])
    text = (tmp_path / "caption_reliance_i2v.md").read_text()
    assert "| base: direction reversed − base: true caption | loss@σ=1 " in text and "loss@σ=0.3" not in text
    assert "python experiments/caption_reliance.py" in text and "--given first" in text


def test_losses_at_sigmas_given_frames_are_clean_context_and_carry_no_loss():
    import torch

    from pusa.flow import fafm_loss, interpolate
    from pusa.mini import default_pipeline
    from pusa.mini.evaluate import heldout_clip

    common = importlib.import_module("common")
    pipe = default_pipeline(0.0)
    clip = heldout_clip(0)
    got = common.losses_at_sigmas(pipe, clip, 3, (0.9,), {"c": clip.caption}, given=(0,))["c"]["loss@σ=0.9"]
    plain = common.losses_at_sigmas(pipe, clip, 3, (0.9,), {"c": clip.caption})["c"]["loss@σ=0.9"]
    with torch.no_grad():  # by hand: frame 0 at σ = 0 (so its noise is irrelevant), loss over frames 1… only
        x0 = pipe.encode_frames(torch.from_numpy(clip.frames).float() / 255)
        x1 = torch.randn(x0.shape, generator=torch.Generator().manual_seed(3))
        tau = torch.full((1, x0.shape[2]), 0.9)
        tau[0, 0] = 0.0
        v = pipe.transformer(interpolate(x0, x1, tau), 1000.0 * tau, pipe.encode_prompt(clip.caption),
                             return_dict=False)[0]
        want = float(fafm_loss(v[:, :, 1:], x0[:, :, 1:], x1[:, :, 1:]))
    assert abs(got - want) < 1e-6 * max(1.0, want)
    assert abs(got - plain) > 1e-4  # a clean frame 0 changes what the model sees


def test_command_spells_out_repeatable_options():
    import argparse

    common = importlib.import_module("common")
    args = argparse.Namespace(n=2, variant=["a/final", "b/final"], extra=[], cache="")
    assert common.command("x", args) == "python experiments/x.py --n 2 --variant a/final --variant b/final --cache ''"


def test_a_point_outside_its_interval_still_plots(tmp_path):
    """A bootstrap FD interval can lie above the full-set FD (FD is biased upwards at small n)."""
    table = {"real": {"fd_features": Stat(0.74, 0.70, 2.30, 64)}, "gen": {"fd_features": Stat(0.5, 0.9, 2.0, 64)}}
    _, png = write_results("fd", tmp_path, "FD", table, "cmd", 1.0)
    assert png.is_file() and png.stat().st_size > 1000
