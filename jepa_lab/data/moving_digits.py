"""Synthetic "moving digits" videos with ground-truth factors (a second video family next to the balls).

Each video shows 1..K handwritten digits - the 8x8 images of scikit-learn's bundled digits data set
(``sklearn.datasets.load_digits``, shipped in the wheel, no download) - moving at constant velocity on a
plain background and bouncing elastically off the walls, as in ``jepa_lab.data.balls`` (same ``simulate``:
a digit is a square of side ``cfg.digit_size`` that bounces when its box touches a wall). Digits do NOT
collide: later digits are drawn on top.

A digit glyph is the bilinear upscale of its 8x8 intensity image (0..16) to ``digit_size`` pixels, placed
at its sub-pixel centre, filled with one random-hue colour and composited with alpha = intensity / 16.
Upscaling and placement are one bilinear resampling: the glyph image is sampled at each pixel centre with
the separable "hat" weights max(0, 1 - |u - i|) (zero outside the 8x8 grid), i.e. Ry @ G @ Rx^T.

Everything is fully determined by ``seed``; the background colour is fixed by the config. Coordinates and
the simulation step are those of ``jepa_lab.data.balls``: pixels, x right, y down, p[t+1] = reflect(p[t] + v[t]).

Shape glossary: B batch, T frames, H, W pixels (H = W = ``cfg.size``), K max digits (``cfg.num_digits[1]``),
C channels (3, RGB; channel-last in the uint8 videos), G = 8 (side of a glyph image).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from sklearn.datasets import load_digits

from .. import progress_bar
from ..config import is_int
from .balls import _hsv_to_rgb, simulate
from .shapes import _check_range

_CHUNK = 256  # videos rendered per vectorised step (bounds peak memory: ~256 * T * H * W floats per array)
_G = 8  # side of a glyph image of load_digits


@dataclass(frozen=True)
class DigitsConfig:
    """Settings of the moving-digits generator (ranges are inclusive (low, high) pairs).

    size: H = W in pixels (>= 8).
    frames: T, frames per video (>= 2).
    num_digits: (min, max) number of digits per video, ints >= 1; K = max.
    digit_size: side in pixels the 8x8 glyph is upscaled to (an int in [4, size - 2]).
    speed_range: digit speed in pixels per frame (high < size - digit_size: at most one bounce per axis
        per step).
    classes: the digit classes (0..9) to draw from; glyphs are sampled uniformly among their images.
    background: RGB in [0, 1], fixed (seed-independent).
    saturation, value: HSV saturation / value of the digit colours (hues are random).
    n_direction_bins: bins of the 'direction' factor (first digit's initial direction of motion).
    n_speed_bins: equal bins over speed_range for the 'speed' factor.
    """

    size: int = 32
    frames: int = 16
    num_digits: tuple[int, int] = (1, 2)
    digit_size: int = 12
    speed_range: tuple[float, float] = (0.75, 2.0)
    classes: tuple[int, ...] = tuple(range(10))
    background: tuple[float, float, float] = (0.08, 0.08, 0.12)
    saturation: float = 0.85
    value: float = 0.95
    n_direction_bins: int = 8
    n_speed_bins: int = 2

    def __post_init__(self) -> None:
        for name, lo in (("size", 8), ("frames", 2), ("n_direction_bins", 1), ("n_speed_bins", 1)):
            v = getattr(self, name)
            if not is_int(v, lo):
                raise ValueError(f"{name}: expected an int >= {lo}, received {v!r}")
        nd = self.num_digits
        if not (isinstance(nd, (tuple, list)) and len(nd) == 2 and all(isinstance(k, int) for k in nd)
                and 1 <= nd[0] <= nd[1]):
            raise ValueError(f"num_digits: expected a pair of ints (low, high) with 1 <= low <= high, received {nd!r}")
        ds = self.digit_size
        if not is_int(ds, 4, self.size - 2):
            raise ValueError(f"digit_size: expected an int in [4, {self.size - 2}], received {ds!r}")
        _check_range("speed_range", self.speed_range, 0.0, float("inf"))
        if not self.speed_range[1] < self.size - ds:
            raise ValueError(f"speed_range: expected high < size - digit_size = {self.size - ds} px/frame, "
                             f"received {self.speed_range!r}")
        cl = self.classes
        if not (isinstance(cl, (tuple, list)) and len(cl) >= 1 and len(set(cl)) == len(cl)
                and all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= 9 for c in cl)):
            raise ValueError(f"classes: expected distinct ints in 0..9 (at least one), received {cl!r}")
        c = self.background
        if not (isinstance(c, (tuple, list)) and len(c) == 3 and all(0.0 <= float(v) <= 1.0 for v in c)):
            raise ValueError(f"background: expected an RGB triple in [0, 1], received {c!r}")
        for name in ("saturation", "value"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1], received {getattr(self, name)!r}")


@lru_cache(maxsize=1)
def load_glyphs() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits: (alpha float32 [N, 8, 8] in [0, 1] = intensity / 16, labels int64 [N])."""
    d = load_digits()
    glyphs = (d.images / 16.0).clip(0.0, 1.0).astype(np.float32)
    glyphs.flags.writeable = False  # cached and shared: keep it read-only
    return glyphs, d.target.astype(np.int64)


def _hat_weights(centre: np.ndarray, size: int, digit_size: int) -> np.ndarray:
    """Bilinear resampling weights float32 [..., P=size, G] of a glyph of side digit_size centred at
    centre float [...] (pixels): pixel p samples glyph coordinate u = (p + 0.5 - left) / digit_size * G - 0.5."""
    px = np.arange(size, dtype=np.float32) + 0.5
    left = (centre.astype(np.float32) - digit_size / 2)[..., None]  # [..., 1]
    u = (px - left) * np.float32(_G / digit_size) - 0.5  # [..., P]
    return np.clip(1.0 - np.abs(u[..., None] - np.arange(_G, dtype=np.float32)), 0.0, 1.0)


def _direction_speed_bins(angle: np.ndarray, speed: np.ndarray, cfg: DigitsConfig) -> tuple[np.ndarray, np.ndarray]:
    """Bins as in ``jepa_lab.data.balls.make_balls``: angle, speed float [B] -> direction, speed long [B]."""
    nd = cfg.n_direction_bins
    direction = np.floor(angle / (2 * np.pi) * nd + 0.5).astype(np.int64) % nd
    lo, hi = cfg.speed_range
    frac = (speed - lo) / (hi - lo) if hi > lo else np.zeros_like(speed)
    return direction, np.clip(np.floor(frac * cfg.n_speed_bins), 0, cfg.n_speed_bins - 1).astype(np.int64)


def make_digits(
    n: int, cfg: DigitsConfig = DigitsConfig(), seed: int = 0, progress: bool = True
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generate n moving-digits videos and their factors, deterministically from seed.

    Returns videos uint8 [B, T, H, W, 3] (channel-last; ``jepa_lab.data.balls.videos_to_float`` gives the
    float [B, C, T, H, W] model layout) and factors:
      'count' long [B]                 number of digits (uniform in cfg.num_digits)
      'label' long [B, K]              digit class 0..9; -1 for absent digits (k >= count)
      'glyph' long [B, K]              row of the glyph in ``load_glyphs()``; -1 for absent digits
      'positions' float [B, T, K, 2]   digit box centres (x, y) in pixels; NaN for absent digits
      'velocities' float [B, T, K, 2]  pixels/frame, v[t] moves frame t to t + 1; NaN for absent digits
      'direction' long [B]   first digit's initial direction of motion, atan2(vy, vx) (y down) in
                             cfg.n_direction_bins bins, bin 0 centred on +x (as in make_balls)
      'speed' long [B]       first digit's speed bin (equal bins over cfg.speed_range)
    progress: show a tqdm bar when more than one chunk of videos is rendered.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected an int >= 1, received {n!r}")
    if not isinstance(cfg, DigitsConfig):
        raise ValueError(f"cfg: expected a DigitsConfig, received {type(cfg).__name__}")
    n, size, T, K, ds = int(n), cfg.size, cfg.frames, cfg.num_digits[1], cfg.digit_size
    glyphs, targets = load_glyphs()
    pool = np.flatnonzero(np.isin(targets, cfg.classes))
    rng = np.random.default_rng(seed)

    # --- factors and dynamics (all sampled up front: results do not depend on chunking) ---------
    count = rng.integers(cfg.num_digits[0], K + 1, size=n)
    present = np.arange(K)[None, :] < count[:, None]  # [B, K]
    glyph = pool[rng.integers(0, len(pool), size=(n, K))]  # [B, K]
    half = np.full((n, K), ds / 2)
    pos0 = half[..., None] + rng.uniform(size=(n, K, 2)) * (size - ds)
    angle = rng.uniform(0.0, 2 * np.pi, size=(n, K))
    speed = rng.uniform(*cfg.speed_range, size=(n, K))
    vel0 = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * speed[..., None]
    colors = _hsv_to_rgb(rng.uniform(size=(n, K)), cfg.saturation, cfg.value).astype(np.float32)  # [B, K, 3]
    pos, vel = simulate(pos0, vel0, half, size, T)  # [T, B, K, 2]
    pos, vel = pos.transpose(1, 0, 2, 3), vel.transpose(1, 0, 2, 3)  # [B, T, K, 2]
    direction, speed_bin = _direction_speed_bins(angle[:, 0], speed[:, 0], cfg)

    # --- rendering, in chunks of videos ---------------------------------------------------------
    bg = np.asarray(cfg.background, dtype=np.float32)
    videos = np.empty((n, T, size, size, 3), dtype=np.uint8)
    starts = range(0, n, _CHUNK)
    for start in progress_bar(starts, desc="digits", unit="chunk", enabled=progress and len(starts) > 1):
        sl = slice(start, min(start + _CHUNK, n))
        img = np.broadcast_to(bg, (sl.stop - sl.start, T, size, size, 3)).copy()
        for k in range(K):
            live = np.nonzero(present[sl, k])[0]
            if live.size == 0:
                continue
            j = live + sl.start
            rx = _hat_weights(pos[j, :, k, 0], size, ds)  # [b', T, W, G]
            ry = _hat_weights(pos[j, :, k, 1], size, ds)  # [b', T, H, G]
            alpha = np.einsum("bthi,bij,btwj->bthw", ry, glyphs[glyph[j, k]], rx, optimize=True)[..., None]
            img[live] += (colors[j, k][:, None, None, None, :] - img[live]) * alpha.clip(0.0, 1.0)
        videos[sl] = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)

    nan = np.float32(np.nan)
    factors = {
        "count": torch.from_numpy(count.astype(np.int64)),
        "label": torch.from_numpy(np.where(present, targets[glyph], -1).astype(np.int64)),
        "glyph": torch.from_numpy(np.where(present, glyph, -1).astype(np.int64)),
        "positions": torch.from_numpy(np.where(present[:, None, :, None], pos, nan).astype(np.float32)),
        "velocities": torch.from_numpy(np.where(present[:, None, :, None], vel, nan).astype(np.float32)),
        "direction": torch.from_numpy(direction),
        "speed": torch.from_numpy(speed_bin),
    }
    return torch.from_numpy(videos), factors
