"""Tests for jepa_lab.data.photos: real photos read from scikit-image's bundled sample files."""

import socket

import pytest
import torch
from skimage.io import imread

from jepa_lab.data import photos
from jepa_lab.data.photos import PHOTOS, load_photo, load_photos


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: the photos must come from local files."""

    def refuse(*args, **kwargs):
        raise AssertionError("jepa_lab.data.photos tried to open a network socket")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_photo_files_exist():
    assert len(PHOTOS) >= 6 and "astronaut" in PHOTOS and "camera" in PHOTOS
    for name in PHOTOS:
        assert (photos.data_dir() / photos._FILES[name]).is_file(), name


@pytest.mark.parametrize("name", PHOTOS)
def test_load_photo_shape_and_range(name):
    img = load_photo(name)
    assert img.shape == (3, 224, 224)
    assert img.dtype == torch.float32
    assert img.min() >= 0.0 and img.max() <= 1.0
    assert img.std() > 0.05  # a real picture, not a constant
    assert img.max() - img.min() > 0.5


def test_grey_photo_becomes_rgb():
    img = load_photo("camera", size=64)
    assert img.shape == (3, 64, 64)
    assert torch.equal(img[0], img[1]) and torch.equal(img[1], img[2])
    assert not torch.equal(load_photo("astronaut", 64)[0], load_photo("astronaut", 64)[2])


def test_original_resolution_and_centre_crop():
    raw = imread(str(photos.data_dir() / "chelsea.png"))  # (300, 451, 3) uint8
    full = load_photo("chelsea", size=None)
    assert full.shape == (3, raw.shape[0], raw.shape[1])
    assert torch.allclose(full, torch.from_numpy(raw).permute(2, 0, 1).float() / 255)
    side = min(raw.shape[:2])
    crop = load_photo("chelsea", size=side)  # same size: a pure centre crop, no resampling
    left = (raw.shape[1] - side) // 2
    assert torch.equal(crop, full[:, :, left : left + side])


def test_resize_is_antialiased():
    full = load_photo("astronaut", size=None)  # 512 x 512
    small = load_photo("astronaut", size=32)
    assert small.shape == (3, 32, 32)
    block_mean = full.reshape(3, 32, 16, 32, 16).mean((2, 4))  # ideal box-filtered downsample
    naive = full[:, 8::16, 8::16]  # point sampling, aliased
    assert (small - block_mean).abs().mean() < (naive - block_mean).abs().mean()
    assert (small - block_mean).abs().mean() < 0.03


def test_load_photos_stacks():
    batch = load_photos(size=48)
    assert batch.shape == (len(PHOTOS), 3, 48, 48) and batch.dtype == torch.float32
    two = load_photos(["coffee", "rocket"], size=40)
    assert two.shape == (2, 3, 40, 40)
    assert torch.equal(two[1], load_photo("rocket", 40))
    assert load_photos("coffee", size=16).shape == (1, 3, 16, 16)


def test_unknown_name_lists_available():
    with pytest.raises(ValueError) as info:
        load_photo("lena")
    msg = str(info.value)
    assert "lena" in msg
    assert all(name in msg for name in PHOTOS)
    with pytest.raises(ValueError):
        load_photos(["astronaut", "nope"], size=16)


@pytest.mark.parametrize("size", [0, -5, 2.5, "224"])
def test_bad_size_raises(size):
    with pytest.raises(ValueError, match="size"):
        load_photo("coffee", size=size)


def test_load_photos_rejects_empty_and_none_size():
    with pytest.raises(ValueError):
        load_photos([], size=16)
    with pytest.raises(ValueError, match="size"):
        load_photos(size=None)


def test_missing_files_raise_helpful_error(monkeypatch, tmp_path):
    monkeypatch.setattr(photos, "data_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError) as info:
        load_photo("astronaut")
    msg = str(info.value)
    assert "scikit-image" in msg and "reinstall" in msg and str(tmp_path) in msg
