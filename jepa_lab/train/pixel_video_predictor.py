"""Training the pixel-space video predictor (models/pixel_video_predictor.py), the surprise baseline.

It learns, with L1 on pixels, to paint the ``future`` frames of random windows from their ``context`` frames,
on the same possible events the physics V-JEPA trains on. ``jepa-lab train-pixel-predictor`` runs it and saves
the result (``data/pixel_physics.pt`` is such a run).

Shapes: N clips, T frames, H = W pixels, B batch.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from .. import progress_bar
from ..models.pixel_video_predictor import PixelPredictor, PixelPredictorConfig


def train_pixel_predictor(videos: torch.Tensor, cfg: PixelPredictorConfig = PixelPredictorConfig(),
                          progress: bool = True) -> tuple[PixelPredictor, dict]:
    """Train on uint8 clips [N, T, H, W, 3] (T >= window; a random window per sample). Returns (model, log)."""
    if videos.dtype != torch.uint8 or videos.ndim != 5 or videos.shape[1] < cfg.window:
        raise ValueError(f"videos: expected uint8 [N, T >= {cfg.window}, H, W, 3], got {videos.dtype} "
                         f"{tuple(videos.shape)}")
    torch.manual_seed(cfg.seed)
    model = PixelPredictor(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    clips = videos.movedim(-1, 1)  # [N, 3, T, H, W] uint8
    losses, t0 = [], time.perf_counter()
    for step in progress_bar(range(cfg.steps), desc="pixel predictor", enabled=progress):
        for group in opt.param_groups:
            group["lr"] = cfg.lr * 0.5 * (1 + torch.cos(torch.tensor(step / cfg.steps * torch.pi))).item()
        idx = torch.randint(len(clips), (cfg.batch_size,), generator=gen)
        s = int(torch.randint(clips.shape[2] - cfg.window + 1, (1,), generator=gen))
        batch = clips[idx, :, s:s + cfg.window].float() / 255  # [B, 3, window, H, W]
        loss = F.l1_loss(model(batch[:, :, :cfg.context]), batch[:, :, cfg.context:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.eval(), {"loss": losses, "train_seconds": time.perf_counter() - t0}
