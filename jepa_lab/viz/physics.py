"""Plots for notebook 09 (intuitive physics): filmstrips of minimal sets, surprise curves of twin clips under
their frames (a static figure and a frame slider), and accuracy bars per law and model.

Like ``jepa_lab.viz.plots``, every figure function returns a Figure made by pyplot and closed at once. Clips are
[C=3, T, H, W], uint8 or float in [0, 1] (``video_plots.clip_array``).

Shapes: C channels, T frames, H, W pixels, W' windows (one surprise value each).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .plots import figure_to_png, new_figure
from .video import _bare, clip_array

BREAK_COLOUR = "#d62728"


def _frame_row(axes, clip: np.ndarray, frames: Sequence[int], break_frame: int | None, label: str,
               titles: bool) -> None:
    """One clip's frames on a row of axes; frames from the break on get a red outline."""
    for ax, f in zip(axes, frames):
        ax.imshow(clip[:, f].transpose(1, 2, 0), interpolation="nearest")
        _bare(ax)
        if break_frame is not None and f >= break_frame:
            H, W = clip.shape[2:]
            ax.add_patch(Rectangle((-0.5, -0.5), W, H, fill=False, edgecolor=BREAK_COLOUR,
                                   lw=3 if f == break_frame else 1.2))
        if titles:
            brk = " (break)" if f == break_frame else ""
            ax.set_title(f"frame {f}{brk}", fontsize=8, color=BREAK_COLOUR if brk else "black")
    axes[0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")


def _check(clips: Mapping[str, object], frames: Sequence[int] | None) -> tuple[dict, list[int]]:
    if not clips:
        raise ValueError("clips is empty: expected {row label: clip [3, T, H, W]}")
    arrs = {k: clip_array(v) for k, v in clips.items()}
    T = min(a.shape[1] for a in arrs.values())
    frames = list(range(T)) if frames is None else [int(f) for f in frames]
    if not frames or any(not 0 <= f < T for f in frames):
        raise ValueError(f"frames must be a non-empty list of indices in [0, {T}), received {frames}")
    return arrs, frames


def filmstrip_figure(clips: Mapping[str, object], frames: Sequence[int] | None = None,
                     break_frame: int | None = None, size: float = 1.0, title: str = "") -> Figure:
    """One row per clip ({row label: clip}), one column per frame; frames from ``break_frame`` on are outlined
    in red (thick at the break itself)."""
    arrs, frames = _check(clips, frames)
    fig = new_figure(figsize=(size * len(frames) + 1.2, size * len(arrs) + 0.5), layout="constrained")
    axes = fig.subplots(len(arrs), len(frames), squeeze=False)
    for r, (label, arr) in enumerate(arrs.items()):
        _frame_row(axes[r], arr, frames, break_frame, label, titles=r == 0)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def surprise_figure(clips: Mapping[str, object], curves: Mapping[str, Sequence[float]], x: Sequence[float],
                    break_frame: int | None = None, frames: Sequence[int] | None = None, mark: int | None = None,
                    xlabel: str = "newest frame of the window", size: float = 0.9, title: str = "",
                    xlim: tuple[float, float] | None = None) -> Figure:
    """Frames of twin clips ({label: clip}, one row each) above their surprise curves ({label: [W']}) plotted
    at ``x`` [W'] (frame numbers); the break frame dashed in red, ``mark`` (a frame) as a grey line; ``xlim``
    default: the frames shown and ``x``."""
    arrs, frames = _check(clips, frames)
    x = np.asarray(x, dtype=float)
    for k, c in curves.items():
        if len(c) != len(x):
            raise ValueError(f"curves[{k!r}] has {len(c)} values for {len(x)} windows (x)")
    cols = len(frames)
    fig = new_figure(figsize=(max(size * cols + 1.2, 5.0), size * len(arrs) + 2.6), layout="constrained")
    grid = fig.add_gridspec(len(arrs) + 1, cols, height_ratios=[1] * len(arrs) + [2.4])
    for r, (label, arr) in enumerate(arrs.items()):
        _frame_row([fig.add_subplot(grid[r, c]) for c in range(cols)], arr, frames, break_frame, label, r == 0)
    ax = fig.add_subplot(grid[-1, :])
    for j, (label, c) in enumerate(curves.items()):
        ax.plot(x, np.asarray(c, dtype=float), marker="o", markersize=3, color=f"C{j}", label=label,
                lw=2.5 - j, alpha=0.9)
    if break_frame is not None:
        ax.axvline(break_frame - 0.5, color=BREAK_COLOUR, ls="--", lw=1, label=f"break (frame {break_frame})")
    if mark is not None:
        ax.axvline(mark, color="0.4", lw=1)
    ax.set_xlim(xlim if xlim is not None else (min(x.min(), frames[0]) - 0.5, max(x.max(), frames[-1]) + 0.5))
    ax.set_xlabel(xlabel, fontsize=8)
    ax.set_ylabel("surprise", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="upper left")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


class SurpriseExplorer:
    """A frame slider over twin clips: the frame of every clip at the slider's position and the surprise curves
    with a line at it (``surprise_figure`` with one frame column, redrawn as a PNG). ``redraw`` is a plain method
    and ``.slider`` the control, so scripts can drive it; display the explorer or its ``.widget``."""

    def __init__(self, clips: Mapping[str, object], curves: Mapping[str, Sequence[float]], x: Sequence[float],
                 break_frame: int | None = None, display_px: int = 420):
        self.args = (dict(clips), dict(curves), np.asarray(x), break_frame)
        T = min(clip_array(c).shape[1] for c in self.args[0].values())
        self.xlim = (-0.5, T - 0.5)
        self.slider = W.IntSlider(0, 0, T - 1, description="frame", continuous_update=False)
        self.image = W.Image(format="png", layout=W.Layout(width=f"{display_px}px"))
        self.slider.observe(self.redraw, names="value")
        self.widget = W.VBox([self.slider, self.image])
        self.redraw()

    def figure(self) -> Figure:
        clips, curves, x, brk = self.args
        f = int(self.slider.value)
        return surprise_figure(clips, curves, x, brk, frames=[f], mark=f, size=1.6, xlim=self.xlim)

    def redraw(self, change=None) -> None:
        self.image.value = figure_to_png(self.figure(), dpi=80)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


def accuracy_figure(table: Mapping[str, Mapping[str, float]], chance: float = 0.5, ylabel: str = "set accuracy",
                    title: str = "") -> Figure:
    """Grouped bars: {model: {group (e.g. a law): accuracy}}, one colour per model, chance dashed."""
    if not table:
        raise ValueError("table is empty: expected {model: {group: accuracy}}")
    models = list(table)
    groups = list(table[models[0]])
    width = 0.8 / len(models)
    fig = new_figure(figsize=(1.3 * len(groups) + 2.6, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for j, m in enumerate(models):
        pos = np.arange(len(groups)) + (j - (len(models) - 1) / 2) * width
        bars = ax.bar(pos, [table[m][g] for g in groups], width=width, color=f"C{j}", label=m)
        ax.bar_label(bars, fmt="%.2f", fontsize=6)
    ax.axhline(chance, color="0.3", ls="--", lw=1, label="chance")
    ax.set_xticks(range(len(groups)), groups, fontsize=8)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title:
        ax.set_title(title, fontsize=10)
    return fig
