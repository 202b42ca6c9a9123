"""What every JEPA shares: a context encoder, its EMA copy as the target encoder, and a predictor.

I-JEPA (images, ijepa.py) and V-JEPA (video, vjepa.py) differ in their inputs, masks and loss, not in this
skeleton: inputs in [0, 1] are standardised with ImageNet's statistics; the *target encoder* sees the whole input,
gets no gradients and follows the context encoder by an exponential moving average (``update_target``); its
layer-normed tokens are what the predictor must reproduce at the masked positions (``target_tokens``), and its raw
tokens are the representation used downstream (``encode``).

Shapes: B batch, N tokens, D encoder width; inputs are images [B, 3, H, W] or clips [B, 3, T, H, W].
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .ema import ema_update_
from .normalize import ImageNetNormalize, check_unit_range


class JEPA(nn.Module):
    """Context ``encoder`` + EMA ``target_encoder`` (a copy of it, no gradients) + ``predictor``."""

    def __init__(self, encoder: nn.Module, predictor: nn.Module):
        super().__init__()
        self.encoder = encoder
        self.target_encoder = copy.deepcopy(encoder).requires_grad_(False)
        self.predictor = predictor
        self.pixel_norm = ImageNetNormalize()

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        """Images or clips in [0, 1] -> standardised (same shape); the encoder checks the shape first."""
        self.target_encoder.check_input(x)
        return self.pixel_norm(check_unit_range(x, "images" if x.ndim == 4 else "clips"))

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Representation used downstream (probes, maps): target-encoder tokens of [0, 1] inputs -> [B, N, D]."""
        return self.target_encoder(self.normalize(x))

    @torch.no_grad()
    def target_tokens(self, x: torch.Tensor) -> torch.Tensor:
        """Layer-normed (no affine) target-encoder tokens of every position -> [B, N, D] (no gradient)."""
        h = self.target_encoder(self.normalize(x))  # [B, N, D]
        return F.layer_norm(h, h.shape[-1:])  # normalise each token

    def update_target(self, momentum: float) -> None:
        """EMA step: target <- momentum * target + (1 - momentum) * encoder."""
        ema_update_(self.target_encoder, self.encoder, momentum)
