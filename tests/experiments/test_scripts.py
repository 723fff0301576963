"""The experiment scripts: their own helpers, and one smoke run of each (n = 1, one step) on the shipped
Pusa-mini."""

import importlib

import pytest


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
