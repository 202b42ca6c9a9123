"""Schedules of the training loops: the learning rate and the weight decay over the steps.

Written out by hand on purpose: warm-up then cosine decay is part of the I-JEPA recipe worth reading in four
lines, and the shipped checkpoints were trained with exactly these floats (a ``torch.optim.lr_scheduler.LambdaLR``
multiplies base_lr by a factor, which rounds differently in the last bit and would break their bit-for-bit
reproduction). The EMA momentum ramp is in ``models/ema.py``."""

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
