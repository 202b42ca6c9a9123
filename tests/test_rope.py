"""Tests for jepa_lab.models.rope (V-JEPA 2 3D RoPE) and pos_embed.sincos_3d."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from jepa_lab.models.pos_embed import sincos_1d, sincos_3d
from jepa_lab.models.rope import LAYOUTS, apply_rope_3d, grid_positions, rope_3d_angles, rope_chunk_dim

FAST = settings(max_examples=30, deadline=None)
TRUE_ROTATIONS = ("interleave", "half")


def _pos(gen, b, n, hi=20):
    return torch.randint(0, hi, (b, n, 3), generator=gen)


def test_chunk_sizes():
    assert rope_chunk_dim(64) == 20 and 64 - 3 * 20 == 4
    assert rope_chunk_dim(32) == 10 and 32 - 3 * 10 == 2
    assert rope_chunk_dim(6) == 2 and rope_chunk_dim(8) == 2 and rope_chunk_dim(12) == 4
    cos, sin = rope_3d_angles((2, 3, 4), 64)
    assert cos.shape == sin.shape == (24, 3, 10)
    omega = 1.0 / 10000 ** (torch.arange(10) / 10)
    pos = grid_positions((2, 3, 4))
    assert torch.equal(pos[5], torch.tensor([0, 1, 1]))  # (t, h, w) row-major: 5 = 1*4 + 1
    assert torch.allclose(cos[5, 2], torch.cos(omega * 1.0)) and torch.allclose(sin[5, 0], torch.zeros(10))


@FAST
@given(st.sampled_from([8, 12, 32, 64, 66]), st.sampled_from(LAYOUTS), st.integers(0, 2**31 - 1))
def test_leftover_dims_untouched_and_identity_at_origin(d, layout, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 5, d, generator=gen, dtype=torch.float64)
    out = apply_rope_3d(x, _pos(gen, 2, 5), layout)
    n = rope_chunk_dim(d)
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out[..., 3 * n:], x[..., 3 * n:])
    assert torch.allclose(apply_rope_3d(x, torch.zeros(1, 5, 3, dtype=torch.long), layout), x)


@FAST
@given(st.sampled_from([8, 32, 64]), st.sampled_from(TRUE_ROTATIONS), st.integers(0, 2**31 - 1))
def test_true_rotations_keep_norms(d, layout, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 2, 7, d, generator=gen, dtype=torch.float64)
    out = apply_rope_3d(x, _pos(gen, 2, 7, hi=100), layout)
    assert torch.allclose(out.norm(dim=-1), x.norm(dim=-1), atol=1e-5)


@FAST
@given(st.sampled_from([8, 32, 64]), st.sampled_from(TRUE_ROTATIONS), st.integers(0, 2**31 - 1))
def test_true_rotations_depend_on_relative_position_only(d, layout, seed):
    """<rope(q, p1), rope(k, p2)> is unchanged when p1 and p2 are shifted by the same 3D offset."""
    gen = torch.Generator().manual_seed(seed)
    q, k = torch.randn(2, 1, 2, 6, d, generator=gen, dtype=torch.float64)
    p1, p2, shift = _pos(gen, 1, 6), _pos(gen, 1, 6), torch.randint(-30, 30, (1, 1, 3), generator=gen)
    dot = (apply_rope_3d(q, p1, layout) * apply_rope_3d(k, p2, layout)).sum(-1)
    dot_shift = (apply_rope_3d(q, p1 + shift, layout) * apply_rope_3d(k, p2 + shift, layout)).sum(-1)
    assert torch.allclose(dot, dot_shift, atol=1e-4)


def _released_formula(x, pos, d):
    """The released layout written out per element: dim i of a chunk uses angle a_{i mod n/2}, adjacent
    pairs (2j, 2j+1) are combined as (x0 cos - x1 sin, x1 cos + x0 sin)."""
    n = rope_chunk_dim(d)
    out = x.clone()
    omega = 1.0 / 10000 ** (torch.arange(n // 2, dtype=torch.float64) / (n // 2))
    for axis in range(3):
        for i in range(n):
            a = pos[:, None, :, axis].double() * omega[i % (n // 2)]  # [P, 1, N]
            c = axis * n + i
            partner = -x[..., c + 1] if i % 2 == 0 else x[..., c - 1]
            out[..., c] = x[..., c] * a.cos() + partner * a.sin()
    return out


@pytest.mark.parametrize("d", [8, 32, 64])
def test_repeat_layout_matches_the_released_formula(d):
    gen = torch.Generator().manual_seed(d)
    x = torch.randn(2, 3, 5, d, generator=gen, dtype=torch.float64)
    pos = _pos(gen, 2, 5)
    assert torch.allclose(apply_rope_3d(x, pos, "repeat"), _released_formula(x, pos, d), atol=1e-6)


def test_repeat_layout_is_not_a_rotation_and_layouts_differ():
    """Documented quirk of the released weights: the two dims of a pair get different angles."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, 1, 4, 32, generator=gen, dtype=torch.float64)
    pos = torch.tensor([[[1, 2, 3], [4, 0, 7], [2, 5, 1], [3, 3, 3]]])
    outs = {lay: apply_rope_3d(x, pos, lay) for lay in LAYOUTS}
    for a in LAYOUTS:
        for b in LAYOUTS:
            assert a == b or not torch.allclose(outs[a], outs[b])
    assert not torch.allclose(outs["repeat"].norm(dim=-1), x.norm(dim=-1), atol=1e-3)
    q, k = torch.randn(2, 1, 1, 1, 32, generator=gen, dtype=torch.float64)
    p1, p2 = torch.tensor([[[1, 2, 3]]]), torch.tensor([[[0, 0, 0]]])
    dots = [(apply_rope_3d(q, p1 + s, "repeat") * apply_rope_3d(k, p2 + s, "repeat")).sum()
            for s in (0, 5)]
    assert not torch.allclose(dots[0], dots[1], atol=1e-4)
    # "half" is "interleave" with the chunk dims permuted (pair (j, j+n/2) <-> pair (2j, 2j+1))
    n, perm = 10, torch.tensor([j for p in range(5) for j in (p, p + 5)])
    full = torch.cat([perm + a * n for a in range(3)] + [torch.arange(30, 32)])
    assert torch.allclose(apply_rope_3d(x[..., full], pos, "interleave"), outs["half"][..., full])


def test_positions_broadcast_and_grid_input():
    x = torch.randn(3, 2, 24, 32)
    by_grid = apply_rope_3d(x, (2, 3, 4))
    pos = grid_positions((2, 3, 4))
    assert torch.allclose(by_grid, apply_rope_3d(x, pos[None].expand(3, -1, -1)))
    assert torch.allclose(by_grid, apply_rope_3d(x, pos))
    per_sample = torch.stack([pos, pos.flip(0), pos])
    out = apply_rope_3d(x, per_sample)
    assert torch.allclose(out[1], apply_rope_3d(x[1:2], pos.flip(0))[0])


def test_errors():
    x = torch.randn(2, 2, 6, 32)
    with pytest.raises(ValueError, match="layout must be one of"):
        apply_rope_3d(x, torch.zeros(2, 6, 3), "rotate")
    with pytest.raises(ValueError, match=r"x must be a float tensor \[B, heads, N, d\]"):
        apply_rope_3d(torch.randn(2, 6, 32), torch.zeros(2, 6, 3))
    with pytest.raises(ValueError, match="float tensor"):
        apply_rope_3d(torch.ones(2, 2, 6, 32, dtype=torch.long), torch.zeros(2, 6, 3))
    with pytest.raises(ValueError, match=r"positions must be \[2 or 1, 6, 3\]"):
        apply_rope_3d(x, torch.zeros(2, 5, 3))
    with pytest.raises(ValueError, match=r"positions must be \[2 or 1, 6, 3\]"):
        apply_rope_3d(x, torch.zeros(3, 6, 3))
    with pytest.raises(ValueError, match="positions must be a"):
        apply_rope_3d(x, torch.zeros(2, 6, 2))
    with pytest.raises(ValueError, match="head_dim must be an int >= 6"):
        apply_rope_3d(torch.randn(1, 1, 6, 4), torch.zeros(1, 6, 3))
    with pytest.raises(ValueError, match=r"grid must be \(t, h, w\)"):
        rope_3d_angles((2, 3), 32)


def test_sincos_3d_layout():
    t, h, w, dim = 3, 4, 5, 32
    emb = sincos_3d(dim, (t, h, w))
    assert emb.shape == (t * h * w, dim)
    grid = emb.reshape(t, h, w, dim)
    assert torch.equal(grid[:, :, :, :16], grid[:, :1, :1, :16].expand(t, h, w, 16))  # frame part shared
    assert not torch.equal(grid[0, 0, 0, :16], grid[1, 0, 0, :16])
    assert torch.equal(grid[:, :, :, 16:24], grid[:1, :, :1, 16:24].expand(t, h, w, 8))  # row part
    assert torch.equal(grid[:, :, :, 24:], grid[:1, :1, :, 24:].expand(t, h, w, 8))  # column part
    assert torch.equal(grid[2, 0, 0, :16], sincos_1d(16, torch.tensor([2]))[0])
    assert len({tuple(r.tolist()) for r in emb}) == t * h * w  # every token distinct
    for bad in (12, 0, 30):
        with pytest.raises(ValueError, match="divisible by 8"):
            sincos_3d(bad, (2, 2, 2))
    with pytest.raises(ValueError, match="grid"):
        sincos_3d(16, (2, 2))
