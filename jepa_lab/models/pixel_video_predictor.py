"""A pixel-space video predictor: the baseline for surprise measured in pixels instead of latents.

It sees the first ``context`` frames of a window and paints the next ``future`` frames (a small convolutional
encoder-decoder predicting the change from the last context frame, trained with L1 on pixels). Its surprise
at a window is the L1 between the painted and the real future frames - every pixel counts, whether it matters
for physics or not, which is what the latent (V-JEPA) surprise is compared against.

Shapes: B clips, C = 3 channels, T frames, Tc context frames, Tf future frames, H = W pixels, F width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from ..config import DictRoundTrip


@dataclass(frozen=True)
class PixelPredictorConfig(DictRoundTrip):
    context: int = 4
    future: int = 4
    width: int = 32
    img_size: int = 32
    steps: int = 1500
    batch_size: int = 64
    lr: float = 2e-3
    seed: int = 0

    @property
    def window(self) -> int:
        return self.context + self.future


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1), nn.GELU())


class PixelPredictor(nn.Module):
    """``predictor(context [B, 3, Tc, H, W] in [0, 1]) -> future frames [B, 3, Tf, H, W]``."""

    def __init__(self, cfg: PixelPredictorConfig = PixelPredictorConfig()):
        super().__init__()
        self.cfg, f = cfg, cfg.width
        self.down = nn.Sequential(_conv(3 * cfg.context, f), _conv(f, 2 * f, stride=2), _conv(2 * f, 2 * f))
        self.up = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), _conv(2 * f, f))
        self.out = nn.Conv2d(f + 3 * cfg.context, 3 * cfg.future, 3, padding=1)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        c = self.cfg
        if context.ndim != 5 or tuple(context.shape[1:3]) != (3, c.context):
            raise ValueError(f"context: expected [B, 3, {c.context}, H, W], got {tuple(context.shape)}")
        x = rearrange(context, "b c t h w -> b (t c) h w")  # frames stacked as channels
        change = self.out(torch.cat([self.up(self.down(x)), x], dim=1))  # [B, 3 * Tf, H, W]
        change = rearrange(change, "b (t c) h w -> b c t h w", t=c.future)
        return (context[:, :, -1:] + change).clamp(0, 1)  # the last frame plus what changes
