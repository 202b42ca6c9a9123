"""Schedules of the training loops: learning rate, weight decay and the EMA momentum over the steps."""

from __future__ import annotations

import math


def cosine(step: int, total: int, start: float, end: float) -> float:
    """Cosine interpolation from ``start`` (step 0) to ``end`` (step ``total``)."""
    frac = min(max(step / max(total, 1), 0.0), 1.0)
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * frac))


def lr_at(step: int, cfg) -> float:
    """Linear warmup to ``cfg.lr``, then cosine decay to ``cfg.final_lr``."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    return cosine(step - cfg.warmup_steps, cfg.steps - cfg.warmup_steps, cfg.lr, cfg.final_lr)
