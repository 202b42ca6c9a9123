"""The V-JEPA predictor: context tubelet embeddings + learned mask tokens at target positions -> target embeddings.

Like I-JEPA's predictor (predictor.py) but for a (t, h, w) token grid: positions are either a fixed 3D sin-cos
table (V-JEPA 1) or 3D RoPE inside attention (V-JEPA 2), and there is one learned mask token per mask family
(``mask_tokens.{k}``; V-JEPA trains short-range and long-range masks side by side, and the released V-JEPA 2
predictors carry 10). The official code sorts context and mask tokens by position before the blocks and
restores the order after; without an attention mask, attention is permutation-equivariant, so the outputs
are the same either way and this implementation keeps [context, targets] order.

Token indices are read on a (t, h, w) grid: the configured one, or - for a RoPE predictor - the grid of the
clip actually encoded (``grid=`` in forward, e.g. ``masks.grid``), so one predictor serves any clip size; a
sin-cos predictor keeps its table's grid.

State-dict keys: ``predictor_embed``, ``mask_tokens.{k}``, ``predictor_pos_embed`` (sin-cos only),
``predictor_blocks.{i}.*``, ``predictor_norm``, ``predictor_proj``.

Shapes: B batch, N grid tokens, Nc context tokens, Nt target tokens, D encoder width, Dp predictor width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import nn

from ..masking.multiblock import check_indices, gather_tokens
from .ijepa_predictor import PredictorConfig
from .normalize import check_float_tensor
from .pos_embed import sincos_3d
from .rope import apply_rope_3d, grid_positions
from .video_vit import check_positions
from .vit import Block, init_transformer_


@dataclass(frozen=True)
class VideoPredictorConfig(PredictorConfig):
    """The image predictor's settings plus mask tokens and positions.
    V-JEPA 2's predictor is 384 wide, 12 deep, 12 heads, RoPE, 10 mask tokens."""

    num_mask_tokens: int = 2
    pos: str = "rope"
    rope_layout: str = "interleave"  # "repeat" for the released V-JEPA 2 weights (see rope.py)

    def __post_init__(self):
        super().__post_init__()
        check_positions(self.pos, self.rope_layout)
        if self.num_mask_tokens < 1:
            raise ValueError(f"num_mask_tokens must be >= 1, got {self.num_mask_tokens}")


class VideoPredictor(nn.Module):
    """``predictor(z_ctx [B, Nc, D], ctx_idx [B, Nc], tgt_idx [B, Nt], mask_index=0, grid=None) -> [B, Nt, D]``."""

    def __init__(self, encoder_dim: int, grid: tuple[int, int, int],
                 cfg: VideoPredictorConfig = VideoPredictorConfig()):
        super().__init__()
        self.cfg, self.grid, self.encoder_dim = cfg, tuple(grid), encoder_dim
        dp, n = cfg.embed_dim, grid[0] * grid[1] * grid[2]
        self.predictor_embed = nn.Linear(encoder_dim, dp)
        self.mask_tokens = nn.ParameterList(nn.Parameter(torch.zeros(1, 1, dp)) for _ in range(cfg.num_mask_tokens))
        if cfg.pos == "sincos":
            self.predictor_pos_embed = nn.Parameter(torch.zeros(1, n, dp), requires_grad=False)
        self.predictor_blocks = nn.ModuleList(
            Block(dp, cfg.num_heads, round(dp * cfg.mlp_ratio), True, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.predictor_norm = nn.LayerNorm(dp, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(dp, encoder_dim)
        self.register_buffer("positions", grid_positions(self.grid), persistent=False)  # [N, 3]
        if self.predictor_norm.weight.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init_transformer_(self, self.predictor_blocks)
        with torch.no_grad():
            for token in self.mask_tokens:
                nn.init.trunc_normal_(token, std=0.02)
            if self.cfg.pos == "sincos":
                self.predictor_pos_embed.copy_(sincos_3d(self.cfg.embed_dim, self.grid)[None])  # [1, N, Dp]

    def positions_for(self, grid) -> torch.Tensor:
        """Long [t*h*w, 3] (frame, row, col) of the grid the indices refer to (None: the configured one)."""
        if grid is None or tuple(grid) == self.grid:
            return self.positions
        if self.cfg.pos != "rope":
            raise ValueError(f"grid: this predictor's sin-cos table is fixed to the grid {self.grid}, received "
                             f"{tuple(grid)} (a RoPE predictor, pos='rope', takes any grid)")
        return grid_positions(tuple(grid)).to(self.positions.device)

    def check_inputs(self, z_ctx, ctx_idx, tgt_idx, mask_index, positions) -> None:
        check_float_tensor(z_ctx, "z_ctx", f"[B, Nc, {self.encoder_dim}]")
        if z_ctx.ndim != 3 or z_ctx.shape[-1] != self.encoder_dim:
            raise ValueError(f"expected context embeddings [B, Nc, {self.encoder_dim}], got {tuple(z_ctx.shape)}")
        if ctx_idx.shape != z_ctx.shape[:2]:
            raise ValueError(f"expected ctx_idx of shape {tuple(z_ctx.shape[:2])}, got {tuple(ctx_idx.shape)}")
        if tgt_idx.ndim != 2 or tgt_idx.shape[0] != z_ctx.shape[0]:
            raise ValueError(f"expected tgt_idx [B={z_ctx.shape[0]}, Nt], got {tuple(tgt_idx.shape)}")
        if not 0 <= mask_index < len(self.mask_tokens):
            raise ValueError(f"mask_index must be in [0, {len(self.mask_tokens)}), got {mask_index}")
        for idx in (ctx_idx, tgt_idx):  # the RoPE positions are looked up by index, not gathered
            check_indices(idx, len(positions))

    def forward(self, z_ctx: torch.Tensor, ctx_idx: torch.Tensor, tgt_idx: torch.Tensor,
                mask_index: int = 0, grid: tuple[int, int, int] | None = None) -> torch.Tensor:
        positions = self.positions_for(grid)  # [N, 3] of the grid the indices refer to
        self.check_inputs(z_ctx, ctx_idx, tgt_idx, mask_index, positions)
        b, nt = tgt_idx.shape
        ctx = self.predictor_embed(z_ctx)  # [B, Nc, Dp]
        queries = self.mask_tokens[mask_index].expand(b, nt, -1)  # [B, Nt, Dp]
        if self.cfg.pos == "sincos":
            pos = self.predictor_pos_embed.expand(b, -1, -1)  # [B, N, Dp]
            ctx, queries = ctx + gather_tokens(pos, ctx_idx), queries + gather_tokens(pos, tgt_idx)
        x = torch.cat([ctx, queries], dim=1)  # [B, Nc+Nt, Dp]
        rope = None
        if self.cfg.pos == "rope":
            idx = torch.cat([ctx_idx, tgt_idx], dim=1)  # [B, Nc+Nt]
            rope = partial(apply_rope_3d, positions=positions[idx], layout=self.cfg.rope_layout)
        for blk in self.predictor_blocks:
            x = blk(x, rope=rope)
        return self.predictor_proj(self.predictor_norm(x[:, -nt:]))  # [B, Nt, D]
