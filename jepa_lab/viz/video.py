"""Matplotlib figures for video masking (notebook 03): tubelets, 3D masks on clips, masked-fraction bars.

Like ``jepa_lab.viz.plots``, every figure function returns a ``matplotlib.figure.Figure`` made by pyplot and
closed at once (nothing left in pyplot's global state, nothing drawn twice); put it last in a cell to show it.

Clips are [C=3, T, H, W], uint8 (0..255) or float (0..1), torch or numpy, the model layout of
``jepa_lab.data.balls.videos_to_float``. A clip with ``tubelet_size`` ts and ``patch_size`` p has a token grid
(t, h, w) = (T/ts, H/p, W/p); token i = (f*h + r)*w + c covers frames f*ts .. f*ts+ts-1, rows r*p .. r*p+p-1
and columns c*p .. c*p+p-1 (``jepa_lab.masking.multiblock3d``).

Shapes: C channels, T frames, H, W pixels, ts tubelet size, p patch size, t/h/w token grid, N = t*h*w tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ..masking.multiblock3d import VideoMaskBatch
from .plots import DROPPED_DIM, new_figure

TARGET_COLOUR = "#ff7f0e"  # tab:orange, the first target colour of plots.py
TUBELET_COLOUR = "#d62728"
TARGET_ALPHA = 0.6


def clip_array(clip) -> np.ndarray:
    """clip [3, T, H, W] uint8 (0..255) or float (0..1), tensor or array -> float64 array in [0, 1]."""
    arr = clip.detach().cpu().numpy() if isinstance(clip, torch.Tensor) else np.asarray(clip)
    if arr.ndim != 4 or arr.shape[0] != 3:
        hint = (" - channel-last uint8 frames [T, H, W, 3] go through jepa_lab.data.balls.videos_to_float first"
                if arr.ndim == 4 and arr.shape[-1] == 3 else "")
        raise ValueError(f"expected a clip [3, T, H, W] (channels first), received shape {tuple(arr.shape)}{hint}")
    arr = arr.astype(np.float64) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float64)
    return np.clip(arr, 0.0, 1.0)


def clip_grid(clip_shape: Sequence[int], grid: Sequence[int]) -> tuple[int, int]:
    """(tubelet_size, patch_size) of a clip [3, T, H, W] on a (t, h, w) token grid; ValueError if they disagree."""
    T, H, W = (int(s) for s in clip_shape[-3:])
    t, h, w = (int(g) for g in grid)
    ts, p = T // t, H // h
    if ts < 1 or p < 1 or (T, H, W) != (t * ts, h * p, w * p):
        raise ValueError(f"a clip of {T} frames x {H}x{W} pixels does not match a {t}x{h}x{w} token grid "
                         f"(T, H, W must be multiples of t, h, w with one patch size for H and W)")
    return ts, p


def token_roles(masks: VideoMaskBatch, i: int = 0) -> np.ndarray:
    """Role of every token of clip i -> int [t, h, w]: 1 target, 0 context, -1 dropped (neither: truncated
    to the batch minimum)."""
    t, h, w = masks.grid
    if not 0 <= i < masks.context.shape[0]:
        raise ValueError(f"clip index must lie in [0, {masks.context.shape[0]}), received {i}")
    roles = np.full(t * h * w, -1, dtype=np.int64)
    roles[masks.context[i].cpu().numpy()] = 0
    roles[masks.targets[i].cpu().numpy()] = 1
    return roles.reshape(t, h, w)


def video_mask_overlay(clip, masks: VideoMaskBatch, i: int = 0, frame: int = 0) -> np.ndarray:
    """Frame `frame` (a video frame, 0..T-1) of clip [3, T, H, W] with mask i -> RGB float [H, W, 3] in [0, 1]:
    context tokens keep their pixels, target tokens are tinted orange, dropped tokens are dimmed."""
    arr = clip_array(clip)
    ts, p = clip_grid(arr.shape, masks.grid)
    T = arr.shape[1]
    if not 0 <= int(frame) < T:
        raise ValueError(f"frame must lie in [0, {T}) for a clip of {T} frames, received {frame}")
    img = arr[:, int(frame)].transpose(1, 2, 0)  # [H, W, 3]
    roles = np.kron(token_roles(masks, i)[int(frame) // ts], np.ones((p, p), dtype=np.int64))  # [H, W]
    out = img.copy()
    tgt, drop = roles == 1, roles == -1
    out[tgt] = (1 - TARGET_ALPHA) * img[tgt] + TARGET_ALPHA * np.array(to_rgb(TARGET_COLOUR))
    out[drop] = img[drop] * DROPPED_DIM
    return out


def _grid_lines(ax, H: int, W: int, p: int, colour="white", alpha=0.35) -> None:
    for y in range(p, H, p):
        ax.axhline(y - 0.5, color=colour, lw=0.5, alpha=alpha)
    for x in range(p, W, p):
        ax.axvline(x - 0.5, color=colour, lw=0.5, alpha=alpha)


def _bare(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def tubelet_figure(clip, tubelet_size: int, patch_size: int, frames: Sequence[int] | None = None,
                   tubelet: tuple[int, int, int] | None = None, size: float = 2.2) -> Figure:
    """Frames of clip [3, T, H, W] in a row with the patch grid drawn and one tubelet outlined in red on each
    of its `tubelet_size` frames. frames: default the first two tubelets' frames; tubelet: (f, r, c) token
    coordinates, default the centre cell of the first token-frame shown."""
    arr = clip_array(clip)
    T, H, W = arr.shape[1:]
    ts, p = int(tubelet_size), int(patch_size)
    if ts < 1 or p < 1 or T % ts or H % p or W % p:
        raise ValueError(f"a clip of {T} frames x {H}x{W} pixels cannot be cut into tubelets of {ts} frames x "
                         f"{p}x{p} pixels (T must be a multiple of tubelet_size, H and W of patch_size)")
    t, h, w = T // ts, H // p, W // p
    frames = list(range(min(T, 2 * ts))) if frames is None else [int(f) for f in frames]
    if not frames or any(not 0 <= f < T for f in frames):
        raise ValueError(f"frames must be a non-empty list of indices in [0, {T}), received {frames}")
    f0, r0, c0 = tubelet if tubelet is not None else (frames[0] // ts, h // 2, w // 2)
    fig = new_figure(figsize=(size * len(frames), size + 0.9), layout="constrained")
    for ax, f in zip(fig.subplots(1, len(frames), squeeze=False)[0], frames):
        ax.imshow(arr[:, f].transpose(1, 2, 0), interpolation="nearest")
        _grid_lines(ax, H, W, p)
        if f // ts == f0:
            ax.add_patch(Rectangle((c0 * p - 0.5, r0 * p - 0.5), p, p, fill=False, edgecolor=TUBELET_COLOUR, lw=2.5))
        ax.set_title(f"frame {f}\ntoken-frame {f // ts}", fontsize=9,
                     color=TUBELET_COLOUR if f // ts == f0 else "black")
        _bare(ax)
    fig.suptitle(f"{T} frames of {H}x{W} px -> tubelets of {ts}x{p}x{p} -> a {t}x{h}x{w} grid, "
                 f"N = {t * h * w} tokens (red: tubelet ({f0}, {r0}, {c0}) = token {(f0 * h + r0) * w + c0})",
                 fontsize=9)
    return fig


def _legend_handles() -> list[Patch]:
    return [Patch(facecolor="white", edgecolor="0.5", label="context (visible)"),
            Patch(color=TARGET_COLOUR, label="target (predicted)"), Patch(color="0.25", label="dropped")]


def video_mask_strip(clip, masks: VideoMaskBatch, i: int = 0, frames: Sequence[int] | None = None,
                     size: float = 2.0, title: str | None = None, grid_lines: bool = True) -> Figure:
    """Several frames of clip [3, T, H, W] with mask i overlaid (``video_mask_overlay``).
    frames: default the first frame of every token-frame (at most 8, evenly spaced)."""
    arr = clip_array(clip)
    ts, p = clip_grid(arr.shape, masks.grid)
    t = masks.grid[0]
    if frames is None:
        frames = [int(f) * ts for f in np.unique(np.linspace(0, t - 1, min(t, 8)).round().astype(int))]
    frames = [int(f) for f in frames]
    fig = new_figure(figsize=(size * len(frames) + 1.6, size + 0.5), layout="constrained")
    for ax, f in zip(fig.subplots(1, len(frames), squeeze=False)[0], frames):
        ax.imshow(video_mask_overlay(arr, masks, i, f), interpolation="nearest")
        if grid_lines:
            _grid_lines(ax, arr.shape[2], arr.shape[3], p, colour="black", alpha=0.15)
        ax.set_title(f"frame {f} (t'={f // ts})", fontsize=9)
        _bare(ax)
    fig.legend(handles=_legend_handles(), loc="outside right upper", fontsize=8, frameon=False)
    t_, h, w = masks.grid
    n = t_ * h * w
    fig.suptitle(title if title is not None else
                 f"{masks.targets.shape[1]}/{n} tokens are targets ({masks.targets.shape[1] / n:.0%}), "
                 f"{masks.context.shape[1]} context", fontsize=9)
    return fig


def mask_fraction_bars(values: Mapping[str, Sequence[float]], reference: Mapping[str, float] | None = None,
                       ylabel: str = "masked fraction of the N tokens", ax=None,
                       reference_label: str = "reference") -> Figure:
    """One bar per entry: mean of its values with a min..max range (thin line) and a +-1 std error bar,
    labelled with the mean; dashed markers at `reference` values (legend: `reference_label`)."""
    if not values:
        raise ValueError("values must map at least one name to a sequence of numbers")
    if ax is None:
        fig = new_figure(figsize=(1.1 * len(values) + 2.5, 3.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    names = list(values)
    for j, name in enumerate(names):
        v = np.asarray(values[name], dtype=float)
        if v.size == 0:
            raise ValueError(f"values[{name!r}] is empty")
        ax.bar(j, v.mean(), color=f"C{j}", alpha=0.75, width=0.6)
        ax.vlines(j, v.min(), v.max(), color="0.2", lw=1)
        ax.errorbar(j, v.mean(), yerr=v.std(), color="black", capsize=6, lw=2)
        ax.text(j + 0.32, v.mean(), f"{v.mean():.2f}", va="center", ha="left", fontsize=8)
        if reference and name in reference:
            ax.hlines(reference[name], j - 0.3, j + 0.3, colors="black", linestyles="--", lw=1.2)
    ax.set_xticks(range(len(names)), names, fontsize=8, rotation=15 if len(names) > 3 else 0)
    ax.set_ylabel(ylabel, fontsize=9)
    if all(np.max(np.asarray(values[k], dtype=float)) <= 1.0 for k in names):
        ax.set_ylim(0, 1.05)
    if reference:
        ax.plot([], [], "k--", lw=1.2, label=reference_label)
        ax.legend(fontsize=8, loc="lower right")
    return fig
