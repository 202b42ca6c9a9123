"""Exponential moving average (EMA) of the target encoder, and its momentum schedule.

JEPA's target encoder is not trained by gradients: after every optimiser step its weights move a small step
toward the online (context) encoder, ``target <- m * target + (1 - m) * online``. I-JEPA ramps the momentum m
linearly from 0.996 to 1.0 over training, so the targets change less and less as learning settles.
"""

from __future__ import annotations

import torch
from torch import nn


def momentum_at(step: int, total_steps: int, start: float = 0.996, end: float = 1.0) -> float:
    """Linear ramp start -> end over ``total_steps`` (clamped afterwards)."""
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    frac = min(max(step / total_steps, 0.0), 1.0)
    return start + (end - start) * frac


@torch.no_grad()
def ema_update_(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """In place: every target parameter p_t <- m * p_t + (1 - m) * p_o. Both modules must match by name."""
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum must lie in [0, 1], got {momentum}")
    t_params = dict(target.named_parameters())
    o_params = dict(online.named_parameters())
    if t_params.keys() != o_params.keys():
        missing = sorted(set(o_params) ^ set(t_params))[:5]
        raise ValueError(f"target and online modules differ in parameter names, e.g. {missing}")
    for name, p_t in t_params.items():
        if o_params[name].requires_grad:
            p_t.lerp_(o_params[name], 1.0 - momentum)  # p_t + (1 - m) * (p_o - p_t) = m * p_t + (1 - m) * p_o
