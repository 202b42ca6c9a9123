"""Seeing latents: patch embeddings shown as colours, side by side over time (notebook 04).

An embedding has D numbers per token - too many to look at. Project every token onto the first three principal
components of a reference set (the target encoder's latents of the clip) and read them as red, green and blue:
tokens that the model thinks alike get alike colours. Predicted latents are projected with the *same* PCA, so a
prediction close to its target shows the same colour in the same place.

Shapes: C channels, T frames, H=W pixels, t/h/w token grid, N = t*h*w tokens, D width.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from einops import rearrange
from matplotlib.figure import Figure

from .plots import new_figure


class PCAColours:
    """Fit a 3-component PCA on reference latents [N, D]; ``__call__`` maps latents [..., D] -> RGB [..., 3] in
    [0, 1] (each component scaled by the reference's 2nd-98th percentile range)."""

    def __init__(self, reference: torch.Tensor):
        ref = torch.as_tensor(reference, dtype=torch.float64).reshape(-1, reference.shape[-1])  # [N, D]
        if ref.shape[0] < 3:
            raise ValueError(f"reference: expected at least 3 latents [N, D], received {tuple(reference.shape)}")
        self.mean = ref.mean(0)
        _, _, vh = torch.linalg.svd(ref - self.mean, full_matrices=False)
        self.components = vh[:3]  # [3, D]
        proj = (ref - self.mean) @ self.components.T  # [N, 3]
        self.low = torch.quantile(proj, 0.02, dim=0)
        self.high = torch.quantile(proj, 0.98, dim=0)

    def __call__(self, latents: torch.Tensor) -> np.ndarray:
        x = torch.as_tensor(latents, dtype=torch.float64)
        proj = (x - self.mean) @ self.components.T  # [..., 3]
        rgb = (proj - self.low) / (self.high - self.low).clamp_min(1e-12)
        return rgb.clamp(0, 1).numpy()


def token_grid(latents: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
    """latents [N, D] in token order (frame-major) -> [t, h, w, D]."""
    t, h, w = grid
    if latents.ndim != 2 or latents.shape[0] != t * h * w:
        raise ValueError(f"latents: expected [N={t * h * w}, D] for grid {grid}, received {tuple(latents.shape)}")
    return rearrange(latents, "(t h w) d -> t h w d", t=t, h=h, w=w)  # [t, h, w, D]


def latent_rows_figure(clip: torch.Tensor, rows: Mapping[str, torch.Tensor], grid: tuple[int, int, int],
                       colours: PCAColours, context_frames: int = 0, size: float = 1.25) -> Figure:
    """A frame row (the first frame of each tubelet) above one row per latent set.

    clip: [C, T, H, W] in [0, 1]; rows: name -> latents [t, h, w, D] with NaN where a row has nothing to show
    (drawn grey); token-frames before ``context_frames`` are labelled as context, the rest as future.
    """
    t = grid[0]
    if clip.ndim != 4 or clip.shape[1] % t:
        raise ValueError(f"clip: expected [C, T, H, W] with T a multiple of t={t}, received {tuple(clip.shape)}")
    ts = clip.shape[1] // t
    fig = new_figure(figsize=(size * t + 1.2, size * (len(rows) + 1)))
    axes = fig.subplots(len(rows) + 1, t, squeeze=False)
    for f in range(t):
        axes[0, f].imshow(clip[:, f * ts].permute(1, 2, 0).clamp(0, 1).numpy())
        role = "context" if f < context_frames else "future"
        axes[0, f].set_title(f"frames {f * ts}-{f * ts + ts - 1}\n{role}" if context_frames else f"t={f}", fontsize=8)
    for r, (name, lat) in enumerate(rows.items(), start=1):
        for f in range(t):
            frame = lat[f]  # [h, w, D]
            missing = torch.isnan(frame).any()
            img = np.full(frame.shape[:2] + (3,), 0.6) if missing else colours(frame)
            axes[r, f].imshow(img, interpolation="nearest")
        axes[r, 0].set_ylabel(name, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def curves_figure(curves: Mapping[str, np.ndarray], xlabel: str, ylabel: str, title: str = "") -> Figure:
    """Simple line plot of named curves (e.g. L1 per future token-frame)."""
    fig = new_figure(figsize=(5, 3))
    ax = fig.subplots()
    for name, y in curves.items():
        y = np.asarray(y, dtype=float)
        ax.plot(np.arange(len(y)), y, marker="o", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def accuracy_bars(values: Mapping[str, float], chance: float | None = None, title: str = "") -> Figure:
    """One bar per named accuracy, with a dashed chance line."""
    fig = new_figure(figsize=(5, 3))
    ax = fig.subplots()
    bars = ax.bar(range(len(values)), list(values.values()), color=[f"C{j}" for j in range(len(values))])
    ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(values)), list(values), fontsize=8)
    if chance is not None:
        ax.axhline(chance, color="0.4", linestyle="--", linewidth=1, label="chance")
        ax.legend(fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("held-out accuracy")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig
