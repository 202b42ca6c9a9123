"""Tests for jepa_lab.viz.widgets: the explorers are driven through their controls and callbacks, no browser."""
from types import SimpleNamespace

import ipywidgets as W
import numpy as np
import pytest
import torch

from jepa_lab.viz.embedding import pca_2d
from jepa_lab.masking.multiblock import MultiBlockConfig
from jepa_lab.data.shapes import make_shapes
from jepa_lab.viz.widgets import EmbeddingExplorer, MaskExplorer, embedding_explorer, image_png, mask_explorer


@pytest.fixture(scope="module")
def shapes():
    return make_shapes(40, seed=2)  # images [40, 3, 32, 32], factors


@pytest.fixture
def masks_ui(shapes):
    return mask_explorer(shapes[0][:3], 4, cfg=MultiBlockConfig.preset("tiny"), names=["a", "b", "c"])


@pytest.fixture(scope="module")
def embed_ui(shapes):
    images, factors = shapes
    feats = images.flatten(1)  # [B, F] raw pixels: enough to drive the widget
    return embedding_explorer(feats, images, factors, coords=pca_2d(feats))


def test_mask_explorer_builds(masks_ui):
    assert isinstance(masks_ui, MaskExplorer) and isinstance(masks_ui.widget, W.Box)
    assert bytes(masks_ui.image.value).startswith(b"\x89PNG") and masks_ui.error is None
    assert "context Nc=" in masks_ui.status.value and "grid 8x8" in masks_ui.status.value
    assert masks_ui.config() == MultiBlockConfig.preset("tiny")
    assert "application/vnd.jupyter.widget-view+json" in masks_ui._repr_mimebundle_()


@pytest.mark.parametrize("name, value", [("seed", 7), ("num_targets", 2), ("image", 2), ("target_scale", (0.3, 0.4)),
                                         ("batch_size", 32)])
def test_changing_a_control_changes_the_rendered_image(masks_ui, name, value):
    before = masks_ui.image.value
    masks_ui.controls[name].value = value
    assert masks_ui.error is None and masks_ui.image.value != before


def test_num_targets_slider_sets_m(masks_ui):
    masks_ui.controls["num_targets"].value = 6
    assert masks_ui.masks.targets.shape[1] == 6


def test_invalid_settings_show_the_error_in_the_widget(masks_ui):
    good_png = masks_ui.image.value
    masks_ui.controls["min_keep"].value = 64  # cannot keep all 64 patches with targets removed
    assert masks_ui.error is not None and "min_keep=64" in masks_ui.error
    assert "ValueError" in masks_ui.status.value and "min_keep=64" in masks_ui.status.value
    assert masks_ui.image.value == good_png  # the last valid overlay stays
    masks_ui.controls["min_keep"].value = 2
    assert masks_ui.error is None and "context Nc=" in masks_ui.status.value


def test_mask_explorer_rejects_bad_patch_size(shapes):
    with pytest.raises(ValueError, match="patch_size"):
        MaskExplorer(shapes[0][:2], 5)


def test_embedding_explorer_builds(embed_ui, shapes):
    assert isinstance(embed_ui, EmbeddingExplorer) and isinstance(embed_ui.widget, W.Box)
    assert embed_ui.coords.shape == (40, 2) and embed_ui.colour_by == "shape" and embed_ui.selected == 0
    assert list(embed_ui.dropdown.options) == list(shapes[1])


def test_set_colour_changes_marker_colours(embed_ui):
    embed_ui.set_colour("shape")
    before = np.asarray(embed_ui.figure.data[0].marker.color).copy()
    embed_ui.set_colour("x")
    after = np.asarray(embed_ui.figure.data[0].marker.color)
    assert not np.array_equal(before, after) and embed_ui.dropdown.value == "x"
    embed_ui.dropdown.value = "color"  # the dropdown drives set_colour
    assert embed_ui.colour_by == "color"
    assert embed_ui.figure.data[0].marker.colorbar.ticktext == tuple(str(j) for j in range(6))
    with pytest.raises(ValueError, match="unknown factor"):
        embed_ui.set_colour("nope")


def test_show_point_changes_image_caption_and_ring(embed_ui, shapes):
    embed_ui.show_point(0)
    png, caption = embed_ui.image.value, embed_ui.caption.value
    embed_ui.show_point(5)
    assert embed_ui.image.value != png and embed_ui.caption.value != caption
    assert embed_ui.image.value == image_png(shapes[0][5], embed_ui.thumb_size)
    assert embed_ui.figure.data[1].x == (pytest.approx(float(embed_ui.coords[5, 0])),)
    embed_ui._on_point(None, SimpleNamespace(point_inds=[7]))  # what a plotly hover/click event calls
    assert embed_ui.selected == 7
    embed_ui._on_point(None, SimpleNamespace(point_inds=[]))
    assert embed_ui.selected == 7


def test_embedding_explorer_checks_lengths(shapes):
    images, factors = shapes
    with pytest.raises(ValueError, match="coords"):
        EmbeddingExplorer(images.flatten(1), images, factors, coords=np.zeros((3, 2)))


def test_pca_2d_shape():
    assert pca_2d(torch.randn(10, 5)).shape == (10, 2)
