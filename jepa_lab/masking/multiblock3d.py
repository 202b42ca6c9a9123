"""V-JEPA 3D multi-block masking (Bardes et al. 2024 "V-JEPA"; Assran et al. 2025 "V-JEPA 2").

A video clip becomes a t x h x w grid of tokens (t token-frames, each a tubelet of 2 video frames). We draw
`num_blocks` 3D blocks per clip: a spatial rectangle of ~spatial_scale of the h x w footprint, spanning
(by default) the whole clip in time. The *union* of the blocks is the TARGET (what the predictor must
predict); the CONTEXT is everything else, so the encoder never sees a target token. Because the default
blocks span every frame, the target is one spatial footprint repeated over all frames: the model cannot
copy a masked patch from a neighbouring frame.

Paper presets: 'short_range' (8 blocks, spatial scale 0.15, ~62% masked on 8x16x16) and 'long_range'
(2 blocks, spatial scale 0.7, ~81% masked). Clips keep different numbers of target and context tokens,
so both are truncated to the batch minimum by a seeded random subset (kept sorted), as in masks.py.

`future_mask` is the causal alternative: context = the first `context_frames` token-frames, targets =
all later frames (predict the future in latent space).

Shapes: B batch, t/h/w token grid (frames, rows, columns), N = t*h*w tokens, M blocks per clip,
Nc context tokens, Nt target tokens. Flat indices are (t, h, w) row-major: i = (f*h + r)*w + c.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import is_int
from .multiblock import DEFAULT_SEED, _draw_size, check_block_config, gather_tokens, indices_to_mask

__all__ = ["VideoMaskConfig", "VideoMaskBatch", "VIDEO_PRESETS", "sample_video_masks", "future_mask",
           "video_mask_fractions", "frame_of", "gather_tokens", "indices_to_mask"]


@dataclass(frozen=True)
class VideoMaskConfig:
    """Settings of the 3D multi-block sampler (defaults: V-JEPA short-range masks).

    spatial_scale: fraction of the h*w footprint covered by one block (drawn once per batch).
    aspect: block height/width ratio range. temporal_scale: fraction of the t frames one block spans;
    (1.0, 1.0) = the whole clip (the papers' setting). min_keep: context tokens each clip must keep.
    """

    num_blocks: int = 8
    spatial_scale: tuple[float, float] = (0.15, 0.15)
    aspect: tuple[float, float] = (0.75, 1.5)
    temporal_scale: tuple[float, float] = (1.0, 1.0)
    min_keep: int = 10
    max_tries: int = 50  # re-draws of the block positions of clips keeping < min_keep context tokens

    def __post_init__(self) -> None:
        check_block_config(self, ("num_blocks", "max_tries"), ("spatial_scale", "temporal_scale"), ("aspect",))

    @classmethod
    def preset(cls, name: str) -> "VideoMaskConfig":
        """Named settings: 'short_range' (8 x 0.15) or 'long_range' (2 x 0.7), whole-clip blocks."""
        if name not in VIDEO_PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {sorted(VIDEO_PRESETS)}")
        return VIDEO_PRESETS[name]


VIDEO_PRESETS: dict[str, VideoMaskConfig] = {
    "short_range": VideoMaskConfig(num_blocks=8, spatial_scale=(0.15, 0.15)),
    "long_range": VideoMaskConfig(num_blocks=2, spatial_scale=(0.7, 0.7)),
}


@dataclass(frozen=True)
class VideoMaskBatch:
    """One batch of video masks; every clip has the same Nc and Nt.

    context: LongTensor [B, Nc], sorted flat (t, h, w) row-major indices.
    targets: LongTensor [B, Nt], sorted, disjoint from context.
    grid:    (t, h, w).
    """

    context: torch.Tensor
    targets: torch.Tensor
    grid: tuple[int, int, int]


def _check_grid(grid) -> tuple[int, int, int]:
    if not (isinstance(grid, (tuple, list)) and len(grid) == 3
            and all(is_int(g) and g > 0 for g in grid)):
        raise ValueError(f"grid must be (t, h, w) with positive ints, received {grid!r}")
    return int(grid[0]), int(grid[1]), int(grid[2])


def _check_batch(batch_size) -> None:
    if not is_int(batch_size, 1):
        raise ValueError(f"batch_size must be an int >= 1, received {batch_size!r}")


def _random_subset(keep: torch.Tensor, n: int, gen: torch.Generator) -> torch.Tensor:
    """keep bool [B, N] (each row has >= n True) -> sorted random n of its True indices [B, n]."""
    keys = torch.rand(keep.shape, generator=gen, device=gen.device).masked_fill(~keep, 2.0)
    return keys.argsort(dim=1)[:, :n].sort(dim=1).values


def _union_mask(starts: torch.Tensor, size, grid) -> torch.Tensor:
    """starts Long [b, M, 3] (frame, row, col corners), size (bt, bh, bw) -> bool [b, t*h*w] union."""
    (t, h, w), b = grid, starts.shape[0]
    inside = []
    for axis, (n, length) in enumerate(zip((t, h, w), size)):
        pos = torch.arange(n, device=starts.device)
        lo = starts[..., axis:axis + 1]  # [b, M, 1]
        inside.append((pos >= lo) & (pos < lo + length))  # [b, M, n]
    in_t, in_r, in_c = inside
    blocks = in_t[..., :, None, None] & in_r[..., None, :, None] & in_c[..., None, None, :]
    return blocks.any(dim=1).reshape(b, t * h * w)  # [b, N]


def _draw_starts(shape, size, grid, gen: torch.Generator) -> torch.Tensor:
    """Uniform (frame, row, col) corners so a size block fits: Long [*shape, 3]."""
    return torch.stack([torch.randint(0, n - k + 1, shape, generator=gen, device=gen.device)
                        for n, k in zip(grid, size)], dim=-1)


def sample_video_masks(grid: tuple[int, int, int], batch_size: int,
                       cfg: VideoMaskConfig = VideoMaskConfig(),
                       generator: torch.Generator | None = None) -> VideoMaskBatch:
    """Sample V-JEPA 3D multi-block masks for a batch of clips on a (t, h, w) token grid.

    1. One block size per batch: spatial (bh, bw) from spatial_scale x aspect (as in masks.py), temporal
       length bt = round(temporal_scale * t) (>= 1; = t for whole-clip blocks).
    2. Per clip: M block positions drawn uniformly; targets = union of the blocks; context = the rest.
    3. Clips keeping fewer than cfg.min_keep context tokens get new positions (cfg.max_tries times),
       then ValueError. A block size that alone leaves < min_keep tokens fails at once.
    4. Context and targets are each truncated to the batch minimum by a random subset (sorted). With
       whole-clip blocks the targets are truncated as a spatial footprint, so every frame keeps the same
       target cells (Nt = t * footprint size).

    All randomness comes from `generator` (default: a fresh one seeded with 0, so calls are repeatable).
    """
    t, h, w = _check_grid(grid)
    _check_batch(batch_size)
    if not isinstance(cfg, VideoMaskConfig):
        raise ValueError(f"cfg must be a VideoMaskConfig, received {type(cfg).__name__}")
    gen = generator if generator is not None else torch.Generator().manual_seed(DEFAULT_SEED)
    B, M, N = batch_size, cfg.num_blocks, t * h * w
    if cfg.min_keep > N:
        raise ValueError(f"min_keep={cfg.min_keep} is larger than the {t}x{h}x{w} grid "
                         f"(expected min_keep <= {N} tokens)")

    bh, bw = _draw_size(cfg.spatial_scale, cfg.aspect, h, w, gen)
    u = float(torch.rand(1, generator=gen, device=gen.device))
    ts = cfg.temporal_scale[0] + u * (cfg.temporal_scale[1] - cfg.temporal_scale[0])
    bt = min(max(round(ts * t), 1), t)
    size = (bt, bh, bw)
    if N - bt * bh * bw < cfg.min_keep:
        raise ValueError(f"min_keep={cfg.min_keep} cannot fit: one {bt}x{bh}x{bw} block "
                         f"(spatial_scale={cfg.spatial_scale}, temporal_scale={cfg.temporal_scale}) "
                         f"already leaves only {N - bt * bh * bw} of {N} tokens on a {t}x{h}x{w} grid; "
                         f"lower min_keep or the scales")

    target = _union_mask(_draw_starts((B, M), size, (t, h, w), gen), size, (t, h, w))  # [B, N]
    for attempt in range(cfg.max_tries + 1):
        bad = (N - target.sum(1)) < cfg.min_keep  # [B]
        if not bool(bad.any()):
            break
        if attempt == cfg.max_tries:
            kept = int((N - target.sum(1)).min())
            raise ValueError(f"could not keep min_keep={cfg.min_keep} context tokens on a {t}x{h}x{w} "
                             f"grid after {cfg.max_tries} re-draws: {M} blocks of {bt}x{bh}x{bw} left "
                             f"only {kept} (expected >= {cfg.min_keep}); lower min_keep, num_blocks "
                             f"or spatial_scale")
        nb = int(bad.sum())
        target[bad] = _union_mask(_draw_starts((nb, M), size, (t, h, w), gen), size, (t, h, w))

    context = ~target
    nc = int(context.sum(1).min())
    context_idx = _random_subset(context, nc, gen)
    if bt == t:  # whole-clip blocks: truncate the spatial footprint, keep it the same in every frame
        footprint = target.reshape(B, t, h * w)[:, 0]  # [B, h*w]
        cells = _random_subset(footprint, int(footprint.sum(1).min()), gen)  # [B, n_fp]
        frames = torch.arange(t, device=cells.device)[None, :, None] * (h * w)  # [1, t, 1]
        targets = (frames + cells[:, None, :]).reshape(B, -1)  # [B, t*n_fp], sorted
    else:
        targets = _random_subset(target, int(target.sum(1).min()), gen)
    return VideoMaskBatch(context=context_idx, targets=targets, grid=(t, h, w))


def future_mask(grid: tuple[int, int, int], batch_size: int, context_frames: int) -> VideoMaskBatch:
    """Causal 'predict the future' mask: context = every token of the first `context_frames`
    token-frames, targets = every token of the later frames (same for every clip).

    context [B, context_frames*h*w], targets [B, (t - context_frames)*h*w].
    """
    t, h, w = _check_grid(grid)
    _check_batch(batch_size)
    if not is_int(context_frames) or not 1 <= context_frames < t:
        raise ValueError(f"context_frames must be an int in [1, {t - 1}] for a grid with t={t} "
                         f"token-frames (both context and targets need a frame), "
                         f"received {context_frames!r}")
    split = context_frames * h * w
    idx = torch.arange(t * h * w)
    return VideoMaskBatch(context=idx[:split].expand(batch_size, -1).clone(),
                          targets=idx[split:].expand(batch_size, -1).clone(), grid=(t, h, w))


def video_mask_fractions(masks: VideoMaskBatch) -> dict[str, float]:
    """Fractions of the N grid tokens kept as 'targets' and 'context' (after truncation)."""
    t, h, w = masks.grid
    N = t * h * w
    return {"targets": masks.targets.shape[1] / N, "context": masks.context.shape[1] / N}


def frame_of(indices: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """Token-frame of each flat (t, h, w) row-major index."""
    _, h, w = _check_grid(grid)
    return torch.div(indices, h * w, rounding_mode="floor")
