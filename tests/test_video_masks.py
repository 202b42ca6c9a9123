"""Tests for jepa_lab.masking.multiblock3d (V-JEPA 3D multi-block and future masks)."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from jepa_lab.masking.multiblock import gather_tokens, indices_to_mask
from jepa_lab.masking.multiblock3d import (VIDEO_PRESETS, VideoMaskBatch, VideoMaskConfig, frame_of, future_mask,
                                           sample_video_masks, video_mask_fractions)

FAST = settings(max_examples=60, deadline=None)


@st.composite
def video_settings(draw):
    """Random grid 1..6 x 3..12 x 3..12, batch, blocks and scales; min_keep small enough to be feasible."""
    grid = (draw(st.integers(1, 6)), draw(st.integers(3, 12)), draw(st.integers(3, 12)))
    s_lo = draw(st.floats(0.05, 0.5))
    a_lo = draw(st.floats(0.5, 1.0))
    cfg = VideoMaskConfig(num_blocks=draw(st.integers(1, 4)),
                          spatial_scale=(s_lo, s_lo + draw(st.floats(0.0, 0.2))),
                          aspect=(a_lo, a_lo + draw(st.floats(0.0, 1.0))),
                          min_keep=draw(st.integers(0, 3)))
    return grid, draw(st.integers(1, 6)), cfg, draw(st.integers(0, 2**31 - 1))


def _sample(grid, b, cfg, seed):
    return sample_video_masks(grid, b, cfg, torch.Generator().manual_seed(seed))


@FAST
@given(video_settings())
def test_indices_valid_sorted_disjoint(s):
    grid, b, cfg, seed = s
    m = _sample(grid, b, cfg, seed)
    N = grid[0] * grid[1] * grid[2]
    assert isinstance(m, VideoMaskBatch) and m.grid == grid
    assert m.context.shape[0] == m.targets.shape[0] == b
    assert m.context.dtype == m.targets.dtype == torch.long
    for idx in (m.context, m.targets):
        assert idx.numel() == 0 or (int(idx.min()) >= 0 and int(idx.max()) < N)
        assert bool((idx.diff(dim=1) > 0).all())  # sorted, no repeats
    overlap = indices_to_mask(m.context, N) & indices_to_mask(m.targets, N)
    assert not bool(overlap.any())
    assert m.context.shape[1] >= cfg.min_keep and m.targets.shape[1] >= 1


@FAST
@given(video_settings())
def test_whole_clip_targets_share_one_footprint_in_every_frame(s):
    grid, b, cfg, seed = s
    t, h, w = grid
    m = _sample(grid, b, cfg, seed)
    tmask = indices_to_mask(m.targets, t * h * w).reshape(b, t, h * w)
    assert bool((tmask == tmask[:, :1]).all())  # same cells in every frame
    assert bool(tmask.any(dim=2).all())  # every frame has targets
    assert m.targets.shape[1] % t == 0
    assert bool((frame_of(m.targets, grid).reshape(b, t, -1) == torch.arange(t)[None, :, None]).all())


@FAST
@given(video_settings())
def test_same_seed_same_masks(s):
    grid, b, cfg, seed = s
    m1, m2 = _sample(grid, b, cfg, seed), _sample(grid, b, cfg, seed)
    assert torch.equal(m1.context, m2.context) and torch.equal(m1.targets, m2.targets)


def test_default_generator_is_deterministic_and_seeds_differ():
    a, b = sample_video_masks((4, 8, 8), 4), sample_video_masks((4, 8, 8), 4)
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)
    c = _sample((4, 8, 8), 4, VideoMaskConfig(), 1)
    d = _sample((4, 8, 8), 4, VideoMaskConfig(), 2)
    assert not (torch.equal(c.targets, d.targets) and torch.equal(c.context, d.context))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(4, 10), st.integers(4, 10), st.integers(1, 4), st.floats(0.1, 0.5),
       st.floats(0.2, 1.0), st.integers(0, 2**31 - 1))
def test_partial_temporal_extent(t, h, w, m, s, ts, seed):
    cfg = VideoMaskConfig(num_blocks=m, spatial_scale=(s, s), temporal_scale=(ts, ts), min_keep=1)
    masks = _sample((t, h, w), 3, cfg, seed)
    N = t * h * w
    assert not bool((indices_to_mask(masks.context, N) & indices_to_mask(masks.targets, N)).any())
    assert masks.context.shape[1] >= 1


def test_min_keep_respected_and_impossible_raises():
    cfg = VideoMaskConfig(num_blocks=8, spatial_scale=(0.5, 0.5), min_keep=20)
    m = _sample((2, 8, 8), 8, cfg, 0)
    assert m.context.shape[1] >= 20
    with pytest.raises(ValueError, match="min_keep=1000 is larger"):
        sample_video_masks((2, 8, 8), 2, VideoMaskConfig(min_keep=1000))
    with pytest.raises(ValueError, match="one 2x.*block"):  # a single block already leaves too few
        sample_video_masks((2, 4, 4), 2, VideoMaskConfig(spatial_scale=(1.0, 1.0), aspect=(1, 1), min_keep=1))
    with pytest.raises(ValueError, match="after 5 re-draws"):  # blocks that cover the grid only together
        cfg = VideoMaskConfig(num_blocks=8, spatial_scale=(0.5, 0.5), aspect=(1, 1), min_keep=19,
                              max_tries=5)
        sample_video_masks((1, 6, 6), 4, cfg)


def test_config_validation_and_presets():
    assert VideoMaskConfig.preset("short_range") == VideoMaskConfig(num_blocks=8, spatial_scale=(0.15, 0.15))
    lr = VideoMaskConfig.preset("long_range")
    assert (lr.num_blocks, lr.spatial_scale, lr.aspect, lr.temporal_scale) == (2, (0.7, 0.7), (0.75, 1.5),
                                                                               (1.0, 1.0))
    assert set(VIDEO_PRESETS) == {"short_range", "long_range"}
    with pytest.raises(ValueError, match="unknown preset 'x'"):
        VideoMaskConfig.preset("x")
    for bad in (dict(num_blocks=0), dict(spatial_scale=(0.0, 0.2)), dict(aspect=(2.0, 1.0)),
                dict(temporal_scale=(0.5, 1.5)), dict(min_keep=-1), dict(max_tries=True)):
        with pytest.raises(ValueError):
            VideoMaskConfig(**bad)
    with pytest.raises(ValueError, match=r"grid must be \(t, h, w\)"):
        sample_video_masks((8, 8), 2)
    with pytest.raises(ValueError, match="batch_size"):
        sample_video_masks((2, 8, 8), 0)
    with pytest.raises(ValueError, match="cfg must be a VideoMaskConfig"):
        sample_video_masks((2, 8, 8), 2, cfg={"num_blocks": 2})


@pytest.mark.parametrize("name, lo, hi", [("short_range", 0.55, 0.70), ("long_range", 0.74, 0.88)])
def test_masked_fraction_on_paper_grid(name, lo, hi):
    """Per-clip masked fraction (batch of one: no truncation) on 8x16x16; papers: ~62% / ~81%."""
    gen = torch.Generator().manual_seed(0)
    cfg = VideoMaskConfig.preset(name)
    fr = [video_mask_fractions(sample_video_masks((8, 16, 16), 1, cfg, gen))["targets"] for _ in range(100)]
    assert lo < sum(fr) / len(fr) < hi


def test_future_mask_and_gather():
    m = future_mask((4, 2, 3), 2, 3)
    assert m.grid == (4, 2, 3)
    assert torch.equal(m.context, torch.arange(18).expand(2, -1))
    assert torch.equal(m.targets, torch.arange(18, 24).expand(2, -1))
    assert bool((frame_of(m.context, m.grid) < 3).all()) and bool((frame_of(m.targets, m.grid) == 3).all())
    x = torch.randn(2, 24, 5)
    assert torch.equal(gather_tokens(x, m.targets), x[:, 18:])
    for bad in (0, 4, 2.0, True):
        with pytest.raises(ValueError, match=r"context_frames must be an int in \[1, 3\]"):
            future_mask((4, 2, 3), 2, bad)
    with pytest.raises(ValueError, match="grid"):
        future_mask((4, 0, 3), 2, 1)
