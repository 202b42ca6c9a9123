"""What goes into an encoder: RGB observations as float tensors, standardised with ImageNet's statistics.

Every encoder of the kit (and Meta's released I-JEPA / V-JEPA 2 encoders) expects pixels in [0, 1] shifted and
scaled per channel by the mean and standard deviation of ImageNet. ``ImageNetNormalize`` does that for images
[B, 3, H, W] and clips [B, 3, T, H, W] alike; ``observations_to_tensor`` turns an environment's uint8 frames
into the [0, 1] tensors the world models read.

Shapes: B batch, T frames, H = W pixels (``img`` after resizing).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageNetNormalize(nn.Module):
    """[B, 3, ...] in [0, 1] -> (x - mean) / std per channel. Its buffers are not saved in state dicts."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (1, 3) + (1,) * (x.ndim - 2)  # broadcast over batch and every axis after the channels
        return (x - self.mean.view(shape)) / self.std.view(shape)


RANGE_SLACK = 1e-3  # resampling may overshoot [0, 1] by a rounding error


def check_unit_range(x: torch.Tensor, what: str = "pixels") -> torch.Tensor:
    """Float pixels must lie in [0, 1]: 0..255 values would give latents off by a factor ~4 and no error at all.
    Returns ``x`` as float32 (float64 / float16 inputs are converted)."""
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected floats in [0, 1], received dtype {x.dtype}")
    if x.numel():
        lo, hi = float(x.min()), float(x.max())
        if not (lo >= -RANGE_SLACK and hi <= 1 + RANGE_SLACK):  # also catches NaN
            hint = " (0..255 values? divide by 255)" if hi > 1.5 else ""
            raise ValueError(f"{what}: expected values in [0, 1], received values in [{lo:.3g}, {hi:.3g}]{hint}")
    return x.float()


def check_float_tensor(x, what: str, expected: str) -> None:
    """The model inputs that are not pixels (latents, actions, states): a floating-point torch tensor with no
    empty axis (B, T >= 1). ``expected`` is the shape in words, e.g. "[B, T, 2]"; the error names what came."""
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{what}: expected a tensor {expected}, received {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{what}: expected a floating-point tensor {expected}, received dtype {x.dtype}")
    if 0 in x.shape:
        raise ValueError(f"{what}: expected {expected} with at least one entry per axis, received shape "
                         f"{tuple(x.shape)}")


def observations_to_tensor(obs, img_size: int) -> torch.Tensor:
    """RGB observations (uint8 [B, H, W, 3] or [H, W, 3] arrays/tensors, or floats in [0, 1]) -> float
    [B, 3, img, img] in [0, 1], resized with area averaging when the sizes differ."""
    x = torch.as_tensor(np.asarray(obs))
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected RGB observations [B, H, W, 3] or [H, W, 3], got {tuple(x.shape)}")
    if x.dtype == torch.uint8:
        x = x.float() / 255.0
    elif x.is_floating_point():
        x = check_unit_range(x, "observations")
    else:
        raise ValueError(f"observations: expected uint8 frames (0..255) or floats in [0, 1], received dtype "
                         f"{x.dtype} (convert with .astype(np.uint8) or divide by 255)")
    x = x.permute(0, 3, 1, 2)  # [B, H, W, 3] -> [B, 3, H, W]
    if x.shape[-1] != img_size or x.shape[-2] != img_size:
        x = F.interpolate(x, size=(img_size, img_size), mode="area")
    return x
