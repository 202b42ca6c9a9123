"""Plots for notebook 08 (full scale): parameters against FLOPs of the published models, and the energy
landscape of a robot planner over its first move.

Shapes: S samples, H rollout steps, n grid points per axis.
"""

from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from ..config import is_int
from ..fullscale.sizing import CostReport
from .plots import new_figure

MARKERS = "osD^vP*X"


# label offsets (points) per group, so that groups whose points lie close together keep readable labels
OFFSETS = ((-8, 7, "right"), (7, -12, "left"), (7, -4, "left"), (-8, -14, "right"))


def scale_figure(groups: Mapping[str, Sequence[CostReport]], title: str = "From tiny to ViT-g") -> Figure:
    """Log-log scatter of parameters (x) against forward FLOPs (y), one marker per group, every point
    labelled with its report's name; the reports of a group are joined by a line in the given order."""
    if not groups or not all(groups.values()):
        raise ValueError("scale_figure needs at least one group with at least one CostReport")
    fig = new_figure(figsize=(7.0, 4.8), layout="constrained")
    ax = fig.subplots()
    for k, (group, reports) in enumerate(groups.items()):
        x = np.array([r.params for r in reports], dtype=float)
        y = np.array([r.flops for r in reports], dtype=float)
        if (x <= 0).any() or (y <= 0).any():
            raise ValueError(f"group {group!r}: parameters and FLOPs must be positive on log scales")
        ax.plot(x, y, marker=MARKERS[k % len(MARKERS)], linestyle="-", alpha=0.85, label=group)
        dx, dy, ha = OFFSETS[k % len(OFFSETS)]
        flip = False
        for i, (r, xi, yi) in enumerate(zip(reports, x, y)):
            flip = i > 0 and abs(np.log10(xi / x[i - 1])) < 0.35 and not flip  # close neighbour: right, other side
            ax.annotate(r.name, (xi, yi), textcoords="offset points", xytext=(abs(dx), -dy - 4) if flip else (dx, dy),
                        ha="left" if flip else ha, fontsize=7, color=ax.get_lines()[-1].get_color())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("FLOPs of one forward (clip, image or step)")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="major", alpha=0.3)
    ax.margins(x=0.12, y=0.12)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def move_grid(n: int, max_delta: float) -> np.ndarray:
    """An n x n grid of first moves (dx, dy) over [-max_delta, max_delta]^2: float [n, n, 2], row = dy,
    column = dx (the robot planner's box bounds, so no point is left out)."""
    if not is_int(n, 2) or not max_delta > 0:
        raise ValueError(f"expected n an int >= 2 and max_delta > 0, received n={n!r}, max_delta={max_delta!r}")
    v = np.linspace(-max_delta, max_delta, n)
    return np.stack(np.meshgrid(v, v), axis=-1)


def first_move_landscape(energy: Callable[[torch.Tensor], torch.Tensor], n: int, max_delta: float,
                         horizon: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Energies of plans whose first move is (dx, dy, dz=0, dgripper=0) on ``move_grid(n, max_delta)``, the
    other ``horizon - 1`` moves zero, all n*n plans in one call of ``energy`` (actions [S, H, 4] -> [S]).
    Returns (grid [n, n, 2], energies float64 [n, n])."""
    if not is_int(horizon, 1):
        raise ValueError(f"horizon: expected an int >= 1, received {horizon!r}")
    grid = move_grid(n, max_delta)
    actions = torch.zeros(n * n, horizon, 4)
    actions[:, 0, :2] = torch.as_tensor(grid.reshape(-1, 2), dtype=torch.float32)
    e = energy(actions)
    e = e.detach().float().cpu().numpy().astype(np.float64) if isinstance(e, torch.Tensor) else np.asarray(e, float)
    if e.shape != (n * n,):
        raise ValueError(f"energy: expected energies [{n * n}], received shape {e.shape}")
    return grid, e.reshape(n, n)


def landscape_figure(grid: np.ndarray, energies: np.ndarray, title: str = "energy of the first move",
                     unit: float = 100.0, unit_name: str = "cm") -> Figure:
    """Heatmap of energies [n, n] over first moves grid [n, n, 2] (dy up), in ``unit_name`` (metres x
    ``unit``), as the excess over the lowest energy (named in the colour bar's label, so tiny differences stay
    readable); the lowest energy is marked with a white cross and the zero move with a black circle."""
    grid, energies = np.asarray(grid, float), np.asarray(energies, float)
    if grid.ndim != 3 or grid.shape[-1] != 2 or energies.shape != grid.shape[:2]:
        raise ValueError(f"expected grid [n, n, 2] and energies [n, n], received {grid.shape} and {energies.shape}")
    fig = new_figure(figsize=(4.6, 3.9), layout="constrained")
    ax = fig.subplots()
    m = float(np.abs(grid).max()) * unit
    half = m / (len(grid) - 1) if len(grid) > 1 else m  # pixel centres on the grid points
    low = float(np.nanmin(energies))
    im = ax.imshow(energies - low, extent=(-m - half, m + half, -m - half, m + half), origin="lower", cmap="viridis",
                   interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.85, format="%.2g", label=f"energy - {low:.5g} (the lowest)")
    best = grid.reshape(-1, 2)[np.nanargmin(energies)] * unit
    ax.scatter([best[0]], [best[1]], marker="X", s=110, c="white", edgecolors="black", label="lowest energy")
    ax.scatter([0], [0], marker="o", s=50, facecolors="none", edgecolors="black", label="no move")
    ax.set_xlabel(f"dx ({unit_name})")
    ax.set_ylabel(f"dy ({unit_name})")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return fig
