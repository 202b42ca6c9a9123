"""Tests for jepa_lab.models.ijepa_predictor (the I-JEPA predictor)."""

import pytest
import torch

from jepa_lab.models.pos_embed import sincos_2d
from jepa_lab.models.ijepa_predictor import Predictor, PredictorConfig

D, GRID = 48, (4, 4)  # encoder width, 4x4 grid: N = 16
CFG = PredictorConfig(embed_dim=32, depth=2, num_heads=4)


def make_predictor(seed: int = 0) -> Predictor:
    torch.manual_seed(seed)
    return Predictor(D, GRID, CFG).eval()


def inputs(b: int = 2, nc: int = 6, seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(b, nc, D, generator=g)
    ctx = torch.stack([torch.randperm(16, generator=g)[:nc].sort().values for _ in range(b)])  # [B, Nc]
    return z, ctx


def test_output_shape():
    pred = make_predictor()
    z, ctx = inputs(b=2, nc=6)
    tgt = torch.tensor([[[0, 1, 4], [10, 11, 14], [2, 3, 7]], [[5, 6, 9], [12, 13, 15], [0, 4, 8]]])  # [2, 3, 3]
    out = pred(z, ctx, tgt)
    assert out.shape == (2, 3, 3, D)


def test_blocks_do_not_see_each_others_queries():
    """Blocks are folded into the batch: moving block 1's query positions leaves block 0's predictions as they
    were, and each block's prediction equals a call with that block alone."""
    pred = make_predictor()
    z, ctx = inputs()
    tgt = torch.tensor([[[0, 1], [10, 11]], [[5, 6], [12, 13]]])  # [B=2, M=2, Nt=2]
    moved = tgt.clone()
    moved[:, 1] = torch.tensor([[2, 3], [14, 15]])
    out, out_moved = pred(z, ctx, tgt), pred(z, ctx, moved)
    torch.testing.assert_close(out_moved[:, 0], out[:, 0], rtol=0, atol=1e-6)
    assert not torch.allclose(out_moved[:, 1], out[:, 1], atol=1e-4), "block 1 must follow its new positions"
    for m in range(2):
        alone = pred(z, ctx, tgt[:, m:m + 1])  # [B, 1, Nt, D]
        torch.testing.assert_close(alone[:, 0], out[:, m], rtol=1e-5, atol=1e-6)


def test_predictions_depend_on_context():
    pred = make_predictor()
    z, ctx = inputs()
    tgt = torch.tensor([[[0, 1]], [[5, 6]]])
    out = pred(z, ctx, tgt)
    assert not torch.allclose(pred(z + 1.0, ctx, tgt), out, atol=1e-4)
    other_ctx = (ctx + 1) % 16  # same embeddings, claimed to come from other positions
    assert not torch.allclose(pred(z, other_ctx, tgt), out, atol=1e-4)


def test_context_order_does_not_matter():
    """Context tokens carry their own positions: shuffling (token, index) pairs together changes nothing."""
    pred = make_predictor()
    z, ctx = inputs(b=1, nc=7)
    tgt = torch.tensor([[[2, 3], [8, 12]]])
    perm = torch.randperm(7, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(pred(z[:, perm], ctx[:, perm], tgt), pred(z, ctx, tgt), rtol=1e-5, atol=1e-6)


def test_mask_token_gets_gradient():
    pred = make_predictor().train()
    z, ctx = inputs()
    tgt = torch.tensor([[[0, 1]], [[5, 6]]])
    pred(z, ctx, tgt).pow(2).sum().backward()
    assert pred.mask_token.grad is not None
    assert pred.mask_token.grad.abs().sum() > 0
    assert pred.predictor_embed.weight.grad.abs().sum() > 0
    assert pred.predictor_pos_embed.grad is None  # frozen table


def test_predictor_pos_embed_is_frozen_sincos():
    pred = make_predictor()
    assert not pred.predictor_pos_embed.requires_grad
    torch.testing.assert_close(pred.predictor_pos_embed.detach(), sincos_2d(32, GRID)[None], rtol=0, atol=0)
    assert pred.mask_token.shape == (1, 1, 32) and pred.mask_token.requires_grad


@pytest.mark.parametrize(
    "z_shape, ctx_shape, tgt_shape, match",
    [
        ((2, 6, 40), (2, 6), (2, 1, 2), r"\[B, Nc, 48\]"),  # wrong encoder width
        ((6, D), (2, 6), (2, 1, 2), r"\[B, Nc, 48\]"),  # 2-D context
        ((2, 6, D), (2, 5), (2, 1, 2), r"ctx_idx of shape \(2, 6\)"),  # one index per context token
        ((2, 6, D), (6,), (2, 1, 2), r"ctx_idx of shape \(2, 6\)"),
        ((2, 6, D), (2, 6), (2, 2), r"tgt_idx \[B=2, M, Nt\]"),  # 2-D targets
        ((2, 6, D), (2, 6), (3, 1, 2), r"tgt_idx \[B=2, M, Nt\]"),  # batch mismatch
    ],
)
def test_shape_errors(z_shape, ctx_shape, tgt_shape, match):
    pred = make_predictor()
    z = torch.randn(*z_shape)
    ctx = torch.zeros(ctx_shape, dtype=torch.long)
    tgt = torch.zeros(tgt_shape, dtype=torch.long)
    with pytest.raises(ValueError, match=match):
        pred(z, ctx, tgt)


def test_out_of_range_target_index_raises():
    pred = make_predictor()
    z, ctx = inputs()
    with pytest.raises(ValueError, match="idx values must lie in"):
        pred(z, ctx, torch.tensor([[[0, 16]], [[1, 2]]]))


def test_config_heads_must_divide_width():
    with pytest.raises(ValueError, match="num_heads"):
        PredictorConfig(embed_dim=30, num_heads=4)
