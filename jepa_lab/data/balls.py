"""Synthetic physical videos ("bouncing balls") with ground-truth factors.

Each video shows 1..K coloured discs moving at constant velocity on a plain background and bouncing
elastically off the four walls (the velocity component normal to the wall flips sign, the speed is kept).
Balls do NOT collide with each other: they pass through one another (later balls are drawn on top).
Optionally a static, opaque, vertical occluder bar is drawn in front of the balls, so objects vanish and
reappear - a JEPA world model has to carry their state through the occlusion.

Everything is fully determined by ``seed``; the background / occluder colours are fixed by the config (not
random). Rendering is vectorised numpy: the disc coverage ``clip(0.5 - d, 0, 1)`` of the signed distance d
(pixels) gives analytic anti-aliasing as in ``jepa_lab.data.shapes``. The occluder is pixel-aligned and fully
opaque, so its pixels are exactly constant over time.

Coordinates: pixels, x right, y down, the pixel (i, j) centre is at (x, y) = (j + 0.5, i + 0.5).
The simulation step is p[t+1] = reflect(p[t] + v[t]); v[t+1] = v[t] with the components that hit a wall
negated. So p[t+1] - p[t] == v[t] for every step without a bounce.

Shape glossary: B batch, T frames, H, W pixels (H = W = ``cfg.size``), K max balls (``cfg.num_balls[1]``),
C channels (3, RGB; channel-last in the uint8 videos).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import progress_bar
from ..config import is_int
from .shapes import _check_range

_CHUNK = 256  # videos rendered per vectorised step (bounds peak memory: ~256 * T * H * W floats per array)


@dataclass(frozen=True)
class BallsConfig:
    """Settings of the bouncing-balls generator (ranges are inclusive (low, high) pairs).

    size: H = W in pixels (>= 8).
    frames: T, frames per video (>= 2).
    num_balls: (min, max) number of balls per video, ints >= 1; K = max.
    radius_range: ball radius in pixels.
    speed_range: ball speed in pixels per frame (must stay below size - 2 * max radius, so a ball bounces
        at most once per axis per step).
    occluder: probability that a video has the occluder bar (True = 1.0, False = 0.0).
    occluder_width: width of the vertical occluder bar in whole pixels (full image height).
    background, occluder_color: RGB in [0, 1], fixed (seed-independent).
    saturation, value: HSV saturation / value of the ball colours (hues are random).
    n_direction_bins: bins of the 'direction' factor (first ball's initial direction of motion).
    n_speed_bins: equal bins over speed_range for the 'speed' factor.
    noise: standard deviation of Gaussian pixel noise drawn afresh for every pixel of every frame (sensor
        noise: unpredictable detail a JEPA can learn to ignore); 0 = clean videos.
    texture: amplitude of a static random background texture (uniform in [0, texture] per pixel and channel,
        drawn once per video, the same in every frame); 0 = a plain background.
    pan: camera pan in whole pixels per frame: the textured background scrolls (wrapping around) in one of the
        8 compass directions drawn per video, while the balls move as before; 0 = a still camera. Needs texture.
    """

    size: int = 32
    frames: int = 16
    num_balls: tuple[int, int] = (1, 3)
    radius_range: tuple[float, float] = (2.5, 4.0)
    speed_range: tuple[float, float] = (0.75, 2.0)
    occluder: float | bool = 0.0
    occluder_width: int = 4
    background: tuple[float, float, float] = (0.08, 0.08, 0.12)
    occluder_color: tuple[float, float, float] = (0.5, 0.5, 0.5)
    saturation: float = 0.85
    value: float = 0.95
    n_direction_bins: int = 8
    n_speed_bins: int = 2
    noise: float = 0.0
    texture: float = 0.0
    pan: int = 0

    def __post_init__(self) -> None:
        if not is_int(self.size, 8):
            raise ValueError(f"size: expected an int >= 8, received {self.size!r}")
        if not is_int(self.frames, 2):
            raise ValueError(f"frames: expected an int >= 2, received {self.frames!r}")
        nb = self.num_balls
        if not (isinstance(nb, (tuple, list)) and len(nb) == 2 and all(isinstance(k, int) for k in nb)
                and 1 <= nb[0] <= nb[1]):
            raise ValueError(f"num_balls: expected a pair of ints (low, high) with 1 <= low <= high, received {nb!r}")
        _check_range("radius_range", self.radius_range, 0.5, self.size / 4)
        _check_range("speed_range", self.speed_range, 0.0, float("inf"))
        room = self.size - 2 * self.radius_range[1]
        if not self.speed_range[1] < room:
            raise ValueError(f"speed_range: expected high < size - 2 * max radius = {room:g} px/frame, "
                             f"received {self.speed_range!r}")
        if not 0.0 <= float(self.occluder) <= 1.0:
            raise ValueError(f"occluder: expected a bool or a probability in [0, 1], received {self.occluder!r}")
        ow = self.occluder_width
        if not is_int(ow, 1, self.size // 2):
            raise ValueError(f"occluder_width: expected an int in [1, {self.size // 2}], received {ow!r}")
        for name in ("background", "occluder_color"):
            c = getattr(self, name)
            if not (isinstance(c, (tuple, list)) and len(c) == 3 and all(0.0 <= float(v) <= 1.0 for v in c)):
                raise ValueError(f"{name}: expected an RGB triple in [0, 1], received {c!r}")
        for name in ("saturation", "value"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name}: expected a value in [0, 1], received {getattr(self, name)!r}")
        if not 0.0 <= self.texture <= 1.0:
            raise ValueError(f"texture: expected an amplitude in [0, 1], received {self.texture!r}")
        if not isinstance(self.pan, int) or self.pan < 0 or (self.pan and not self.texture):
            raise ValueError(f"pan: expected a whole number of pixels >= 0 (and texture > 0 to see it), received "
                             f"pan={self.pan!r} with texture={self.texture!r}")
        if not 0.0 <= self.noise <= 1.0:
            raise ValueError(f"noise: expected a standard deviation in [0, 1], received {self.noise!r}")
        for name in ("n_direction_bins", "n_speed_bins"):
            v = getattr(self, name)
            if not is_int(v, 1):
                raise ValueError(f"{name}: expected an int >= 1, received {v!r}")


def _hsv_to_rgb(h: np.ndarray, s: float, v: float) -> np.ndarray:
    """Vectorised HSV -> RGB; h float [...] in [0, 1] -> float [..., 3]."""
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * h[..., None]) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def simulate(pos0: np.ndarray, vel0: np.ndarray, radius: np.ndarray, size: int, frames: int):
    """Roll out constant-velocity motion with elastic wall bounces.

    pos0, vel0 float [..., 2] (pixels, pixels/frame); radius float [...] (broadcast over the last axis).
    Returns positions, velocities float64 [T, ..., 2] with p[t+1] = reflect(p[t] + v[t]).
    """
    lo = radius[..., None]
    hi = size - radius[..., None]
    pos = np.empty((frames,) + pos0.shape)
    vel = np.empty((frames,) + vel0.shape)
    p, v = pos0.astype(np.float64), vel0.astype(np.float64)
    for t in range(frames):
        pos[t], vel[t] = p, v
        p = p + v
        below, above = p < lo, p > hi
        p = np.where(below, 2 * lo - p, np.where(above, 2 * hi - p, p))
        v = np.where(below | above, -v, v)
    return pos, vel


def _pan(tex: np.ndarray, heading: np.ndarray, pan: int, frames: int) -> np.ndarray:
    """Scroll each background tex [b, H, W, 3] by ``pan`` px per frame toward compass heading 0..7 (wrapping):
    -> [b, T, H, W, 3]."""
    steps = np.array([(0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1)])[heading]  # (dy, dx)
    out = np.empty((len(tex), frames, *tex.shape[1:]), dtype=tex.dtype)
    for i in range(len(tex)):
        for t in range(frames):
            out[i, t] = np.roll(tex[i], tuple(steps[i] * pan * t), axis=(0, 1))
    return out


def make_balls(
    n: int, cfg: BallsConfig = BallsConfig(), seed: int = 0, progress: bool = True
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generate n bouncing-balls videos and their factors, deterministically from seed.

    Returns videos uint8 [B, T, H, W, 3] (channel-last, as written by ``jepa_lab.data.video_io.write_video``;
    see ``videos_to_float`` for the float [B, C, T, H, W] model layout) and factors:
      'count' long [B]                 number of balls (uniform in cfg.num_balls)
      'positions' float [B, T, K, 2]   ball centres (x, y) in pixels; NaN for absent balls (k >= count)
      'velocities' float [B, T, K, 2]  pixels/frame, v[t] moves frame t to t + 1; NaN for absent balls
      'radius' float [B, K]            pixels; NaN for absent balls
      'direction' long [B]   first ball's initial direction of motion, angle atan2(vy, vx) (y down, so bin 2
                             of 8 is "moving down") in cfg.n_direction_bins bins, bin 0 centred on +x
      'speed' long [B]       first ball's speed bin (equal bins over cfg.speed_range; constant over time)
      'occluder' long [B]    1 if the video has the occluder bar, else 0
      'occluder_x' long [B]  first pixel column of the bar, -1 without one
    A single frame reveals positions but not 'direction' / 'speed': those need motion.
    progress: show a tqdm bar when more than one chunk of videos is rendered.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected an int >= 1, received {n!r}")
    if not isinstance(cfg, BallsConfig):
        raise ValueError(f"cfg: expected a BallsConfig, received {type(cfg).__name__}")
    n, size, T, K = int(n), cfg.size, cfg.frames, cfg.num_balls[1]
    rng = np.random.default_rng(seed)

    # --- factors and dynamics (all sampled up front: results do not depend on chunking) ---------
    count = rng.integers(cfg.num_balls[0], K + 1, size=n)
    present = np.arange(K)[None, :] < count[:, None]  # [B, K]
    radius = rng.uniform(*cfg.radius_range, size=(n, K))
    pos0 = radius[..., None] + rng.uniform(size=(n, K, 2)) * (size - 2 * radius[..., None])
    angle = rng.uniform(0.0, 2 * np.pi, size=(n, K))
    speed = rng.uniform(*cfg.speed_range, size=(n, K))
    vel0 = np.stack([np.cos(angle), np.sin(angle)], axis=-1) * speed[..., None]
    hue = rng.uniform(size=(n, K))
    colors = _hsv_to_rgb(hue, cfg.saturation, cfg.value).astype(np.float32)  # [B, K, 3]
    occ = rng.uniform(size=n) < float(cfg.occluder)
    occ_x = np.where(occ, rng.integers(0, size - cfg.occluder_width + 1, size=n), -1)
    pos, vel = simulate(pos0, vel0, radius, size, T)  # [T, B, K, 2]
    pos, vel = pos.transpose(1, 0, 2, 3), vel.transpose(1, 0, 2, 3)  # [B, T, K, 2]

    nd = cfg.n_direction_bins
    direction = np.floor((angle[:, 0] / (2 * np.pi) * nd + 0.5)).astype(np.int64) % nd
    lo_s, hi_s = cfg.speed_range
    frac = (speed[:, 0] - lo_s) / (hi_s - lo_s) if hi_s > lo_s else np.zeros(n)
    speed_bin = np.clip(np.floor(frac * cfg.n_speed_bins), 0, cfg.n_speed_bins - 1).astype(np.int64)

    # --- rendering, in chunks of videos ---------------------------------------------------------
    f32 = np.float32
    grid = np.arange(size, dtype=f32) + 0.5
    gx, gy = grid[None, None, None, :], grid[None, None, :, None]  # [1, 1, 1, W], [1, 1, H, 1]
    bg = np.asarray(cfg.background, dtype=f32)
    occ_col = np.asarray(cfg.occluder_color, dtype=f32)
    cols = np.arange(size)
    videos = np.empty((n, T, size, size, 3), dtype=np.uint8)
    starts = range(0, n, _CHUNK)
    for start in progress_bar(starts, desc="balls", unit="chunk", enabled=progress and len(starts) > 1):
        sl = slice(start, min(start + _CHUNK, n))
        b = sl.stop - sl.start
        img = np.broadcast_to(bg, (b, T, size, size, 3)).copy()
        if cfg.texture > 0:  # a static random background per video (the same in every frame)
            rng = np.random.default_rng([seed, start, 1])
            tex = rng.uniform(0.0, cfg.texture, (b, 1, size, size, 3)).astype(f32)
            if cfg.pan:
                tex = _pan(tex[:, 0], rng.integers(0, 8, b), cfg.pan, T)  # [b, T, H, W, 3]
            img = np.clip(img + tex, 0.0, 1.0)
        for k in range(K):
            live = np.nonzero(present[sl, k])[0]
            if live.size == 0:
                continue
            j = live + sl.start
            px = pos[j, :, k, 0].astype(f32)[:, :, None, None]  # [b', T, 1, 1]
            py = pos[j, :, k, 1].astype(f32)[:, :, None, None]
            d = np.sqrt((gx - px) ** 2 + (gy - py) ** 2) - radius[j, k].astype(f32)[:, None, None, None]
            alpha = np.clip(f32(0.5) - d, 0.0, 1.0)[..., None]  # [b', T, H, W, 1]
            img[live] += (colors[j, k][:, None, None, None, :] - img[live]) * alpha
        bar = (cols[None, :] >= occ_x[sl, None]) & (cols[None, :] < occ_x[sl, None] + cfg.occluder_width)
        bar &= occ[sl, None]  # [b, W]
        img = np.where(bar[:, None, None, :, None], occ_col, img)
        if cfg.noise > 0:  # a generator per chunk, seeded by (seed, chunk start)
            img = img + np.random.default_rng([seed, start]).normal(0.0, cfg.noise, img.shape).astype(f32)
        videos[sl] = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)

    nan = np.float32(np.nan)
    factors = {
        "count": torch.from_numpy(count.astype(np.int64)),
        "positions": torch.from_numpy(np.where(present[:, None, :, None], pos, nan).astype(np.float32)),
        "velocities": torch.from_numpy(np.where(present[:, None, :, None], vel, nan).astype(np.float32)),
        "radius": torch.from_numpy(np.where(present, radius, nan).astype(np.float32)),
        "direction": torch.from_numpy(direction),
        "speed": torch.from_numpy(speed_bin),
        "occluder": torch.from_numpy(occ.astype(np.int64)),
        "occluder_x": torch.from_numpy(occ_x.astype(np.int64)),
    }
    return torch.from_numpy(videos), factors


def videos_to_float(videos: torch.Tensor) -> torch.Tensor:
    """uint8 [B, T, H, W, 3] (or [T, H, W, 3]) -> float32 [B, C=3, T, H, W] (or [C, T, H, W]) in [0, 1],
    the clip layout of the video models (as in V-JEPA)."""
    if videos.dtype != torch.uint8 or videos.ndim not in (4, 5) or videos.shape[-1] != 3:
        raise ValueError(f"videos: expected uint8 [B, T, H, W, 3] or [T, H, W, 3], "
                         f"received {videos.dtype} {tuple(videos.shape)}")
    return videos.movedim(-1, -4).float().div(255.0)  # channels in front of time
