"""Evaluating a video JEPA: does it know how things move, and can it predict the future in latent space?

Two measurements, each against baselines that tell what learning added:

* **Motion probe** - an attentive probe (``attentive_probe.py``) reads a factor from frozen clip tokens: the
  ball's direction of motion (8 bins, single-ball clips; one frame cannot reveal it) and the number of balls
  (a static factor). Compared: the trained V-JEPA encoder, the same network at random initialisation, and an
  image encoder (the kit's I-JEPA) applied frame by frame.
* **Future prediction** - with the causal future mask (context = the first token-frames, targets = the later
  ones) the predictor's output is compared (L1) with the target encoder's layer-normed latents of the real
  future. Baseline: copy the last context token-frame's latents forward in time ("nothing moves").

Shapes: B batch, C channels, T frames, H=W pixels, N tokens, D width, t/h/w token grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from einops import rearrange

from ..data.balls import make_balls, videos_to_float
from ..masking.multiblock import gather_tokens
from ..masking.multiblock3d import future_mask
from ..train.jepa import balls_config
from .attentive_probe import ProbeTraining, attentive_probe, extract_tokens, frame_by_frame


@dataclass(frozen=True)
class VideoEvalConfig:
    """Sizes of the evaluation sets (held-out seeds, never the pretraining seed) and of the probe."""

    n_train: int = 3000
    n_test: int = 1000
    seed: int = 1000
    probe: ProbeTraining = ProbeTraining()
    future_context: int = 2  # token-frames of context for the future-prediction test


def probe_clips(model, cfg: VideoEvalConfig, single_ball: bool) -> tuple[tuple, tuple]:
    """Held-out clips [B, C, T, H, W] + factors for the probes: single-ball clips (motion) or the training
    distribution of ball counts (count). Seeds: cfg.seed + {0, 1} (single) / + {2, 3} (count)."""
    balls = balls_config(model.cfg)
    if single_ball:
        balls = replace(balls, num_balls=(1, 1))
    base = cfg.seed + (0 if single_ball else 2)
    out = []
    for seed, n in ((base, cfg.n_train), (base + 1, cfg.n_test)):
        videos, factors = make_balls(n, balls, seed=seed, progress=False)
        out.append((videos_to_float(videos), factors))
    return out[0], out[1]


def probe_factor(encode, train, test, key: str, probe_cfg: ProbeTraining, num_times: int) -> float:
    """Attentive-probe accuracy for factor ``key``: ``train`` / ``test`` are (clips, factors) pairs from
    ``probe_clips``, ``encode`` maps clips -> tokens [B, N, D] with ``num_times`` token-frames."""
    tr, te = extract_tokens(encode, train[0]), extract_tokens(encode, test[0])  # [B, N, D]
    return attentive_probe(tr, train[1][key], te, test[1][key], probe_cfg, num_times)


def motion_and_count_probes(model, random_model, image_model=None, cfg: VideoEvalConfig = VideoEvalConfig(),
                            count_baselines: bool = True) -> dict[str, float]:
    """Attentive-probe accuracies: ``probe_motion_acc_{trained,random_init,image_encoder}`` (direction, 8 bins)
    and ``probe_count_acc_{trained,random_init,image_encoder}`` (1-3 balls). ``image_model`` (an IJEPA whose
    image size matches the clips) is applied frame by frame; skipped when None."""
    motion, count = probe_clips(model, cfg, True), probe_clips(model, cfg, False)
    encoders = {"trained": (model.eval().encode, model.cfg.video.grid[0]),
                "random_init": (random_model.eval().encode, model.cfg.video.grid[0])}
    if image_model is not None:
        pool = model.cfg.video.patch_size // image_model.cfg.vit.patch_size  # to the video model's patch grid
        encoders["image_encoder"] = (frame_by_frame(image_model.eval().encode, pool), model.cfg.video.num_frames)
    results = {}
    for name, (encode, num_times) in encoders.items():
        results[f"probe_motion_acc_{name}"] = probe_factor(encode, *motion, "direction", cfg.probe, num_times)
        if count_baselines or name == "trained":
            results[f"probe_count_acc_{name}"] = probe_factor(encode, *count, "count", cfg.probe, num_times)
    return results


@torch.no_grad()
def future_prediction(model, clips: torch.Tensor, context_frames: int = 2,
                      batch_size: int = 128) -> dict[str, float]:
    """Predict the latents of the last token-frames from the first ``context_frames`` ones.

    Returns ``future_l1`` (predictor vs target latents), ``copy_last_l1`` (the last context token-frame's
    target latents repeated forward) and ``mean_l1`` (the mean future latent of the batch, a "knows nothing
    about this clip" floor), each the mean L1 over future tokens and channels. clips: [B, C, T, H, W] in [0, 1],
    of the model's size or - for a RoPE model - any size (the grid is the clips').
    """
    t, h, w = model.encoder.grid_of(clips.shape)
    totals = {"future_l1": 0.0, "copy_last_l1": 0.0, "mean_l1": 0.0}
    index = _future_index(model)
    for chunk in clips.split(batch_size):
        masks = future_mask((t, h, w), len(chunk), context_frames)
        pred = model.predict(chunk, masks, index)  # [b, Nt, D]
        latents = model.target_encoder(model.normalize(chunk))  # [b, N, D]
        latents = F.layer_norm(latents, latents.shape[-1:])
        target = gather_tokens(latents, masks.targets)  # [b, Nt, D]
        grid = rearrange(latents, "b (t h w) d -> b t (h w) d", t=t, h=h, w=w)  # [b, t, h*w, D]
        last = grid[:, context_frames - 1 : context_frames]  # [b, 1, h*w, D]
        copy = last.expand(-1, t - context_frames, -1, -1).flatten(1, 2)  # [b, Nt, D]
        totals["future_l1"] += F.l1_loss(pred, target, reduction="sum").item()
        totals["copy_last_l1"] += F.l1_loss(copy, target, reduction="sum").item()
        totals["mean_l1"] += F.l1_loss(target.mean(0, keepdim=True).expand_as(target), target,
                                       reduction="sum").item()
    count = clips.shape[0] * (t - context_frames) * h * w * model.cfg.video.embed_dim
    return {k: v / count for k, v in totals.items()}


def _future_index(model) -> int:
    """The mask token of the causal future family (the third one) if the model was trained with it, else the
    long-range one (the closest: large regions hidden over the whole clip)."""
    return 2 if getattr(model.cfg, "future_context", 0) > 0 else 1
