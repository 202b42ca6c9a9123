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


def observations_to_tensor(obs, img_size: int) -> torch.Tensor:
    """RGB observations (uint8 [B, H, W, 3] or [H, W, 3] arrays/tensors) -> float [B, 3, img, img] in [0, 1],
    resized with area averaging when the sizes differ."""
    x = torch.as_tensor(np.asarray(obs))
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected RGB observations [B, H, W, 3] or [H, W, 3], got {tuple(x.shape)}")
    scale = 255.0 if x.dtype == torch.uint8 else 1.0  # uint8 images, or floats already in [0, 1]
    x = x.permute(0, 3, 1, 2).float() / scale  # [B, H, W, 3] -> [B, 3, H, W]
    if x.shape[-1] != img_size or x.shape[-2] != img_size:
        x = F.interpolate(x, size=(img_size, img_size), mode="area")
    return x
