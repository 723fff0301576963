"""experiments/samples.py: the cells' guidance, and held-out losses with given frames."""

import samples


def test_a_cell_guidance_overrides_the_experiment_scale(monkeypatch):
    import pusa.mini.evaluate as ev

    seen = []
    monkeypatch.setattr(samples, "sample", lambda pipe, cell, clip, i, guidance, cache: seen.append(guidance))
    monkeypatch.setattr(ev, "heldout_clip", lambda *a: None)
    monkeypatch.setattr(ev, "score", lambda task, video, clip: {"m": 0.0})
    pipe = type("Pipe", (), {"config": type("Config", (), {"default_num_frames": 17, "default_height": 64})})()
    cells = [samples.Cell("a", "t2v"), samples.Cell("b", "t2v", guidance=5.0), samples.Cell("c", "t2v", guidance=1.0)]
    samples.run_cells(pipe, cells, 2, 3.0)
    assert seen == [3.0, 5.0, 1.0] * 2


def test_losses_at_sigmas_given_frames_are_clean_context_and_carry_no_loss():
    import torch

    from pusa.flow import fafm_loss, interpolate
    from pusa.mini import default_pipeline
    from pusa.mini.evaluate import heldout_clip

    pipe = default_pipeline(0.0)
    clip = heldout_clip(0)
    got = samples.losses_at_sigmas(pipe, clip, 3, (0.9,), {"c": clip.caption}, given=(0,))["c"]["loss@σ=0.9"]
    plain = samples.losses_at_sigmas(pipe, clip, 3, (0.9,), {"c": clip.caption})["c"]["loss@σ=0.9"]
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
