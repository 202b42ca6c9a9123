"""A plain Vision Transformer backbone, with the parameter names of the official I-JEPA code.

The backbone knows nothing about JEPA: it turns an image into patch tokens and, optionally, keeps only
some of them (``keep`` indices) before the transformer blocks - which is all a context encoder needs.

State-dict keys: ``patch_embed.proj.{weight,bias}``, ``pos_embed``, ``blocks.{i}.norm1``,
``blocks.{i}.attn.qkv``, ``blocks.{i}.attn.proj``, ``blocks.{i}.norm2``, ``blocks.{i}.mlp.fc1``,
``blocks.{i}.mlp.fc2``, ``norm`` - so released full-scale weights can be loaded by name.

Shapes: B batch, C channels, H=W image side, p patch, h=w=H/p grid, N=h*w tokens, D width.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..masking.multiblock import gather_tokens
from .pos_embed import sincos_2d

# A rotary position embedding bound to token positions: [B, heads, N, d] -> same shape (see rope.py).
Rotary = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class ViTConfig:
    """Image ViT hyper-parameters. Presets: ``VIT_PRESETS`` / ``ViTConfig.preset(name)``."""

    img_size: int = 32
    patch_size: int = 4
    in_chans: int = 3
    embed_dim: int = 96
    depth: int = 4
    num_heads: int = 4
    mlp_ratio: float = 4.0
    qkv_bias: bool = True
    norm_eps: float = 1e-6

    def __post_init__(self):
        if self.img_size % self.patch_size:
            raise ValueError(
                f"img_size must be divisible by patch_size: got img_size={self.img_size}, "
                f"patch_size={self.patch_size} (expected e.g. {self.img_size // self.patch_size * self.patch_size})"
            )
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads}")

    @property
    def grid(self) -> tuple[int, int]:
        """(h, w) patch grid."""
        side = self.img_size // self.patch_size
        return (side, side)

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def mlp_hidden(self) -> int:
        return round(self.embed_dim * self.mlp_ratio)

    @staticmethod
    def preset(name: str) -> "ViTConfig":
        if name not in VIT_PRESETS:
            raise ValueError(f"unknown ViT preset {name!r}; expected one of {sorted(VIT_PRESETS)}")
        return VIT_PRESETS[name]


VIT_PRESETS: dict[str, ViTConfig] = {
    # CPU-in-minutes: 32x32 images, 8x8 grid of 4x4 patches.
    "tiny": ViTConfig(),
    # I-JEPA's published image encoders (224 px). ViT-g here is I-JEPA's 16-head giant, MLP 6144.
    "vit_h14": ViTConfig(img_size=224, patch_size=14, embed_dim=1280, depth=32, num_heads=16),
    "vit_g16": ViTConfig(img_size=224, patch_size=16, embed_dim=1408, depth=40, num_heads=16, mlp_ratio=48 / 11),
}


class PatchEmbed(nn.Module):
    """Non-overlapping p x p patches -> D-dim tokens: [B, C, H, W] -> [B, N, D]."""

    def __init__(self, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)  # [B, D, h, w]
        return rearrange(x, "b d h w -> b (h w) d")  # row-major tokens [B, N, D]


class Attention(nn.Module):
    """Multi-head self-attention with a fused qkv projection and PyTorch's fused SDPA kernel."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True):
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None, rope: Rotary | None = None) -> torch.Tensor:
        q, k, v = rearrange(self.qkv(x), "b n (three h d) -> three b h n d", three=3, h=self.num_heads)  # [B, heads, N, d]
        if rope is not None:  # rotary positions act on queries and keys only
            q, k = rope(q), rope(k)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_mask)  # [B, heads, N, d]
        return self.proj(rearrange(out, "b h n d -> b n (h d)"))  # [B, N, D]


class MLP(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class Block(nn.Module):
    """Pre-norm transformer block: x + attn(norm1(x)), then x + mlp(norm2(x))."""

    def __init__(self, dim: int, num_heads: int, mlp_hidden: int, qkv_bias: bool = True, eps: float = 1e-6):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.attn = Attention(dim, num_heads, qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp = MLP(dim, mlp_hidden)
        # Activation checkpointing: keep only the block's input during training and recompute the rest in
        # backward (less memory, ~1/3 more compute). Off by default; the trainers switch it on on request.
        self.checkpointing = False

    def forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None = None, rope: Rotary | None = None) -> torch.Tensor:
        if self.checkpointing and self.training and torch.is_grad_enabled():
            return checkpoint(self._forward, x, attn_mask, rope, use_reentrant=False)
        return self._forward(x, attn_mask, rope)

    def _forward(self, x: torch.Tensor, attn_mask: torch.Tensor | None, rope: Rotary | None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), attn_mask, rope)
        return x + self.mlp(self.norm2(x))


def init_transformer_(module: nn.Module, blocks: nn.ModuleList, std: float = 0.02) -> None:
    """The JEPA init: trunc-normal(0.02) weights, zero biases, unit LayerNorms, and each block's
    residual outputs (``attn.proj``, ``mlp.fc2``) scaled by 1/sqrt(2 * layer_id)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.Conv3d)):
            nn.init.trunc_normal_(m.weight, std=std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    with torch.no_grad():
        for layer_id, blk in enumerate(blocks, start=1):
            blk.attn.proj.weight.div_(math.sqrt(2.0 * layer_id))
            blk.mlp.fc2.weight.div_(math.sqrt(2.0 * layer_id))


class VisionTransformer(nn.Module):
    """Image encoder: ``encoder(x [B, C, H, W], keep [B, K] | None) -> [B, K or N, D]``."""

    def __init__(self, cfg: ViTConfig = ViTConfig()):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = PatchEmbed(cfg.patch_size, cfg.in_chans, cfg.embed_dim)
        # Frozen parameter (not a buffer) so the key `pos_embed` matches the released checkpoints.
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches, cfg.embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        if self.pos_embed.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init_transformer_(self, self.blocks)
        with torch.no_grad():
            self.pos_embed.copy_(sincos_2d(self.cfg.embed_dim, self.cfg.grid)[None])  # [1, N, D]

    def check_input(self, x: torch.Tensor) -> None:
        c = self.cfg
        expected = f"[B, {c.in_chans}, {c.img_size}, {c.img_size}]"
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected an image batch {expected}, got {got}")
        if x.shape[1] != c.in_chans or x.shape[2] != c.img_size or x.shape[3] != c.img_size:
            raise ValueError(f"expected images of shape {expected}, got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError(f"expected at least one image {expected} (B >= 1), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point image tensor, got dtype {x.dtype}")

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        x = x.to(self.pos_embed.dtype)  # float64 / float16 input: computed in the weights' dtype
        tokens = self.patch_embed(x) + self.pos_embed  # [B, N, D]
        if keep is not None:
            tokens = gather_tokens(tokens, keep)  # [B, K, D]
        for blk in self.blocks:
            tokens = blk(tokens)
        return self.norm(tokens)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    """Number of parameters (by default only those with requires_grad, i.e. without frozen pos tables)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
