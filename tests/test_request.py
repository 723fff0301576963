"""The one request path: defaults, checks, and the same video from every face."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from pusa.request import ModelRules, Request, resolve, validate

CONFIG = SimpleNamespace(default_num_frames=17, default_height=64, default_width=64)


def test_resolve_fills_the_preset_the_geometry_and_a_reported_seed():
    r = resolve(Request(prompt="x"), CONFIG)
    assert (r.steps, r.cfg, r.shift) == (10, 3.0, 5.0)
    assert (r.num_frames, r.height, r.width) == (17, 64, 64)
    assert isinstance(r.seed, int) and 0 <= r.seed < 2**31
    fast = resolve(Request(preset="fast", cfg=2.0, seed=3), CONFIG)
    assert (fast.steps, fast.cfg, fast.seed) == (4, 2.0, 3)  # an explicit value beats the preset


def test_model_rules_apply_only_where_they_act():
    rules = ModelRules(t2v_vta_strength=0.0, warm_start=0.9)
    cond = SimpleNamespace(num_frames=1, label="a", start=0, noise=0.0)
    t2v = resolve(Request(seed=0), CONFIG, rules)
    assert t2v.vta_strength == 0.0 and t2v.warm_start is None  # no warm start without a given frame
    i2v = resolve(Request(seed=0, conditions=(cond,)), CONFIG, rules)
    assert i2v.vta_strength == 1.0 and i2v.warm_start == 0.9
    off = resolve(Request(seed=0, conditions=(cond,), warm_start=1.0), CONFIG, rules)
    assert off.warm_start == 1.0  # the user's choice is kept
    every = SimpleNamespace(num_frames=17, label="v", start=0, noise=0.5)
    assert resolve(Request(seed=0, conditions=(every,)), CONFIG, rules).warm_start is None  # nothing is free
    assert resolve(Request(seed=0), CONFIG, ModelRules()).vta_strength is None  # other models: as loaded


@pytest.mark.parametrize("field, value, message", [
    ("steps", 0, "steps 0: must be in 1–1000"),
    ("cfg", math.nan, "cfg nan: must be a finite number"),
    ("cfg", math.inf, "cfg inf: must be a finite number"),
    ("shift", 0.0, "shift 0.0: must be a finite number in (0, 100]"),
    ("warm_start", 1.5, "warm start 1.5: must be a finite number in (0, 1]"),
    ("seed", 2**64, "seed 18446744073709551616: must be in 0–"),
    ("seed", -1, "seed -1: must be in 0–"),
    ("num_frames", 0, "frames 0: must be in 1–"),
    ("height", 0, "height 0: must be in 1–"),
    ("width", 100_000, "width 100000: must be in 1–8192"),
    ("steps", 2.5, "steps must be a whole number"),
    ("preset", "turbo", "preset 'turbo': use one of default, fast"),
])
def test_validate_names_the_field_and_both_bounds(field, value, message):
    with pytest.raises(ValueError) as err:
        validate(Request(**{field: value}))
    assert message in str(err.value)


def test_frame_count_names_the_nearest_valid_counts():
    with pytest.raises(ValueError, match="use 17 or 21"):
        resolve(Request(num_frames=18, seed=0), CONFIG)


def test_the_same_request_gives_the_same_video_from_all_four_faces(tmp_path):
    """One I2V request on the embedded Pusa-mini, as a single `pusa generate`, as a --batch line, through the
    web app's client API and through `pusa.generate`: bit-identical frames (decoded from each face's mp4)."""
    import shlex

    from typer.testing import CliRunner

    import pusa
    from pusa import conditions as C
    from pusa.cli import app
    from pusa.io import read_image, read_video
    from pusa.mini.shipped import EXAMPLE_IMAGE, EXAMPLE_PROMPT, WARM_START
    from pusa.request import write_outputs

    gradio_client = pytest.importorskip("gradio_client")
    steps, seed = 2, 5
    runner = CliRunner()
    single = tmp_path / "single.mp4"
    argv = ["generate", "-p", EXAMPLE_PROMPT, "--image", f"{EXAMPLE_IMAGE}@0", "--steps", str(steps),
            "--seed", str(seed), "--out", str(single)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text(json.dumps({"prompt": EXAMPLE_PROMPT, "image": str(EXAMPLE_IMAGE), "samples": 1}) + "\n")
    result = runner.invoke(app, ["generate", "--batch", str(jobs), "--out-dir", str(tmp_path / "batch"),
                                 "--steps", str(steps), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    batch = tmp_path / "batch" / f"{EXAMPLE_PROMPT}-0.mp4"

    from pusa.ui.app import launch, load_studio

    studio = load_studio(None, None, tmp_path / "ui")
    port = _free_port()
    demo = launch(studio, host="127.0.0.1", port=port, block=False)
    try:
        client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
        outputs = client.predict(gradio_client.handle_file(str(EXAMPLE_IMAGE)), 0.0, EXAMPLE_PROMPT, "", seed,
                                 "default", steps, 3.0, 5.0, 1.0, 17, 64, 64, WARM_START or 1.0,
                                 api_name="/i2v")  # the slider's default: the model's rule, 1 = off
    finally:
        demo.close()
    web = outputs[2]["video"] if isinstance(outputs[2], dict) else outputs[2]
    assert shlex.split(outputs[4])[:2] == ["pusa", "generate"]

    video = pusa.generate(EXAMPLE_PROMPT, C.i2v(read_image(EXAMPLE_IMAGE)), steps=steps, seed=seed)
    python = write_outputs(video, tmp_path / "python.mp4")[0]

    frames = {name: read_video(path)[0] for name, path in
              (("single", single), ("batch", batch), ("web", web), ("python", python))}
    for name, f in frames.items():
        assert f.shape == (17, 64, 64, 3), name
        assert np.array_equal(f, frames["single"]), f"{name} differs from the single run"
    settings = [json.loads(single.with_suffix(".json").read_text()), json.loads(batch.with_suffix(".json").read_text())]
    assert all(s["warm_start"] == WARM_START and s["seed"] == seed and s["steps"] == steps for s in settings)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_oversized_request_is_refused_in_under_a_second_with_the_estimate(tmp_path, monkeypatch):
    import time

    import torch  # noqa: F401  (imports are the CLI's start-up, not the check)
    from typer.testing import CliRunner

    import pusa.devices  # noqa: F401
    import pusa.memory  # noqa: F401
    import pusa.request  # noqa: F401
    from pusa.cli import app

    monkeypatch.setenv("PUSA_MEMORY_BUDGET_GB", "0.01")  # a device with 10 MiB
    out = tmp_path / "big.mp4"
    argv = ["generate", "-p", "x", "--frames", "65", "--height", "128", "--width", "128", "--device", "cpu",
            "--out", str(out)]
    CliRunner().invoke(app, argv)  # the first call pays the CLI's lazy imports
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, argv)
    seconds = time.perf_counter() - t0
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: this request needs about") and "MiB" in line and "PUSA_MEMORY_BUDGET_GB" in line
    assert "--frames" in line and seconds < 1.0 and not any(tmp_path.iterdir())


def test_geometry_past_the_models_position_tables_is_refused_before_loading(tmp_path):
    from typer.testing import CliRunner

    from pusa.cli import app
    from pusa.mini.shipped import AUTOENCODER

    side = 64 * (8 if AUTOENCODER.is_dir() else 4) + 64  # past the mini's 64 rotary positions per axis
    result = CliRunner().invoke(app, ["generate", "-p", "x", "--height", str(side), "--out", str(tmp_path / "x.mp4")])
    assert result.exit_code == 2 and "position tables end at" in result.stderr


def test_a_plain_diffusers_wan22_folder_gets_its_native_window_before_loading(tmp_path):
    import json

    from pusa.request import ModelSpec, spec_geometry
    from tests.models.test_ti2v import MODEL_INDEX, VAE22

    for name, config in (("transformer", {"_class_name": "WanTransformer3DModel", "in_channels": 48, "out_channels": 48,
                                          "num_attention_heads": 24, "attention_head_dim": 128, "num_layers": 30,
                                          "patch_size": [1, 2, 2], "text_dim": 4096, "ffn_dim": 14336,
                                          "freq_dim": 256, "rope_max_seq_len": 1024}),
                         ("vae", VAE22 | {"_class_name": "AutoencoderKLWan"})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "config.json").write_text(json.dumps(config))
    (tmp_path / "model_index.json").write_text(json.dumps(MODEL_INDEX))
    found = spec_geometry(ModelSpec(model=tmp_path))
    assert found is not None and found[1] == (121, 704, 1280)  # TI2V-5B's own, not Wan2.1's 81×480×832


def test_the_sheet_highlights_only_the_given_frames_not_the_warm_start():
    from pusa.conditions import FrameCondition, plan_conditions, warm_start
    from pusa.request import Generation

    image = FrameCondition(np.zeros((1, 8, 8, 3), np.float32), start=0)
    conditions = warm_start([image], num_frames=17, temporal_factor=4, strength=0.9)
    assert len(conditions) == 2  # the image and the warm start of pixel frames 1-16
    gen = Generation(frames=None, plans=plan_conditions(conditions, 17, 4), schedule=None, request=Request(),
                     fps=16, temporal_factor=4)
    assert gen.conditioned == {0}
