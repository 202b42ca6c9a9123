"""Attentive probe: a learned query attends over a frozen encoder's tokens, then a linear classifier.

Mean pooling throws away *where* and *when* each token sits, and motion lives exactly there: the mean of a clip's
tokens says little about which way a ball moved. V-JEPA therefore evaluates frozen video features with an
attentive probe: one learned query vector cross-attends over all N tokens of a clip and the pooled vector goes
through a linear layer. Only the probe is trained; the encoder stays frozen (features are extracted once).

The probe can add learned positions to the tokens (``positions``): ``"time"`` (default) learns one vector per
token-frame, so the read-out knows which tokens come earlier and which later - an image encoder applied frame by
frame gets the frame order it cannot see by itself; ``"slot"`` learns one per token slot (time and space);
``"none"`` reads the tokens as they are.

Shapes: B batch, N tokens, D width, K classes, T frames.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from .. import progress_bar

POSITIONS = ("none", "time", "slot")


class AttentiveProbe(nn.Module):
    """tokens [B, N, D] -> logits [B, K]: layer norm (+ learned positions), one learned query cross-attends
    (residual + MLP, a transformer cross-attention block), then a linear classifier."""

    def __init__(self, dim: int, num_tokens: int, num_classes: int, num_heads: int = 4, positions: str = "time",
                 num_times: int = 1):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"dim {dim} must be divisible by num_heads {num_heads}")
        if positions not in POSITIONS:
            raise ValueError(f"positions: expected one of {POSITIONS}, received {positions!r}")
        if num_times < 1 or num_tokens % num_times:
            raise ValueError(f"num_times: expected a divisor of num_tokens={num_tokens}, received {num_times}")
        self.num_tokens, self.num_times, self.positions = num_tokens, num_times, positions
        self.norm = nn.LayerNorm(dim)
        slots = {"none": 0, "time": num_times, "slot": num_tokens}[positions]
        self.pos = nn.Parameter(torch.randn(1, slots, dim) * 0.5)
        self.query = nn.Parameter(torch.randn(1, 1, dim))
        self.num_heads = num_heads
        self.to_k, self.to_v = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)
        self.mlp = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))
        self.out_norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def pool(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, N, D] -> pooled [B, D] and attention weights [B, N] (averaged over heads)."""
        if tokens.ndim != 3 or tokens.shape[1] != self.num_tokens:
            raise ValueError(f"tokens: expected [B, {self.num_tokens}, D], received {tuple(tokens.shape)}")
        kv = self.norm(tokens)  # [B, N, D]
        if self.positions == "slot":
            kv = kv + self.pos
        elif self.positions == "time":  # tokens are time-major: N = num_times * (tokens per time)
            kv = kv + self.pos.repeat_interleave(self.num_tokens // self.num_times, dim=1)
        # One query per head, so fold the key and value projections in (the same maths, no [B, N, D] projections):
        # q.(W_k x + b_k) = (W_k^T q).x + const, and sum_n a_n (W_v x_n + b_v) = W_v (sum_n a_n x_n) + b_v.
        heads = self.num_heads
        q = rearrange(self.query[0], "1 (h e) -> h e", h=heads)  # the learned query, per head [heads, E]
        w_k = rearrange(self.to_k.weight, "(h e) d -> h e d", h=heads)  # [heads, E, D]
        w_v = rearrange(self.to_v.weight, "(h e) d -> h e d", h=heads)
        key_dir = torch.einsum("he,hed->hd", q, w_k) * q.shape[-1] ** -0.5  # [heads, D]
        attn = torch.einsum("bnd,hd->bhn", kv, key_dir).softmax(-1)  # [B, heads, N]
        mixed = torch.einsum("bhn,bnd->bhd", attn, kv)  # attention-weighted tokens [B, heads, D]
        values = torch.einsum("bhd,hed->bhe", mixed, w_v) + rearrange(self.to_v.bias, "(h e) -> h e", h=heads)
        pooled = self.proj(rearrange(values, "b h e -> b (h e)"))  # [B, D]
        weights = attn.mean(1)  # [B, N], averaged over heads
        x = self.query[:, 0] + pooled  # [B, D]: a cross-attention block, as in V-JEPA's attentive pooler
        return x + self.mlp(x), weights

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.out_norm(self.pool(tokens)[0]))


@dataclass(frozen=True)
class ProbeTraining:
    """How an attentive probe is fitted (AdamW, cosine learning rate, fixed number of epochs, seeded)."""

    epochs: int = 40
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.05
    num_heads: int = 4
    positions: str = "time"
    seed: int = 0


@torch.no_grad()
def extract_tokens(encode: Callable[[torch.Tensor], torch.Tensor], inputs: torch.Tensor,
                   batch_size: int = 128) -> torch.Tensor:
    """Frozen token features: ``encode`` maps inputs [b, ...] -> tokens [b, N, D]; returns [B, N, D]."""
    return torch.cat([encode(chunk) for chunk in inputs.split(batch_size)])


def frame_by_frame(encode_image: Callable[[torch.Tensor], torch.Tensor],
                   pool: int = 1) -> Callable[[torch.Tensor], torch.Tensor]:
    """Turn an image encoder (images [b, C, H, W] -> [b, n, D], n = g*g tokens) into a clip encoder: clips
    [B, C, T, H, W] -> [B, T*n', D], frame after frame (how image models are compared with video models).
    ``pool`` > 1 averages pool x pool neighbouring tokens (n' = n / pool^2), e.g. to match a video model's
    coarser patch grid and keep the probe's cost down."""

    def encode(clips: torch.Tensor) -> torch.Tensor:
        B, C, T, H, W = clips.shape
        frames = rearrange(clips, "b c t h w -> (b t) c h w")  # [B*T, C, H, W]
        tokens = encode_image(frames)  # [B*T, n, D]
        if pool > 1:
            g = math.isqrt(tokens.shape[1])
            maps = rearrange(tokens, "bt (h w) d -> bt d h w", h=g, w=g)  # [B*T, D, g, g]
            tokens = rearrange(F.avg_pool2d(maps, pool), "bt d h w -> bt (h w) d")  # [B*T, n', D]
        return rearrange(tokens, "(b t) n d -> b (t n) d", b=B, t=T)  # [B, T*n', D]

    return encode


def fit_attentive_probe(train_tokens: torch.Tensor, train_labels: torch.Tensor,
                        cfg: ProbeTraining = ProbeTraining(), num_times: int = 1,
                        progress: bool = False) -> AttentiveProbe:
    """Train an ``AttentiveProbe`` on frozen tokens [B, N, D] (time-major, ``num_times`` token-frames) with
    integer labels [B] (cross-entropy)."""
    if train_tokens.ndim != 3 or train_labels.shape != train_tokens.shape[:1]:
        raise ValueError(f"expected tokens [B, N, D] and labels [B], received {tuple(train_tokens.shape)} "
                         f"and {tuple(train_labels.shape)}")
    gen = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng():
        torch.manual_seed(cfg.seed)
        probe = AttentiveProbe(train_tokens.shape[2], train_tokens.shape[1], int(train_labels.max()) + 1,
                               cfg.num_heads, cfg.positions, num_times)
    opt = torch.optim.AdamW(probe.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    steps_per_epoch = -(-len(train_tokens) // cfg.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch,
                                                pct_start=0.1)
    labels = train_labels.long()
    for _ in progress_bar(range(cfg.epochs), desc="attentive probe", unit="epoch", enabled=progress):
        for idx in torch.randperm(len(train_tokens), generator=gen).split(cfg.batch_size):
            loss = F.cross_entropy(probe(train_tokens[idx]), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return probe.eval()


@torch.no_grad()
def probe_accuracy(probe: AttentiveProbe, tokens: torch.Tensor, labels: torch.Tensor) -> float:
    """Held-out accuracy of a fitted probe on tokens [B, N, D] with labels [B]."""
    preds = torch.cat([probe(chunk).argmax(1) for chunk in tokens.split(512)])
    return (preds == labels.long()).float().mean().item()


def attentive_probe(train_tokens: torch.Tensor, train_labels: torch.Tensor, test_tokens: torch.Tensor,
                    test_labels: torch.Tensor, cfg: ProbeTraining = ProbeTraining(), num_times: int = 1,
                    progress: bool = False) -> float:
    """Fit on the train split, return accuracy on the test split."""
    probe = fit_attentive_probe(train_tokens, train_labels, cfg, num_times, progress)
    return probe_accuracy(probe, test_tokens, test_labels)
