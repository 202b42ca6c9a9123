"""Interactive explorers for JupyterLab, built from the package's own functions (ipywidgets + plotly).

- ``mask_explorer(images, patch_size)``: sliders for every multi-block mask setting; redraws the overlay of
  ``jepa_lab.viz.plots.show_masks`` and prints ``mask_fractions``. Impossible settings show the sampler's
  ValueError message in the widget instead of raising.
- ``embedding_explorer(features, images, factors)``: a UMAP map of the features as a plotly scatter, coloured
  by a factor picked in a dropdown; hovering or clicking a point shows its image beside the map.

Each explorer is a class whose ``.widget`` is the ipywidgets container (display the explorer itself or its
``.widget``); its callbacks are plain methods (``redraw``, ``set_colour``, ``show_point``) so tests and scripts
can drive it without a browser.

Shapes: B batch, C channels (3), H, W pixels, p patch size, h, w grid, N = h*w tokens, M target blocks,
Nc context tokens, F feature dim.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace

import ipywidgets as W
import numpy as np
import plotly.graph_objects as go
import torch
from PIL import Image

from ..data.shapes import SHAPES
from ..masking.multiblock import MultiBlockConfig, mask_fractions, sample_multiblock
from . import plots
from .embedding import umap_2d


def image_png(image, size: int = 160) -> bytes:
    """image [3, H, W] in [0, 1] -> PNG bytes of a size x size nearest-neighbour upscale."""
    arr = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    rgb = (np.clip(arr.transpose(1, 2, 0), 0, 1) * 255).round().astype(np.uint8)  # [H, W, 3]
    buf = io.BytesIO()
    Image.fromarray(rgb).resize((size, size), Image.NEAREST).save(buf, format="png")
    return buf.getvalue()


def _error_html(err: Exception) -> str:
    return f"<span style='color:#b00020'><b>{type(err).__name__}:</b> {html.escape(str(err))}</span>"


class _Explorer:
    """Shared display plumbing: an explorer shows as its ``.widget``."""

    widget: W.Widget

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)


class _SamplingExplorer(_Explorer):
    """An explorer that samples masks from its controls and draws them: subclasses give ``sample()``,
    ``render(masks) -> PNG bytes`` and ``describe(masks) -> str``; ``redraw`` is the observer of every control."""

    _hold = False  # True while several controls are set at once (one redraw at the end)

    def redraw(self, change=None) -> None:
        """Resample and redraw; errors go to ``status``, not up the stack."""
        if self._hold:
            return
        try:
            masks = self.sample()
        except ValueError as err:
            self.error = str(err)
            self.status.value = _error_html(err)
            return
        self.image.value = self.render(masks)
        self.masks, self.error = masks, None
        self.status.value = self.describe(masks)


class MaskExplorer(_SamplingExplorer):
    """Sliders over MultiBlockConfig + seed + batch size, redrawing the mask overlay on a chosen image.

    images [B, 3, H, W] in [0, 1]; patch_size p with H = h*p, W = w*p. The sampled batch has
    ``batch_size`` masks (the context is truncated to the batch minimum Nc); mask 0 is drawn.
    Attributes: ``controls`` (name -> widget), ``image`` (ipywidgets.Image, PNG), ``status`` (HTML),
    ``masks`` (last MaskBatch), ``error`` (last error message or None), ``widget``.
    """

    def __init__(self, images: torch.Tensor, patch_size: int, cfg: MultiBlockConfig | None = None,
                 names: Sequence[str] | None = None, batch_size: int = 8, dpi: int = 80):
        if images.ndim != 4 or images.shape[2] % patch_size or images.shape[3] % patch_size:
            raise ValueError(f"expected images [B, 3, H, W] with H, W multiples of patch_size={patch_size}, "
                             f"received shape {tuple(images.shape)}")
        self.images, self.patch_size, self.dpi = images, patch_size, dpi
        self.grid = (images.shape[2] // patch_size, images.shape[3] // patch_size)
        self.masks, self.error = None, None
        names = list(names) if names is not None else [f"image {i}" for i in range(len(images))]
        self.controls = self._make_controls(cfg or MultiBlockConfig(), names, batch_size)
        self.image = W.Image(format="png", layout=W.Layout(width="420px"))
        self.status = W.HTML()
        for control in self.controls.values():
            control.observe(self.redraw, names="value")
        self.widget = W.VBox([W.HBox([W.VBox(list(self.controls.values())), self.image]), self.status])
        self.redraw()

    def _make_controls(self, cfg: MultiBlockConfig, names: list[str], batch_size: int) -> dict[str, W.Widget]:
        """One widget per setting, initialised from cfg."""
        n = self.grid[0] * self.grid[1]
        style = {"description_width": "110px"}
        rng = dict(style=style, continuous_update=False, readout_format=".2f")
        return {
            "image": W.Dropdown(options=[(s, i) for i, s in enumerate(names)], value=0, description="image",
                                style=style),
            "num_targets": W.IntSlider(cfg.num_targets, 1, 12, description="num_targets (M)", style=style,
                                       continuous_update=False),
            "target_scale": W.FloatRangeSlider(value=cfg.target_scale, min=0.01, max=1.0, step=0.01,
                                               description="target_scale", **rng),
            "target_aspect": W.FloatRangeSlider(value=cfg.target_aspect, min=0.2, max=5.0, step=0.05,
                                                description="target_aspect", **rng),
            "context_scale": W.FloatRangeSlider(value=cfg.context_scale, min=0.05, max=1.0, step=0.01,
                                                description="context_scale", **rng),
            "min_keep": W.IntSlider(cfg.min_keep, 0, n, description="min_keep", style=style,
                                    continuous_update=False),
            "batch_size": W.IntSlider(batch_size, 1, 64, description="batch size (B)", style=style,
                                      continuous_update=False),
            "seed": W.IntSlider(0, 0, 999, description="seed", style=style, continuous_update=False),
        }

    def config(self) -> MultiBlockConfig:
        """The MultiBlockConfig of the current slider values (ValueError if they are invalid)."""
        c = self.controls
        return replace(MultiBlockConfig(), num_targets=c["num_targets"].value,
                       target_scale=tuple(c["target_scale"].value), target_aspect=tuple(c["target_aspect"].value),
                       context_scale=tuple(c["context_scale"].value), min_keep=c["min_keep"].value)

    def sample(self):
        """Masks for the current settings: MaskBatch with context [B, Nc], targets [B, M, Nt]."""
        gen = torch.Generator().manual_seed(self.controls["seed"].value)
        return sample_multiblock(self.grid, self.controls["batch_size"].value, self.config(), generator=gen)

    def render(self, masks) -> bytes:
        fig = plots.show_masks(self.images[self.controls["image"].value], masks, 0, self.patch_size)
        return plots.figure_to_png(fig, dpi=self.dpi)

    def describe(self, masks) -> str:
        """One line: grid, block size and the mask_fractions of the batch."""
        f, (h, w) = mask_fractions(masks), masks.grid
        return (f"grid {h}x{w} (N={h * w}) &middot; target block Nt={masks.targets.shape[-1]} "
                f"({f['target_block']:.0%}) &middot; target union {f['target_union']:.0%} &middot; "
                f"context Nc={masks.context.shape[-1]} ({f['context']:.0%}, minimum over the "
                f"B={masks.context.shape[0]} images of the batch)")


def mask_explorer(images: torch.Tensor, patch_size: int, **kwargs) -> MaskExplorer:
    """A MaskExplorer over images [B, 3, H, W]; kwargs: cfg, names, batch_size, dpi."""
    return MaskExplorer(images, patch_size, **kwargs)


_TAB10 = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
          "#17becf")


def _discrete_scale(k: int) -> list:
    """A plotly colorscale with k flat steps (tab10 colours), for integer codes 0..k-1 with cmin=-0.5,
    cmax=k-0.5."""
    k = max(int(k), 1)
    scale = []
    for j in range(k):
        scale += [[j / k, _TAB10[j % 10]], [(j + 1) / k, _TAB10[j % 10]]]
    return scale


class EmbeddingExplorer(_Explorer):
    """UMAP scatter of features [B, F] (plotly FigureWidget), coloured by a factor; the image of the hovered
    or clicked point is shown beside it.

    images [B, 3, H, W] in [0, 1]; factors {name: [B] tensor} (integer = categorical, float = continuous);
    coords [B, 2] skips UMAP (e.g. precomputed, or ``embedding.pca_2d``). Attributes: ``coords``,
    ``figure`` (FigureWidget; data[0] the points, data[1] the selection ring), ``dropdown``, ``image``,
    ``caption``, ``colour_by``, ``selected``, ``widget``.
    """

    def __init__(self, features, images: torch.Tensor, factors: Mapping[str, torch.Tensor], coords=None,
                 class_names: Mapping[str, Sequence[str]] | None = None, thumb_size: int = 160):
        self.coords = np.asarray(umap_2d(features) if coords is None else coords, dtype=np.float32)
        self.factors = {k: torch.as_tensor(v).cpu().numpy() for k, v in factors.items()}
        b = len(images)
        if self.coords.shape != (b, 2) or any(len(v) != b for v in self.factors.values()) or not self.factors:
            raise ValueError(f"expected coords [B, 2] and factors of length B = {b} images, received coords "
                             f"{self.coords.shape} and lengths { {k: len(v) for k, v in self.factors.items()} }")
        self.images, self.thumb_size = images, thumb_size
        self.class_names = dict(class_names) if class_names is not None else {"shape": SHAPES}
        self.colour_by, self.selected = None, None
        self.figure = go.FigureWidget(self._traces(go), layout=dict(
            width=520, height=440, margin=dict(l=10, r=10, t=30, b=10), showlegend=False, hovermode="closest",
            xaxis=dict(showticklabels=False), yaxis=dict(showticklabels=False)))
        self.figure.data[0].on_hover(self._on_point)
        self.figure.data[0].on_click(self._on_point)
        self.dropdown = W.Dropdown(options=list(self.factors), description="colour by")
        self.dropdown.observe(self._on_dropdown, names="value")
        self.image = W.Image(format="png", width=thumb_size, height=thumb_size)
        self.caption = W.HTML()
        self.widget = W.HBox([W.VBox([self.dropdown, self.figure]), W.VBox([self.image, self.caption])])
        self.set_colour(self.dropdown.value)
        self.show_point(0)

    def _traces(self, go) -> list:
        """The points (hover text: index and factor values) and a ring marking the selected point."""
        text = [f"#{i}<br>" + "<br>".join(f"{k}: {self._value(k, i)}" for k in self.factors)
                for i in range(len(self.coords))]
        points = go.Scatter(x=self.coords[:, 0], y=self.coords[:, 1], mode="markers", text=text,
                            hovertemplate="%{text}<extra></extra>", marker=dict(size=6))
        ring = go.Scatter(x=[], y=[], mode="markers", hoverinfo="skip",
                          marker=dict(size=16, color="rgba(0,0,0,0)", line=dict(width=2, color="black")))
        return [points, ring]

    def _value(self, key: str, i: int) -> str:
        v = self.factors[key][i]
        if np.issubdtype(self.factors[key].dtype, np.integer):
            names = self.class_names.get(key)
            return str(names[v]) if names is not None else str(int(v))
        return f"{float(v):.3f}"

    def set_colour(self, factor: str) -> None:
        """Colour the points by a factor: integer factors get one flat colour per class, floats viridis."""
        if factor not in self.factors:
            raise ValueError(f"unknown factor {factor!r}; expected one of {list(self.factors)}")
        v = self.factors[factor]
        marker = self.figure.data[0].marker
        with self.figure.batch_update():
            if np.issubdtype(v.dtype, np.integer):
                k = int(v.max()) + 1
                names = self.class_names.get(factor) or [str(j) for j in range(k)]
                marker.update(color=v.astype(float), colorscale=_discrete_scale(k), cmin=-0.5, cmax=k - 0.5,
                              colorbar=dict(title=factor, tickvals=list(range(k)), ticktext=list(names)[:k]))
            else:
                marker.update(color=v.astype(float), colorscale="Viridis", cmin=float(v.min()),
                              cmax=float(v.max()), colorbar=dict(title=factor, tickvals=None, ticktext=None))
            marker.showscale = True
        self.colour_by = factor
        self.dropdown.value = factor  # keeps the dropdown in sync when called from code

    def show_point(self, i: int) -> None:
        """Show image i (upscaled) and its factor values beside the map, and ring its point."""
        i = int(i)
        if not 0 <= i < len(self.coords):
            raise ValueError(f"point index must lie in [0, {len(self.coords)}), received {i}")
        self.image.value = image_png(self.images[i], self.thumb_size)
        self.caption.value = f"<b>#{i}</b><br>" + "<br>".join(
            f"{k}: {html.escape(self._value(k, i))}" for k in self.factors)
        with self.figure.batch_update():
            self.figure.data[1].x, self.figure.data[1].y = [self.coords[i, 0]], [self.coords[i, 1]]
        self.selected = i

    def _on_point(self, trace, points, state=None) -> None:
        """plotly hover/click callback: show the first point under the cursor."""
        if points.point_inds:
            self.show_point(points.point_inds[0])

    def _on_dropdown(self, change) -> None:
        if change["new"] != self.colour_by:
            self.set_colour(change["new"])


def embedding_explorer(features, images: torch.Tensor, factors: Mapping[str, torch.Tensor],
                       **kwargs) -> EmbeddingExplorer:
    """An EmbeddingExplorer; kwargs: coords, class_names, thumb_size."""
    return EmbeddingExplorer(features, images, factors, **kwargs)
