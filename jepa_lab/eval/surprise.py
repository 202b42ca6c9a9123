"""Surprise: a video model's prediction error over time, and violation-of-expectation scores.

The V-JEPA intuitive-physics recipe (Garrido et al., 2025): slide a window of the model's clip length along a
video; in each window, let the predictor guess the latents of the last frames from the first ones (the causal
"future" mask) and measure the L1 distance to what the target encoder actually sees (layer-normed latents),
averaged over tokens and channels. That distance is the model's *surprise* at that moment. A clip gets a score
from its surprise curve (its mean or its max over windows), and a pair of clips - identical until one of them
breaks a law of physics - is judged right when the impossible one scores higher (**relative accuracy**, chance
50%). Single clips can also be ranked by score: the **AUROC** of "impossible" over all clips (chance 0.5).
Pairs have a confound: after a ball vanishes the scene is emptier and easier to predict, so a model can find an
impossible clip *less* surprising for the wrong reason. IntPhys's minimal sets (violations.py) cancel it for
scores that add up over time: ``set_accuracy`` compares the summed score of a set's two impossible clips with
its two possible ones. ``scene_control`` is a score that knows no physics (how much non-background each window
shows): whatever it wins is won without physics.

The same windows work for any model with a ``surprise_windows(clips) -> [B, W]`` method; ``latent_surprise``
does it for the kit's V-JEPA, ``pixel_surprise`` for a pixel-prediction baseline (pixel_predictor.py).

Shapes: B clips, C channels, T frames, W windows, N tokens, Nt target tokens, D width.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

from ..masking.multiblock3d import future_mask
from ..models.pixel_video_predictor import PixelPredictor
from .video_eval import _future_index


def window_starts(frames: int, window: int, stride: int) -> list[int]:
    """First frames of the windows of ``window`` frames, every ``stride`` frames, that fit in ``frames``."""
    if frames < window:
        raise ValueError(f"clips of {frames} frames are shorter than the model's {window}-frame window")
    return list(range(0, frames - window + 1, stride))


@torch.no_grad()
def latent_surprise(model, clips: torch.Tensor, stride: int = 2, context: int | None = None,
                    batch_size: int = 64, window: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """V-JEPA surprise: clips [B, C, T, H, W] in [0, 1] -> (surprise [B, W], first predicted frame [W]).
    ``context``: token-frames seen by the predictor (default: the model's future_context, else half);
    ``window``: frames per window (default: the model's clip length; a RoPE model takes longer ones)."""
    if clips.ndim != 5:
        raise ValueError(f"clips: expected [B, C, T, H, W], got {tuple(clips.shape)}")
    v = model.cfg.video
    context = context or getattr(model.cfg, "future_context", 0) or v.grid[0] // 2
    window = window or v.num_frames
    starts = window_starts(clips.shape[2], window, stride)
    out = torch.empty(clips.shape[0], len(starts))
    for j, s in enumerate(starts):
        for i in range(0, clips.shape[0], batch_size):
            pred, target = predict_future(model, clips[i:i + batch_size, :, s:s + window], context)
            out[i:i + len(pred), j] = (pred - target).abs().mean(dim=(1, 2))
    first = torch.tensor(starts) + context * v.tubelet_size
    return out, first


@torch.no_grad()
def context_surprise(model, clips: torch.Tensor, contexts, horizon: int | None = None,
                     batch_size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Surprise at each moment given *everything* before it: the whole clip is one window, and for each context
    c (token-frames) the predictor guesses the following ``horizon`` token-frames (default: all the rest) from
    the first c. A long context can carry a ball through an occluder, which a short sliding window cannot.
    clips [B, C, T, H, W] (any T for a RoPE model) -> (surprise [B, len(contexts)], first predicted frame
    [len(contexts)])."""
    if clips.ndim != 5:
        raise ValueError(f"clips: expected [B, C, T, H, W], got {tuple(clips.shape)}")
    t, h, w = model.encoder.grid_of(clips.shape)
    out = torch.empty(clips.shape[0], len(contexts))
    for j, c in enumerate(contexts):
        k = (t - c) if horizon is None else min(horizon, t - c)  # token-frames read
        for i in range(0, clips.shape[0], batch_size):
            pred, target = predict_future(model, clips[i:i + batch_size], c)  # [b, (t - c)*h*w, D]
            out[i:i + len(pred), j] = (pred - target)[:, :k * h * w].abs().mean(dim=(1, 2))
    first = torch.tensor([c * model.cfg.video.tubelet_size for c in contexts])
    return out, first


@torch.no_grad()
def surprise_after(model, clips: torch.Tensor, context: int, batch_size: int = 64) -> torch.Tensor:
    """Surprise at each moment after the first ``context`` token-frames of the whole clip, given only them: the
    error of every later token-frame's prediction, averaged over its tokens and channels. clips [B, C, T, H, W]
    -> [B, t - context] (token-frame ``context + j`` starts at frame ``(context + j) * tubelet``)."""
    t, h, w = model.encoder.grid_of(clips.shape)
    out = []
    for i in range(0, clips.shape[0], batch_size):
        pred, target = predict_future(model, clips[i:i + batch_size], context)  # [b, (t - context)*h*w, D]
        err = (pred - target).abs().mean(dim=2)  # [b, Nt]
        out.append(err.reshape(len(err), t - context, h * w).mean(dim=2))  # [b, t - context]: tokens per frame
    return torch.cat(out)


@torch.no_grad()
def predict_future(model, clips: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One window per clip [B, C, window, H, W]: the predictor's guess at the latents of the token-frames after
    the first ``context`` ones (causal future mask) and what the target encoder sees there (layer-normed):
    (prediction, target), both [B, Nt, D]."""
    masks = future_mask(model.encoder.grid_of(clips.shape), len(clips), context)
    return model.predict(clips, masks, _future_index(model)), model.targets(clips, masks)


def scene_control(clips: torch.Tensor, window: int = 8, context: int = 4, stride: int = 2) -> torch.Tensor:
    """A physics-blind "surprise" over the same windows [B, W]: the mean distance of each window's predicted
    frames from the clip's background colour (the median pixel). More object, more "surprise"; motion and
    laws mean nothing to it. clips [B, C, T, H, W]."""
    amount = scene_amount(clips)  # [B, T]
    starts = window_starts(clips.shape[2], window, stride)
    return torch.stack([amount[:, s + context:s + window].mean(dim=1) for s in starts], dim=1)


def scene_amount(clips: torch.Tensor) -> torch.Tensor:
    """How much non-background each frame shows: mean distance from the clip's median colour, [B, T]."""
    background = clips.flatten(2).median(dim=2).values[:, :, None, None, None]  # [B, C, 1, 1, 1]
    return (clips - background).abs().mean(dim=(1, 3, 4))  # [B, T]


def scene_control_context(clips: torch.Tensor, first_frames) -> torch.Tensor:
    """The physics-blind control read like ``context_surprise``: for each reading, the amount of scene in the
    frames predicted (from ``first_frames[j]`` to the end), [B, len(first_frames)]."""
    amount = scene_amount(clips)  # [B, T]
    return torch.stack([amount[:, int(f):].mean(dim=1) for f in first_frames], dim=1)


def clip_scores(curves: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-clip scores of surprise curves [B, W]: {"mean": [B], "max": [B]}."""
    return {"mean": curves.mean(dim=1), "max": curves.max(dim=1).values}


def relative_accuracy(scores: torch.Tensor, impossible: torch.Tensor, pair: torch.Tensor) -> float:
    """Fraction of pairs whose impossible clip scores higher than its possible twin (ties count half).
    scores, impossible (0/1), pair (pair id) are [B] with both clips of every pair present."""
    s, bad, pid = (np.asarray(x) for x in (scores, impossible, pair))
    wins = []
    for p in np.unique(pid):
        both = pid == p
        hi, lo = s[both & (bad == 1)], s[both & (bad == 0)]
        if len(hi) != 1 or len(lo) != 1:
            raise ValueError(f"pair {p}: expected one possible and one impossible clip, got {both.sum()} clips")
        wins.append(1.0 if hi[0] > lo[0] else 0.5 if hi[0] == lo[0] else 0.0)
    return float(np.mean(wins))


def set_accuracy(scores: torch.Tensor, impossible: torch.Tensor, set_id: torch.Tensor) -> float:
    """IntPhys's relative score over minimal sets (violations.py): the fraction of sets whose impossible clips
    have the larger *summed* score (ties count half). The impossible clips show the same frames as the
    possible ones, so for a score that adds up over time (the mean over windows) the sums cancel any
    preference for one kind of scene; a maximum does not add up, and a physics-blind score (``scene_control``)
    can then win sets - compare against it."""
    s, bad, sid = (np.asarray(x) for x in (scores, impossible, set_id))
    wins = []
    for k in np.unique(sid):
        hi, lo = s[(sid == k) & (bad == 1)].sum(), s[(sid == k) & (bad == 0)].sum()
        wins.append(1.0 if hi > lo else 0.5 if hi == lo else 0.0)
    return float(np.mean(wins))


def auroc(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels`` (1 = impossible): the probability that a
    random impossible clip outscores a random possible one (ties count half); scikit-learn's ``roc_auc_score``."""
    s, y = np.asarray(scores, dtype=np.float64), np.asarray(labels).astype(bool)
    if y.all() or not y.any():
        raise ValueError("auroc needs both possible (0) and impossible (1) clips")
    return float(roc_auc_score(y, s))


def breakdown(scores: torch.Tensor, factors: dict, laws, variants, by: str = "pair") -> dict[str, float]:
    """Accuracy per (law, variant) cell: {"permanence/visible": 0.95, ...} plus per variant; ``by="pair"``
    (relative accuracy) or ``"set"`` (minimal-set accuracy)."""
    score = relative_accuracy if by == "pair" else set_accuracy
    out = {}
    law, var = np.asarray(factors["law"]), np.asarray(factors["variant"])
    for vi, vname in enumerate(variants):
        for li, lname in enumerate(laws):
            keep = torch.from_numpy((law == li) & (var == vi))
            if keep.any():
                out[f"{lname}/{vname}"] = score(scores[keep], factors["impossible"][keep], factors[by][keep])
        keep = torch.from_numpy(var == vi)
        if keep.any():
            out[vname] = score(scores[keep], factors["impossible"][keep], factors[by][keep])
    return out


@torch.no_grad()
def pixel_surprise(model: PixelPredictor, clips: torch.Tensor, stride: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Pixel surprise over the same sliding windows as ``surprise.latent_surprise``: clips [B, 3, T, H, W] in
    [0, 1] -> (mean |painted - real| of each window's future frames [B, W], first predicted frame [W])."""
    c = model.cfg
    starts = window_starts(clips.shape[2], c.window, stride)
    out = torch.stack([(model(clips[:, :, s:s + c.context]) - clips[:, :, s + c.context:s + c.window]).abs()
                       .mean(dim=(1, 2, 3, 4)) for s in starts], dim=1)  # [B, W]
    return out, torch.tensor(starts) + c.context
