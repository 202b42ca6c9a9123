"""Tests for jepa_lab.models.vit (the ViT backbone) and jepa_lab.models.pos_embed (fixed sin-cos tables)."""

import math

import pytest
import torch
import torch.nn.functional as F

from jepa_lab.models.pos_embed import sincos_1d, sincos_2d
from jepa_lab.models.vit import VIT_PRESETS, ViTConfig, VisionTransformer, count_parameters

# 16x16 images, 4x4 grid of 4x4 patches: N = 16 tokens of width 32.
SMALL = ViTConfig(img_size=16, patch_size=4, embed_dim=32, depth=2, num_heads=4)


def make_encoder(cfg: ViTConfig = SMALL, seed: int = 0) -> VisionTransformer:
    torch.manual_seed(seed)
    return VisionTransformer(cfg).eval()


def images(b: int = 2, cfg: ViTConfig = SMALL, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, cfg.in_chans, cfg.img_size, cfg.img_size, generator=g)


# ---------------------------------------------------------------------------------------------- shapes


def test_output_shape_without_keep():
    enc = make_encoder()
    out = enc(images(3))
    assert out.shape == (3, SMALL.num_patches, SMALL.embed_dim) == (3, 16, 32)


def test_output_shape_with_keep():
    enc = make_encoder()
    keep = torch.tensor([[0, 3, 5, 15, 9], [1, 2, 4, 8, 14]])
    out = enc(images(2), keep=keep)
    assert out.shape == (2, 5, 32)


def test_grid_and_num_patches():
    assert SMALL.grid == (4, 4) and SMALL.num_patches == 16
    assert VIT_PRESETS["tiny"].grid == (8, 8)
    assert VIT_PRESETS["vit_h14"].grid == (16, 16) and VIT_PRESETS["vit_h14"].mlp_hidden == 5120
    assert VIT_PRESETS["vit_g16"].grid == (14, 14) and VIT_PRESETS["vit_g16"].mlp_hidden == 6144


# ------------------------------------------------------------------------------------- which tokens are kept


def test_keep_matches_manual_patch_embedding_depth0():
    """depth=0: encoder(x, keep)[b, j] = LayerNorm(W . patch(keep[b, j]) + bias + sincos[keep[b, j]]),
    with patches cut by hand in row-major order - so keep indices address the right patches."""
    cfg = ViTConfig(img_size=12, patch_size=4, embed_dim=16, depth=0, num_heads=4)  # 3x3 grid
    enc = make_encoder(cfg)
    with torch.no_grad():  # non-trivial final norm, so the check is not blind to it
        enc.norm.weight.normal_()
        enc.norm.bias.normal_()
    x = images(2, cfg)
    keep = torch.tensor([[8, 0, 5], [1, 7, 3]])
    out = enc(x, keep=keep)

    p, (h, w) = cfg.patch_size, cfg.grid
    weight = enc.patch_embed.proj.weight.reshape(cfg.embed_dim, -1)  # [D, C*p*p]
    table = sincos_2d(cfg.embed_dim, cfg.grid)
    expected = torch.empty(2, 3, cfg.embed_dim)
    for b in range(2):
        for j, k in enumerate(keep[b].tolist()):
            r, c = divmod(k, w)
            patch = x[b, :, r * p:(r + 1) * p, c * p:(c + 1) * p].reshape(-1)  # [C*p*p], same order as weight
            tok = weight @ patch + enc.patch_embed.proj.bias + table[k]
            expected[b, j] = F.layer_norm(tok, (cfg.embed_dim,), enc.norm.weight, enc.norm.bias, eps=cfg.norm_eps)
    torch.testing.assert_close(out, expected, atol=1e-5, rtol=1e-5)


def test_keep_permutation_is_equivariant():
    """Without an attention mask the blocks are permutation-equivariant, so keeping *all* tokens in a
    shuffled order must return the full output shuffled the same way."""
    enc = make_encoder()
    x = images(2)
    g = torch.Generator().manual_seed(3)
    perm = torch.stack([torch.randperm(16, generator=g) for _ in range(2)])  # [B, N]
    full = enc(x)
    shuffled = enc(x, keep=perm)
    expected = torch.gather(full, 1, perm[..., None].expand(-1, -1, full.shape[-1]))
    torch.testing.assert_close(shuffled, expected, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(shuffled, full, atol=1e-3), "a random permutation should move tokens"


def test_dropped_patches_do_not_influence_kept_tokens():
    enc = make_encoder()
    x = images(1)
    keep = torch.tensor([[0, 1, 4, 5]])  # the top-left 2x2 patches = pixels [0:8, 0:8]
    y = x.clone()
    y[:, :, 8:, :] = torch.rand_like(y[:, :, 8:, :])  # repaint every pixel outside the kept patches
    y[:, :, :8, 8:] = torch.rand_like(y[:, :, :8, 8:])
    torch.testing.assert_close(enc(x, keep=keep), enc(y, keep=keep))
    assert not torch.allclose(enc(x), enc(y), atol=1e-4), "without keep, the repainted pixels must matter"


def test_kept_subset_differs_from_full_run():
    """A context encoder attends only among kept tokens: the kept outputs differ from the full-image outputs
    at the same positions (depth > 0), i.e. the gather happens *before* the blocks."""
    enc = make_encoder()
    x = images(1)
    keep = torch.tensor([[0, 1, 4, 5]])
    sub = enc(x, keep=keep)
    full_at_keep = enc(x)[:, keep[0]]
    assert not torch.allclose(sub, full_at_keep, atol=1e-4)


# ------------------------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize(
    "shape",
    [(2, 1, 16, 16), (2, 4, 16, 16), (2, 3, 20, 20), (2, 3, 16, 12), (3, 16, 16), (2, 3, 16, 16, 1)],
    ids=["1-channel", "4-channels", "wrong-size", "non-square", "3-D", "5-D"],
)
def test_bad_shapes_raise_valueerror_naming_expected_shape(shape):
    enc = make_encoder()
    with pytest.raises(ValueError, match=r"\[B, 3, 16, 16\]") as err:
        enc(torch.rand(*shape))
    assert str(tuple(shape)) in str(err.value), "the message should also show what was received"


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int64, torch.bool])
def test_integer_images_raise_valueerror(dtype):
    enc = make_encoder()
    x = torch.zeros(2, 3, 16, 16, dtype=dtype)
    with pytest.raises(ValueError, match="floating-point") as err:
        enc(x)
    assert str(dtype) in str(err.value)


def test_non_tensor_input_raises_valueerror():
    with pytest.raises(ValueError, match=r"\[B, 3, 16, 16\]"):
        make_encoder()([[0.0]])


def test_img_size_not_divisible_by_patch_size_raises_at_config():
    with pytest.raises(ValueError, match="divisible by patch_size") as err:
        ViTConfig(img_size=30, patch_size=4)
    assert "img_size=30" in str(err.value) and "patch_size=4" in str(err.value)


def test_embed_dim_not_divisible_by_heads_raises_at_config():
    with pytest.raises(ValueError, match="num_heads"):
        ViTConfig(embed_dim=30, num_heads=4)


def test_unknown_vit_preset():
    with pytest.raises(ValueError, match="vit_h14"):
        ViTConfig.preset("vit_b16")


# --------------------------------------------------------------------------------------- position table


def test_pos_embed_is_frozen_sincos_table():
    enc = make_encoder()
    assert not enc.pos_embed.requires_grad
    assert enc.pos_embed.shape == (1, 16, 32)
    torch.testing.assert_close(enc.pos_embed.detach(), sincos_2d(32, (4, 4))[None], rtol=0, atol=0)
    # count_parameters leaves the frozen table out by default, and counts it when asked
    assert count_parameters(enc, trainable_only=False) - count_parameters(enc) == 16 * 32


def test_pos_embed_gets_no_gradient():
    enc = make_encoder().train()
    enc(images(2)).sum().backward()
    assert enc.pos_embed.grad is None
    assert enc.patch_embed.proj.weight.grad is not None


def test_sincos_2d_first_half_column_second_half_row():
    """Non-square grid so a row/column swap cannot hide: h=3 rows, w=5 columns, row-major tokens."""
    dim, (h, w) = 16, (3, 5)
    table = sincos_2d(dim, (h, w))
    assert table.shape == (h * w, dim) and table.dtype == torch.float32
    half = dim // 2
    for k in range(h * w):
        r, c = divmod(k, w)
        for k2 in range(h * w):
            r2, c2 = divmod(k2, w)
            same_first = torch.equal(table[k, :half], table[k2, :half])
            same_second = torch.equal(table[k, half:], table[k2, half:])
            assert same_first == (c == c2), (k, k2)  # first half: column
            assert same_second == (r == r2), (k, k2)  # second half: row
    cols = torch.arange(h * w) % w
    rows = torch.arange(h * w) // w
    torch.testing.assert_close(table[:, :half], sincos_1d(half, cols))
    torch.testing.assert_close(table[:, half:], sincos_1d(half, rows))


def test_sincos_1d_values():
    dim = 8
    pos = torch.tensor([0.0, 1.0, 3.0])
    table = sincos_1d(dim, pos)
    omega = 1.0 / 10000 ** (torch.arange(4, dtype=torch.float64) / 4)
    expected = torch.cat([torch.sin(pos.double()[:, None] * omega), torch.cos(pos.double()[:, None] * omega)], 1)
    torch.testing.assert_close(table, expected.float())
    assert torch.equal(table[0], torch.tensor([0.0] * 4 + [1.0] * 4))  # position 0: sin 0, cos 1


def test_sincos_bad_dims():
    with pytest.raises(ValueError, match="even"):
        sincos_1d(7, torch.arange(3))
    with pytest.raises(ValueError, match="divisible by 4"):
        sincos_2d(18, (2, 2))


# ------------------------------------------------------------------------------------------------- init


def test_residual_projections_scaled_down_with_depth():
    """JEPA init: attn.proj / mlp.fc2 of block l (1-based) have std 0.02 / sqrt(2 l); other linears 0.02."""
    cfg = ViTConfig(img_size=8, patch_size=4, embed_dim=128, depth=6, num_heads=4)
    enc = make_encoder(cfg)
    for name in ("attn.proj", "mlp.fc2"):
        stds = [blk.get_submodule(name).weight.std().item() for blk in enc.blocks]
        assert all(a > b for a, b in zip(stds, stds[1:])), f"{name} stds should shrink with depth: {stds}"
        for layer_id, s in enumerate(stds, start=1):
            expected = 0.02 / math.sqrt(2 * layer_id)
            assert s == pytest.approx(expected, rel=0.06), (name, layer_id, s, expected)
    for blk in (enc.blocks[0], enc.blocks[-1]):  # not scaled: qkv and fc1
        assert blk.attn.qkv.weight.std().item() == pytest.approx(0.02, rel=0.06)
        assert blk.mlp.fc1.weight.std().item() == pytest.approx(0.02, rel=0.06)
        assert torch.count_nonzero(blk.attn.qkv.bias) == 0 and torch.count_nonzero(blk.mlp.fc2.bias) == 0
        assert torch.equal(blk.norm1.weight, torch.ones(128)) and torch.count_nonzero(blk.norm1.bias) == 0
