"""3D rotary position embedding (RoPE) as in V-JEPA 2.

Instead of adding a position table to the tokens, RoPE rotates each query and key inside attention by
angles that grow with the token's position, so q.k depends on where the two tokens are relative to each
other. V-JEPA 2 splits every head of width d into three chunks of n = 2*((d//3)//2) dims, rotated by the
token's frame, row and column index (in that order); the d - 3n leftover dims are not rotated
(d=64: 20+20+20, 4 left; d=32: 10+10+10, 2 left). Within a chunk, frequency j is 1/10000^(j/(n/2)),
j = 0 .. n/2-1, applied to integer positions.

Layouts (how the n/2 angles of a chunk are spread over its n dims):

* ``"interleave"`` - the textbook RoPE: dims (2j, 2j+1) form a pair rotated by angle_j (sin/cos tables
  expanded with ``repeat_interleave(2)``). A true rotation: norms are kept and q.k depends only on p_q - p_k.
* ``"repeat"`` - what the released V-JEPA 2 weights were trained with (keep it to load them). The code
  pairs *adjacent* dims exactly like "interleave" (partner of (x0, x1) is (-x1, x0)), but expands the
  tables with ``.repeat(2)``: angles [a_0 .. a_{n/2-1}, a_0 .. a_{n/2-1}]. So dim i uses angle
  a_{i mod n/2}, and the two dims of a pair use *different* angles:
      out[2j]   = x[2j]   cos a_{2j mod n/2}     - x[2j+1] sin a_{2j mod n/2}
      out[2j+1] = x[2j+1] cos a_{(2j+1) mod n/2} + x[2j]   sin a_{(2j+1) mod n/2}
  This is NOT a rotation: it does not keep norms and q.k is not a function of p_q - p_k alone (the tests
  show both). It is identity at position 0 and linear in x. (vjepa2 PR #15 reports the mismatch; the
  maintainers kept it for compatibility with the released checkpoints.)
* ``"half"`` - the GPT-NeoX "rotate-half" RoPE: the same [a, a] tables paired with partner
  (-x_second_half, x_first_half), i.e. dims (j, j + n/2) rotated by a_j. A true rotation, a permutation
  of "interleave"; included because ".repeat + rotate-half" is the usual reading of that layout.

Shapes: B batch, heads attention heads, N tokens, d head_dim, n rotated dims per axis, P = B or 1.
"""
from __future__ import annotations

import torch

from ..config import is_int

LAYOUTS = ("repeat", "interleave", "half")
THETA = 10000.0


def rope_chunk_dim(head_dim: int) -> int:
    """Dims rotated per axis: 2*((head_dim//3)//2) (64 -> 20, 32 -> 10)."""
    if not is_int(head_dim, 6):
        raise ValueError(f"head_dim must be an int >= 6 (3 axes x at least one pair of dims), "
                         f"received {head_dim!r}")
    return 2 * ((head_dim // 3) // 2)


def grid_positions(grid: tuple[int, int, int]) -> torch.Tensor:
    """(t, h, w) -> Long [t*h*w, 3] of (frame, row, col), tokens in (t, h, w) row-major order."""
    if not (isinstance(grid, (tuple, list)) and len(grid) == 3
            and all(isinstance(g, int) and not isinstance(g, bool) and g > 0 for g in grid)):
        raise ValueError(f"grid must be (t, h, w) with positive ints, received {grid!r}")
    axes = torch.meshgrid(*(torch.arange(g) for g in grid), indexing="ij")
    return torch.stack([a.reshape(-1) for a in axes], dim=-1)


def _as_positions(positions) -> torch.Tensor:
    if isinstance(positions, (tuple, list)):
        return grid_positions(tuple(positions))
    if not isinstance(positions, torch.Tensor) or positions.dim() not in (2, 3) or positions.shape[-1] != 3:
        shape = tuple(positions.shape) if isinstance(positions, torch.Tensor) else type(positions).__name__
        raise ValueError(f"positions must be a (t, h, w) grid or a tensor [N, 3] / [P, N, 3] of "
                         f"(frame, row, col), received {shape}")
    return positions


def rope_3d_angles(positions, head_dim: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Half-width cos/sin tables: grid (t, h, w) or positions [..., N, 3] -> (cos, sin), each
    [..., N, 3, n/2] float32 (axis order frame, row, col; frequency j = 1/10000^(j/(n/2)))."""
    pos = _as_positions(positions)
    n = rope_chunk_dim(head_dim)
    half = n // 2
    omega = 1.0 / THETA ** (torch.arange(half, dtype=torch.float64, device=pos.device) / half)  # [n/2]
    angles = pos.to(torch.float64)[..., None] * omega  # [..., N, 3, n/2]
    return angles.cos().float(), angles.sin().float()


def _partner(x: torch.Tensor, layout: str) -> torch.Tensor:
    """The 'rotated by 90 degrees' companion of each chunk x [..., n]."""
    if layout == "half":
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([-x2, x1], dim=-1)
    pairs = x.unflatten(-1, (-1, 2))  # adjacent pairs (x0, x1), (x2, x3), ...
    return torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)


def apply_rope_3d(x: torch.Tensor, positions, layout: str = "repeat") -> torch.Tensor:
    """Rotate queries or keys x [B, heads, N, d] by 3D positions [P, N, 3] (P = B or 1; [N, 3] and a
    (t, h, w) grid are also accepted). Returns a tensor like x; the last d - 3n dims pass unchanged."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, received {layout!r}")
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"x must be a float tensor [B, heads, N, d], received {shape}")
    B, _, N, d = x.shape
    n = rope_chunk_dim(d)
    pos = _as_positions(positions).to(x.device)
    if pos.dim() == 2:
        pos = pos[None]
    if pos.shape[1] != N or pos.shape[0] not in (1, B):
        raise ValueError(f"positions must be [{B} or 1, {N}, 3] to match x {tuple(x.shape)}, "
                         f"received {tuple(pos.shape)}")
    cos, sin = rope_3d_angles(pos, d)  # [P, N, 3, n/2]
    expand = (lambda a: a.repeat_interleave(2, dim=-1)) if layout == "interleave" else (
        lambda a: torch.cat([a, a], dim=-1))  # "repeat" and "half": [a_0..a_{n/2-1}, a_0..a_{n/2-1}]
    cos, sin = (expand(a)[:, None].to(x.dtype) for a in (cos, sin))  # [P, 1, N, 3, n]
    chunks = x[..., :3 * n].unflatten(-1, (3, n))  # [B, heads, N, 3, n]
    rotated = chunks * cos + _partner(chunks, layout) * sin
    return torch.cat([rotated.flatten(-2), x[..., 3 * n:]], dim=-1)
