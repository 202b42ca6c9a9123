"""Fixed sine-cosine position embeddings (the I-JEPA / MAE recipe).

A position embedding tells a transformer *where* a token sits; JEPA models use fixed (not learned)
sin-cos tables so that the predictor can be asked about any position, seen or not.

Layout: for a 2D grid, the first half of the D dimensions encodes the column (x) and the second half
the row (y), tokens in row-major order - the layout of the released I-JEPA checkpoints.
"""

from __future__ import annotations

import torch


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """positions [N] (any real numbers) -> [N, dim]: dim/2 sines then dim/2 cosines.

    Frequencies are ``1 / 10000 ** (i / (dim/2))`` for ``i = 0 .. dim/2 - 1``.
    """
    if dim % 2:
        raise ValueError(f"sin-cos embedding needs an even dimension, got dim={dim}")
    half = dim // 2
    omega = 1.0 / 10000 ** (torch.arange(half, dtype=torch.float64) / half)  # [dim/2]
    angles = positions.to(torch.float64)[:, None] * omega[None, :]  # [N, dim/2]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def sincos_2d(dim: int, grid: tuple[int, int]) -> torch.Tensor:
    """Fixed 2D table for an (h, w) patch grid -> [h*w, dim], row-major tokens.

    Half of the dimensions encode the column, half the row (so ``dim`` must be divisible by 4).
    """
    if dim % 4:
        raise ValueError(f"2D sin-cos embedding needs dim divisible by 4, got dim={dim}")
    h, w = grid
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")  # each [h, w]
    emb_col = sincos_1d(dim // 2, cols.flatten())  # [h*w, dim/2]
    emb_row = sincos_1d(dim // 2, rows.flatten())  # [h*w, dim/2]
    return torch.cat([emb_col, emb_row], dim=1)


def sincos_3d(dim: int, grid: tuple[int, int, int]) -> torch.Tensor:
    """Fixed 3D table for a (t, h, w) token grid (V-JEPA 1 style) -> [t*h*w, dim], tokens in (t, h, w)
    row-major order.

    Split (our choice, following V-JEPA 1's default non-uniform split): the first dim/2 dimensions encode
    the frame, the next dim/4 the row, the last dim/4 the column, each a ``sincos_1d`` block (so ``dim``
    must be divisible by 8). Tokens of the same frame share the first dim/2 values.
    """
    if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0 or dim % 8:
        raise ValueError(f"3D sin-cos embedding needs a positive dim divisible by 8, got dim={dim!r}")
    if not (isinstance(grid, (tuple, list)) and len(grid) == 3
            and all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in grid)):
        raise ValueError(f"grid must be (t, h, w) with positive ints, received {grid!r}")
    t, h, w = grid
    frames, rows, cols = torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
    return torch.cat([sincos_1d(dim // 2, frames.flatten()),  # [N, dim/2]
                      sincos_1d(dim // 4, rows.flatten()),  # [N, dim/4]
                      sincos_1d(dim // 4, cols.flatten())], dim=1)  # [N, dim/4]
