"""Tests for jepa_lab.masking.multiblock (I-JEPA multi-block masking)."""
import math
import time

import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from jepa_lab.masking.multiblock import (PRESETS, MaskBatch, MultiBlockConfig, gather_tokens, indices_to_mask,
                                         mask_fractions, sample_multiblock)

FAST = settings(max_examples=60, deadline=None)


@st.composite
def mask_settings(draw):
    """Random grid 4..16 x 4..16, batch, M and scales; mostly feasible."""
    h, w = draw(st.integers(4, 16)), draw(st.integers(4, 16))
    t_lo = draw(st.floats(0.03, 0.2))
    t_hi = t_lo + draw(st.floats(0.0, 0.08))
    a_lo = draw(st.floats(0.5, 1.0))
    a_hi = a_lo + draw(st.floats(0.0, 1.0))
    c_lo = draw(st.floats(0.7, 1.0))
    cfg = MultiBlockConfig(
        num_targets=draw(st.integers(1, 4)),
        target_scale=(t_lo, t_hi),
        target_aspect=(a_lo, a_hi),
        context_scale=(c_lo, draw(st.floats(c_lo, 1.0))),
        min_keep=draw(st.integers(0, 6)),
    )
    return (h, w), draw(st.integers(1, 8)), cfg, draw(st.integers(0, 2**31 - 1))


def sample_or_skip(grid, batch, cfg, seed):
    """Sample; an infeasible draw must raise the documented ValueError naming the grid."""
    try:
        return sample_multiblock(grid, batch, cfg, torch.Generator().manual_seed(seed))
    except ValueError as err:
        assert f"{grid[0]}x{grid[1]} grid" in str(err)
        assume(False)


def block_dims(targets, w):
    """Bounding-box (bh, bw) per block: LongTensors [B, M]."""
    rows, cols = targets // w, targets % w
    bh = rows.amax(-1) - rows.amin(-1) + 1
    bw = cols.amax(-1) - cols.amin(-1) + 1
    return bh, bw, rows.amin(-1), cols.amin(-1)


# ---------------------------------------------------------------- properties


@FAST
@given(mask_settings())
def test_shapes_dtypes_and_sorted(args):
    grid, B, cfg, seed = args
    m = sample_or_skip(grid, B, cfg, seed)
    assert isinstance(m, MaskBatch) and m.grid == grid
    assert m.context.dtype == torch.long and m.targets.dtype == torch.long
    assert m.context.dim() == 2 and m.context.shape[0] == B
    assert m.targets.dim() == 3 and m.targets.shape[:2] == (B, cfg.num_targets)
    assert (m.context[:, 1:] > m.context[:, :-1]).all()  # sorted, no repeats
    assert (m.targets[..., 1:] > m.targets[..., :-1]).all()


@FAST
@given(mask_settings())
def test_targets_are_in_grid_rectangles_of_one_size(args):
    (h, w), B, cfg, seed = args
    m = sample_or_skip((h, w), B, cfg, seed)
    assert m.targets.min() >= 0 and m.targets.max() < h * w
    bh, bw, r0, c0 = block_dims(m.targets, w)
    nt = m.targets.shape[-1]
    assert (bh * bw == nt).all()  # bounding box holds exactly Nt tokens: a full rectangle
    assert (bh == bh.flatten()[0]).all() and (bw == bw.flatten()[0]).all()  # one size
    rows, cols = torch.arange(int(bh.flatten()[0])), torch.arange(int(bw.flatten()[0]))
    offs = (rows[:, None] * w + cols).flatten()
    assert torch.equal(m.targets, (r0 * w + c0)[..., None] + offs)


@FAST
@given(mask_settings())
def test_context_disjoint_from_targets_and_keeps_min(args):
    (h, w), B, cfg, seed = args
    m = sample_or_skip((h, w), B, cfg, seed)
    assert m.context.shape[1] >= cfg.min_keep
    assert ((m.context >= 0) & (m.context < h * w)).all()
    ctx = indices_to_mask(m.context, h * w)
    union = indices_to_mask(m.targets.reshape(B, -1), h * w)
    assert not (ctx & union).any()


@FAST
@given(st.integers(4, 16), st.integers(4, 16), st.floats(0.05, 0.3), st.floats(0.5, 2.0),
       st.integers(0, 1000))
def test_block_size_follows_formula(h, w, scale, aspect, seed):
    cfg = MultiBlockConfig(num_targets=2, target_scale=(scale, scale),
                           target_aspect=(aspect, aspect),
                           context_scale=(1.0, 1.0), min_keep=0)
    m = sample_multiblock((h, w), 3, cfg, torch.Generator().manual_seed(seed))
    area = scale * h * w
    exp_h = min(max(round(math.sqrt(area * aspect)), 1), h)
    exp_w = min(max(round(math.sqrt(area / aspect)), 1), w)
    bh, bw, _, _ = block_dims(m.targets, w)
    assert (bh == exp_h).all() and (bw == exp_w).all()


@FAST
@given(st.integers(4, 16), st.integers(0, 1000))
def test_full_context_block_is_complement_of_targets(n, seed):
    """With one image and a full-grid context block, context = every non-target token."""
    cfg = MultiBlockConfig(context_scale=(1.0, 1.0), context_aspect=(1.0, 1.0), min_keep=0)
    m = sample_multiblock((n, n), 1, cfg, torch.Generator().manual_seed(seed))
    union = indices_to_mask(m.targets.reshape(1, -1), n * n)
    assert torch.equal(indices_to_mask(m.context, n * n), ~union)


@FAST
@given(mask_settings())
def test_same_seed_same_masks(args):
    grid, B, cfg, seed = args
    a = sample_or_skip(grid, B, cfg, seed)
    b = sample_multiblock(grid, B, cfg, torch.Generator().manual_seed(seed))
    assert torch.equal(a.context, b.context) and torch.equal(a.targets, b.targets)


# ---------------------------------------------------------------- determinism / RNG


def test_different_seeds_differ_and_default_is_seed_zero():
    cfg = PRESETS["ijepa"]
    a = sample_multiblock((14, 14), 8, cfg, torch.Generator().manual_seed(0))
    b = sample_multiblock((14, 14), 8, cfg, torch.Generator().manual_seed(1))
    assert not torch.equal(a.targets, b.targets)
    c, d = sample_multiblock((14, 14), 8, cfg), sample_multiblock((14, 14), 8, cfg)
    assert torch.equal(c.targets, a.targets) and torch.equal(c.context, a.context)
    assert torch.equal(c.context, d.context)


def test_retries_redraw_targets_when_moving_the_context_cannot_help():
    """The context block is the whole 4x4 grid, so only new target draws can free 8 tokens."""
    cfg = MultiBlockConfig(target_scale=(0.25, 0.25), target_aspect=(1.0, 1.0),
                           context_scale=(1.0, 1.0), min_keep=8)
    for seed in range(10):
        m = sample_multiblock((4, 4), 16, cfg, torch.Generator().manual_seed(seed))
        union = indices_to_mask(m.targets.reshape(16, -1), 16)
        assert m.context.shape[1] >= 8 and (union.sum(1) <= 8).all()


def test_global_rng_untouched():
    torch.manual_seed(123)
    state = torch.get_rng_state()
    sample_multiblock((14, 14), 16)
    assert torch.equal(torch.get_rng_state(), state)


# ---------------------------------------------------------------- presets / defaults


def test_presets():
    assert MultiBlockConfig.preset("ijepa") == MultiBlockConfig()
    tiny = MultiBlockConfig.preset("tiny")
    assert tiny.min_keep == 4 and tiny.target_scale == MultiBlockConfig().target_scale
    with pytest.raises(ValueError, match="unknown preset"):
        MultiBlockConfig.preset("huge")


@pytest.mark.parametrize("grid,name", [((14, 14), "ijepa"), ((8, 8), "tiny")])
def test_presets_always_succeed(grid, name):
    cfg = PRESETS[name]
    for seed in range(40):
        m = sample_multiblock(grid, 64, cfg, torch.Generator().manual_seed(seed))
        assert m.context.shape[1] >= cfg.min_keep
        assert m.targets.shape[1] == cfg.num_targets


def test_paper_default_fractions_on_14x14():
    fr = [mask_fractions(sample_multiblock((14, 14), 8, generator=torch.Generator().manual_seed(s)))
          for s in range(100)]
    mean = {k: sum(f[k] for f in fr) / len(fr) for k in fr[0]}
    assert 0.15 <= mean["target_block"] <= 0.2
    assert 0.35 <= mean["target_union"] <= 0.6
    assert 0.25 <= mean["context"] <= 0.6
    for f in fr:  # per batch; integer rounding of block sides widens the block range
        assert 0.1 <= f["target_block"] <= 0.25
        assert f["target_block"] <= f["target_union"] <= 4 * f["target_block"]
        assert 0 < f["context"] <= 1 - f["target_block"]


def test_mask_fractions_by_hand():
    m = MaskBatch(context=torch.tensor([[5, 6, 7, 8]]), targets=torch.tensor([[[0, 1], [1, 2]]]),
                  grid=(4, 4))
    assert mask_fractions(m) == pytest.approx({"target_block": 2 / 16, "target_union": 3 / 16,
                                               "context": 4 / 16})


def test_sampling_is_fast():
    """Guards against per-token Python loops (~2 ms expected). One thread, because torch's
    intra-op threads stall badly on an oversubscribed CI machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for grid, name in [((8, 8), "tiny"), ((14, 14), "ijepa")]:
            best = math.inf
            for seed in range(5):
                t = time.perf_counter()
                sample_multiblock(grid, 256, PRESETS[name], torch.Generator().manual_seed(seed))
                best = min(best, time.perf_counter() - t)
            assert best < 0.05, f"sampling 256 masks on {grid} took {best * 1e3:.1f} ms"
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------- errors


@FAST
@given(st.integers(4, 16), st.integers(4, 16), st.floats(0.05, 1.0), st.floats(0.3, 1.0),
       st.floats(1.0, 3.0), st.integers(-3, 3))
def test_fail_fast_never_rejects_a_reachable_min_keep(h, w, s_hi, a_lo, a_hi, delta):
    """The up-front check may only reject min_keep above every reachable context block."""
    area = s_hi * h * w
    side = lambda x, n: min(max(round(x), 1), n)  # noqa: E731
    biggest = max(side(math.sqrt(area * a), h) * side(math.sqrt(area / a), w)
                  for a in torch.linspace(a_lo, a_hi, 2001).tolist())  # dense scan: a lower bound
    cfg = MultiBlockConfig(context_scale=(s_hi, s_hi), context_aspect=(a_lo, a_hi),
                           target_scale=(0.01, 0.01), min_keep=max(0, biggest + delta), max_tries=1)
    try:
        sample_multiblock((h, w), 1, cfg)
    except ValueError as err:
        assert "cannot fit" not in str(err) or delta > 0, str(err)
        assert f"{h}x{w} grid" in str(err)


def test_min_keep_larger_than_grid_fails_fast():
    with pytest.raises(ValueError, match=r"min_keep=17.*4x4 grid"):
        sample_multiblock((4, 4), 2, MultiBlockConfig(min_keep=17))


def test_context_block_too_small_fails_fast():
    cfg = MultiBlockConfig(context_scale=(0.1, 0.1), min_keep=10)  # at most a 3x3 block on 8x8
    with pytest.raises(ValueError, match=r"8x8 grid.*at most 9"):
        sample_multiblock((8, 8), 2, cfg)


def test_unreachable_min_keep_raises_after_tries():
    cfg = MultiBlockConfig(target_scale=(1.0, 1.0), target_aspect=(1.0, 1.0), min_keep=1,
                           max_tries=5)  # one target block covers the whole grid
    with pytest.raises(ValueError, match=r"could not keep min_keep=1 context patches on a 4x4"):
        sample_multiblock((4, 4), 2, cfg)


@pytest.mark.parametrize("grid,batch", [((0, 4), 1), ((4,), 1), ((4.0, 4), 1), ((4, -2), 1),
                                        ((4, 4), 0), ((4, 4), 1.5)])
def test_bad_grid_or_batch(grid, batch):
    with pytest.raises(ValueError, match="received"):
        sample_multiblock(grid, batch, MultiBlockConfig(min_keep=0))


@pytest.mark.parametrize("kwargs", [
    dict(num_targets=0), dict(min_keep=-1), dict(max_tries=0),
    dict(target_scale=(0.0, 0.2)), dict(target_scale=(0.3, 0.2)), dict(context_scale=(0.9, 1.2)),
    dict(target_aspect=(0.0, 1.0)), dict(context_aspect=(2.0, 1.0)), dict(target_scale=(0.1,)),
])
def test_bad_config(kwargs):
    with pytest.raises(ValueError, match="received"):
        MultiBlockConfig(**kwargs)


# ---------------------------------------------------------------- helpers


@FAST
@given(st.integers(1, 4), st.integers(1, 20), st.integers(1, 12), st.integers(1, 5),
       st.integers(0, 99))
def test_gather_tokens_matches_indexing(B, N, K, D, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, N, D, generator=g)
    idx = torch.randint(0, N, (B, K), generator=g)
    out = gather_tokens(x, idx)
    assert out.shape == (B, K, D)
    for b in range(B):
        assert torch.equal(out[b], x[b, idx[b]])
    idx3 = idx.reshape(B, 1, K)  # extra dims, like targets [B, M, Nt]
    assert torch.equal(gather_tokens(x, idx3), out.reshape(B, 1, K, D))


def test_gather_tokens_shape_errors():
    x = torch.zeros(2, 5, 3)
    with pytest.raises(ValueError, match=r"B=2"):
        gather_tokens(x, torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match=r"\[B, N, D\]"):
        gather_tokens(torch.zeros(5, 3), torch.zeros(2, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="integer"):
        gather_tokens(x, torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        gather_tokens(x, torch.full((2, 1), 5))


def test_indices_to_mask():
    idx = torch.tensor([[0, 3, 3], [1, 2, 4]])
    mask = indices_to_mask(idx, 6)
    assert mask.dtype == torch.bool and mask.shape == (2, 6)
    assert mask.tolist() == [[True, False, False, True, False, False],
                             [False, True, True, False, True, False]]
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        indices_to_mask(torch.tensor([[6]]), 6)
