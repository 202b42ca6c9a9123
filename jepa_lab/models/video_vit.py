"""A Vision Transformer for video: tubelet tokens, and either fixed 3D sin-cos or 3D rotary positions.

Video is cut into *tubelets*: ``tubelet_size`` frames x ``p`` x ``p`` pixels, embedded by one Conv3d, so a clip
[B, C, T, H, W] becomes N = t*h*w tokens with t = T/tubelet_size, h = H/p, w = W/p (row-major over t, h, w).
V-JEPA (1) adds a fixed 3D sin-cos table (``pos="sincos"``); V-JEPA 2 instead rotates queries and keys by
each token's (frame, row, column) index inside every attention layer (``pos="rope"``, see rope.py) and has no
``pos_embed`` parameter at all.

Clip size: a RoPE encoder has no parameter that depends on the clip's size, so it takes *any* clip whose T is a
multiple of the tubelet and H, W multiples of the patch, with the positions of the actual grid - as Meta's
encoder does, which is what lets V-JEPA 2 pretrain on 16 frames at 256 px and cool down on 64 frames at 384 px
with the same weights (progressive resolution). A sin-cos encoder keeps the size of its table (the config's
``num_frames`` and ``img_size``) and refuses others; it does not interpolate the table.

State-dict keys as in the released V-JEPA / V-JEPA 2 encoders: ``patch_embed.proj`` (Conv3d), ``pos_embed``
(sin-cos only), ``blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``, ``norm``.

Shapes: B batch, C channels, T frames, H=W pixels, t/h/w token grid, N tokens, D width.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from einops import rearrange
from torch import nn

from ..masking.multiblock import gather_tokens
from .pos_embed import sincos_3d
from .rope import LAYOUTS, apply_rope_3d, grid_positions
from .vit import Block, ViTConfig, init_transformer_

POS_KINDS = ("sincos", "rope")


def check_positions(pos: str, rope_layout: str) -> None:
    """Validate the position settings shared by the video encoder and predictor configs."""
    if pos not in POS_KINDS:
        raise ValueError(f"pos must be one of {POS_KINDS}, got {pos!r}")
    if rope_layout not in LAYOUTS:
        raise ValueError(f"rope_layout must be one of {LAYOUTS}, got {rope_layout!r}")


@dataclass(frozen=True)
class VideoViTConfig(ViTConfig):
    """Video ViT hyper-parameters: the image ViT's, plus frames, tubelet size and the kind of positions.
    Presets: ``VIDEO_VIT_PRESETS`` / ``VideoViTConfig.preset(name)``."""

    patch_size: int = 8
    num_frames: int = 8
    tubelet_size: int = 2
    pos: str = "rope"
    # "interleave": a true rotation, for new training; "repeat": the released V-JEPA 2 weights' layout (rope.py)
    rope_layout: str = "interleave"

    def __post_init__(self):
        super().__post_init__()
        if self.num_frames % self.tubelet_size:
            raise ValueError(f"num_frames={self.num_frames} must be divisible by tubelet_size={self.tubelet_size}")
        check_positions(self.pos, self.rope_layout)

    @property
    def grid(self) -> tuple[int, int, int]:
        """(t, h, w) token grid."""
        h, w = super().grid
        return (self.num_frames // self.tubelet_size, h, w)

    @property
    def num_patches(self) -> int:
        t, h, w = self.grid
        return t * h * w

    @property
    def head_dim(self) -> int:
        return self.embed_dim // self.num_heads

    @staticmethod
    def preset(name: str) -> "VideoViTConfig":
        if name not in VIDEO_VIT_PRESETS:
            raise ValueError(f"unknown video ViT preset {name!r}; expected one of {sorted(VIDEO_VIT_PRESETS)}")
        return VIDEO_VIT_PRESETS[name]


_PAPER = dict(img_size=256, patch_size=16, num_frames=16, tubelet_size=2, pos="rope", rope_layout="repeat")
VIDEO_VIT_PRESETS: dict[str, VideoViTConfig] = {
    "tiny": VideoViTConfig(),
    # V-JEPA 2's encoders (16 frames at 256 px for pretraining); ViT-g has 22 heads of 64 dims.
    "vit_l16": VideoViTConfig(**_PAPER, embed_dim=1024, depth=24, num_heads=16),
    "vit_h16": VideoViTConfig(**_PAPER, embed_dim=1280, depth=32, num_heads=16),
    "vit_g16": VideoViTConfig(**_PAPER, embed_dim=1408, depth=40, num_heads=22, mlp_ratio=48 / 11),
}


def tubelets(video: torch.Tensor, tubelet_size: int, patch_size: int) -> torch.Tensor:
    """Cut a clip into flattened tubelets: [B, C, T, H, W] -> [B, N, C*tubelet*p*p], tokens row-major over
    (t, h, w) and each tubelet's values in (c, dt, dy, dx) order, the order of a Conv3d weight, so that
    ``tubelets(x) @ proj.weight.flatten(1).T + proj.bias`` equals ``TubeletEmbed``'s output."""
    return rearrange(video, "b c (t dt) (h dy) (w dx) -> b (t h w) (c dt dy dx)",
                     dt=tubelet_size, dy=patch_size, dx=patch_size)


class TubeletEmbed(nn.Module):
    """Non-overlapping (tubelet x p x p) tubelets -> D-dim tokens: [B, C, T, H, W] -> [B, N, D]."""

    def __init__(self, tubelet_size: int, patch_size: int, in_chans: int, embed_dim: int):
        super().__init__()
        kernel = (tubelet_size, patch_size, patch_size)
        self.proj = nn.Conv3d(in_chans, embed_dim, kernel_size=kernel, stride=kernel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)  # [B, D, t, h, w]
        return rearrange(x, "b d t h w -> b (t h w) d")  # tokens row-major over (t, h, w)


class VideoViT(nn.Module):
    """Video encoder: ``encoder(x [B, C, T, H, W], keep [B, K] | None) -> [B, K or N, D]``."""

    def __init__(self, cfg: VideoViTConfig = VideoViTConfig()):
        super().__init__()
        self.cfg = cfg
        self.patch_embed = TubeletEmbed(cfg.tubelet_size, cfg.patch_size, cfg.in_chans, cfg.embed_dim)
        if cfg.pos == "sincos":  # frozen parameter so the key `pos_embed` matches released V-JEPA 1 weights
            self.pos_embed = nn.Parameter(torch.zeros(1, cfg.num_patches, cfg.embed_dim), requires_grad=False)
        self.blocks = nn.ModuleList(
            Block(cfg.embed_dim, cfg.num_heads, cfg.mlp_hidden, cfg.qkv_bias, cfg.norm_eps) for _ in range(cfg.depth)
        )
        self.norm = nn.LayerNorm(cfg.embed_dim, eps=cfg.norm_eps)
        self.register_buffer("positions", grid_positions(cfg.grid), persistent=False)  # [N, 3]
        if self.norm.weight.device.type != "meta":
            self.reset_parameters()

    def reset_parameters(self) -> None:
        init_transformer_(self, self.blocks)
        if self.cfg.pos == "sincos":
            with torch.no_grad():
                self.pos_embed.copy_(sincos_3d(self.cfg.embed_dim, self.cfg.grid)[None])  # [1, N, D]

    def expected_clips(self) -> str:
        """The clip shapes this encoder takes, in words (for error messages)."""
        c = self.cfg
        if c.pos == "sincos":
            return (f"[B, {c.in_chans}, {c.num_frames}, {c.img_size}, {c.img_size}] (a sin-cos table is fixed to one "
                    f"size; pos='rope' takes any)")
        return (f"[B, {c.in_chans}, T, H, W] with T a multiple of {c.tubelet_size} and H, W multiples of "
                f"{c.patch_size}")

    def grid_of(self, shape) -> tuple[int, int, int]:
        """The (t, h, w) token grid of a clip of shape [..., T, H, W] (or of frames [..., H, W]: t = 1)."""
        *_, T, H, W = shape
        c = self.cfg
        return (T // c.tubelet_size, H // c.patch_size, W // c.patch_size)

    def check_size(self, shape, frames: bool = False) -> None:
        """Refuse a clip (or, with ``frames``, an image) size the encoder cannot cut or place."""
        c = self.cfg
        T = c.tubelet_size if frames else shape[-3]
        H, W = shape[-2:]
        fits = T > 0 and H > 0 and W > 0 and not (T % c.tubelet_size or H % c.patch_size or W % c.patch_size)
        if c.pos == "sincos":
            fits = (T if not frames else c.num_frames, H, W) == (c.num_frames, c.img_size, c.img_size)
        if not fits:
            side = "H, W" if c.pos == "rope" else f"{c.img_size}, {c.img_size}"
            what = f"[B, {c.in_chans}, {side}] frames" if frames else self.expected_clips()
            raise ValueError(f"expected {what}, got {tuple(shape)}")

    def positions_for(self, grid: tuple[int, int, int]) -> torch.Tensor:
        """Long [t*h*w, 3] (frame, row, col) of a grid: the buffer for the configured grid, else computed."""
        if tuple(grid) == self.cfg.grid:
            return self.positions
        return grid_positions(tuple(grid)).to(self.positions.device)

    def check_input(self, x: torch.Tensor) -> None:
        c = self.cfg
        expected = self.expected_clips()
        if not isinstance(x, torch.Tensor) or x.ndim != 5:
            got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"expected a clip batch {expected} (B, C, T, H, W), got {got}")
        if x.shape[1] != c.in_chans:
            raise ValueError(f"expected clips of {c.in_chans} channels, {expected}, got {tuple(x.shape)}")
        self.check_size(x.shape)
        if x.shape[0] == 0:
            raise ValueError(f"expected at least one clip {expected} (B >= 1), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise ValueError(f"expected a floating-point clip tensor, got dtype {x.dtype}")

    def rotary(self, keep: torch.Tensor | None, grid: tuple[int, int, int] | None = None):
        """The RoPE function for the kept tokens of a clip with this token grid (or None for sin-cos models)."""
        if self.cfg.pos != "rope":
            return None
        positions = self.positions_for(grid or self.cfg.grid)  # [N, 3]
        pos = positions[None] if keep is None else positions[keep]  # [1 or B, N or K, 3]
        return partial(apply_rope_3d, positions=pos, layout=self.cfg.rope_layout)

    def encode_frames(self, frames: torch.Tensor) -> torch.Tensor:
        """Each image alone as a one-tubelet clip (the frame repeated ``tubelet_size`` times, at the first
        token-frame's positions), as V-JEPA 2-AC encodes robot frames: [B, C, H, W] -> [B, h*w, D]."""
        c = self.cfg
        side = ("H, W" if c.pos == "rope" else f"{c.img_size}, {c.img_size}")
        expected = f"[B, {c.in_chans}, {side}]"
        if not isinstance(frames, torch.Tensor) or frames.ndim != 4 or frames.shape[1] != c.in_chans:
            got = tuple(frames.shape) if isinstance(frames, torch.Tensor) else type(frames).__name__
            raise ValueError(f"expected frames {expected}, got {got}")
        self.check_size(frames.shape, frames=True)
        if frames.shape[0] == 0:
            raise ValueError(f"expected at least one frame {expected} (B >= 1), got {tuple(frames.shape)}")
        if not frames.is_floating_point():
            raise ValueError(f"expected floating-point frames, got dtype {frames.dtype}")
        frames = frames.to(self.patch_embed.proj.weight.dtype)
        clip = frames.unsqueeze(2).expand(-1, -1, c.tubelet_size, -1, -1)  # [B, C, tubelet, H, W]
        tokens = self.patch_embed(clip)  # [B, h*w, D]: one token-frame
        n = tokens.shape[1]
        if c.pos == "sincos":
            tokens = tokens + self.pos_embed[:, :n]
        rope = None
        if c.pos == "rope":  # the first token-frame's positions of this frame size
            positions = self.positions_for((1, *self.grid_of(frames.shape)[1:]))
            rope = partial(apply_rope_3d, positions=positions[None, :n], layout=c.rope_layout)
        for blk in self.blocks:
            tokens = blk(tokens, rope=rope)
        return self.norm(tokens)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        self.check_input(x)
        tokens = self.patch_embed(x.to(self.patch_embed.proj.weight.dtype))  # [B, N, D], in the weights' dtype
        if self.cfg.pos == "sincos":
            tokens = tokens + self.pos_embed
        if keep is not None:
            tokens = gather_tokens(tokens, keep)  # [B, K, D]
        rope = self.rotary(keep, self.grid_of(x.shape))
        for blk in self.blocks:
            tokens = blk(tokens, rope=rope)
        return self.norm(tokens)
