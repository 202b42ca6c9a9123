"""Plots for notebook 10 (the limits of latent world models): rollout error against the horizon, and planning
results per condition.

Shapes: H horizon, C conditions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from .plots import new_figure

CURVES = {"rollout": ("imagined rollout from frame 0", "C3", "o"),
          "teacher_forcing": ("one step from the true frame (teacher forcing)", "C0", "s"),
          "copy_start": ('"nothing moves" (frame 0\'s latents)', "0.45", "^")}


def first_above(a, b) -> int | None:
    """The first step (1-based) at which ``a`` [H] exceeds ``b`` [H], or None if it never does."""
    above = np.flatnonzero(np.asarray(a) > np.asarray(b))
    return int(above[0]) + 1 if len(above) else None


def rollout_error_figure(err: Mapping[str, np.ndarray], trained_steps: int | None = None,
                         title: str = "Latent error against the horizon") -> Figure:
    """The curves of ``limits.rollout_error`` (keys horizon, rollout, teacher_forcing, copy_start; arrays [H])
    against the horizon; steps after ``trained_steps`` (the training window's steps) shaded."""
    missing = {"horizon", *CURVES} - set(err)
    if missing:
        raise ValueError(f"err: missing {sorted(missing)} (expected the dict of limits.rollout_error)")
    h = np.asarray(err["horizon"])
    fig = new_figure(figsize=(6.4, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for key, (label, colour, marker) in CURVES.items():
        ax.plot(h, err[key], color=colour, marker=marker, markersize=4, label=label)
    if trained_steps is not None and trained_steps < h[-1]:
        ax.axvspan(trained_steps + 0.5, h[-1] + 0.5, color="C1", alpha=0.12,
                   label=f"beyond the training window ({trained_steps} steps)")
    cross = first_above(err["rollout"], err["copy_start"])
    if cross is not None:
        ax.annotate("rollout worse than\n\"nothing moves\"", (cross, err["rollout"][cross - 1]),
                    xytext=(25, -45), textcoords="offset points", fontsize=8, arrowprops=dict(arrowstyle="->"))
    ax.set_xlim(h[0] - 0.5, h[-1] + 0.5)
    ax.set_ylim(0, None)
    ax.set_xticks(h)
    ax.set_xlabel("step (frames after the start)")
    ax.set_ylabel("mean L1 to the true latents")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def conditions_figure(rows: Mapping[str, Mapping[str, float]], title: str = "") -> Figure:
    """Success rate (left) and mean final distance to the goal (right) per condition; ``rows`` maps a
    condition name to a ``planning_eval.summarise`` dict (keys success, final_distance)."""
    if not rows:
        raise ValueError("rows is empty: expected {condition: {'success': ..., 'final_distance': ...}}")
    names = list(rows)
    colours = [f"C{j}" for j in range(len(names))]
    fig = new_figure(figsize=(8.0, 2.8), layout="constrained")
    ax, ax_d = fig.subplots(1, 2)
    bars = ax.bar(range(len(names)), [rows[n]["success"] for n in names], color=colours)
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("success rate")
    bars = ax_d.bar(range(len(names)), [rows[n]["final_distance"] for n in names], color=colours)
    ax_d.bar_label(bars, fmt="%.1f", fontsize=8)
    ax_d.set_ylabel("final distance to goal (px)")
    for a in (ax, ax_d):
        a.set_xticks(range(len(names)), names, fontsize=8, rotation=15)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
