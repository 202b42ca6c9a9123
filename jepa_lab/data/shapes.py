"""Procedural "shapes" images with known factors of variation.

Each image shows one saturated, coloured foreground shape (one of ``SHAPES``) at a
random position and scale on a dark, non-uniform background (a two-colour linear
gradient plus light pixel noise). Everything is generated offline and is fully
determined by ``seed``, so a tiny I-JEPA can be trained on it on a laptop CPU and
its frozen features linear-probed against the known factors.

Rendering is vectorised: every shape has an exact signed distance function (SDF)
evaluated at pixel centres, and the coverage ``clip(0.5 - d / edge_softness, 0, 1)``
gives analytic anti-aliasing (a one-pixel edge ramp) without supersampling.

Shape glossary: B batch, C channels (3), H, W pixels (H = W = ``cfg.size``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

SHAPES = ("circle", "square", "triangle", "cross", "ring")

# Extent of each shape around its centre (x, y) in units of the scale s (in pixels):
# (left, right, up, down). (x, y) is the shape's area centroid, so for the triangle
# (apex up, base s, height s) the box is not centred: 2/3 s above, 1/3 s below.
_EXTENTS = np.array(
    [
        [0.5, 0.5, 0.5, 0.5],  # circle, diameter s
        [0.5, 0.5, 0.5, 0.5],  # square, side s
        [0.5, 0.5, 2 / 3, 1 / 3],  # triangle, base s, height s
        [0.5, 0.5, 0.5, 0.5],  # cross, arm length s, arm width s/3
        [0.5, 0.5, 0.5, 0.5],  # ring, outer diameter s, inner diameter s/2
    ],
    dtype=np.float64,
)
_CHUNK = 2048  # images rendered per vectorised step (bounds peak memory)


def _check_range(name: str, rng: tuple[float, float], lo: float, hi: float) -> None:
    ok = isinstance(rng, (tuple, list)) and len(rng) == 2
    if ok:
        a, b = float(rng[0]), float(rng[1])
        ok = lo <= a <= b <= hi
    if not ok:
        raise ValueError(f"{name}: expected a pair (low, high) with {lo} <= low <= high <= {hi}, received {rng!r}")


@dataclass(frozen=True)
class ShapesConfig:
    """Settings of the shapes generator (all ranges are inclusive (low, high) pairs).

    size: H = W in pixels (>= 8).
    scale_range: shape size s as a fraction of the image side.
    saturation_range, value_range: HSV saturation / value of the foreground colour.
    bg_value_range, bg_saturation_range: HSV value / saturation of the two background
        gradient colours (kept dark so the shape always stands out).
    noise_std: std of i.i.d. Gaussian pixel noise added to the whole image.
    edge_softness: width of the anti-aliasing ramp in pixels.
    margin: minimum gap in pixels between the shape's extent and the image border.
    n_color_bins: number of equal hue bins for the 'color' factor.
    light_background_prob: probability that an image is drawn in reversed contrast: a dark shape
        (value in dark_value_range, same hue) on a light background (value 1 - bg_value_range). A linear
        read-out of pixels cannot cope with the flipped sign; a network that sees edges can.
    dark_value_range: HSV value of the shape in reversed-contrast images.
    """

    size: int = 32
    scale_range: tuple[float, float] = (0.25, 0.5)
    saturation_range: tuple[float, float] = (0.75, 1.0)
    value_range: tuple[float, float] = (0.8, 1.0)
    bg_value_range: tuple[float, float] = (0.05, 0.4)
    bg_saturation_range: tuple[float, float] = (0.0, 0.6)
    noise_std: float = 0.03
    edge_softness: float = 1.0
    margin: float = 1.0
    n_color_bins: int = 6
    light_background_prob: float = 0.0
    dark_value_range: tuple[float, float] = (0.15, 0.35)

    def __post_init__(self) -> None:
        if not isinstance(self.size, int) or self.size < 8:
            raise ValueError(f"size: expected an int >= 8, received {self.size!r}")
        _check_range("scale_range", self.scale_range, 1e-6, 1.0)
        _check_range("saturation_range", self.saturation_range, 0.0, 1.0)
        _check_range("value_range", self.value_range, 0.0, 1.0)
        _check_range("bg_value_range", self.bg_value_range, 0.0, 1.0)
        _check_range("bg_saturation_range", self.bg_saturation_range, 0.0, 1.0)
        if not self.noise_std >= 0:
            raise ValueError(f"noise_std: expected >= 0, received {self.noise_std!r}")
        if not self.edge_softness > 0:
            raise ValueError(f"edge_softness: expected > 0, received {self.edge_softness!r}")
        if not self.margin >= 0:
            raise ValueError(f"margin: expected >= 0, received {self.margin!r}")
        _check_range("dark_value_range", self.dark_value_range, 0.0, 1.0)
        if not 0.0 <= self.light_background_prob <= 1.0:
            raise ValueError(f"light_background_prob: expected a probability in [0, 1], "
                             f"received {self.light_background_prob!r}")
        if not isinstance(self.n_color_bins, int) or self.n_color_bins < 1:
            raise ValueError(f"n_color_bins: expected an int >= 1, received {self.n_color_bins!r}")
        biggest = self.scale_range[1] * self.size + 2 * self.margin
        if biggest > self.size:
            raise ValueError(
                f"scale_range: expected high * size + 2 * margin <= size ({self.size}) so shapes fit "
                f"inside the image, received high={self.scale_range[1]} (needs {biggest:.1f} pixels)"
            )


def _hsv_to_rgb(h: np.ndarray, s: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Vectorised HSV -> RGB; h, s, v float [B] in [0, 1] -> float [B, 3]."""
    k = (np.array([5.0, 3.0, 1.0]) + 6.0 * h[:, None]) % 6.0  # [B, 3]
    return v[:, None] - v[:, None] * s[:, None] * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def _box_sdf(px: np.ndarray, py: np.ndarray, hx: np.ndarray, hy: np.ndarray) -> np.ndarray:
    """Exact SDF of an axis-aligned box with half-sizes (hx, hy) centred at the origin."""
    qx, qy = np.abs(px) - hx, np.abs(py) - hy
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    return outside + np.minimum(np.maximum(qx, qy), 0.0)


def _triangle_sdf(px: np.ndarray, py: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Exact SDF of the apex-up triangle (base s, height s) with its centroid at the origin.

    Image y points down, so the apex is at y = -2s/3 and the base at y = +s/3.
    """
    verts = [(0.0 * s, -2.0 * s / 3.0), (s / 2.0, s / 3.0), (-s / 2.0, s / 3.0)]  # clockwise on screen
    dist = None
    inside = None
    for i in range(3):
        (ax, ay), (bx, by) = verts[i], verts[(i + 1) % 3]
        ex, ey = bx - ax, by - ay
        wx, wy = px - ax, py - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        d = np.hypot(wx - t * ex, wy - t * ey)
        side = ex * wy - ey * wx >= 0.0  # interior is to the right of each edge (y down)
        dist = d if dist is None else np.minimum(dist, d)
        inside = side if inside is None else inside & side
    return np.where(inside, -dist, dist)


def _shape_sdf(k: int, px: np.ndarray, py: np.ndarray, s: np.ndarray) -> np.ndarray:
    """SDF in pixels of shape class k (index into SHAPES); px, py [B, H, W] relative to the centre."""
    if k == 0:  # circle
        return np.hypot(px, py) - s / 2.0
    if k == 1:  # square
        return _box_sdf(px, py, s / 2.0, s / 2.0)
    if k == 2:  # triangle
        return _triangle_sdf(px, py, s)
    if k == 3:  # cross: union of two bars, arm width s/3
        return np.minimum(_box_sdf(px, py, s / 2.0, s / 6.0), _box_sdf(px, py, s / 6.0, s / 2.0))
    if k == 4:  # ring: annulus between radii s/4 and s/2
        return np.abs(np.hypot(px, py) - 3.0 * s / 8.0) - s / 8.0
    raise ValueError(f"shape index: expected 0..{len(SHAPES) - 1}, received {k}")


def make_shapes(
    n: int, cfg: ShapesConfig = ShapesConfig(), seed: int = 0
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Generate n shapes images and their factors, deterministically from seed.

    Returns images float32 [B, C=3, H, W] in [0, 1] (B = n, H = W = cfg.size) and factors:
      'shape' long [B]   index into SHAPES (classes exactly balanced: counts differ by <= 1)
      'x', 'y' float [B] centre (area centroid) in [0, 1] image coordinates, x right, y down
      'scale' float [B]  shape size as a fraction of the image side, in cfg.scale_range
      'hue' float [B]    foreground hue in [0, 1)
      'color' long [B]   hue bin, floor(hue * cfg.n_color_bins)
      'light_background' long [B]  1 for a reversed-contrast image (dark shape on light ground), else 0
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n: expected an int >= 1, received {n!r}")
    if not isinstance(cfg, ShapesConfig):
        raise ValueError(f"cfg: expected a ShapesConfig, received {type(cfg).__name__}")
    n, size = int(n), cfg.size
    rng = np.random.default_rng(seed)

    # --- factors -------------------------------------------------------------------------
    shape = rng.permutation(np.arange(n) % len(SHAPES))
    scale = rng.uniform(*cfg.scale_range, size=n)
    s_px = scale * size
    ext = _EXTENTS[shape] * s_px[:, None]  # [B, 4] left, right, up, down in pixels
    u = rng.uniform(size=(2, n))
    lo_x, hi_x = ext[:, 0] + cfg.margin, size - ext[:, 1] - cfg.margin
    lo_y, hi_y = ext[:, 2] + cfg.margin, size - ext[:, 3] - cfg.margin
    cx = lo_x + u[0] * (hi_x - lo_x)  # pixels
    cy = lo_y + u[1] * (hi_y - lo_y)
    hue = rng.uniform(0.0, 1.0, size=n)
    light = rng.uniform(size=n) < cfg.light_background_prob  # reversed contrast: dark shape, light background
    fg_value = np.where(light, rng.uniform(*cfg.dark_value_range, size=n), rng.uniform(*cfg.value_range, size=n))
    fg = _hsv_to_rgb(hue, rng.uniform(*cfg.saturation_range, size=n), fg_value)
    bg = []
    for _ in range(2):  # two background colours [B, 3] at the two ends of the gradient
        bg_value = rng.uniform(*cfg.bg_value_range, size=n)
        bg.append(_hsv_to_rgb(rng.uniform(size=n), rng.uniform(*cfg.bg_saturation_range, size=n),
                              np.where(light, 1.0 - bg_value, bg_value)))
    theta = rng.uniform(0.0, 2.0 * np.pi, size=n)  # gradient direction

    # --- rendering, in chunks of images ----------------------------------------------------
    grid = np.arange(size, dtype=np.float32) + 0.5  # pixel centres
    gx, gy = grid[None, None, :], grid[None, :, None]  # [1, 1, W], [1, H, 1]
    images = np.empty((n, 3, size, size), dtype=np.float32)
    f32 = np.float32
    for start in range(0, n, _CHUNK):
        sl = slice(start, min(start + _CHUNK, n))
        b = sl.stop - sl.start
        # background: t in [0, 1] along the gradient direction, lerp between two colours
        c, sn = np.cos(theta[sl]).astype(f32)[:, None, None], np.sin(theta[sl]).astype(f32)[:, None, None]
        proj = (gx / size - 0.5) * c + (gy / size - 0.5) * sn  # [B, H, W] in [-0.71, 0.71]
        t = (proj / np.sqrt(2.0, dtype=f32) + 0.5)[:, None]  # [B, 1, H, W]
        b0, b1 = bg[0][sl].astype(f32)[:, :, None, None], bg[1][sl].astype(f32)[:, :, None, None]
        img = b0 + (b1 - b0) * t  # [B, 3, H, W]
        # foreground coverage via per-class SDFs
        alpha = np.empty((b, size, size), dtype=f32)
        shp = shape[sl]
        for k in range(len(SHAPES)):
            idx = np.nonzero(shp == k)[0]
            if idx.size == 0:
                continue
            j = idx + sl.start
            px = gx - cx[j].astype(f32)[:, None, None]
            py = gy - cy[j].astype(f32)[:, None, None]
            d = _shape_sdf(k, px, py, s_px[j].astype(f32)[:, None, None])
            alpha[idx] = np.clip(0.5 - d / f32(cfg.edge_softness), 0.0, 1.0)
        a = alpha[:, None]
        img += (fg[sl].astype(f32)[:, :, None, None] - img) * a
        if cfg.noise_std > 0:
            img += rng.standard_normal(img.shape, dtype=f32) * f32(cfg.noise_std)
        images[sl] = np.clip(img, 0.0, 1.0)

    # float32 hue kept < 1 and the colour bin computed from it, so the two always agree
    hue32 = np.minimum(hue.astype(np.float32), np.nextafter(np.float32(1.0), np.float32(0.0)))
    color = np.minimum(np.floor(hue32.astype(np.float64) * cfg.n_color_bins), cfg.n_color_bins - 1)
    factors = {
        "shape": torch.from_numpy(shape.astype(np.int64)),
        "x": torch.from_numpy((cx / size).astype(np.float32)),
        "y": torch.from_numpy((cy / size).astype(np.float32)),
        "scale": torch.from_numpy(scale.astype(np.float32)),
        "hue": torch.from_numpy(hue32),
        "color": torch.from_numpy(color.astype(np.int64)),
        "light_background": torch.from_numpy(light.astype(np.int64)),
    }
    return torch.from_numpy(images), factors


class ShapesDataset(torch.utils.data.Dataset):
    """Map-style dataset over make_shapes(n, cfg, seed), generated once up front.

    Attributes: images float32 [B, C=3, H, W]; factors dict of [B] tensors (see make_shapes).
    __getitem__(i) -> (image [C, H, W], {factor name: 0-d tensor}).
    """

    classes = SHAPES

    def __init__(self, n: int, cfg: ShapesConfig = ShapesConfig(), seed: int = 0) -> None:
        self.cfg = cfg
        self.seed = seed
        self.images, self.factors = make_shapes(n, cfg, seed)

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.images[i], {k: v[i] for k, v in self.factors.items()}
