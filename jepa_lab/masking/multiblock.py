"""I-JEPA multi-block masking (Assran et al. 2023, "Self-Supervised Learning from
Images with a Joint-Embedding Predictive Architecture").

For each image on an h x w patch grid we draw M rectangular *target* blocks (the
predictor must predict their representations) and one large *context* block; the
context is the context block minus every target, so the encoder never sees the
tokens it is asked to predict.

Shapes: B batch, h,w patch-grid height/width, N = h*w tokens, M target blocks per
image, Nt tokens per target block, Nc context tokens per image, D width.
Token indices are flat and row-major: index = row * w + col.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..config import is_int

DEFAULT_SEED = 0


def _check_range(name: str, rng, lo_ok, what: str) -> None:
    """Raise ValueError unless rng is a (lo, hi) pair with lo <= hi and lo_ok(lo), lo_ok(hi)."""
    if not (isinstance(rng, (tuple, list)) and len(rng) == 2):
        raise ValueError(f"{name} must be a (lo, hi) pair, received {rng!r}")
    lo, hi = rng
    if not (lo_ok(lo) and lo_ok(hi)):
        raise ValueError(f"{name} values must be {what}, received {tuple(rng)}")
    if lo > hi:
        raise ValueError(f"{name} must satisfy lo <= hi, received {tuple(rng)}")


def check_block_config(cfg, counts: tuple[str, ...], fractions: tuple[str, ...], positive: tuple[str, ...]) -> None:
    """The checks every multi-block mask config shares (2-D here, 3-D in multiblock3d.py): ``counts`` are ints
    >= 1, ``min_keep`` an int >= 0, ``fractions`` (lo, hi) ranges in (0, 1], ``positive`` (lo, hi) ranges > 0."""
    for name in counts:
        v = getattr(cfg, name)
        if not is_int(v, 1):
            raise ValueError(f"{name} must be an int >= 1, received {v!r}")
    if not is_int(cfg.min_keep, 0):
        raise ValueError(f"min_keep must be an int >= 0, received {cfg.min_keep!r}")
    for name in fractions:
        _check_range(name, getattr(cfg, name), lambda v: 0 < v <= 1, "in (0, 1]")
    for name in positive:
        _check_range(name, getattr(cfg, name), lambda v: v > 0, "> 0")


@dataclass(frozen=True)
class MultiBlockConfig:
    """Settings of the multi-block mask sampler (paper defaults).

    Scales are fractions of the N = h*w grid tokens; aspects are height/width ratios.
    """

    num_targets: int = 4  # M target blocks per image
    target_scale: tuple[float, float] = (0.15, 0.2)  # fraction of the grid per target block
    target_aspect: tuple[float, float] = (0.75, 1.5)  # height/width ratio range
    context_scale: tuple[float, float] = (0.85, 1.0)
    context_aspect: tuple[float, float] = (1.0, 1.0)
    min_keep: int = 10  # minimum context tokens kept per image
    max_tries: int = 100  # re-draws of a context position before giving up

    def __post_init__(self) -> None:
        check_block_config(self, ("num_targets", "max_tries"), ("target_scale", "context_scale"),
                           ("target_aspect", "context_aspect"))

    @classmethod
    def preset(cls, name: str) -> "MultiBlockConfig":
        """Named settings: 'ijepa' (paper, 14x14 grid) or 'tiny' (8x8 grid)."""
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}")
        return PRESETS[name]


PRESETS: dict[str, MultiBlockConfig] = {
    "ijepa": MultiBlockConfig(),
    "tiny": MultiBlockConfig(min_keep=4),  # same proportions, fewer tokens to keep on 8x8
}


@dataclass(frozen=True)
class MaskBatch:
    """One batch of masks; every image has the same Nc and the same block size.

    context: LongTensor [B, Nc], sorted flat row-major indices (row*w + col).
    targets: LongTensor [B, M, Nt], each block's flat indices sorted.
    grid:    (h, w).
    """

    context: torch.Tensor
    targets: torch.Tensor
    grid: tuple[int, int]


def _block_size(scale: float, aspect: float, h: int, w: int) -> tuple[int, int]:
    """(bh, bw) of a block covering ~scale*h*w tokens with height/width ~ aspect."""
    area = scale * h * w
    bh = min(max(round(math.sqrt(area * aspect)), 1), h)
    bw = min(max(round(math.sqrt(area / aspect)), 1), w)
    return bh, bw


def _draw_size(scale, aspect, h: int, w: int, gen: torch.Generator) -> tuple[int, int]:
    """Draw s ~ U(scale), a ~ U(aspect) once and return the block size (bh, bw)."""
    u_s, u_a = torch.rand(2, generator=gen, device=gen.device).tolist()
    s = scale[0] + u_s * (scale[1] - scale[0])
    a = aspect[0] + u_a * (aspect[1] - aspect[0])
    return _block_size(s, a, h, w)


def _max_block_area(scale, aspect, h: int, w: int) -> int:
    """Largest bh*bw these ranges can give. Sizes grow with scale, so use scale=hi; along
    the aspect range (bh, bw) only change where sqrt(area*a) or sqrt(area/a) crosses
    k + 0.5, so checking those points and the gaps between them is exhaustive."""
    area, (lo, hi) = scale[1] * h * w, aspect
    cuts = {lo, hi}
    for k in range(max(h, w) + 1):
        cuts.update(a for a in ((k + 0.5) ** 2 / area, area / (k + 0.5) ** 2) if lo < a < hi)
    pts = sorted(cuts)
    cands = pts + [(x + y) / 2 for x, y in zip(pts, pts[1:])]
    return max(bh * bw for bh, bw in (_block_size(scale[1], a, h, w) for a in cands))


def _draw_corners(shape, size, grid, gen: torch.Generator) -> torch.Tensor:
    """Uniform top-left (row, col) so a size=(bh, bw) block fits: Long [*shape, 2]."""
    (bh, bw), (h, w) = size, grid
    top = torch.randint(0, h - bh + 1, shape, generator=gen, device=gen.device)
    left = torch.randint(0, w - bw + 1, shape, generator=gen, device=gen.device)
    return torch.stack([top, left], dim=-1)


def _block_indices(corners: torch.Tensor, size, w: int) -> torch.Tensor:
    """corners [..., 2] -> sorted flat indices of each block [..., bh*bw]."""
    bh, bw = size
    rows = torch.arange(bh, device=corners.device)[:, None]
    cols = torch.arange(bw, device=corners.device)[None, :]
    offsets = (rows * w + cols).reshape(-1)  # [Nt], increasing (row-major)
    base = corners[..., 0] * w + corners[..., 1]
    return base[..., None] + offsets


def _block_mask(corners: torch.Tensor, size, grid) -> torch.Tensor:
    """corners [b, 2] -> bool [b, N], True inside each block."""
    (bh, bw), (h, w) = size, grid
    r = torch.arange(h, device=corners.device)
    c = torch.arange(w, device=corners.device)
    top, left = corners[:, :1], corners[:, 1:]
    in_r = (r >= top) & (r < top + bh)  # [b, h]
    in_c = (c >= left) & (c < left + bw)  # [b, w]
    return (in_r[:, :, None] & in_c[:, None, :]).reshape(len(corners), h * w)


def masks_from_blocks(grid: tuple[int, int], target_corners: torch.Tensor, target_size: tuple[int, int],
                      context_corner: torch.Tensor, context_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """One image's masks from given block positions, the deterministic half of ``sample_multiblock``:
    target_corners Long [M, 2] (row, col), context_corner Long [2] -> (context Long [Nc] sorted: the context
    block minus every target, targets Long [M, Nt] sorted within each block). No truncation, no re-draws."""
    h, w = grid
    targets = _block_indices(target_corners, target_size, w)  # [M, Nt]
    union = indices_to_mask(targets.reshape(1, -1), h * w)  # [1, N]
    ctx = _block_mask(context_corner.reshape(1, 2), context_size, (h, w)) & ~union  # [1, N]
    return ctx[0].nonzero().flatten(), targets


def _validate(grid, batch_size, cfg: MultiBlockConfig) -> tuple[int, int]:
    """Check the call's inputs before any sampling; return (h, w)."""
    if not (isinstance(grid, (tuple, list)) and len(grid) == 2
            and all(is_int(g) and g > 0 for g in grid)):
        raise ValueError(f"grid must be (h, w) with positive ints, received {grid!r}")
    if not is_int(batch_size, 1):
        raise ValueError(f"batch_size must be an int >= 1, received {batch_size!r}")
    if not isinstance(cfg, MultiBlockConfig):
        raise ValueError(f"cfg must be a MultiBlockConfig, received {type(cfg).__name__}")
    h, w = int(grid[0]), int(grid[1])
    if cfg.min_keep > h * w:
        raise ValueError(f"min_keep={cfg.min_keep} is larger than the {h}x{w} grid "
                         f"(expected min_keep <= {h * w} patches)")
    biggest = _max_block_area(cfg.context_scale, cfg.context_aspect, h, w)
    if cfg.min_keep > biggest:
        raise ValueError(f"min_keep={cfg.min_keep} cannot fit: on a {h}x{w} grid, "
                         f"context_scale={cfg.context_scale} and context_aspect="
                         f"{cfg.context_aspect} give a context block of at most {biggest} "
                         f"patches (expected min_keep <= {biggest})")
    return h, w


def _too_few_error(grid, cfg, t_size, c_size, kept: int) -> ValueError:
    h, w = grid
    return ValueError(
        f"could not keep min_keep={cfg.min_keep} context patches on a {h}x{w} grid after "
        f"{cfg.max_tries} re-draws: {cfg.num_targets} target blocks of {t_size[0]}x{t_size[1]} "
        f"(target_scale={cfg.target_scale}) inside a {c_size[0]}x{c_size[1]} context block "
        f"left only {kept} patches (expected >= {cfg.min_keep}); lower min_keep, "
        f"num_targets or the target scale, or raise context_scale")


def sample_multiblock(grid: tuple[int, int], batch_size: int,
                      cfg: MultiBlockConfig = MultiBlockConfig(),
                      generator: torch.Generator | None = None) -> MaskBatch:
    """Sample I-JEPA multi-block masks for a batch on an h x w patch grid.

    1. One target size (bh, bw) and one context size per batch, so all blocks share Nt.
    2. Per image: M target corners and one context corner, drawn uniformly inside the grid.
    3. context = context block minus the union of that image's targets. Images keeping
       fewer than cfg.min_keep tokens get a new context position (in the second half of
       the cfg.max_tries re-draws, new targets as well); then ValueError.
    4. Images keep different numbers of context tokens, so every context is truncated to
       the batch minimum Nc by a random subset (the official I-JEPA collator also
       truncates to the batch minimum, keeping the first Nc indices).

    All randomness comes from `generator` (default: a fresh one seeded with 0, so calls
    are deterministic). Returns context [B, Nc] and targets [B, M, Nt] on its device.
    """
    h, w = _validate(grid, batch_size, cfg)
    gen = generator if generator is not None else torch.Generator().manual_seed(DEFAULT_SEED)
    B, M, N = batch_size, cfg.num_targets, h * w
    t_size = _draw_size(cfg.target_scale, cfg.target_aspect, h, w, gen)
    c_size = _draw_size(cfg.context_scale, cfg.context_aspect, h, w, gen)

    targets = _block_indices(_draw_corners((B, M), t_size, (h, w), gen), t_size, w)  # [B,M,Nt]
    union = indices_to_mask(targets.reshape(B, -1), N)  # [B, N]
    ctx = _block_mask(_draw_corners((B,), c_size, (h, w), gen), c_size, (h, w)) & ~union
    for attempt in range(cfg.max_tries + 1):
        bad = ctx.sum(1) < cfg.min_keep  # [B]
        if not bool(bad.any()):
            break
        if attempt == cfg.max_tries:
            raise _too_few_error((h, w), cfg, t_size, c_size, int(ctx.sum(1).min()))
        nb = int(bad.sum())
        if attempt >= cfg.max_tries // 2:  # context moves alone did not help: new targets
            new_t = _block_indices(_draw_corners((nb, M), t_size, (h, w), gen), t_size, w)
            targets[bad] = new_t
            union[bad] = indices_to_mask(new_t.reshape(nb, -1), N)
        corners = _draw_corners((nb,), c_size, (h, w), gen)
        ctx[bad] = _block_mask(corners, c_size, (h, w)) & ~union[bad]

    nc = int(ctx.sum(1).min())
    keys = torch.rand(B, N, generator=gen, device=gen.device).masked_fill(~ctx, 2.0)
    context = keys.argsort(dim=1)[:, :nc].sort(dim=1).values  # random nc context tokens
    return MaskBatch(context=context, targets=targets, grid=(h, w))


def check_indices(idx: torch.Tensor, n: int) -> None:
    """Token indices: an integer tensor with every value in [0, n)."""
    if idx.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise ValueError(f"idx must be an integer tensor, received dtype {idx.dtype}")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= n):
        raise ValueError(f"idx values must lie in [0, {n}) for N={n} tokens, received range "
                         f"[{int(idx.min())}, {int(idx.max())}]")


def gather_tokens(x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Pick tokens: x [B, N, D], idx [B, K] -> [B, K, D] (torch.gather along dim 1).

    idx may also have extra dims, e.g. targets [B, M, Nt] -> [B, M, Nt, D].
    """
    if x.dim() != 3:
        raise ValueError(f"x must be [B, N, D], received shape {tuple(x.shape)}")
    if idx.dim() < 2 or idx.shape[0] != x.shape[0]:
        raise ValueError(f"idx must be [B, K] with B={x.shape[0]} to match x "
                         f"{tuple(x.shape)}, received shape {tuple(idx.shape)}")
    check_indices(idx, x.shape[1])
    B, D = x.shape[0], x.shape[2]
    flat = idx.reshape(B, -1).long()  # [B, K]
    out = torch.gather(x, 1, flat[..., None].expand(B, flat.shape[1], D))
    return out.reshape(*idx.shape, D)


def indices_to_mask(idx: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """idx [..., K] -> bool [..., num_tokens] with True at the indices."""
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= num_tokens):
        raise ValueError(f"idx values must lie in [0, {num_tokens}), received range "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    mask = torch.zeros(*idx.shape[:-1], num_tokens, dtype=torch.bool, device=idx.device)
    return mask.scatter_(-1, idx.long(), True)


def mask_fractions(masks: MaskBatch) -> dict[str, float]:
    """Mean fractions of the N grid tokens: 'target_block' (one block), 'target_union',
    'context' (after truncation to Nc)."""
    h, w = masks.grid
    N = h * w
    B = masks.targets.shape[0]
    union = indices_to_mask(masks.targets.reshape(B, -1), N)  # [B, N]
    return {
        "target_block": masks.targets.shape[-1] / N,
        "target_union": union.float().mean().item(),
        "context": masks.context.shape[-1] / N,
    }
