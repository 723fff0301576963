"""PusaPipeline end to end on tiny random-weight components."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pusa import conditions as C
from pusa.flow import inference_sigmas
from pusa.frames import latent_index

N_FRAMES, SIZE = 17, 32  # 5 latent frames with r = 4; 32×32 pixels
KW = dict(num_frames=N_FRAMES, height=SIZE, width=SIZE, num_inference_steps=2, max_sequence_length=16)


def _video(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, SIZE, SIZE, 3), dtype=np.uint8)


TASKS = {
    "t2v": lambda: C.t2v(),
    "i2v": lambda: C.i2v(_video(1)[0]),
    "start_end": lambda: C.start_end(_video(1)[0], _video(1, 1)[0], N_FRAMES, 0.0, 0.5),
    "keyframes": lambda: C.keyframes({0: _video(1)[0], 8: _video(1, 2)[0], 16: _video(1, 3)[0]}),
    "extend": lambda: C.extend(_video(N_FRAMES), keep=5),
    "complete": lambda: C.complete(_video(N_FRAMES)),
    "transition": lambda: C.transition(_video(N_FRAMES), _video(N_FRAMES, 1), N_FRAMES, tail=5, head=4),
    "v2v": lambda: C.v2v(_video(N_FRAMES), noise=0.5),
}
SLOTS = {"t2v": [], "i2v": [(0,)], "start_end": [(0,), (4,)], "keyframes": [(0,), (2,), (4,)],
         "extend": [(0, 1)], "complete": [(0,), (4,)], "transition": [(0, 1), (4,)], "v2v": [(0, 1, 2, 3, 4)]}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_every_task_runs_end_to_end(tiny_wan_pipe, task):
    out = tiny_wan_pipe("a red circle moves left", conditions=TASKS[task](), guidance_scale=2.0,
                        generator=torch.Generator().manual_seed(0), **KW)
    assert out.frames.shape == (1, N_FRAMES, SIZE, SIZE, 3)
    assert np.isfinite(out.frames).all() and out.frames.min() >= 0 and out.frames.max() <= 1
    assert [p.slots for p in out.plans] == SLOTS[task]


def test_clean_condition_latents_come_back_bit_identical(tiny_wan_pipe):
    conds = C.start_end(_video(1)[0], _video(1, 1)[0], N_FRAMES, 0.0, 0.5)
    out = tiny_wan_pipe("a ball", conditions=conds, output_type="latent", generator=torch.Generator().manual_seed(0), **KW)
    plans = tiny_wan_pipe.plan(conds, N_FRAMES)
    clean = tiny_wan_pipe.encode_conditions(plans, tuple(out.frames[:1].shape), SIZE, SIZE)
    assert torch.equal(out.frames[:, :, 0], clean[:, :, 0])  # m = 0: exact
    assert not torch.equal(out.frames[:, :, 4], clean[:, :, 4])  # m = 0.5: reworked
    assert out.schedule[0].tolist() == [0.0, 1.0, 1.0, 1.0, 0.5]


def test_packing_autoencoder_returns_the_condition_pixels(tiny_packing_pipe):
    """With the lossless packing autoencoder, m = 0 frames reappear exactly in pixel space."""
    first, last = _video(1)[0], _video(1, 1)[0]
    out = tiny_packing_pipe("a ball", conditions=C.start_end(first, last, N_FRAMES), output_type="np",
                            generator=torch.Generator().manual_seed(0), **KW)
    assert np.abs(out.frames[0, 0] - first / 255.0).max() < 1e-6
    # the end image's slot holds 4 pixel frames, all "held" at the image
    for p in range(13, 17):
        assert np.abs(out.frames[0, p] - last / 255.0).max() < 1e-6


def test_keyframe_lands_in_ceil_slot(tiny_packing_pipe):
    img = _video(1, 5)[0]
    for pixel in (3, 5, 12):
        plans = tiny_packing_pipe.plan(C.keyframes({pixel: img}), N_FRAMES)
        assert plans[0].slots == (latent_index(pixel, 4),)


def test_seed_reproducible_and_batch(tiny_wan_pipe):
    a = tiny_wan_pipe("a ball", generator=torch.Generator().manual_seed(3), **KW).frames
    b = tiny_wan_pipe("a ball", generator=torch.Generator().manual_seed(3), **KW).frames
    c = tiny_wan_pipe(["a ball", "a box"], generator=torch.Generator().manual_seed(3), **KW).frames
    assert np.array_equal(a, b)
    assert c.shape[0] == 2


def test_callback_sees_every_step(tiny_wan_pipe):
    seen = []
    tiny_wan_pipe("a ball", conditions=C.i2v(_video(1)[0], noise=0.2), callback=lambda d: seen.append(d["sigma"]),
                  generator=torch.Generator().manual_seed(0), **{**KW, "num_inference_steps": 3})
    assert len(seen) == 3
    assert seen[0][0].item() == pytest.approx(0.2) and seen[0][1].item() == 1.0


def test_reference_mode_tells_the_model_reference_timesteps(tiny_wan_pipe):
    told = []
    transformer = tiny_wan_pipe.transformer
    original = transformer.forward

    def spy(x, t, *args, **kwargs):
        told.append(t[0].clone())
        return original(x, t, *args, **kwargs)

    transformer.forward = spy
    try:
        tiny_wan_pipe("a ball", conditions=C.i2v(_video(1)[0], noise=0.2), timestep_mode="reference",
                      guidance_scale=1.0, generator=torch.Generator().manual_seed(0), **{**KW, "num_inference_steps": 10})
    finally:
        transformer.forward = original
    free = [t[1].item() for t in told]
    cond = [t[0].item() for t in told]
    assert free == [1000, 980, 952, 920, 884, 832, 768, 680, 556, 358]
    assert cond == [200, 196, 190, 184, 176, 166, 153, 136, 111, 71]


def test_float_mode_tells_the_model_exact_timesteps(tiny_wan_pipe):
    told = []
    transformer = tiny_wan_pipe.transformer
    original = transformer.forward
    transformer.forward = lambda x, t, *a, **k: (told.append(t[0].clone()), original(x, t, *a, **k))[1]
    try:
        tiny_wan_pipe("a ball", guidance_scale=1.0, generator=torch.Generator().manual_seed(0),
                      **{**KW, "num_inference_steps": 4})
    finally:
        transformer.forward = original
    expected = inference_sigmas(4, 5.0)[:-1] * 1000
    assert torch.allclose(torch.stack([t[0] for t in told]), expected)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(num_frames=16), r"num_frames=16 .* use 13 or 17"),
        (dict(num_inference_steps=0), r"num_inference_steps must be an integer >= 1"),
        (dict(height=20), r"height=20 must be a multiple of 16"),
        (dict(conditions=C.keyframes({17: np.zeros((SIZE, SIZE, 3), np.uint8)})), r"reaches pixel frame 17"),
        (dict(conditions=C.keyframes({1: np.zeros((4, 4, 3), np.uint8), 2: np.zeros((4, 4, 3), np.uint8)})),
         r"both land in latent slot 1"),
        (dict(shift=0.0), r"shift must be > 0"),
    ],
)
def test_bad_input_is_rejected_up_front(tiny_wan_pipe, kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_wan_pipe("a ball", **{**KW, **kwargs})


def test_save_and_load_round_trip(tiny_wan_pipe, tmp_path):
    from pusa import PusaPipeline

    tiny_wan_pipe.save_pretrained(tmp_path / "pipe")
    loaded = PusaPipeline.from_pretrained(tmp_path / "pipe")
    cond = C.i2v(_video(1)[0])
    a = tiny_wan_pipe("a ball", conditions=cond, generator=torch.Generator().manual_seed(0), **KW).frames
    b = loaded("a ball", conditions=cond, generator=torch.Generator().manual_seed(0), **KW).frames
    assert np.array_equal(a, b)


def test_bfloat16_runs(tiny_packing_pipe):
    from pusa.tiny import tiny_pipeline

    pipe = tiny_pipeline("packing").to(dtype=torch.bfloat16)
    out = pipe("a ball", conditions=C.i2v(_video(1)[0]), generator=torch.Generator().manual_seed(0), **KW)
    assert out.frames.shape == (1, N_FRAMES, SIZE, SIZE, 3) and np.isfinite(out.frames).all()


def test_warm_start_one_is_the_plain_sampler(tiny_wan_pipe):
    """m = 1 starts the free frames from pure noise on the free schedule: the same video, bit for bit."""
    kw = dict(conditions=C.i2v(_video(1)[0]), output_type="latent", guidance_scale=2.0, **KW)
    plain = tiny_wan_pipe("a ball", generator=torch.Generator().manual_seed(3), **kw).frames
    warm = tiny_wan_pipe("a ball", generator=torch.Generator().manual_seed(3), warm_start=1.0, **kw)
    assert torch.equal(warm.frames, plain)
    assert [(p.condition.label, p.slots) for p in warm.plans] == [("image", (0,)), ("warm start", (1, 2, 3, 4))]


def test_warm_start_starts_free_frames_from_the_noised_image(tiny_packing_pipe):
    """The first model call sees free latents at σ = m = 0.6: (1 − m)·image + m·noise, told t = 600; the given
    frame comes back exact and the free ones differ from the plain sampler's."""
    image = _video(1, 4)[0]
    seen = []
    transformer = tiny_packing_pipe.transformer
    original = transformer.forward
    transformer.forward = lambda x, t, *a, **k: (seen.append((x.clone(), t.clone())), original(x, t, *a, **k))[1]
    try:
        out = tiny_packing_pipe("a ball", conditions=C.i2v(image), output_type="np", guidance_scale=1.0,
                                generator=torch.Generator().manual_seed(0), warm_start=0.6, **KW)
    finally:
        transformer.forward = original
    x, t = seen[0]
    assert torch.allclose(t[0], torch.tensor([0.0, 600.0, 600.0, 600.0, 600.0]))
    clean = tiny_packing_pipe.encode_frames(torch.from_numpy(np.repeat(image[None], N_FRAMES, 0)).float() / 255)
    noise = torch.randn((1, *x.shape[1:]), generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(x[:, :, 1:].float(), 0.4 * clean[:, :, 1:] + 0.6 * noise[:, :, 1:], atol=1e-5, rtol=0)
    assert np.abs(out.frames[0, 0] - image / 255.0).max() < 1e-6
    plain = tiny_packing_pipe("a ball", conditions=C.i2v(image), output_type="np", guidance_scale=1.0,
                              generator=torch.Generator().manual_seed(0), **KW).frames
    assert np.abs(out.frames[0, 1:] - plain[0, 1:]).max() > 1e-3


def test_warm_start_rejects_a_bad_strength(tiny_wan_pipe):
    with pytest.raises(ValueError, match="warm start strength"):
        tiny_wan_pipe("a ball", conditions=C.i2v(_video(1)[0]), warm_start=0.0, **KW)
