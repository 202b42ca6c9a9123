"""Seeing a planner think (notebooks 06, 07): energy landscapes, CEM iterations, MPC episodes, the success table.

Plans are drawn as *paths*: the agent position plus the cumulative sum of the planned displacements, over the
observation (image pixel coordinates, y pointing down). A path ignores walls - it is what the actions *ask*
for, not where the agent ends up. Every figure function returns a ``matplotlib.figure.Figure`` (made with
``plots.new_figure``, so nothing stays open in pyplot); the two explorers (``CEMIterationExplorer``,
``EpisodeReplay``) redraw a PNG when their slider moves and, like ``jepa_lab.viz.widgets``, can be driven from code.

Shapes: S samples, H horizon, A = 2 action dim (dx, dy), T episode steps, n grid points per axis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import ipywidgets as W
import numpy as np
import torch
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .plots import figure_to_png, new_figure


def _np(x) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def plan_paths(start_xy, actions) -> np.ndarray:
    """start [2] + actions [..., H, 2] -> positions [..., H + 1, 2] (the start, then cumulative displacements)."""
    a = _np(actions).astype(np.float64)
    start = np.broadcast_to(_np(start_xy).astype(np.float64), a.shape[:-2] + (1, 2))
    return np.concatenate([start, start + np.cumsum(a, axis=-2)], axis=-2)


def _check_index(name: str, value: int, n: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < n:
        raise ValueError(f"{name} must be an int in [0, {n - 1}], received {value!r}")
    return int(value)


def _show_frame(ax, image, title: str = "") -> None:
    img = _np(image)
    ax.imshow(img, extent=(0, img.shape[1], img.shape[0], 0), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


def _mark(ax, xy, marker: str, colour: str, label: str, size: float = 90) -> None:
    if xy is not None:
        x, y = _np(xy).astype(float).reshape(2)
        ax.scatter([x], [y], marker=marker, s=size, c=colour, edgecolors="black", linewidths=0.8, zorder=5,
                   label=label)


# ----- energy landscapes -------------------------------------------------------------------------------------


def first_action_energy(energy: Callable, rest=None) -> Callable:
    """A sequence energy (actions [S, H, A] -> [S]) as a function of the first action [S, A] only: the first
    action is followed by ``rest`` [H - 1, A] (default: nothing, a one-step plan)."""
    def of_first(first: torch.Tensor) -> torch.Tensor:
        seq = first[:, None]
        if rest is not None:
            tail = torch.as_tensor(_np(rest), dtype=first.dtype)
            seq = torch.cat([seq, tail.expand(len(first), -1, -1)], dim=1)
        return energy(seq)
    return of_first


def energy_landscape(energy_fn_of_first_action: Callable, max_norm: float, n: int = 41):
    """Evaluate energies of one-step actions on an n x n grid over [-max_norm, max_norm]^2, in one call.

    Returns (grid float [n, n, 2] of actions (dx, dy), row = dy, column = dx; energies float [n, n], NaN
    outside the disk |a| <= max_norm)."""
    if not (isinstance(n, int) and n >= 3) or not max_norm > 0:
        raise ValueError(f"expected n an int >= 3 and max_norm > 0, received n={n!r}, max_norm={max_norm!r}")
    v = np.linspace(-max_norm, max_norm, n)
    grid = np.stack(np.meshgrid(v, v), axis=-1)  # [n, n, 2]: grid[i, j] = (v[j], v[i])
    inside = np.linalg.norm(grid, axis=-1) <= max_norm * (1 + 1e-9)
    e = _np(energy_fn_of_first_action(torch.as_tensor(grid[inside], dtype=torch.float32))).astype(np.float64)
    if e.shape != (int(inside.sum()),):
        raise ValueError(f"energy function: expected energies [{int(inside.sum())}], received shape {e.shape}")
    energies = np.full((n, n), np.nan)
    energies[inside] = e
    return grid, energies


def grid_argmin(grid: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The grid point [2] of the smallest finite value."""
    return grid.reshape(-1, 2)[np.nanargmin(values)]


def energy_heatmap_figure(grid: np.ndarray, energies: np.ndarray, true_best=None, true_values=None,
                          title: str = "model energy of the first action") -> Figure:
    """Heatmap of energies [n, n] over the action grid [n, n, 2] (y down, like the image), the model's argmin
    marked (white x) and the true best action (black star, from the simulator). With ``true_values`` [n, n]
    (e.g. the simulated task distance), a second panel shows them on the same grid."""
    panels = [(energies, title)] + ([(true_values, "true task distance after the action")]
                                    if true_values is not None else [])
    fig = new_figure(figsize=(4.2 * len(panels), 3.8), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    m = float(np.abs(grid).max())
    model_best = grid_argmin(grid, energies)
    for ax, (values, name) in zip(axes, panels):
        if np.shape(values) != grid.shape[:2]:
            raise ValueError(f"expected values of shape {grid.shape[:2]}, received {np.shape(values)}")
        im = ax.imshow(values, extent=(-m, m, m, -m), origin="upper", cmap="viridis", interpolation="nearest")
        fig.colorbar(im, ax=ax, shrink=0.8)
        _mark(ax, model_best, "X", "white", "model argmin")
        _mark(ax, true_best, "*", "gold", "true best", size=160)
        ax.set_xlabel("dx")
        ax.set_ylabel("dy (down)")
        ax.set_title(name, fontsize=9)
    axes[0].legend(fontsize=7, loc="lower left")
    return fig


def arena_map_figure(image, xs: np.ndarray, ys: np.ndarray, values: np.ndarray, start=None, goal=None,
                     title: str = "latent distance to the goal") -> Figure:
    """Values [len(ys), len(xs)] over agent positions (NaN where the agent cannot be) drawn over image [H, W, 3],
    with the start (white circle) and the goal (gold star)."""
    values = np.asarray(values, dtype=float)
    if values.shape != (len(ys), len(xs)):
        raise ValueError(f"expected values [{len(ys)}, {len(xs)}] (rows = ys), received {values.shape}")
    fig = new_figure(figsize=(4.8, 4), layout="constrained")
    ax = fig.add_subplot()
    _show_frame(ax, (_np(image) * 0.5).astype(np.uint8), title)
    dx, dy = (xs[1] - xs[0]) / 2, (ys[1] - ys[0]) / 2
    im = ax.imshow(np.ma.masked_invalid(values), extent=(xs[0] - dx, xs[-1] + dx, ys[-1] + dy, ys[0] - dy),
                   cmap="magma_r", alpha=0.85, interpolation="nearest")
    fig.colorbar(im, ax=ax, shrink=0.8)
    _mark(ax, start, "o", "white", "start")
    _mark(ax, goal, "*", "gold", "goal", size=160)
    ax.set_xlim(0, _np(image).shape[1])
    ax.set_ylim(_np(image).shape[0], 0)
    ax.legend(fontsize=7, loc="lower left")
    return fig


# ----- CEM iterations ----------------------------------------------------------------------------------------


def cem_iterations_figure(history: Sequence, iteration: int, start_xy, obs=None, goal_xy=None,
                          max_paths: int = 64) -> Figure:
    """Left: the samples' paths of one iteration over the observation (grey), the elites (orange; MPPI: the
    samples with the largest weights) and the mean the samples were drawn around (blue, bold).
    Right: energy per iteration - every sample (dots), the mean and the best so far - this one highlighted."""
    if len(history) == 0:
        raise ValueError("history is empty: expected at least 1 iteration (call plan(..., record=True))")
    it = _check_index("iteration", iteration, len(history))
    info = history[it]
    paths = plan_paths(start_xy, info.samples)  # [S, H + 1, 2]
    energies = _np(info.energies)
    if info.elites is not None:
        elites = _np(info.elites)
    else:
        elites = np.argsort(-_np(info.weights))[: max(1, len(energies) // 10)] if info.weights is not None else []
    fig = new_figure(figsize=(8.4, 3.8), layout="constrained")
    ax, ax_e = fig.subplots(1, 2, width_ratios=(1, 1.1))
    if obs is not None:
        _show_frame(ax, obs)
    else:
        ax.set_aspect("equal")
    others = [s for s in range(len(paths)) if s not in set(np.asarray(elites).tolist())][:max_paths]
    ax.add_collection(LineCollection(paths[others], colors="0.85", linewidths=0.6, alpha=0.6, label="samples"))
    ax.add_collection(LineCollection(paths[list(elites)], colors="C1", linewidths=1.2, label="elites"))
    ax.plot(*paths[0].T, color="C0", linewidth=2.8, marker="o", markersize=3, label="mean")
    _mark(ax, start_xy, "o", "white", "agent")
    _mark(ax, goal_xy, "*", "gold", "goal", size=160)
    if obs is not None:  # paths may leave the frame: keep the view on it
        ax.set_xlim(0, _np(obs).shape[1])
        ax.set_ylim(_np(obs).shape[0], 0)
    else:
        ax.autoscale_view()
        ax.invert_yaxis()
    ax.set_title(f"iteration {it}: {len(paths)} samples, {len(elites)} elites", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    draw_iteration_energies(ax_e, history, it)
    return fig


def draw_iteration_energies(ax, history: Sequence, highlight: int | None = None) -> None:
    """Into ``ax``: the energy of every sample per iteration (grey dots), of the mean and of the best so far;
    iteration ``highlight`` (if given) marked."""
    for h in history:
        ax.scatter(np.full(len(h.energies), h.iteration), _np(h.energies), s=4, color="0.6", alpha=0.5)
    ax.plot([h.iteration for h in history], [h.mean_energy for h in history], "o-", color="C0", label="mean")
    ax.plot([h.iteration for h in history], [h.best_energy for h in history], "s-", color="C3", label="best so far")
    if highlight is not None:
        ax.axvline(highlight, color="C1", linewidth=2, alpha=0.6)
    ax.set_xlim(-0.5, len(history) - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("iteration")
    ax.set_ylabel("energy")
    ax.legend(fontsize=7)


def cem_energies_figure(history: Sequence, title: str = "") -> Figure:
    """The energies of a recorded plan (``PlanResult.history``) per iteration: every sample, the mean, the best."""
    if len(history) == 0:
        raise ValueError("history is empty: expected at least 1 iteration (call plan(..., record=True))")
    fig = new_figure(figsize=(4.6, 3.0), layout="constrained")
    ax = fig.add_subplot()
    draw_iteration_energies(ax, history)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


class _SliderExplorer:
    """A slider and a PNG image; subclasses give ``figure(i)``. Shows as its ``.widget``."""

    def __init__(self, n: int, description: str, dpi: int = 80):
        self.dpi, self.current = dpi, None
        self.slider = W.IntSlider(value=0, min=0, max=n - 1, description=description, continuous_update=False)
        self.image = W.Image(format="png")
        self.slider.observe(lambda change: self.show(change["new"]), names="value")
        self.widget = W.VBox([self.slider, self.image])
        self.show(0)

    def show(self, i: int) -> None:
        """Redraw at index i (and move the slider there)."""
        self.image.value = figure_to_png(self.figure(i), dpi=self.dpi)
        self.current = int(i)
        self.slider.value = int(i)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class CEMIterationExplorer(_SliderExplorer):
    """Slider over the iterations of a recorded plan (``PlanResult.history``) -> ``cem_iterations_figure``."""

    def __init__(self, history: Sequence, obs, start_xy, goal_xy=None, dpi: int = 80):
        if len(history) == 0:
            raise ValueError("history is empty: expected at least 1 iteration (call plan(..., record=True))")
        self.history, self.obs, self.start_xy, self.goal_xy = list(history), obs, start_xy, goal_xy
        super().__init__(len(self.history), "iteration", dpi)

    def figure(self, i: int) -> Figure:
        return cem_iterations_figure(self.history, i, self.start_xy, self.obs, self.goal_xy)


# ----- MPC episodes ------------------------------------------------------------------------------------------


def episode_figure(episode, step: int, planned=None, energies=None, goal_xy=None) -> Figure:
    """Left: the frame at ``step`` with the path so far (white) and the planned path from there (blue,
    ``planned`` actions [H, 2]). Right: the distance to the goal over the episode and, if given, the plan energy of
    every step (``energies`` [T], second y axis); the current step marked."""
    step = _check_index("step", step, episode.steps + 1)
    states = np.asarray(episode.states, dtype=float)
    fig = new_figure(figsize=(8.4, 3.6), layout="constrained")
    ax, ax_d = fig.subplots(1, 2, width_ratios=(1, 1.2))
    _show_frame(ax, episode.observations[step], f"step {step} / {episode.steps}")
    ax.plot(*states[: step + 1].T, color="white", linewidth=1.5, marker=".", markersize=4, label="path so far")
    if planned is not None:
        ax.plot(*plan_paths(states[step], planned).T, color="C0", linewidth=2, marker="o", markersize=3,
                label="plan")
    _mark(ax, goal_xy, "*", "gold", "goal", size=160)
    ax.set_xlim(0, episode.observations.shape[2])
    ax.set_ylim(episode.observations.shape[1], 0)
    ax.legend(fontsize=7, loc="lower left")
    ax_d.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax_d.plot(np.arange(len(episode.distances)), episode.distances, color="C2", marker=".", label="distance to goal")
    ax_d.axvline(step, color="C1", linewidth=2, alpha=0.6)
    ax_d.set_xlabel("step")
    ax_d.set_ylabel("distance to goal (px)", color="C2")
    if energies is not None:
        ax_e = ax_d.twinx()
        ax_e.plot(np.arange(len(energies)), energies, color="C0", marker=".", label="plan energy")
        ax_e.set_ylabel("plan energy", color="C0")
    return fig


class EpisodeReplay(_SliderExplorer):
    """Slider over the steps 0..T of an ``Episode``; ``plans`` (T actions [H, 2], the plan of each step) and
    ``energies`` ([T]) are optional."""

    def __init__(self, episode, plans: Sequence | None = None, energies=None, goal_xy=None, dpi: int = 80):
        if plans is not None and len(plans) != episode.steps:
            raise ValueError(f"plans: expected one per step ({episode.steps}), received {len(plans)}")
        self.episode, self.plans, self.energies, self.goal_xy = episode, plans, energies, goal_xy
        super().__init__(episode.steps + 1, "step", dpi)

    def figure(self, i: int) -> Figure:
        planned = self.plans[i] if self.plans is not None and i < len(self.plans) else None
        return episode_figure(self.episode, i, planned, self.energies, self.goal_xy)


# ----- the comparison ----------------------------------------------------------------------------------------


def success_table_figure(rows: Mapping[str, Mapping[str, float]], speed: Sequence[str] | None = None) -> Figure:
    """Left: success rate per method (rows: method -> ``planning_eval.summarise`` dict). Right: milliseconds per
    planning step (log scale) of the methods in ``speed`` (default: every method)."""
    if not rows:
        raise ValueError("rows is empty: expected {method: {'success': ..., 'ms_per_step': ...}}")
    names = list(rows)
    fast = [m for m in (names if speed is None else speed) if m in rows]
    fig = new_figure(figsize=(8.4, 3.2), layout="constrained")
    ax, ax_t = fig.subplots(1, 2)
    bars = ax.bar(range(len(names)), [rows[m]["success"] for m in names], color=[f"C{j}" for j in range(len(names))])
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(names)), names, fontsize=8)
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("success rate")
    ax.set_title("reached the goal", fontsize=9)
    ms = [max(rows[m]["ms_per_step"], 1e-3) for m in fast]
    bars = ax_t.barh(range(len(fast)), ms, color=[f"C{names.index(m)}" for m in fast])
    ax_t.bar_label(bars, fmt="%.0f ms", fontsize=8)
    ax_t.set_yticks(range(len(fast)), fast, fontsize=8)
    ax_t.set_xscale("log")
    ax_t.set_xlabel("ms per planning step (log)")
    ax_t.set_title("time to choose one action", fontsize=9)
    return fig
