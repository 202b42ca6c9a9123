"""The I-JEPA predictor: a narrow ViT that fills in target positions from context tokens.

Recipe (Assran et al., 2023): project the context embeddings to a narrow width Dp, add the fixed sin-cos
positions of where they came from, append one learned ``mask_token`` per target position (plus that
position's sin-cos code), run transformer blocks over the lot, and read the predictions off the mask-token
slots, projected back to the encoder width D. Each of the M target blocks is predicted in its own pass
(folded into the batch), so blocks cannot see each other's queries.

State-dict keys follow the official code: ``predictor_embed``, ``mask_token``, ``predictor_pos_embed``,
``predictor_blocks.{i}.*``, ``predictor_norm``, ``predictor_proj``.

Shapes: B batch, N grid tokens, Nc context tokens, M target blocks, Nt tokens per block, D encoder width,
Dp predictor width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange, repeat
from torch import nn

from ..masking.multiblock import gather_tokens
from .normalize import check_float_tensor
from .pos_embed import sincos_2d
from .vit import Block, init_transformer_


@dataclass(frozen=True)
class PredictorConfig:
    """Predictor hyper-parameters (width, depth, heads). I-JEPA: 384 wide, 12 (ViT-H) or 16 (ViT-g) deep."""

    embed_dim: int = 64
    depth: int = 3
    num_heads: int = 4
    mlp_ratio: float = 4.0
    norm_eps: float = 1e-6

    def __post_init__(self):
        if self.embed_dim % self.num_heads:
            raise ValueError(f"predictor embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads}")


class Predictor(nn.Module):
    """``predictor(z_ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, M, Nt]) -> [B, M, Nt, D]``."""

    def __init__(self, encoder_dim: int, grid: tuple[int, int], cfg: PredictorConfig = PredictorConfig()):
        super().__init__()
        self.cfg, self.grid, self.encoder_dim = cfg, grid, encoder_dim
        dp = cfg.embed_dim
        self.predictor_embed = nn.Linear(encoder_dim, dp)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dp))
        self.predictor_pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1], dp), requires_grad=False)
        self.predictor_blocks = nn.ModuleList(
            Block(dp, cfg.num_heads, round(dp * cfg.mlp_ratio), True, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.predictor_norm = nn.LayerNorm(dp, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(dp, encoder_dim)
        if self.mask_token.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init_transformer_(self, self.predictor_blocks)
        with torch.no_grad():
            nn.init.trunc_normal_(self.mask_token, std=0.02)
            self.predictor_pos_embed.copy_(sincos_2d(self.cfg.embed_dim, self.grid)[None])  # [1, N, Dp]

    def check_inputs(self, z_ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> None:
        check_float_tensor(z_ctx, "z_ctx", f"[B, Nc, {self.encoder_dim}]")
        if z_ctx.ndim != 3 or z_ctx.shape[-1] != self.encoder_dim:
            raise ValueError(f"expected context embeddings [B, Nc, {self.encoder_dim}], got {tuple(z_ctx.shape)}")
        if ctx_idx.shape != z_ctx.shape[:2]:
            raise ValueError(f"expected ctx_idx of shape {tuple(z_ctx.shape[:2])} (one index per context token), "
                             f"got {tuple(ctx_idx.shape)}")
        if tgt_idx.ndim != 3 or tgt_idx.shape[0] != z_ctx.shape[0]:
            raise ValueError(f"expected tgt_idx [B={z_ctx.shape[0]}, M, Nt], got {tuple(tgt_idx.shape)}")

    def forward(self, z_ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor) -> torch.Tensor:
        self.check_inputs(z_ctx, ctx_idx, tgt_idx)
        b, m, nt = tgt_idx.shape
        pos = self.predictor_pos_embed.expand(b, -1, -1)  # [B, N, Dp]
        ctx = self.predictor_embed(z_ctx) + gather_tokens(pos, ctx_idx)  # [B, Nc, Dp]
        queries = self.mask_token + gather_tokens(pos, tgt_idx.reshape(b, m * nt))  # [B, M*Nt, Dp]
        # One pass per target block: fold M into the batch.
        ctx = repeat(ctx, "b n d -> (b m) n d", m=m)  # [B*M, Nc, Dp]
        queries = rearrange(queries, "b (m t) d -> (b m) t d", m=m)  # [B*M, Nt, Dp]
        x = torch.cat([ctx, queries], dim=1)  # [B*M, Nc+Nt, Dp]
        for blk in self.predictor_blocks:
            x = blk(x)
        out = self.predictor_proj(self.predictor_norm(x[:, -nt:]))  # [B*M, Nt, D]
        return rearrange(out, "(b m) t d -> b m t d", m=m)  # [B, M, Nt, D]
