"""An interactive explorer of V-JEPA video masks (ipywidgets), for notebook 03.

``VideoMaskExplorer(clips, patch_size, tubelet_size)``: pick a clip, a video frame and a mask family
(``short_range`` / ``long_range`` 3D multi-block masks, or the causal ``future`` mask), tune the number of
blocks and their spatial scale, resample; the overlay of ``jepa_lab.viz.video.video_mask_overlay`` is
redrawn as a PNG (``.image.value``) with a line of masked fractions (``.status``). As in
``jepa_lab.viz.widgets.MaskExplorer``, ``redraw`` is a plain method and every control is in ``.controls``, so
tests and scripts can drive the explorer without a browser; impossible settings show the sampler's
ValueError in ``.status`` instead of raising.

Shapes: B clips, C channels (3), T frames, H, W pixels, ts tubelet size, p patch size,
(t, h, w) = (T/ts, H/p, W/p) token grid, N = t*h*w tokens.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ipywidgets as W
import numpy as np
import torch
from PIL import Image

from ..masking.multiblock3d import VideoMaskBatch, VideoMaskConfig, future_mask, sample_video_masks
from .video import token_roles, video_mask_overlay
from .widgets import _SamplingExplorer

FAMILIES = ("short_range", "long_range", "future")


def overlay_png(rgb: np.ndarray, patch_size: int, scale: int = 1) -> bytes:
    """RGB float [H, W, 3] in [0, 1] -> PNG bytes, upscaled `scale` times (nearest), patch grid drawn faintly."""
    img = np.repeat(np.repeat(np.clip(rgb, 0, 1), scale, axis=0), scale, axis=1)
    step = patch_size * scale
    img[step - 1::step] *= 0.75  # darken the last pixel row / column of every patch: a faint grid
    img[:, step - 1::step] *= 0.75
    buf = io.BytesIO()
    Image.fromarray((img * 255).round().astype(np.uint8)).save(buf, format="png")
    return buf.getvalue()


class VideoMaskExplorer(_SamplingExplorer):
    """Frame slider, clip selector, mask family, num_blocks, spatial scale, seed and a resample button over
    clips [B, 3, T, H, W] (uint8 or float in [0, 1]).

    One mask is sampled for the selected clip (batch of 1, so nothing is dropped); the ``future`` family
    keeps the first half of the token-frames as context. Attributes: ``controls`` (name -> widget),
    ``resample`` (Button: seed + 1), ``image`` (ipywidgets.Image, PNG), ``status`` (HTML), ``masks``
    (last VideoMaskBatch), ``error`` (last error message or None), ``grid`` (t, h, w), ``widget``.
    """

    def __init__(self, clips, patch_size: int, tubelet_size: int, names: Sequence[str] | None = None,
                 family: str = "short_range", display_px: int = 320):
        shape = tuple(clips.shape) if hasattr(clips, "shape") else None
        ok = shape is not None and len(shape) == 5 and shape[1] == 3 and shape[0] >= 1
        if ok:
            T, H, Wd = shape[2:]
            ok = T % tubelet_size == 0 and H % patch_size == 0 and Wd % patch_size == 0 and T > tubelet_size
        if not ok:
            hint = (" (channel-last uint8 videos [B, T, H, W, 3] go through jepa_lab.data.balls.videos_to_float first)"
                    if shape is not None and len(shape) == 5 and shape[-1] == 3 else "")
            raise ValueError(f"expected clips [B, 3, T, H, W] with T a multiple of tubelet_size={tubelet_size} "
                             f"(at least 2 tubelets) and H, W multiples of patch_size={patch_size}, received "
                             f"shape {shape}{hint}")
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {FAMILIES}, received {family!r}")
        self.clips, self.patch_size, self.tubelet_size = clips, int(patch_size), int(tubelet_size)
        self.grid = (T // tubelet_size, H // patch_size, Wd // patch_size)
        self.scale = max(1, display_px // max(H, Wd))
        self.masks: VideoMaskBatch | None = None
        self.error: str | None = None
        names = list(names) if names is not None else [f"clip {i}" for i in range(shape[0])]
        self.controls = self._make_controls(names, T, family)
        self.resample = W.Button(description="resample", icon="refresh")
        self.resample.on_click(lambda _: self._bump_seed())
        self.image = W.Image(format="png", layout=W.Layout(width=f"{display_px}px"))
        self.status = W.HTML()
        for name, control in self.controls.items():
            control.observe(self._on_family if name == "family" else self.redraw, names="value")
        self.widget = W.VBox([W.HBox([W.VBox(list(self.controls.values()) + [self.resample]), self.image]),
                              self.status])
        self._on_family({"new": family})

    def _make_controls(self, names: list[str], T: int, family: str) -> dict[str, W.Widget]:
        style = {"description_width": "100px"}
        cfg = VideoMaskConfig.preset(family if family != "future" else "short_range")
        return {
            "clip": W.Dropdown(options=[(s, i) for i, s in enumerate(names)], value=0, description="clip",
                               style=style),
            "frame": W.IntSlider(0, 0, T - 1, description="frame", style=style),
            "family": W.Dropdown(options=FAMILIES, value=family, description="mask family", style=style),
            "num_blocks": W.IntSlider(cfg.num_blocks, 1, 16, description="num_blocks", style=style,
                                      continuous_update=False),
            "spatial_scale": W.FloatSlider(cfg.spatial_scale[0], min=0.02, max=1.0, step=0.01,
                                           description="spatial_scale", style=style, continuous_update=False,
                                           readout_format=".2f"),
            "seed": W.IntSlider(0, 0, 999, description="seed", style=style, continuous_update=False),
        }

    def _bump_seed(self) -> None:
        seed = self.controls["seed"]
        seed.value = (seed.value + 1) % (seed.max + 1)  # observed: redraws

    def _on_family(self, change) -> None:
        """A new family loads its preset into the block sliders (one redraw, not three)."""
        family = change["new"]
        self._hold = True
        try:
            if family in ("short_range", "long_range"):
                cfg = VideoMaskConfig.preset(family)
                self.controls["num_blocks"].value = cfg.num_blocks
                self.controls["spatial_scale"].value = cfg.spatial_scale[0]
            for name in ("num_blocks", "spatial_scale"):
                self.controls[name].disabled = family == "future"
        finally:
            self._hold = False
        self.redraw()

    def config(self) -> VideoMaskConfig:
        """The VideoMaskConfig of the current sliders (whole-clip blocks, paper aspect and min_keep)."""
        s = float(self.controls["spatial_scale"].value)
        return VideoMaskConfig(num_blocks=int(self.controls["num_blocks"].value), spatial_scale=(s, s))

    def sample(self) -> VideoMaskBatch:
        """A mask for the selected clip (batch of 1) from the current family, sliders and seed."""
        if self.controls["family"].value == "future":
            return future_mask(self.grid, 1, context_frames=self.grid[0] // 2)
        gen = torch.Generator().manual_seed(int(self.controls["seed"].value))
        return sample_video_masks(self.grid, 1, self.config(), generator=gen)

    def render(self, masks: VideoMaskBatch) -> bytes:
        clip, frame = self.clips[self.controls["clip"].value], int(self.controls["frame"].value)
        return overlay_png(video_mask_overlay(clip, masks, 0, frame), self.patch_size, self.scale)

    def describe(self, masks: VideoMaskBatch) -> str:
        """One line: grid, overall target / context fractions, and the masked fraction of the shown frame."""
        frame = int(self.controls["frame"].value)
        t, h, w = masks.grid
        n = t * h * w
        here = float((token_roles(masks, 0)[frame // self.tubelet_size] == 1).mean())
        return (f"grid {t}x{h}x{w} (N={n}) &middot; {self.controls['family'].value}: targets "
                f"{masks.targets.shape[1]} tokens ({masks.targets.shape[1] / n:.0%}), context "
                f"{masks.context.shape[1]} ({masks.context.shape[1] / n:.0%}) &middot; frame {frame} = "
                f"token-frame {frame // self.tubelet_size}: {here:.0%} masked")


def video_mask_explorer(clips, patch_size: int, tubelet_size: int, **kwargs) -> VideoMaskExplorer:
    """A VideoMaskExplorer over clips [B, 3, T, H, W]; kwargs: names, family, display_px."""
    return VideoMaskExplorer(clips, patch_size, tubelet_size, **kwargs)
