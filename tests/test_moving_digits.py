"""Tests for jepa_lab.data.moving_digits (moving-digits videos with ground truth)."""

import numpy as np
import pytest
import torch

from jepa_lab.data.moving_digits import DigitsConfig, load_glyphs, make_digits
from jepa_lab.data.balls import videos_to_float

CFG = DigitsConfig(size=24, frames=12, num_digits=(1, 3), digit_size=10)


@pytest.fixture(scope="module")
def digits():
    return make_digits(48, CFG, seed=3, progress=False)


def test_shapes_and_dtypes(digits):
    videos, f = digits
    B, T, S, K = 48, CFG.frames, CFG.size, CFG.num_digits[1]
    assert videos.shape == (B, T, S, S, 3) and videos.dtype == torch.uint8
    assert f["positions"].shape == f["velocities"].shape == (B, T, K, 2)
    assert f["positions"].dtype == f["velocities"].dtype == torch.float32
    for k in ("label", "glyph"):
        assert f[k].shape == (B, K) and f[k].dtype == torch.long
    for k in ("count", "direction", "speed"):
        assert f[k].shape == (B,) and f[k].dtype == torch.long
    assert f["count"].min() >= CFG.num_digits[0] and f["count"].max() <= K
    assert f["direction"].max() < CFG.n_direction_bins and f["speed"].max() < CFG.n_speed_bins
    x = videos_to_float(videos)
    assert x.shape == (B, 3, T, S, S) and 0 <= x.min() and x.max() <= 1


def test_labels_and_count_match_presence(digits):
    _, f = digits
    K = CFG.num_digits[1]
    present = torch.arange(K)[None] < f["count"][:, None]
    assert torch.equal(~torch.isnan(f["positions"][:, 0, :, 0]), present)
    assert torch.equal(~torch.isnan(f["velocities"]).all(-1).all(1), present)
    assert torch.equal(f["label"] >= 0, present) and f["label"].max() <= 9
    assert torch.equal(f["glyph"] >= 0, present)
    _, targets = load_glyphs()
    assert torch.equal(f["label"][present], torch.from_numpy(targets)[f["glyph"][present]])
    assert set(f["label"][present].tolist()) == set(range(10))  # 48 videos: every class appears


def test_deterministic_by_seed():
    a, fa = make_digits(4, CFG, seed=7, progress=False)
    b, fb = make_digits(4, CFG, seed=7, progress=False)
    c, _ = make_digits(4, CFG, seed=8, progress=False)
    assert torch.equal(a, b) and not torch.equal(a, c)
    for k in fa:
        assert torch.equal(fa[k].nan_to_num(-1), fb[k].nan_to_num(-1))


def test_positions_follow_velocities_and_bounces(digits):
    _, f = digits
    p, v, half = f["positions"].double(), f["velocities"].double(), CFG.digit_size / 2
    valid = ~torch.isnan(p)
    assert ((p[valid] >= half - 1e-4) & (p[valid] <= CFG.size - half + 1e-4)).all()  # box inside the frame
    step = p[:, 1:] - p[:, :-1]
    same = v[:, 1:] == v[:, :-1]  # no bounce on this axis in this step
    ok = same & valid[:, 1:]
    assert torch.allclose(step[ok], v[:, :-1][ok], atol=1e-4)
    flipped = valid[:, 1:] & ~same
    assert flipped.any(), "expected some wall bounces"
    assert torch.allclose(v[:, 1:][flipped], -v[:, :-1][flipped])
    speed = v.norm(dim=-1)
    assert torch.allclose(speed, speed[:, :1].expand_as(speed), atol=1e-4, equal_nan=True)


def test_direction_and_speed_factors(digits):
    _, f = digits
    v0 = f["velocities"][:, 0, 0].double()
    angle = torch.atan2(v0[:, 1], v0[:, 0]) % (2 * np.pi)
    nd = CFG.n_direction_bins
    assert torch.equal(torch.floor(angle / (2 * np.pi) * nd + 0.5).long() % nd, f["direction"])
    lo, hi = CFG.speed_range
    expect = ((v0.norm(dim=-1) - lo) / (hi - lo) * CFG.n_speed_bins).floor().clamp(0, CFG.n_speed_bins - 1).long()
    assert torch.equal(expect, f["speed"])


def test_digit_is_drawn_where_it_is():
    cfg = DigitsConfig(size=24, frames=3, num_digits=(1, 1), digit_size=12, background=(0.0, 0.0, 0.0))
    videos, f = make_digits(6, cfg, seed=0, progress=False)
    for b in range(6):
        frame = videos[b, 0].float().sum(-1)  # [H, W]
        assert frame.sum() > 0
        ys, xs = torch.nonzero(frame > 0, as_tuple=True)
        cx, cy = f["positions"][b, 0, 0].tolist()
        # every lit pixel lies in the digit's box (plus the half glyph-pixel fade of the bilinear upscale)
        assert (xs + 0.5 - cx).abs().max() <= 6 + 1 and (ys + 0.5 - cy).abs().max() <= 6 + 1


def test_classes_restrict_labels():
    _, f = make_digits(20, DigitsConfig(size=16, frames=2, digit_size=8, classes=(3, 7)), seed=1, progress=False)
    assert set(f["label"][f["label"] >= 0].tolist()) <= {3, 7}


@pytest.mark.parametrize("kwargs,match", [
    ({"size": 4}, "size: expected"),
    ({"frames": 1}, "frames: expected"),
    ({"num_digits": (2, 1)}, "num_digits: expected"),
    ({"num_digits": (0, 2)}, "num_digits: expected"),
    ({"digit_size": 31}, "digit_size: expected"),
    ({"digit_size": 10.5}, "digit_size: expected"),
    ({"speed_range": (1.0, 25.0)}, "speed_range: expected high < size - digit_size"),
    ({"speed_range": (2.0, 1.0)}, "speed_range: expected"),
    ({"classes": (1, 10)}, "classes: expected"),
    ({"classes": ()}, "classes: expected"),
    ({"background": (0.0, 0.0)}, "background: expected"),
    ({"saturation": 1.5}, "saturation: expected"),
    ({"n_speed_bins": 0}, "n_speed_bins: expected"),
])
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DigitsConfig(**kwargs)


def test_make_digits_argument_errors():
    with pytest.raises(ValueError, match="n: expected"):
        make_digits(0, progress=False)
    with pytest.raises(ValueError, match="cfg: expected a DigitsConfig"):
        make_digits(2, cfg="digits", progress=False)
