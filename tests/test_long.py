"""Long videos (pusa.long): window planning, where conditions land, latent-space overlap, the single-window
equivalence with the pipeline, the request path and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from pusa import conditions as C
from pusa.flow import inference_sigmas
from pusa.frames import latent_index, pixel_range
from pusa.long import (
    adain,
    check_prompts,
    default_lag,
    finish_rows,
    long_video,
    pixel_window_of,
    plan_long,
    plan_staggered,
    plan_windows,
    prompt_for,
    read_prompts,
    staggered_matrix,
)
from pusa.request import ModelRules, Request, resolve, run
from pusa.sampling import frame_multipliers, schedule_matrix

# a pipeline config with Pusa-mini's geometry, all that resolve() reads
MINI_GEOMETRY = type("Cfg", (), {"default_num_frames": 17, "default_height": 64, "default_width": 64})

KW = {"num_inference_steps": 2, "guidance_scale": 3.0, "height": 32, "width": 32}


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- planning ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", [1, 2, 3, 5, 6, 9, 17, 21, 41, 100])
@pytest.mark.parametrize("w, k", [(1, 0), (3, 1), (5, 1), (5, 2), (5, 4), (21, 3), (21, 5)])
def test_windows_cover_every_latent_exactly_once(f, w, k):
    spans = plan_windows(f, w, k)
    new = []
    prev = 0
    for i, (a, b) in enumerate(spans):
        assert b - a == min(w, f)  # every window is full length (the last one moves back)
        assert b <= f and a >= 0
        if i:
            assert a <= prev and prev - a >= k  # overlaps by at least K latents
            assert b > prev  # and adds new ones
        new += list(range(prev if i else a, b))
        prev = b
    assert new == list(range(f))  # every latent new exactly once, no tail dropped
    assert spans[-1][1] == f


def test_windows_refuse_impossible_geometry():
    for args in ((10, 5, 5), (10, 5, 7), (10, 0, 0), (0, 5, 1), (10, 5, -1)):
        with pytest.raises(ValueError):
            plan_windows(*args)


def test_staggered_matrix_lags_each_frame_and_lag_zero_is_the_plain_matrix():
    sigmas = inference_sigmas(4, 5.0)
    m = frame_multipliers(4, {0: 0.0})
    assert torch.equal(staggered_matrix(sigmas, m, 0), schedule_matrix(sigmas, 4, {0: 0.0}))
    G = staggered_matrix(sigmas, m, 2)
    assert G.shape == (4 + 2 * 2 + 1, 4)
    assert torch.equal(G[:, 0], torch.zeros(9))  # the clean condition stays clean
    for f in (2, 3):  # frame f follows frame f-1 two steps later
        assert torch.equal(G[2:, f], G[:-2, f - 1])


@pytest.mark.parametrize("f, w, k, steps", [(11, 3, 1, 3), (41, 5, 1, 10), (41, 5, 2, 10), (21, 5, 3, 4), (4, 5, 1, 3)])
@pytest.mark.parametrize("cond", [{}, {0: 0.0}, {0: 0.0, 7: 0.0}])
def test_staggered_window_slides_with_nothing_outside_it_moving(f, w, k, steps, cond):
    cond = {j: m for j, m in cond.items() if j < f}
    mults = frame_multipliers(f, cond)
    lag = default_lag(steps, w, k)
    G = staggered_matrix(inference_sigmas(steps, 5.0), mults, lag)
    done = finish_rows(mults, lag, steps)
    segments = plan_staggered(mults, w, k, lag, steps)
    row = 0
    for a, b, r0, r1 in segments:
        assert b - a == min(w, f) and r0 == row and r1 > r0
        outside = [g for g in range(f) if not a <= g < b]
        for g in outside:  # frames outside the window do not change during its rows
            assert torch.equal(G[r0:r1 + 1, g], G[r0, g].expand(r1 - r0 + 1))
        for g in range(a):  # and the ones it left behind are finished
            assert done[g] <= r0
        row = r1
    assert row == G.shape[0] - 1  # every row runs: every frame ends clean
    assert torch.all(G[-1] == 0)


def test_staggered_lag_too_small_is_refused():
    with pytest.raises(ValueError, match="lag 2: too small .* use 3 or more"):
        plan_staggered(frame_multipliers(20, {}), 5, 1, 2, 10)


@pytest.mark.parametrize("schedule", ["chained", "staggered"])
def test_a_keyframe_at_any_pixel_frame_lands_in_the_window_and_slot_that_hold_it(schedule):
    img = torch.zeros(4, 4, 3)
    n = 81
    for p in range(n):
        plan = plan_long(C.keyframes({p: img}), n, 4, window=17, overlap=4, schedule=schedule)
        j = latent_index(p, 4)
        assert plan.plans[0].slots == (j,)
        w, slot = pixel_window_of(p, plan)
        win = plan.windows[w]
        assert j in win.new and slot == j - win.start and 0 in win.conditions
        assert f"window {w} slot {slot}" in plan.lines()[-1]


def test_prompts_pick_the_text_most_new_frames_ask_for():
    prompts = check_prompts([(40, 80, "b"), (0, 20, "a")], 81)
    assert prompts == [(0, 20, "a"), (40, 80, "b")]
    assert prompt_for(range(17), prompts, "main") == "a"
    assert prompt_for(range(17, 33), prompts, "main") == "main"  # 4 frames "a", 12 uncovered
    assert prompt_for(range(13, 29), [(0, 20, "a")], "main") == "a"  # 8 and 8: the earlier text
    plan = plan_long([], 81, 4, 17, 4, prompt="main", prompts=prompts)
    assert [w.prompt for w in plan.windows][:2] == ["a", ""]  # "" = the main prompt
    for bad, message in ((([(0, 81, "x")]), "outside the video's frames 0-80"),
                         (([(5, 2, "x")]), "runs backwards"),
                         (([(0, 10, "x"), (10, 20, "y")]), "ranges 0-10 and 10-20 overlap")):
        with pytest.raises(ValueError, match=message):
            check_prompts(bad, 81)


def test_read_prompts_file(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("# a comment\n0-40: a red disc rolls left\n\n 41 - 80 :a blue square falls \n")
    assert read_prompts(path) == ((0, 40, "a red disc rolls left"), (41, 80, "a blue square falls"))
    path.write_text("0-40 a red disc\n")
    with pytest.raises(ValueError, match="line 1: expected 'START-END: text'"):
        read_prompts(path)
    with pytest.raises(FileNotFoundError):
        read_prompts(tmp_path / "missing.txt")


def test_adain_matches_the_reference_statistics():
    x = torch.randn(1, 3, 4, 5, 5) * 2 + 1
    ref = torch.randn(1, 3, 4, 5, 5) * 0.5 - 1
    out = adain(x, ref.mean(dim=(2, 3, 4), keepdim=True), ref.std(dim=(2, 3, 4), keepdim=True), 1.0)
    assert torch.allclose(out.mean(dim=(2, 3, 4)), ref.mean(dim=(2, 3, 4)), atol=1e-5)
    assert torch.allclose(out.std(dim=(2, 3, 4)), ref.std(dim=(2, 3, 4)), atol=1e-5)
    assert torch.equal(adain(x, ref.mean(), ref.std(), 0.0), x)


# --- the runner on tiny components ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["wan", "packing"])
def test_one_window_is_the_pipeline_bit_for_bit(kind, tiny_wan_pipe, tiny_packing_pipe):
    pipe = tiny_wan_pipe if kind == "wan" else tiny_packing_pipe
    img = torch.rand(32, 32, 3)
    for conds, warm in (([], None), (C.i2v(img), 0.9), (C.keyframes({0: img, 6: img}, 0.3), None)):
        ref = pipe("a red circle", conditions=conds, num_frames=9, generator=_gen(), warm_start=warm, **KW)
        out = long_video(pipe, "a red circle", conditions=conds, num_frames=9, window=9, generator=_gen(),
                         warm_start=warm, **KW)
        assert np.array_equal(ref.frames[0], out.frames)
        assert len(out.plan.windows) == 1 and torch.equal(out.schedule, ref.schedule)


def test_the_first_window_of_a_long_video_is_the_short_video(tiny_packing_pipe):
    pipe, img = tiny_packing_pipe, torch.rand(32, 32, 3)
    short = pipe("a red circle", conditions=C.i2v(img), num_frames=9, generator=_gen(), warm_start=0.9,
                 output_type="latent", **KW).frames
    out = long_video(pipe, "a red circle", conditions=C.i2v(img), num_frames=41, window=9, overlap=4,
                     generator=_gen(), warm_start=0.9, **KW)
    assert torch.equal(out.latents[:, :, :3], short)


def test_overlap_stays_in_latent_space_and_the_video_is_decoded_once(tiny_packing_pipe, monkeypatch):
    pipe, img = tiny_packing_pipe, torch.rand(32, 32, 3)
    calls = {"encode": 0, "decode": 0}
    for name in calls:
        original = getattr(pipe.vae, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(*args, **kwargs)

        monkeypatch.setattr(pipe.vae, name, counted)
    finals = {}

    def callback(info):
        if info["window_i"] == info["window_steps"] - 1:
            finals[info["window"]] = (info["window_span"], info["x"].clone())
        if info["window"] and calls["decode"]:
            raise AssertionError("decoded inside the loop")

    out = long_video(pipe, "a red circle", conditions=C.i2v(img), num_frames=41, window=9, overlap=4,
                     generator=_gen(), callback=callback, **KW)
    # the image once; the video after the loop, in chunks of window − 1 latents (11 latents in chunks of 2, each
    # after one latent of context) since the packing autoencoder decodes each latent alone; nothing was decoded
    # inside the loop (the callback checks)
    assert calls == {"encode": 1, "decode": 6}
    assert len(finals) == len(out.plan.windows) == 5
    for w in range(1, 5):  # each window starts from the previous window's latents, kept exactly (m = 0)
        (a, _), x = finals[w]
        (_, b_prev), x_prev = finals[w - 1]
        over = b_prev - a
        assert over >= 1 and torch.equal(x[:, :, :over], x_prev[:, :, -over:])
    assert out.frames.shape == (41, 32, 32, 3)


@pytest.mark.parametrize("schedule", ["chained", "staggered"])
def test_a_clean_keyframe_anywhere_is_kept_where_it_lands(schedule, tiny_packing_pipe):
    """The packing autoencoder is lossless: a keyframe at m = 0 comes back exactly over its latent's frames."""
    pipe, n = tiny_packing_pipe, 41
    for p in (0, 3, 9, 22, 40):
        img = torch.rand(32, 32, 3)
        out = long_video(pipe, "a red circle", conditions=C.keyframes({p: img}), num_frames=n, window=9, overlap=4,
                         schedule=schedule, generator=_gen(p), **KW)
        for t in pixel_range(latent_index(p, 4), 4):
            np.testing.assert_allclose(out.frames[t], img.numpy(), atol=1e-6)


def test_callback_counts_steps_over_all_windows(tiny_packing_pipe):
    seen = []
    for schedule in ("chained", "staggered"):
        seen.clear()
        out = long_video(tiny_packing_pipe, "a red circle", num_frames=41, window=9, overlap=4, schedule=schedule,
                         generator=_gen(), callback=lambda i: seen.append((i["i"], i["num_steps"], i["sigma_next"])),
                         **KW)
        total = seen[0][1]
        assert [s[0] for s in seen] == list(range(total)) and all(s[1] == total for s in seen)
        assert all(len(s[2]) == 11 for s in seen) and torch.all(seen[-1][2] == 0)
        if schedule == "chained":
            assert total == len(out.plan.windows) * 2


def test_prompts_are_encoded_once_each(tiny_packing_pipe, monkeypatch):
    pipe, texts = tiny_packing_pipe, []
    original = pipe.encode_prompt
    monkeypatch.setattr(pipe, "encode_prompt", lambda p, *a, **k: texts.append(p[0]) or original(p, *a, **k))
    long_video(pipe, "main", num_frames=41, window=9, overlap=4, prompts=[(0, 20, "a red disc"), (21, 40, "blue")],
               generator=_gen(), **KW)
    assert sorted(texts) == sorted(["a red disc", "", "blue"])  # the negative prompt "" for CFG


# --- the request path ------------------------------------------------------------------------------------------


def test_request_path_dispatches_and_one_window_is_unchanged(tiny_packing_pipe):
    pipe, img = tiny_packing_pipe, torch.rand(32, 32, 3)
    base = {"prompt": "a red circle", "conditions": tuple(C.i2v(img)), "seed": 3, "steps": 2}
    plain = resolve(Request(**base), pipe.config)
    assert plain.window is None  # within the model's window: untouched
    windowed = resolve(Request(**base, window=9), pipe.config)
    assert (windowed.window, windowed.overlap, windowed.schedule) == (9, 4, "chained")
    assert np.array_equal(run(pipe, plain).frames, run(pipe, windowed).frames)
    long = resolve(Request(**base, num_frames=33), pipe.config)
    assert long.window == 9 and long.overlap == 4
    gen = run(pipe, long)
    assert gen.frames.shape == (33, 32, 32, 3) and gen.settings()["windows"][0].startswith("4 windows")


def test_long_requests_take_the_conditioned_rules():
    cfg = MINI_GEOMETRY
    rules = ModelRules(t2v_vta_strength=0.0, warm_start=0.9)
    t2v = resolve(Request(seed=0, num_frames=161), cfg, rules)
    assert t2v.vta_strength == 1.0 and t2v.warm_start == 0.9  # later windows are conditioned on their overlap
    staggered = resolve(Request(seed=0, num_frames=161, schedule="staggered"), cfg, rules)
    assert staggered.warm_start is None and staggered.lag == 3  # ⌈10 / (5 − 1)⌉
    short = resolve(Request(seed=0), cfg, rules)
    assert short.vta_strength == 0.0 and short.window is None


def test_the_models_overlap_noise_rule_fills_only_a_chained_request_that_does_not_say():
    cfg = MINI_GEOMETRY
    rules = ModelRules(warm_start=0.9, overlap_noise=0.2)
    assert resolve(Request(seed=0, num_frames=161), cfg, rules).overlap_noise == 0.2
    assert resolve(Request(seed=0, num_frames=161, overlap_noise=0.0), cfg, rules).overlap_noise == 0.0  # said
    assert resolve(Request(seed=0, num_frames=161, schedule="staggered"), cfg, rules).overlap_noise == 0.0
    assert resolve(Request(seed=0, num_frames=161), cfg, ModelRules()).overlap_noise == 0.0  # other models


def test_the_embedded_model_runs_long_videos_with_its_measured_overlap_noise():
    from pusa.mini.shipped import LONG_OVERLAP_NOISE
    from pusa.request import ModelSpec, rules_for

    assert rules_for(ModelSpec()).overlap_noise == LONG_OVERLAP_NOISE
    cfg = MINI_GEOMETRY
    expected = 0.0 if LONG_OVERLAP_NOISE is None else LONG_OVERLAP_NOISE
    assert resolve(Request(seed=0, num_frames=161), cfg, rules_for(ModelSpec())).overlap_noise == expected


@pytest.mark.parametrize("fields, message", [
    ({"window": 17, "overlap": 17}, "overlap 17: must be smaller than the window (17 frames)"),
    ({"window": 17, "overlap": 6}, "overlap 6: must be whole latents, a multiple of 4; use 4 or 8"),
    ({"window": 18}, "window 18: not 4·k+1 for this autoencoder; use 17 or 21"),
    ({"overlap": 0}, "overlap 0: windows must share at least one latent frame"),
    ({"num_frames": 160}, "use 157 or 161"),
    ({"prompts": ((150, 170, "x"),)}, "prompts: range 150-170 is outside the video's frames 0-160"),
    ({"schedule": "loop"}, "schedule 'loop': use chained or staggered"),
    ({"schedule": "staggered", "lag": 1}, "lag 1: too small"),
    ({"schedule": "staggered", "timestep_mode": "reference"}, "needs 'float'"),
    ({"lag": 3}, "lag: only the staggered schedule has one"),
    ({"overlap_noise": 1.5}, "overlap noise 1.5: must be a finite number in [0, 1]"),
])
def test_bad_long_requests_get_one_line(fields, message):
    cfg = MINI_GEOMETRY
    with pytest.raises(ValueError) as err:
        resolve(Request(seed=0, **{"num_frames": 161, **fields}), cfg)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_preflight_checks_the_window_not_the_whole_length():
    from pusa.request import ModelSpec, preflight

    assert preflight(ModelSpec(), Request(num_frames=401)) is not None  # past Pusa-mini's 253-frame tables
    with pytest.raises(ValueError, match="position tables end at 253 frames"):
        preflight(ModelSpec(), Request(num_frames=401, window=257))


# --- the command line ------------------------------------------------------------------------------------------

runner = CliRunner()


def _generate(model_dir, out, *args):
    from pusa.cli import app

    return runner.invoke(app, ["generate", "--model", str(model_dir), "--prompt", "a red square", "--steps", "2",
                               "--seed", "0", "--out", str(out), *args])


@pytest.mark.parametrize("schedule", ["chained", "staggered"])
def test_cli_long_video_with_prompts_file(schedule, model_dir, tmp_path):
    from pusa.io import read_video

    prompts = tmp_path / "prompts.txt"
    prompts.write_text("0-12: a red circle moves left\n13-20: a blue square falls\n")
    out = tmp_path / "long.mp4"
    result = _generate(model_dir, out, "--frames", "21", "--window", "9", "--overlap", "4", "--schedule", schedule,
                       "--prompts", str(prompts))
    assert result.exit_code == 0, result.output
    assert read_video(out)[0].shape[0] == 21
    settings = json.loads(out.with_suffix(".json").read_text())
    assert settings["window"] == 9 and settings["schedule"] == schedule and settings["windows"][0].endswith(
        f"{schedule} schedule" + (", lag 1" if schedule == "staggered" else ""))
    assert "window 0:" in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--frames", "21", "--window", "9", "--overlap", "9"], "--overlap 9: must be smaller than the window (9 frames)"),
    (["--frames", "22"], "use 21 or 25"),
    (["--frames", "21", "--window", "10"], "--window 10: not 4·k+1"),
    (["--frames", "21", "--schedule", "loop"], "--schedule 'loop': use chained or staggered"),
    (["--frames", "21", "--overlap-noise", "2"], "--overlap-noise 2.0: must be a finite number in [0, 1]"),
    (["--frames", "21", "--prompts", "{tmp}/outside.txt"], "prompts: range 0-40 is outside the video's frames 0-20"),
    (["--frames", "21", "--prompts", "{tmp}/bad.txt"], "line 1: expected 'START-END: text'"),
    (["--frames", "21", "--prompts", "{tmp}/missing.txt"], "missing.txt: file not found"),
])
def test_cli_bad_long_input_one_line_exit_2(args, message, model_dir, tmp_path):
    (tmp_path / "outside.txt").write_text("0-40: a red circle\n")
    (tmp_path / "bad.txt").write_text("a red circle\n")
    out = tmp_path / "bad.mp4"
    result = _generate(model_dir, out, *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and message in lines[-1], result.stderr
    assert not out.exists()


def test_web_app_studio_runs_a_long_video_with_a_timeline_over_every_latent(tiny_packing_pipe, tmp_path):
    """The web app goes through the same request path: more frames than the window is a long video, and the
    sampler's σ rows cover every latent of it (what the timeline strip draws)."""
    from pusa.io import read_video
    from pusa.ui.studio import Studio
    from pusa.ui.timeline import noise_levels, slots

    studio = Studio(tiny_packing_pipe, tmp_path / "out")
    settings = {"prompt": "a red circle", "negative_prompt": "", "seed": 7, "preset": "default", "steps": 2,
                "cfg": 3.0, "shift": 5.0, "lora_strength": 1.0, "frames": 21, "height": 32, "width": 32,
                "warm_start": 1.0}
    job = studio.prepare("t2v", settings, {})
    planned = slots(job.plans, 21, studio.temporal_factor)
    rows = []
    result = studio.run(job, callback=lambda info: rows.append(noise_levels(planned, info["sigma_next"].tolist())))
    assert read_video(result.video)[0].shape[0] == 21 and len(rows) == 3 * 2  # 3 windows of 2 steps
    assert "--frames 21" in job.command


def test_chunked_decode_is_exact_for_the_learned_mini_autoencoder():
    """Pusa-mini 2's autoencoder decodes each latent alone, so pusa.long decodes long videos in window-sized
    chunks (bounded memory) and gets exactly one decode's frames."""
    from types import SimpleNamespace

    from pusa.long import decode
    from pusa.models.causal_autoencoder import CausalConvAutoencoder

    torch.manual_seed(0)
    vae = CausalConvAutoencoder(spatial_factor=2, widths=(4, 8), latent_channels=3).eval()
    assert vae.decodes_each_latent_alone
    pipe = SimpleNamespace(temporal_factor=4,
                           decode_latents=lambda z: vae.decode(z).sample.permute(0, 2, 3, 4, 1))
    z = torch.randn(1, 3, 11, 4, 4)
    with torch.no_grad():
        whole = decode(pipe, z)
        chunked = decode(pipe, z, chunk=5)
        lean = decode(pipe, z, chunk=4, context=1)  # what pusa.long uses for such autoencoders
    assert whole.shape == chunked.shape == lean.shape == (41, 8, 8, 3)
    np.testing.assert_allclose(chunked, whole, atol=1e-5)
    np.testing.assert_allclose(lean, whole, atol=1e-5)
