"""Matplotlib figures for the notebooks: masks on images, loss curves, probe results, image grids.

Every function returns a ``matplotlib.figure.Figure`` and never calls ``plt.show()``. Figures are created by
pyplot (so notebooks get the inline backend's image display) and closed at once, so the library leaves nothing
open in pyplot's global state and nothing is drawn twice: put the returned figure last in a cell to display it.
Functions taking ``ax=`` draw into that axes instead.

Shapes: B batch, C channels (3), H, W pixels, p patch size, h, w patch grid (H//p, W//p), N = h*w tokens,
M target blocks per image, Nc context tokens, D width, F feature dim.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch, Rectangle

from ..data.photos import load_photo
from ..masking.multiblock import MaskBatch

CONTEXT_COLOUR = (0.12, 0.47, 0.71)  # tab:blue
TARGET_COLOURS = ("#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf")
CONTEXT_ALPHA, TARGET_ALPHA, DROPPED_DIM = 0.3, 0.55, 0.35


def _hwc(image) -> np.ndarray:
    """image [3, H, W] (tensor or array) in [0, 1] -> float array [H, W, 3]."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if arr.ndim != 3 or arr.shape[0] != 3:
        raise ValueError(f"expected an image [3, H, W], received shape {tuple(arr.shape)}")
    return np.clip(arr.transpose(1, 2, 0).astype(np.float64), 0.0, 1.0)


def _patch(image_hw: tuple[int, int], grid: tuple[int, int], patch_size: int | None) -> int:
    """Patch size p for an H x W image on an h x w grid; ValueError if they disagree."""
    (H, W), (h, w) = image_hw, grid
    p = H // h if patch_size is None else int(patch_size)
    if p < 1 or (H, W) != (h * p, w * p):
        raise ValueError(f"image of {H}x{W} pixels does not match a {h}x{w} grid of {p}-pixel patches "
                         f"(expected {h * max(p, 1)}x{w * max(p, 1)})")
    return p


def target_colour(k: int) -> str:
    """Colour of target block k (cycles through TARGET_COLOURS)."""
    return TARGET_COLOURS[k % len(TARGET_COLOURS)]


def mask_roles(masks: MaskBatch, i: int = 0) -> np.ndarray:
    """Role of every patch of image i -> int [h, w]: -1 dropped, 0 context, k+1 target block k.

    Where target blocks overlap, the later block wins; context and targets never overlap.
    """
    h, w = masks.grid
    roles = np.full(h * w, -1, dtype=np.int64)
    roles[masks.context[i].cpu().numpy()] = 0
    for k, block in enumerate(masks.targets[i].cpu().numpy()):  # block [Nt]
        roles[block] = k + 1
    return roles.reshape(h, w)


def mask_overlay(image, masks: MaskBatch, i: int = 0, patch_size: int | None = None) -> np.ndarray:
    """image [3, H, W] in [0, 1] + masks of image i -> tinted RGB [H, W, 3]: context blue, each target block
    in its own colour, dropped patches (neither context nor target) dimmed."""
    img = _hwc(image)
    p = _patch(img.shape[:2], masks.grid, patch_size)
    roles = np.kron(mask_roles(masks, i), np.ones((p, p), dtype=np.int64))  # [H, W]
    out = img * DROPPED_DIM
    ctx = roles == 0
    out[ctx] = (1 - CONTEXT_ALPHA) * img[ctx] + CONTEXT_ALPHA * np.array(CONTEXT_COLOUR)
    for k in range(masks.targets.shape[1]):
        sel = roles == k + 1
        out[sel] = (1 - TARGET_ALPHA) * img[sel] + TARGET_ALPHA * np.array(to_rgb(target_colour(k)))
    return out


def _block_rectangles(masks: MaskBatch, i: int, p: int) -> list[Rectangle]:
    """One outline Rectangle (pixel coordinates) per target block of image i."""
    w = masks.grid[1]
    rects = []
    for k, block in enumerate(masks.targets[i].cpu().numpy()):
        rows, cols = block // w, block % w
        xy = (cols.min() * p - 0.5, rows.min() * p - 0.5)
        rects.append(Rectangle(xy, (np.ptp(cols) + 1) * p, (np.ptp(rows) + 1) * p, fill=False,
                               edgecolor=target_colour(k), linewidth=2))
    return rects


def _legend_handles(num_targets: int) -> list[Patch]:
    return [Patch(color=CONTEXT_COLOUR, label="context"), Patch(color="0.25", label="dropped")] + [
        Patch(color=target_colour(k), label=f"target {k + 1}") for k in range(num_targets)]


def new_figure(**kwargs) -> Figure:
    """A figure made by pyplot (so it displays inline in notebooks) and closed at once (no global state)."""
    fig = plt.figure(**kwargs)
    plt.close(fig)
    return fig


def _new_axes(ax, figsize) -> tuple[Figure, object]:
    if ax is not None:
        return ax.figure, ax
    fig = new_figure(figsize=figsize, layout="constrained")
    return fig, fig.add_subplot()


def show_masks(image, masks: MaskBatch, i: int = 0, patch_size: int | None = None, ax=None,
               title: str | None = None, legend: bool = True) -> Figure:
    """Overlay mask i of a MaskBatch on image [3, H, W] in [0, 1]: context tinted blue, each of the M target
    blocks filled and outlined in its own colour, dropped patches dimmed. p defaults to H // h."""
    fig, ax = _new_axes(ax, (4.2, 4))
    overlay = mask_overlay(image, masks, i, patch_size)
    p = overlay.shape[0] // masks.grid[0]
    ax.imshow(overlay, interpolation="nearest")
    for rect in _block_rectangles(masks, i, p):
        ax.add_patch(rect)
    n = masks.grid[0] * masks.grid[1]
    ax.set_title(title if title is not None else f"context {masks.context.shape[1]}/{n} patches", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if legend:
        ax.legend(handles=_legend_handles(masks.targets.shape[1]), loc="upper left", bbox_to_anchor=(1.01, 1),
                  fontsize=8, frameon=False)
    return fig


def mask_grid(images, masks: MaskBatch, patch_size: int | None = None, n: int | None = None,
              titles: Sequence[str] | None = None, size: float = 2.6) -> Figure:
    """Images [B, 3, H, W] side by side, image i with mask i of the batch; n images (default all)."""
    n = min(len(images), masks.context.shape[0]) if n is None else n
    fig = new_figure(figsize=(size * n + 1.2, size + 0.3), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for i, ax in enumerate(axes):
        show_masks(images[i], masks, i, patch_size, ax=ax, title=None if titles is None else titles[i],
                   legend=False)
    fig.legend(handles=_legend_handles(masks.targets.shape[1]), loc="outside right upper", fontsize=8,
               frameon=False)
    return fig


def fraction_histogram(fractions: Mapping[str, Sequence[float]], reference: Mapping[str, float] | None = None,
                       bins: int = 30) -> Figure:
    """Histograms of mask fractions (e.g. 'context', 'target_union' per batch), dashed lines at reference values."""
    fig, ax = _new_axes(None, (6, 3.2))
    for j, (name, values) in enumerate(fractions.items()):
        colour = f"C{j}"
        ax.hist(np.asarray(values, dtype=float), bins=bins, range=(0, 1), alpha=0.6, color=colour, label=name)
        if reference and name in reference:
            ax.axvline(reference[name], color=colour, linestyle="--", label=f"{name} (paper ~{reference[name]:.2f})")
    ax.set_xlabel("fraction of the N grid patches")
    ax.set_ylabel("count")
    ax.legend(fontsize=8)
    return fig


def _moving_average(x: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over `window` values (shorter at the start), same length as x."""
    c = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, len(x) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


def loss_curve(losses: Sequence[float], ax=None, smooth: int | None = None, label: str = "loss",
               logy: bool = False) -> Figure:
    """Per-step losses (faint) and their trailing moving average over `smooth` steps (default ~len/20;
    smooth=1 draws the raw curve only)."""
    x = np.asarray(losses, dtype=float)
    if x.ndim != 1 or len(x) == 0:
        raise ValueError(f"expected a non-empty 1-D sequence of losses, received shape {x.shape}")
    window = max(1, len(x) // 20) if smooth is None else int(smooth)
    fig, ax = _new_axes(ax, (6, 3.2))
    steps = np.arange(len(x))
    if window > 1:
        ax.plot(steps, x, color="C0", alpha=0.3, linewidth=1, label=f"{label} (per step)")
        ax.plot(steps, _moving_average(x, window), color="C0", linewidth=2, label=f"{label} ({window}-step mean)")
    else:
        ax.plot(steps, x, color="C0", linewidth=1.5, label=label)
    ax.set_xlabel("step")
    ax.set_ylabel(label)
    if logy:
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    return fig


def probe_bars(results: Mapping[str, object], chance: float | None = None) -> Figure:
    """Bar charts of linear-probe results {name: ProbeResult}: shape accuracy (left), position R^2 (right)."""
    names = list(results)
    fig = new_figure(figsize=(2.2 + 1.6 * len(names), 3.4), layout="constrained")
    axes = fig.subplots(1, 2)
    colours = [f"C{j}" for j in range(len(names))]
    for ax, attr, label in zip(axes, ("accuracy", "position_r2"), ("shape accuracy", "position R$^2$")):
        vals = [getattr(results[n], attr) for n in names]
        bars = ax.bar(range(len(names)), vals, color=colours)
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
        ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
        ax.set_title(label, fontsize=10)
        ax.set_ylim(min(0.0, min(vals) - 0.05), 1.05)
        ax.axhline(0, color="0.3", linewidth=0.8)
    if chance is not None:
        axes[0].axhline(chance, color="0.3", linestyle="--", linewidth=1, label=f"chance ({chance:.2f})")
        axes[0].legend(fontsize=8, loc="upper right")
    return fig


def image_grid(images, titles: Sequence[str] | None = None, ncols: int = 8, size: float = 1.4) -> Figure:
    """Images [B, 3, H, W] in [0, 1] on a grid of ncols columns, one axes per image (optional titles)."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig = new_figure(figsize=(size * ncols, (size + (0.25 if titles else 0)) * nrows), layout="constrained")
    for i in range(n):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        ax.imshow(_hwc(images[i]), interpolation="nearest")
        ax.set_axis_off()
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize=8)
    return fig


def scatter_by_factor(coords, factors: Mapping[str, torch.Tensor], keys: Sequence[str] | None = None,
                      ncols: int = 3, class_names: Mapping[str, Sequence[str]] | None = None) -> Figure:
    """2-D points coords [B, 2] (e.g. UMAP), one panel per factor: integer factors get a qualitative
    palette and a legend, float factors a viridis colour bar."""
    xy = np.asarray(coords)
    keys = list(factors) if keys is None else list(keys)
    nrows = -(-len(keys) // ncols)
    fig = new_figure(figsize=(3.3 * min(ncols, len(keys)), 3.0 * nrows), layout="constrained")
    for j, key in enumerate(keys):
        ax = fig.add_subplot(nrows, min(ncols, len(keys)), j + 1)
        v = torch.as_tensor(factors[key]).cpu().numpy()
        if np.issubdtype(v.dtype, np.integer):
            names = (class_names or {}).get(key)
            for c in np.unique(v):
                sel = v == c
                ax.scatter(xy[sel, 0], xy[sel, 1], s=6, color=f"C{c % 10}", label=names[c] if names else str(c))
            ax.legend(fontsize=6, markerscale=1.5, frameon=False)
        else:
            sc = ax.scatter(xy[:, 0], xy[:, 1], s=6, c=v, cmap="viridis")
            fig.colorbar(sc, ax=ax, shrink=0.8)
        ax.set_title(key, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    return fig


def _box(ax, xy, text, colour, width=1.6, height=0.8):
    """A rounded, labelled box centred at xy (diagram helper)."""
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                facecolor=colour, edgecolor="0.2", linewidth=1))
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5)


def _arrow(ax, start, end, colour="0.2", style="-|>"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color=colour, linewidth=1.3))


def embed_vs_pixel_figure(image=None, block: tuple[float, float, float, float] = (0.3, 0.18, 0.4, 0.4)) -> Figure:
    """One picture of "predict embeddings, not pixels": the same masked photo feeding a pixel-reconstruction
    objective (top, MAE-style) and the JEPA objective (bottom). image [3, H, W] in [0, 1] (default: the
    'chelsea' photo); block = (top, left, height, width) of the hidden target as fractions of the image."""
    if image is None:
        image = load_photo("chelsea", 128)
    img = _hwc(image)
    H, W = img.shape[:2]
    t, l, bh, bw = (int(round(f * s)) for f, s in zip(block, (H, W, H, W)))
    masked, crop = img.copy(), img[t:t + bh, l:l + bw]
    masked[t:t + bh, l:l + bw] = 0.5
    fig = new_figure(figsize=(10, 5.2), layout="constrained")
    ax = fig.add_subplot()
    ax.set(xlim=(0, 10.6), ylim=(-0.55, 5.3), aspect="equal")
    ax.set_axis_off()
    for y, title in ((4.1, "Generative (e.g. MAE): predict the missing PIXELS"),
                     (1.9, "JEPA: predict the missing block's EMBEDDING")):
        ax.text(0.1, y + 1.0, title, fontsize=11, weight="bold")
        ax.imshow(masked, extent=(0.2, 1.6, y - 0.7, y + 0.7), interpolation="bilinear")
        _arrow(ax, (1.7, y), (2.55, y))
    _pixel_row(ax, crop, 4.1)
    _embedding_row(ax, img, 1.9)
    return fig


def _pixel_row(ax, crop: np.ndarray, y: float) -> None:
    """Top row of embed_vs_pixel_figure: encoder -> decoder -> pixels, loss against the true pixels."""
    _box(ax, (3.4, y), "encoder", "#cfe2f3")
    _box(ax, (5.5, y), "decoder", "#f4cccc")
    _box(ax, (7.6, y), "predicted\npixels", "#f4cccc")
    _arrow(ax, (4.25, y), (4.65, y))
    _arrow(ax, (6.35, y), (6.75, y))
    _arrow(ax, (8.45, y), (9.0, y), "C3", "<|-|>")
    ax.imshow(crop, extent=(9.1, 10.3, y - 0.6, y + 0.6), interpolation="nearest")
    ax.text(9.7, y - 0.7, "true pixels of the block", ha="center", va="top", fontsize=8)
    ax.text(7.6, y - 0.55, "loss on every pixel: texture,\nnoise, lighting...", ha="center", va="top",
            fontsize=8, color="C3")


def _embedding_row(ax, img: np.ndarray, y: float) -> None:
    """Bottom row of embed_vs_pixel_figure: context encoder -> predictor -> s_hat, loss against s_y from the
    EMA target encoder on the full image."""
    emb = np.random.default_rng(0).normal(size=(1, 12))  # an illustrative D-dim embedding
    _box(ax, (3.4, y), "context\nencoder", "#cfe2f3")
    _box(ax, (5.5, y), "predictor", "#d9ead3")
    _arrow(ax, (4.25, y), (4.65, y))
    _arrow(ax, (6.35, y), (6.85, y))
    ax.imshow(emb, extent=(6.9, 8.3, y - 0.2, y + 0.2), cmap="coolwarm", aspect="auto")
    ax.imshow(emb + np.random.default_rng(1).normal(0, 0.4, emb.shape), extent=(8.9, 10.3, y - 0.2, y + 0.2),
              cmap="coolwarm", aspect="auto")
    ax.text(7.6, y + 0.3, "predicted $\\hat{s}_y$", ha="center", fontsize=9)
    ax.text(9.6, y + 0.3, "target $s_y$", ha="center", fontsize=9)
    _arrow(ax, (8.35, y), (8.85, y), "C2", "<|-|>")
    ax.text(7.6, y - 0.35, "loss in embedding space:\nonly what is predictable", ha="center", va="top",
            fontsize=8, color="C2")
    _box(ax, (6.9, 0.0), "target encoder (EMA): full\nimage -> the block's tokens", "#fff2cc", width=2.6, height=0.6)
    ax.imshow(img, extent=(4.3, 5.1, -0.4, 0.4), interpolation="bilinear")
    _arrow(ax, (5.15, 0.0), (5.55, 0.0))
    _arrow(ax, (8.25, 0.1), (9.5, y - 0.25))


def figure_to_png(fig: Figure, dpi: int = 100) -> bytes:
    """Render a Figure to PNG bytes (used by the widgets)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
