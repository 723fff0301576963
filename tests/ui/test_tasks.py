"""Each tab's conditions equal what its `pusa generate` command builds; uploads are checked (no gradio)."""

from __future__ import annotations

import shlex

import numpy as np
import pytest
import typer.main
from PIL import Image

from pusa.cli import app, build_conditions
from pusa.io import write_video
from pusa.ui.studio import Studio
from pusa.ui.uploads import UploadError, check_image, check_video, inside, keep_copy, safe_name

SETTINGS = dict(prompt="a red 'ball' $(rm -rf /)", negative_prompt="blurry", seed=7, preset="fast", steps=2, cfg=1.5,
                shift=3.0, lora_strength=1.0, frames=9, height=32, width=32)


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("uploads")
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        Image.fromarray(rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(root / name)
    write_video(root / "clip.mp4", rng.integers(0, 256, (13, 32, 32, 3), dtype=np.uint8), fps=16)
    write_video(root / "clip b.mp4", rng.integers(0, 256, (11, 16, 24, 3), dtype=np.uint8), fps=16)
    (root / "text.png").write_text("not an image")
    (root / "text.mp4").write_text("not a video")
    return root


CASES = {
    "t2v": ({}, {}),
    "i2v": ({"i2v_noise": 0.2}, {"i2v_image": "a.png"}),
    "start_end": ({"se_first_noise": 0.0, "se_last_noise": 0.5}, {"se_first": "a.png", "se_last": "b.png"}),
    "keyframes": ({"kf_frame_0": 8, "kf_noise_0": 0.1, "kf_frame_2": 0, "kf_noise_2": 0.0},
                  {"kf_image_0": "a.png", "kf_image_2": "b.png"}),
    "extend": ({"ext_keep": 5, "video_noise": 0.0}, {"video_a": "clip.mp4"}),
    "complete": ({"cmp_head": 1, "cmp_tail": 4, "video_noise": 0.25}, {"video_a": "clip.mp4"}),
    "transition": ({"tr_tail": 3, "tr_head": 4, "video_noise": 0.0}, {"video_a": "clip.mp4", "video_b": "clip b.mp4"}),
    "v2v": ({"v2v_noise": 0.5}, {"v2v_video": "clip.mp4"}),
}


def parse_generate(command: str) -> dict:
    """The command's options as `pusa generate` itself parses them (click context params)."""
    argv = shlex.split(command)
    assert argv[:2] == ["pusa", "generate"]
    return typer.main.get_command(app).commands["generate"].make_context("generate", argv[2:]).params


@pytest.mark.parametrize("task", list(CASES))
def test_command_builds_the_same_conditions(task, media, tiny_packing_pipe, tmp_path):
    values, files = CASES[task]
    studio = Studio(tiny_packing_pipe, tmp_path / "out")
    job = studio.prepare(task, {**SETTINGS, **values}, {k: str(media / v) for k, v in files.items()})
    p = parse_generate(job.command)
    cli_conditions = build_conditions(p["image"] or [], p["video"], p["keep"], p["noise"], p["frames"])
    assert cli_conditions == job.conditions
    assert len(job.conditions) == {"t2v": 0, "i2v": 1, "extend": 1, "v2v": 1}.get(task, 2)
    for key in ("prompt", "negative_prompt", "seed", "preset", "steps", "cfg", "shift", "frames", "height", "width"):
        assert p[key] == SETTINGS[key], key
    for path in [*(spec.split("@")[0] for spec in p["image"] or []), *([p["video"]] if p["video"] else [])]:
        inside(job.run_dir / "inputs", tmp_path / path)  # the command names the copies in the run folder


def test_bad_uploads_and_frames_are_refused(media, tiny_packing_pipe, tmp_path):
    studio = Studio(tiny_packing_pipe, tmp_path / "out")
    with pytest.raises(UploadError, match="not a readable image"):
        studio.prepare("i2v", {**SETTINGS, "i2v_noise": 0.0}, {"i2v_image": str(media / "text.png")})
    with pytest.raises(UploadError, match="not a decodable video"):
        studio.prepare("v2v", {**SETTINGS, "v2v_noise": 0.5}, {"v2v_video": str(media / "text.mp4")})
    assert not any((tmp_path / "out").iterdir())  # nothing written for a refused upload
    with pytest.raises(ValueError, match="pixel frame 9 is outside 0–8"):
        studio.prepare("keyframes", {**SETTINGS, "kf_frame_0": 9, "kf_noise_0": 0.0},
                       {"kf_image_0": str(media / "a.png")})
    with pytest.raises(ValueError, match="use 9 or 13"):
        studio.prepare("t2v", {**SETTINGS, "frames": 10}, {})
    with pytest.raises(ValueError, match="width=36 must be a multiple of 8; use 32 or 40"):
        studio.prepare("i2v", {**SETTINGS, "i2v_noise": 0.0, "width": 36}, {"i2v_image": str(media / "a.png")})
    assert not any((tmp_path / "out").iterdir())  # refused jobs leave no run folder
    with pytest.raises(UploadError, match="not a video file"):
        check_video(media / "a.png")
    assert check_image(media / "a.png").shape == (24, 40, 3)


def test_names_and_paths_stay_inside_the_out_dir(media, tmp_path):
    assert safe_name("../../etc/passwd") == "etc-passwd" and safe_name("") == "run" and safe_name("a b!c") == "a-b-c"
    with pytest.raises(ValueError, match="outside the output folder"):
        inside(tmp_path, tmp_path / ".." / "x")
    (tmp_path / "inputs").mkdir()
    copy = keep_copy(media / "a.png", tmp_path, "../../evil name")
    assert copy.parent == (tmp_path / "inputs").resolve() and copy.name == "evil-name.png"


def test_preview_plans_before_upload(tiny_packing_pipe, tmp_path):
    studio = Studio(tiny_packing_pipe, tmp_path / "out")
    html = studio.preview("start_end", {**SETTINGS, "se_first_noise": 0.0, "se_last_noise": 0.5}, {})
    assert html.count("pusa-slot") == 3 and "m=0.5" in html
    html = studio.preview("transition", {**SETTINGS, "tr_tail": 3, "tr_head": 4, "video_noise": 0.0}, {})
    assert "end of A" in html and "start of B" in html


def test_lora_strength_is_set_not_accumulated_and_the_command_matches(tmp_path):
    from safetensors.torch import save_file
    from typer.testing import CliRunner

    from pusa.io import read_video
    from pusa.loading import load_pipeline
    from pusa.tiny import tiny_pipeline
    from tests.models.test_lora import _diffsynth_lora

    model = tmp_path / "tiny"
    tiny_pipeline("packing").save_pretrained(model)
    lora = tmp_path / "l.safetensors"
    save_file(_diffsynth_lora(tiny_pipeline("packing").transformer), lora)
    studio = Studio(load_pipeline(model)[0], tmp_path / "out", model=model, lora=lora)

    def run(strength):
        job = studio.prepare("t2v", {**SETTINGS, "lora_strength": strength}, {})
        return job, read_video(studio.run(job).video)[0]

    job, first = run(1.4)
    assert "--lora-alpha 1.4" in job.command
    _, other = run(0.0)
    _, again = run(1.4)  # back and forth: the same video, no deltas piled up
    assert np.array_equal(again, first) and not np.array_equal(other, first)
    out = tmp_path / "cli.mp4"
    result = CliRunner().invoke(app, [*shlex.split(job.command)[1:], "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert np.array_equal(read_video(out)[0], first)


def test_embedded_studio_runs_text_to_video_on_the_base_weights_like_the_cli(tmp_path):
    """`pusa generate` without conditions uses Pusa-mini's base weights; the T2V tab must too, so that its
    shown command reproduces its video. Other tabs keep the VTA LoRA."""
    import torch

    from pusa.mini.shipped import T2V_VTA_STRENGTH
    from pusa.ui.app import load_studio

    if T2V_VTA_STRENGTH is None:
        pytest.skip("the shipped Pusa-mini runs text-to-video on the same weights as every other task")
    studio = load_studio(None, None, tmp_path)
    t2v_pipe = studio.models.get(T2V_VTA_STRENGTH)
    assert t2v_pipe is not studio.pipe
    assert t2v_pipe.text_encoder is studio.pipe.text_encoder  # one MiniLM in memory, not two
    h = studio.pipe.config.default_height // studio.pipe.spatial_factor
    x = torch.randn(1, studio.pipe.transformer.config.in_channels, 5, h, h, generator=torch.Generator().manual_seed(0))
    text = torch.zeros(1, studio.pipe.config.max_sequence_length, 384)
    t = torch.full((1,), 500.0)
    with torch.no_grad():
        vta = studio.pipe.transformer(x, t, text, return_dict=False)[0]
        base = t2v_pipe.transformer(x, t, text, return_dict=False)[0]
    assert (vta - base).abs().max() > 1e-3


def test_warm_start_reaches_the_command_and_the_video(media, tiny_packing_pipe, tmp_path):
    """The slider's value goes into `--warm-start` (always spelt out: the embedded model's default is not 1) and
    into the sampler; the contact sheet still frames only the given frame; 1 is the plain sampler."""
    studio = Studio(tiny_packing_pipe, tmp_path / "out")
    values = {**SETTINGS, **CASES["i2v"][0]}
    uploads = {"i2v_image": str(media / "a.png")}
    off = studio.prepare("i2v", {**values, "warm_start": 1.0}, uploads)
    assert parse_generate(off.command)["warm_start"] == 1.0
    job = studio.prepare("i2v", {**values, "warm_start": 0.85}, uploads)
    assert parse_generate(job.command)["warm_start"] == 0.85
    warm, plain = studio.run(job), studio.run(off)
    assert [p.condition.label for p in warm.plans] == ["image", "warm start"]
    assert [p.condition.label for p in plain.plans] == ["image"]
    from pusa.io import read_video

    assert not np.array_equal(read_video(warm.video)[0][1:], read_video(plain.video)[0][1:])
    for bad in (0.0, 1.5):
        with pytest.raises(ValueError, match=f"warm start {bad:g} must be in"):
            studio.prepare("i2v", {**values, "warm_start": bad}, uploads)
