"""Tests for jepa_lab.data.shapes: the procedural shapes image set with known factors."""

import time

import pytest
import torch
from skimage.color import rgb2hsv

from jepa_lab.data.shapes import SHAPES, ShapesConfig, ShapesDataset, make_shapes

FG_THRESHOLD = 0.6  # background value <= 0.4 (+ tiny noise), foreground value >= 0.8


@pytest.fixture(scope="module")
def sample():
    return make_shapes(2000, seed=0)


def _fg_mask(images: torch.Tensor) -> torch.Tensor:
    """[B, 3, H, W] -> bool [B, H, W]: pixels at least half covered by the shape."""
    return images.amax(dim=1) > FG_THRESHOLD


def test_images_shape_dtype_range(sample):
    images, factors = sample
    assert images.shape == (2000, 3, 32, 32)
    assert images.dtype == torch.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert set(factors) == {"shape", "x", "y", "scale", "hue", "color", "light_background"}
    assert factors["light_background"].sum() == 0  # reversed contrast is off by default
    for key, v in factors.items():
        assert v.shape == (2000,), key
    assert factors["shape"].dtype == torch.long and factors["color"].dtype == torch.long
    for key in ("x", "y", "scale", "hue"):
        assert factors[key].dtype == torch.float32, key


def test_factor_ranges(sample):
    _, f = sample
    cfg = ShapesConfig()
    assert f["shape"].min() >= 0 and f["shape"].max() == len(SHAPES) - 1
    lo, hi = cfg.scale_range
    assert f["scale"].min() >= lo - 1e-6 and f["scale"].max() <= hi + 1e-6
    assert f["scale"].max() - f["scale"].min() > 0.8 * (hi - lo)  # the range is actually used
    assert f["hue"].min() >= 0.0 and f["hue"].max() < 1.0
    assert torch.equal(f["color"], (f["hue"].double() * cfg.n_color_bins).floor().long())
    assert set(f["color"].tolist()) == set(range(cfg.n_color_bins))
    half = f["scale"] / 2  # every shape extends s/2 left and right of its centre
    assert (f["x"] - half >= 0).all() and (f["x"] + half <= 1).all()
    tri = f["shape"] == SHAPES.index("triangle")
    assert (f["y"][tri] - 2 / 3 * f["scale"][tri] >= 0).all() and (f["y"][tri] + f["scale"][tri] / 3 <= 1).all()
    other = ~tri
    assert (f["y"][other] - half[other] >= 0).all() and (f["y"][other] + half[other] <= 1).all()


def test_classes_balanced(sample):
    _, f = sample
    counts = torch.bincount(f["shape"], minlength=len(SHAPES))
    assert counts.sum() == 2000
    assert counts.max() - counts.min() <= 1  # exactly balanced by construction
    counts_odd = torch.bincount(make_shapes(13, seed=5)[1]["shape"], minlength=len(SHAPES))
    assert counts_odd.max() - counts_odd.min() <= 1


def test_shapes_fully_inside(sample):
    images, _ = sample
    mask = _fg_mask(images)
    border = torch.cat([mask[:, 0], mask[:, -1], mask[:, :, 0], mask[:, :, -1]], dim=1)
    assert not border.any()
    assert mask.flatten(1).sum(1).min() >= 20  # every image does show a shape


def test_foreground_centroid_matches_xy(sample):
    images, f = sample
    mask = _fg_mask(images).float()
    size = images.shape[-1]
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    area = mask.sum((1, 2))
    cx = (mask * grid[None, None, :]).sum((1, 2)) / area
    cy = (mask * grid[None, :, None]).sum((1, 2)) / area
    err = torch.maximum((cx - f["x"]).abs(), (cy - f["y"]).abs())
    assert err.max() < 1.0 / size  # within one pixel
    assert err.mean() < 0.25 / size


def test_area_grows_with_scale(sample):
    images, f = sample
    area = _fg_mask(images).flatten(1).sum(1).float()
    for k, name in enumerate(SHAPES):
        sel = f["shape"] == k
        a, s = area[sel], f["scale"][sel]
        corr = torch.corrcoef(torch.stack([a, s]))[0, 1]
        assert corr > 0.97, name
        small, big = a[s < 0.3].mean(), a[s > 0.45].mean()
        assert big > 2.0 * small, name  # area ~ scale^2: (0.475 / 0.275)^2 ~ 3


def test_foreground_colour_matches_hue():
    images, f = make_shapes(300, ShapesConfig(noise_std=0.0), seed=2)
    brightness = images.amax(dim=1).flatten(1)  # [B, H*W]
    idx = brightness.argmax(dim=1)  # a fully covered pixel carries the exact foreground colour
    rgb = images.flatten(2)[torch.arange(300), :, idx]  # [B, 3]
    hue = torch.from_numpy(rgb2hsv(rgb.numpy()[None])[0, :, 0]).float()
    d = (hue - f["hue"]).abs()
    assert torch.minimum(d, 1 - d).max() < 2e-3


def test_background_not_uniform(sample):
    images, _ = sample
    bg = ~_fg_mask(images)
    std = torch.stack([images[i, :, bg[i]].std(dim=1).max() for i in range(50)])
    assert (std > 0.02).all()  # noise and gradient
    clean = make_shapes(50, ShapesConfig(noise_std=0.0), seed=0)[0]
    corners = clean[:, :, [0, 0, -1, -1], [0, -1, 0, -1]]  # [B, 3, 4]
    spread = (corners.amax(2) - corners.amin(2)).amax(1)
    assert (spread > 1e-3).mean(dtype=torch.float32) > 0.8  # gradient visible without noise


def test_determinism_by_seed():
    a_img, a_f = make_shapes(64, seed=7)
    b_img, b_f = make_shapes(64, seed=7)
    c_img, c_f = make_shapes(64, seed=8)
    assert torch.equal(a_img, b_img)
    assert all(torch.equal(a_f[k], b_f[k]) for k in a_f)
    assert not torch.equal(a_img, c_img)
    assert not torch.equal(a_f["x"], c_f["x"])


def test_other_sizes_and_config():
    for size in (8, 16, 64):
        images, f = make_shapes(40, ShapesConfig(size=size, scale_range=(0.4, 0.6)), seed=1)
        assert images.shape == (40, 3, size, size)
        mask = _fg_mask(images)
        assert not torch.cat([mask[:, 0], mask[:, -1], mask[:, :, 0], mask[:, :, -1]], 1).any()
        if size >= 16:  # at 8 pixels a thin ring may have no pixel more than half covered
            assert mask.flatten(1).any(1).all()
        assert (images.amax(dim=(1, 2, 3)) > 0.5).all()  # shape visible above the dark background
    _, f = make_shapes(200, ShapesConfig(n_color_bins=3), seed=0)
    assert f["color"].max() == 2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"size": 4},
        {"size": 7},
        {"size": 32.0},
        {"scale_range": (0.5, 0.2)},
        {"scale_range": (0.0, 0.3)},
        {"scale_range": (0.2, 1.0)},
        {"scale_range": (0.2, 0.3, 0.4)},
        {"value_range": (0.5, 1.5)},
        {"noise_std": -0.1},
        {"n_color_bins": 0},
    ],
)
def test_bad_config_raises(kwargs):
    with pytest.raises(ValueError, match="expected.*received"):
        ShapesConfig(**kwargs)


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_n_raises(n):
    with pytest.raises(ValueError, match="expected.*received"):
        make_shapes(n)


def test_dataset_wraps_make_shapes():
    ds = ShapesDataset(30, seed=4)
    images, f = make_shapes(30, seed=4)
    assert len(ds) == 30
    assert torch.equal(ds.images, images)
    img, fac = ds[5]
    assert img.shape == (3, 32, 32)
    assert set(fac) == set(f) and all(fac[k].ndim == 0 and fac[k] == f[k][5] for k in f)
    batch_img, batch_f = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))
    assert batch_img.shape == (8, 3, 32, 32) and batch_f["shape"].shape == (8,)
    assert torch.equal(batch_f["x"], f["x"][:8])


def test_generation_is_fast():
    make_shapes(10)
    t = time.perf_counter()
    make_shapes(5000, seed=1)
    assert time.perf_counter() - t < 5.0  # ~0.4 s on a 2-core CPU; generous for busy CI


def test_reversed_contrast_images_have_dark_shapes_on_light_ground():
    cfg = ShapesConfig(light_background_prob=0.5, noise_std=0.0)
    images, factors = make_shapes(400, cfg, seed=3)
    light = factors["light_background"].bool()
    assert 120 < int(light.sum()) < 280  # about half
    brightness = images.mean(dim=1)  # [B, H, W]
    corners = brightness[:, [0, 0, -1, -1], [0, -1, 0, -1]].mean(dim=1)  # background samples [B]
    centre = brightness[:, 14:18, 14:18].mean(dim=(1, 2))  # shapes cover the centre only sometimes
    assert corners[light].min() > corners[~light].max()  # light grounds are all lighter than dark grounds
    assert (centre[light] <= corners[light] + 1e-6).float().mean() > 0.9  # shapes there are darker
    with pytest.raises(ValueError, match="light_background_prob"):
        ShapesConfig(light_background_prob=1.5)
