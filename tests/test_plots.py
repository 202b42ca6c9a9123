"""Tests for jepa_lab.viz.plots: every figure builds with the expected axes and artists, and the mask overlay
marks exactly the target / context patches."""
import numpy as np
import pytest
import torch
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from jepa_lab.viz import plots
from jepa_lab.masking.multiblock import MultiBlockConfig, indices_to_mask, sample_multiblock
from jepa_lab.eval.probe import ProbeResult
from jepa_lab.data.shapes import make_shapes


@pytest.fixture(scope="module")
def batch():
    """4 shapes images [4, 3, 32, 32] and masks on their 8x8 grid of 4-pixel patches."""
    images, factors = make_shapes(4, seed=1)
    masks = sample_multiblock((8, 8), 4, MultiBlockConfig.preset("tiny"), torch.Generator().manual_seed(3))
    return images, factors, masks


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


def test_mask_roles_match_the_masks(batch):
    _, _, masks = batch
    for i in range(4):
        roles = plots.mask_roles(masks, i).reshape(-1)
        union = indices_to_mask(masks.targets[i].reshape(-1), 64).numpy()
        assert np.array_equal(roles > 0, union)
        assert np.array_equal(roles == 0, indices_to_mask(masks.context[i], 64).numpy())


def test_overlay_marks_exactly_the_target_patches(batch):
    _, _, masks = batch
    grey = torch.full((3, 32, 32), 0.5)
    out = plots.mask_overlay(grey, masks, 1)  # [32, 32, 3]
    roles = np.kron(plots.mask_roles(masks, 1), np.ones((4, 4), dtype=int))  # [H, W]
    expected = np.full((32, 32, 3), 0.5 * plots.DROPPED_DIM)
    expected[roles == 0] = 0.5 * (1 - plots.CONTEXT_ALPHA) + plots.CONTEXT_ALPHA * np.array(plots.CONTEXT_COLOUR)
    for k in range(masks.targets.shape[1]):
        rgb = np.array(to_rgb(plots.target_colour(k)))
        expected[roles == k + 1] = 0.5 * (1 - plots.TARGET_ALPHA) + plots.TARGET_ALPHA * rgb
    np.testing.assert_allclose(out, expected)
    # independently of the role map: the pixels that are neither context- nor dropped-coloured are exactly
    # the pixels of the target patches
    union = indices_to_mask(masks.targets[1].reshape(-1), 64).reshape(8, 8).numpy()
    plain = np.isclose(out, expected[roles == 0][0]).all(-1) | np.isclose(out, 0.5 * plots.DROPPED_DIM).all(-1)
    assert np.array_equal(~plain, np.kron(union, np.ones((4, 4), dtype=bool)))


def test_show_masks_draws_image_and_one_outline_per_target(batch):
    images, _, masks = batch
    fig = plots.show_masks(images[0], masks, 0)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    ax = fig.axes[0]
    rects = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(ax.images) == 1 and len(rects) == masks.targets.shape[1]
    bh, bw = rects[0].get_height() / 4, rects[0].get_width() / 4
    assert bh * bw == masks.targets.shape[-1]  # outline = the Nt-patch block
    assert ax.get_legend() is not None


def test_show_masks_into_given_axes(batch):
    images, _, masks = batch
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.show_masks(images[2], masks, 2, patch_size=4, ax=ax, legend=False) is fig
    assert len(ax.images) == 1


def test_show_masks_rejects_wrong_patch_size(batch):
    images, _, masks = batch
    with pytest.raises(ValueError, match="does not match"):
        plots.show_masks(images[0], masks, 0, patch_size=3)


def test_mask_grid_one_axes_per_image(batch):
    images, _, masks = batch
    fig = plots.mask_grid(images, masks, n=3, titles=["a", "b", "c"])
    assert len(fig.axes) == 3 and [a.get_title() for a in fig.axes] == ["a", "b", "c"]
    assert all(len(a.images) == 1 for a in fig.axes)


def test_loss_curve_raw_and_smoothed():
    losses = np.linspace(1, 0.1, 100) + 0.05 * np.random.default_rng(0).normal(size=100)
    assert len(plots.loss_curve(losses).axes[0].lines) == 2
    assert len(plots.loss_curve(losses, smooth=1).axes[0].lines) == 1
    smoothed = plots.loss_curve(losses, smooth=10).axes[0].lines[1].get_ydata()
    assert smoothed[-1] == pytest.approx(np.mean(losses[-10:]))
    with pytest.raises(ValueError):
        plots.loss_curve([])


def test_probe_bars_two_panels():
    results = {"trained": ProbeResult(0.9, 0.8), "random": ProbeResult(0.5, -0.1), "pixels": ProbeResult(0.4, 0.3)}
    fig = plots.probe_bars(results, chance=0.2)
    assert len(fig.axes) == 2
    for ax in fig.axes:
        assert len(ax.patches) == 3
    assert [p.get_height() for p in fig.axes[0].patches] == [0.9, 0.5, 0.4]
    assert fig.axes[1].get_ylim()[0] < -0.1


def test_image_grid_axes_and_titles(batch):
    images, factors, _ = batch
    fig = plots.image_grid(images, titles=[str(int(s)) for s in factors["shape"]], ncols=3)
    assert len(fig.axes) == 4 and fig.axes[3].get_title() == str(int(factors["shape"][3]))


def test_fraction_histogram_and_scatter(batch):
    _, factors, _ = batch
    fig = plots.fraction_histogram({"context": [0.3, 0.4], "target_union": [0.4, 0.5]}, {"target_union": 0.45})
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == 1
    coords = np.random.default_rng(0).normal(size=(4, 2))
    fig = plots.scatter_by_factor(coords, factors, keys=["shape", "x"])
    assert len([a for a in fig.axes if a.get_title()]) == 2


def test_embed_vs_pixel_figure_and_png():
    fig = plots.embed_vs_pixel_figure(torch.rand(3, 64, 64))
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert "PIXELS" in texts and "EMBEDDING" in texts
    assert plots.figure_to_png(fig, dpi=30).startswith(b"\x89PNG")
