"""pusa.world scenes and physics: determinism, exact bouncing, gravity, presets, input checks."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from pusa.world import WorldConfig, make_clip, preset, render, sample_scene, simulate, simulate_from
from pusa.world.render import shape_area
from pusa.world.scene import walls
from pusa.world.track import track


def test_same_seed_same_clip():
    a, b = make_clip(7, config="full"), make_clip(7, config="full")
    assert np.array_equal(a.frames, b.frames)
    assert a.caption == b.caption
    assert np.array_equal(a.truth.pos, b.truth.pos)
    assert a.scene == b.scene


def test_different_seeds_differ():
    clips = [make_clip(s, num_frames=9, height=32, width=32) for s in range(10)]
    for i in range(10):
        for j in range(i + 1, 10):
            assert not np.array_equal(clips[i].frames, clips[j].frames)
    assert len({c.caption for c in clips}) == 10


def _fold(p0, v, lo, hi, num_frames):
    """Independent closed form for bouncing without gravity: fold the free path into [lo, hi]."""
    length = hi - lo
    u = (p0 - lo)[None] + v[None] * np.arange(num_frames)[:, None, None]
    m = np.mod(u, 2 * length)
    return lo + np.where(m > length, 2 * length - m, m)


def test_bouncing_matches_the_closed_form():
    for seed in range(30):
        scene = sample_scene(seed, preset("full", p_gravity=0.0))
        traj = simulate(scene, 120)
        lo, hi = walls(scene.objects, scene.aspect)
        p0 = np.array([o.pos for o in scene.objects])
        v = np.array([o.vel for o in scene.objects])
        np.testing.assert_allclose(traj.pos, _fold(p0, v, lo, hi, 120), atol=1e-12)


def test_bouncing_keeps_objects_inside_and_whole():
    for seed in range(40):
        scene = sample_scene(seed, "full")
        traj = simulate(scene, 300)
        ext = np.array([o.shape.extents() for o in scene.objects])  # [K, 4]
        assert (traj.pos[..., 0] - ext[:, 0] >= -1e-9).all() and (traj.pos[..., 0] + ext[:, 1] <= 1 + 1e-9).all()
        assert (traj.pos[..., 1] - ext[:, 2] >= -1e-9).all() and (traj.pos[..., 1] + ext[:, 3] <= 1 + 1e-9).all()
    # Rendered: an object cut by the frame edge would lose area. Measured area stays within 3% of the shape's.
    for seed in range(10):
        clip = make_clip(seed, num_frames=40)
        mass = track(clip.frames, clip.colours, clip.background).mass[:, 0]
        area = shape_area(clip.truth.shapes[0], clip.truth.radius[0])
        assert np.abs(mass / area - 1).max() < 0.03, (seed, mass.min(), area)


def test_reported_bounces_reverse_the_velocity():
    for seed in range(30):
        clip = make_clip(seed, num_frames=40, config="full")
        assert clip.truth.bounces, "40 frames at these speeds always hit a wall"
        for frame, k, wall in clip.truth.bounces:
            axis = 0 if wall in ("left", "right") else 1
            before, after = clip.truth.vel[frame - 1, k, axis], clip.truth.vel[frame, k, axis]
            assert (after > 0) if wall in ("left", "top") else (after < 0)
            if not clip.scene.gravity:
                assert before == pytest.approx(-after)


def test_gravity_accelerates_downward():
    config = preset("full", p_gravity=1.0)
    for seed in range(10):
        clip = make_clip(seed, num_frames=17, config=config)
        g_px = clip.scene.gravity * clip.truth.scale  # px / frame²
        assert clip.scene.gravity > 0
        bounced = {(f, k) for f, k, wall in clip.truth.bounces if wall in ("top", "bottom")}
        tracked = track(clip.frames, clip.colours, clip.background).centroid[..., 1]  # [T, K] y, px
        for k in range(len(clip.scene.objects)):
            seen = []
            for t in range(1, 16):
                if {(t, k), (t + 1, k)} & bounced:
                    continue
                assert clip.truth.vel[t, k, 1] - clip.truth.vel[t - 1, k, 1] == pytest.approx(g_px, rel=1e-9)
                seen.append(tracked[t + 1, k] - 2 * tracked[t, k] + tracked[t - 1, k])
            # in the frames: y's mean second difference is g (0.256 px / frame² at 64 px), not 0 (no gravity)
            assert np.mean(seen) == pytest.approx(g_px, abs=0.03)  # measured within 0.01 on 40 seeds


def test_gravity_conserves_energy_through_bounces():
    config = preset("full", p_gravity=1.0)
    for seed in range(20):
        scene = sample_scene(seed, config)
        traj = simulate(scene, 400)
        energy = 0.5 * traj.vel[..., 1] ** 2 - scene.gravity * traj.pos[..., 1]  # [T, K]
        assert np.abs(energy - energy[0]).max() < 1e-12
        assert any(w == "bottom" for _, _, w in traj.bounces)


def test_simulate_from_restarts_exactly():
    scene = sample_scene(3, "full")
    whole = simulate(scene, 30)
    mid = [replace(o, pos=tuple(whole.pos[12, k]), vel=tuple(whole.vel[12, k])) for k, o in enumerate(scene.objects)]
    rest = simulate_from(mid, 18, scene.gravity, scene.aspect)
    np.testing.assert_allclose(rest.pos, whole.pos[12:], atol=1e-12)


def test_first_frames_are_free_of_walls():
    for seed in range(60):
        clip = make_clip(seed, config="full")
        assert all(frame > 4 for frame, _, _ in clip.truth.bounces)


def test_presets():
    easy = [sample_scene(s, "easy") for s in range(40)]
    assert all(len(s.objects) == 1 and s.background.kind == "flat" and not s.gravity and not any(s.camera_vel)
               for s in easy)
    full = [sample_scene(s, "full") for s in range(60)]
    assert {len(s.objects) for s in full} == {1, 2, 3}
    assert any(s.gravity for s in full) and any(not s.gravity for s in full)
    assert any(s.background.kind == "textured" for s in full) and any(any(s.camera_vel) for s in full)
    for s in full:
        assert len({o.shape.colour for o in s.objects}) == len(s.objects)  # distinct colours


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="max_objects"):
        WorldConfig(max_objects=4)
    with pytest.raises(ValueError, match="shapes"):
        WorldConfig(shapes=("hexagon",))
    with pytest.raises(ValueError, match="unknown world preset"):
        preset("hard")
    with pytest.raises(ValueError, match="aspect"):
        render(sample_scene(0), 5, 32, 64)
    with pytest.raises(ValueError, match="num_frames"):
        simulate(sample_scene(0), 0)


def test_world_imports_no_torch():
    code = ("import sys, pusa.world, pusa.world.metrics, pusa.world.corrupt; "
            "bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)
