"""Tests for jepa_lab.data.balls (bouncing-balls videos with ground truth)."""

import numpy as np
import pytest
import torch

from jepa_lab.data.balls import BallsConfig, make_balls, simulate, videos_to_float

CFG = BallsConfig(size=24, frames=12)


@pytest.fixture(scope="module")
def balls():
    return make_balls(64, CFG, seed=3, progress=False)


def test_shapes_and_dtypes(balls):
    videos, f = balls
    B, T, S, K = 64, CFG.frames, CFG.size, CFG.num_balls[1]
    assert videos.shape == (B, T, S, S, 3) and videos.dtype == torch.uint8
    assert f["positions"].shape == f["velocities"].shape == (B, T, K, 2)
    assert f["positions"].dtype == torch.float32 and f["radius"].shape == (B, K)
    for k in ("count", "direction", "speed", "occluder", "occluder_x"):
        assert f[k].shape == (B,) and f[k].dtype == torch.long
    assert f["count"].min() >= CFG.num_balls[0] and f["count"].max() <= K
    # NaN padding exactly for absent balls
    present = torch.arange(K)[None] < f["count"][:, None]
    assert torch.equal(~torch.isnan(f["positions"][:, 0, :, 0]), present)
    assert torch.equal(~torch.isnan(f["radius"]), present)
    assert f["direction"].max() < CFG.n_direction_bins and f["speed"].max() < CFG.n_speed_bins
    x = videos_to_float(videos)
    assert x.shape == (B, 3, T, S, S) and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    torch.testing.assert_close(x[0, :, 1], videos[0, 1].permute(2, 0, 1).float() / 255)  # frame 1, [C, H, W]


def test_deterministic_by_seed():
    a, fa = make_balls(5, CFG, seed=7, progress=False)
    b, fb = make_balls(5, CFG, seed=7, progress=False)
    c, _ = make_balls(5, CFG, seed=8, progress=False)
    assert torch.equal(a, b) and not torch.equal(a, c)
    for k in fa:
        assert torch.equal(fa[k].nan_to_num(-1), fb[k].nan_to_num(-1))


def test_balls_stay_inside(balls):
    _, f = balls
    p, r = f["positions"], f["radius"][:, None, :, None]
    ok = torch.isnan(p) | ((p >= r - 1e-4) & (p <= CFG.size - r + 1e-4))
    assert ok.all()


def test_positions_follow_velocities_and_bounces(balls):
    _, f = balls
    p, v, r = f["positions"].double(), f["velocities"].double(), f["radius"].double()[:, None, :, None]
    step = p[:, 1:] - p[:, :-1]
    same = v[:, 1:] == v[:, :-1]  # no bounce on this axis in this step
    valid = ~torch.isnan(p[:, 1:])
    assert torch.allclose(step[same & valid], v[:, :-1][same & valid], atol=1e-4)
    flipped = valid & ~same
    assert flipped.any(), "expected some wall bounces in 64 videos of 12 frames"
    assert torch.allclose(v[:, 1:][flipped], -v[:, :-1][flipped])  # bounce reverses the component
    # a bounce happens only next to a wall: within one step of it
    near = ((p[:, 1:] - r).abs() <= v.abs()[:, :-1] + 1e-4) | ((CFG.size - r - p[:, 1:]).abs() <= v.abs()[:, :-1] + 1e-4)
    assert near[flipped].all()
    speed = v.norm(dim=-1)  # elastic: speed constant over time
    assert torch.allclose(speed, speed[:, :1].expand_as(speed), atol=1e-4, equal_nan=True)


def test_simulate_wall_bounce():
    pos, vel = simulate(np.array([[5.0, 5.0]]), np.array([[-2.0, 1.0]]), np.array([2.0]), 10, 4)
    # x: 5 -> 3 -> 1 reflected to 3 (wall at 2) -> 5
    np.testing.assert_allclose(pos[:, 0, 0], [5, 3, 3, 5])
    np.testing.assert_allclose(vel[:, 0, 0], [-2, -2, 2, 2])
    np.testing.assert_allclose(vel[:, 0, 1], [1, 1, 1, 1])


def test_direction_and_speed_factors_match_velocities(balls):
    _, f = balls
    v0 = f["velocities"][:, 0, 0].double()
    angle = torch.atan2(v0[:, 1], v0[:, 0]) % (2 * np.pi)
    nd = CFG.n_direction_bins
    expect = torch.floor(angle / (2 * np.pi) * nd + 0.5).long() % nd
    assert torch.equal(expect, f["direction"])
    lo, hi = CFG.speed_range
    s_bin = ((v0.norm(dim=-1) - lo) / (hi - lo) * CFG.n_speed_bins).floor().clamp(0, CFG.n_speed_bins - 1).long()
    assert torch.equal(s_bin, f["speed"])


def test_occluder_constant_over_time():
    cfg = BallsConfig(size=24, frames=8, occluder=True, occluder_width=3)
    videos, f = make_balls(8, cfg, seed=0, progress=False)
    assert (f["occluder"] == 1).all()
    col = torch.tensor([round(c * 255) for c in cfg.occluder_color], dtype=torch.uint8)
    for b in range(8):
        x0 = int(f["occluder_x"][b])
        bar = videos[b, :, :, x0:x0 + cfg.occluder_width]
        assert (bar == col).all()
    _, f0 = make_balls(8, BallsConfig(size=24, frames=8), seed=0, progress=False)
    assert (f0["occluder"] == 0).all() and (f0["occluder_x"] == -1).all()


def test_balls_visible():
    cfg = BallsConfig(size=24, frames=4, num_balls=(1, 1), radius_range=(3.0, 3.0))
    videos, f = make_balls(4, cfg, seed=1, progress=False)
    bg = torch.tensor([round(c * 255) for c in cfg.background], dtype=torch.uint8)
    for b in range(4):
        for t in range(4):
            x, y = f["positions"][b, t, 0].long()
            assert not torch.equal(videos[b, t, y, x], bg)  # ball centre differs from background


@pytest.mark.parametrize("kwargs", [
    dict(size=4), dict(frames=1), dict(num_balls=(0, 2)), dict(num_balls=(3, 2)), dict(radius_range=(3.0, 2.0)),
    dict(speed_range=(1.0, 30.0)), dict(occluder=1.5), dict(occluder_width=0), dict(background=(1, 2, 3)),
    dict(n_direction_bins=0),
])
def test_config_errors(kwargs):
    with pytest.raises(ValueError, match="expected"):
        BallsConfig(**kwargs)


def test_make_balls_errors():
    with pytest.raises(ValueError, match="n: expected"):
        make_balls(0)
    with pytest.raises(ValueError, match="cfg: expected a BallsConfig"):
        make_balls(2, cfg="nope")
    with pytest.raises(ValueError, match="videos: expected"):
        videos_to_float(torch.zeros(2, 3, 4, 4))


def test_texture_is_static_and_noise_changes_every_frame():
    from dataclasses import replace as _replace

    base = BallsConfig(size=16, frames=4, num_balls=(1, 1), radius_range=(1.0, 1.5), speed_range=(0.5, 1.0))
    plain, f = make_balls(3, base, seed=2, progress=False)
    tex, _ = make_balls(3, _replace(base, texture=0.5), seed=2, progress=False)
    noisy, _ = make_balls(3, _replace(base, noise=0.2), seed=2, progress=False)
    far = (plain == plain[:, :1, :1, :1]).all(-1).all(1)  # [B, H, W]: pixels that stay background in every frame
    diff = (tex.float() - plain.float())  # [B, T, H, W, 3]
    assert diff.abs().max() > 50  # the texture is visible
    assert torch.equal(tex[:, 0][far], tex[:, -1][far])  # ... and static over time where no ball passes
    assert not torch.equal(noisy[:, 0][far], noisy[:, -1][far])  # noise is fresh in every frame
    with pytest.raises(ValueError, match="texture"):
        BallsConfig(texture=1.5)


def test_pan_scrolls_the_texture_one_compass_step_per_frame():
    cfg = BallsConfig(size=16, frames=3, num_balls=(1, 1), radius_range=(1.0, 1.5), speed_range=(0.5, 1.0),
                      texture=0.5, pan=2)
    videos, _ = make_balls(6, cfg, seed=3, progress=False)
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if (dy, dx) != (0, 0)]
    for v in videos:  # [T, H, W, 3]
        agree = [(torch.roll(v[0], (2 * dy, 2 * dx), dims=(0, 1)) == v[1]).all(-1).float().mean() for dy, dx in steps]
        assert max(agree) > 0.85  # frame 1 is frame 0 shifted by 2 px in one of the 8 directions (balls aside)
        assert (v[1] == v[0]).all(-1).float().mean() < 0.5  # ... and not a still camera
    with pytest.raises(ValueError, match="pan: expected a whole number of pixels >= 0 \\(and texture > 0"):
        BallsConfig(pan=1)
    with pytest.raises(ValueError, match="pan"):
        BallsConfig(texture=0.5, pan=-1)
