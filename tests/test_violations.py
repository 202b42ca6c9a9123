"""Paired physics clips: identical until the break, then the impossible twin breaks its law; lossless files."""

import colorsys

import numpy as np
import pytest
import torch

from jepa_lab.data.clips import ClipDataset, cached_clips
from jepa_lab.data.violations import LAWS, VARIANTS, WALL_COLOR, ViolationConfig, make_violations, possible_events

N = 128  # 32 minimal sets (64 pairs): 4 sets per (law, variant)


@pytest.fixture(scope="module")
def pairs():
    return make_violations(N, seed=7, progress=False)


def _cell(f, law, variant):
    keep = (f["law"] == LAWS.index(law)) & (f["variant"] == VARIANTS.index(variant)) & (f["impossible"] == 0)
    return [int(i) for i in torch.nonzero(keep)[:, 0]]


def test_layout_and_factors(pairs):
    v, f = pairs
    assert v.shape == (N, 16, 32, 32, 3) and v.dtype == torch.uint8
    assert f["impossible"].tolist() == [0, 1] * (N // 2)
    assert (f["pair"][0::2] == f["pair"][1::2]).all() and (f["law"][0::2] == f["law"][1::2]).all()
    assert f["set"].tolist() == [k for k in range(N // 4) for _ in range(4)]
    counts = torch.bincount(f["law"][0::4] * 2 + f["variant"][0::4])
    assert counts.tolist() == [4] * 8  # every law x variant cell


def test_minimal_sets_balance_the_frames(pairs):
    """At every frame, the two impossible clips show the same two images as the two possible ones."""
    v, f = pairs
    for k in range(0, N, 4):
        p1, i1, p2, i2 = v[k], v[k + 1], v[k + 2], v[k + 3]
        if LAWS[f["law"][k]] == "solidity":
            continue  # the wall belongs to the first clip of a splice: balanced in motion, not in pixels
        for t in range(16):
            assert {p1[t].numpy().tobytes(), p2[t].numpy().tobytes()} == {i1[t].numpy().tobytes(),
                                                                          i2[t].numpy().tobytes()}


def test_twins_identical_before_the_break_and_different_after(pairs):
    v, f = pairs
    for i in range(0, N, 2):
        b = int(f["break_frame"][i])
        assert 3 <= b < 14
        assert torch.equal(v[i, :b], v[i + 1, :b]), f"pair {i // 2} differs before frame {b}"
        assert not torch.equal(v[i, b:], v[i + 1, b:]), f"pair {i // 2} never differs"


def test_visible_violations_show_at_the_break_frame_occluded_ones_later(pairs):
    v, f = pairs
    for i in range(0, N, 2):
        b = int(f["break_frame"][i])
        at_break = not torch.equal(v[i, b], v[i + 1, b])
        assert at_break == (VARIANTS[f["variant"][i]] == "visible"), (LAWS[f["law"][i]], b)


def _ball_pixels(frame, bg=(20, 20, 31)):
    return (np.abs(frame.numpy().astype(int) - np.array(bg)).sum(-1) > 60)


def test_permanence_ball_gone_and_constancy_colour_changed(pairs):
    v, f = pairs
    for i in _cell(f, "permanence", "visible"):
        if f["pair"][i] % 2 == 0:  # P1 / I1: the ball vanishes
            assert _ball_pixels(v[i + 1, -1]).sum() == 0 and _ball_pixels(v[i, -1]).sum() > 10
        else:  # P2 / I2: it appears
            assert _ball_pixels(v[i + 1, -1]).sum() > 10 and _ball_pixels(v[i, -1]).sum() == 0
    for i in _cell(f, "constancy", "visible"):
        def hue(frame):
            px = frame.numpy().reshape(-1, 3)[_ball_pixels(frame).reshape(-1)].mean(0) / 255
            return colorsys.rgb_to_hsv(*px)[0]
        d = abs(hue(v[i, -1]) - hue(v[i + 1, -1]))
        assert min(d, 1 - d) > 0.3


def test_solidity_the_possible_ball_never_paints_the_wall(pairs):
    v, f = pairs
    wall = np.round(np.array(WALL_COLOR) * 255).astype(int)
    for i in _cell(f, "solidity", "visible"):
        if f["pair"][i] % 2:
            continue  # P2 / I2 have no wall (I2 bounces off nothing)
        cols = np.nonzero((np.abs(v[i, 0, 0].numpy().astype(int) - wall).sum(-1) == 0))[0]
        assert len(cols) == ViolationConfig().wall_width
        on_wall = lambda clip: (np.abs(clip[:, :, cols].numpy().astype(int) - wall).sum(-1) > 3).any()
        assert not on_wall(v[i]) and on_wall(v[i + 1])  # the impossible ball crosses it


def test_deterministic_and_errors():
    a, fa = make_violations(8, seed=3, progress=False)
    b, fb = make_violations(8, seed=3, progress=False)
    assert torch.equal(a, b) and all(torch.equal(fa[k], fb[k]) for k in fa)
    assert not torch.equal(a, make_violations(8, seed=4, progress=False)[0])
    with pytest.raises(ValueError, match="multiple of 4"):
        make_violations(6)
    with pytest.raises(ValueError, match="must exceed the ball's diameter"):
        ViolationConfig(occluder_width=5)


def test_possible_events_never_break_a_law():
    clips = possible_events(40, 8, seed=1, progress=False)
    assert clips.shape == (40, 8, 32, 32, 3)
    occluded = lambda frame: (frame.numpy() == 128).all(-1).any()
    for c in clips:
        seen = [_ball_pixels(frame).sum() > 0 for frame in c]
        if seen[0]:  # a ball never vanishes in plain view
            assert all(s or occluded(frame) for s, frame in zip(seen, c))
        elif not occluded(c[0]):  # an empty scene stays empty
            assert not any(seen)
    assert sum(_ball_pixels(c[0]).sum() == 0 for c in clips) < len(clips) / 2  # most clips have a ball


def test_files_are_lossless_so_twins_stay_identical(tmp_path):
    folder = cached_clips("violations", 8, seed=5, cache_dir=tmp_path, progress=False)
    data = ClipDataset(folder)
    for p in range(4):
        (x, fx), (y, fy) = data[2 * p], data[2 * p + 1]
        b = int(fx["break_frame"])
        assert x.shape == (3, 16, 32, 32) and int(fy["impossible"]) == 1
        assert torch.equal(x[:, :b], y[:, :b])
