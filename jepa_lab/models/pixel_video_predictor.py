"""A pixel-space video predictor: the baseline for surprise measured in pixels instead of latents.

It sees the first ``context`` frames of a window and paints the next ``future`` frames (a small convolutional
encoder-decoder predicting the change from the last context frame, trained with L1 on pixels). Its surprise
at a window is the L1 between the painted and the real future frames - every pixel counts, whether it matters
for physics or not, which is what the latent (V-JEPA) surprise is compared against.

Shapes: B clips, C = 3 channels, T frames, Tc context frames, Tf future frames, H = W pixels, F width.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from tqdm.auto import tqdm

from ..config import DictRoundTrip
from ..eval.surprise import window_starts


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
    for step in tqdm(range(cfg.steps), desc="pixel predictor", disable=not progress):
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


@torch.no_grad()
def pixel_surprise(model: PixelPredictor, clips: torch.Tensor, stride: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel surprise over the same sliding windows as ``surprise.latent_surprise``: clips [B, 3, T, H, W] in
    [0, 1] -> (mean |painted - real| of each window's future frames [B, W], first predicted frame [W])."""
    c = model.cfg
    starts = window_starts(clips.shape[2], c.window, stride)
    out = torch.stack([(model(clips[:, :, s:s + c.context]) - clips[:, :, s + c.context:s + c.window]).abs()
                       .mean(dim=(1, 2, 3, 4)) for s in starts], dim=1)  # [B, W]
    return out, torch.tensor(starts) + c.context


KIND = "jepa_lab.pixel_predictor"


def save_pixel_predictor(path, model: PixelPredictor, metrics: dict | None = None, command: str = "") -> None:
    """Config + weights + metrics (+ the command that made it), written atomically."""
    from ..checkpoint import save_checkpoint

    save_checkpoint(path, {"kind": KIND, "config": model.cfg.to_dict(), "model": model.state_dict(),
                           "metrics": metrics or {}, "command": command})


def load_pixel_predictor(path) -> PixelPredictor:
    """A saved pixel predictor in eval mode (read with ``weights_only=True``)."""
    from ..checkpoint import load_checkpoint

    ckpt = load_checkpoint(path, KIND)
    model = PixelPredictor(PixelPredictorConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.eval()


def main(argv=None) -> None:
    """``python -m jepa_lab.models.pixel_video_predictor --out data/pixel_physics.pt``: train on the possible events of the
    violation-of-expectation world (the intuitive_physics V-JEPA preset's data) and save."""
    from .vjepa import VJEPAConfig
    from ..data.violations import possible_events

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=PixelPredictorConfig.steps)
    args = ap.parse_args(argv)
    data = VJEPAConfig.preset("intuitive_physics").data
    videos = possible_events(data.num_clips, PixelPredictorConfig.context + PixelPredictorConfig.future,
                             seed=data.seed)
    model, log = train_pixel_predictor(videos, PixelPredictorConfig(steps=args.steps))
    command = "python -m jepa_lab.models.pixel_video_predictor " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    save_pixel_predictor(args.out, model, {"train_seconds": log["train_seconds"],
                                           "final_loss": sum(log["loss"][-100:]) / min(100, len(log["loss"]))},
                         command)
    print(f"wrote {args.out} ({log['train_seconds']:.0f} s, final L1 {log['loss'][-1]:.4f})")


if __name__ == "__main__":
    main()
