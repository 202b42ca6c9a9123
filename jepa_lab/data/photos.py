"""Real photographs from the sample files shipped inside the scikit-image wheel.

The files are read straight from the installed ``skimage/data/`` folder with
``skimage.io.imread``; nothing here ever downloads (``skimage.data.<name>()``
helpers are deliberately not used, since some of them may fetch from the network).

Shape glossary: B batch, C channels (3, RGB), H, W pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from skimage.io import imread

from ..config import is_int

# name -> file inside skimage/data/ (all part of the scikit-image wheel itself)
_FILES = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle_left": "motorcycle_left.png",
    "hubble_deep_field": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "camera": "camera.png",  # greyscale, returned as RGB with three equal channels
}
PHOTOS = tuple(_FILES)


def data_dir() -> Path:
    """Path of the installed scikit-image sample-data folder (``skimage/data``)."""
    return Path(str(resources.files("skimage").joinpath("data")))


def _read(name: str) -> np.ndarray:
    """Read a bundled photo as uint8 [H, W, 3]."""
    path = data_dir() / _FILES[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"scikit-image's bundled sample data was not found: expected {path}. The file ships inside "
            "the scikit-image wheel; reinstall it with `pip install --force-reinstall --no-deps scikit-image`."
        )
    img = np.asarray(imread(str(path)))
    if img.ndim == 2:
        img = np.repeat(img[:, :, None], 3, axis=2)
    return img[:, :, :3]  # drop alpha if any


def load_photo(name: str, size: int | None = 224) -> torch.Tensor:
    """Load a bundled photo as float32 [C=3, H, W] in [0, 1].

    With size given (an int >= 1) the photo is centre-cropped to a square and resized
    with antialiasing to [3, size, size]; with size=None it is returned at its original
    resolution, uncropped. Raises ValueError for a name not in PHOTOS.
    """
    if name not in _FILES:
        raise ValueError(f"unknown photo {name!r}: expected one of {', '.join(PHOTOS)}")
    if size is not None and (not is_int(size, 1)):
        raise ValueError(f"size: expected None or an int >= 1, received {size!r}")
    img = torch.from_numpy(np.ascontiguousarray(_read(name))).permute(2, 0, 1).float() / 255.0  # [C, H, W]
    if size is None:
        return img.contiguous()
    h, w = img.shape[1:]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    img = img[:, top : top + side, left : left + side]
    if side != size:
        img = F.interpolate(img[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False)[0]
    return img.clamp(0.0, 1.0).contiguous()


def load_photos(names: Sequence[str] | None = None, size: int = 224) -> torch.Tensor:
    """Load several bundled photos (default: all of PHOTOS) as float32 [B, C=3, size, size] in [0, 1]."""
    if names is None:
        names = PHOTOS
    elif isinstance(names, str):
        names = (names,)
    if len(names) == 0:
        raise ValueError("names: expected at least one photo name, received an empty sequence")
    if size is None:
        raise ValueError("size: expected an int >= 1 (photos of different sizes cannot be stacked), received None")
    return torch.stack([load_photo(n, size) for n in names])
