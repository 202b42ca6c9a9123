"""The published V-JEPA 2-AC predictor at full size: 1024 wide, 24 deep, 16 heads, 3D RoPE, 7-D robot actions.

The reduced-scale predictor (ac_predictor.py) learns its positions; this one is the released architecture,
exact to the state-dict key and the parameter (305,220,992 with the extrinsics encoder), so it can load
``vjepa2-ac-vitg.pt``. Per time step t the tokens are ``[action_t, state_t, (extrinsics_t,) patch tokens of
frame t]``; attention is block-causal over steps. Positions are V-JEPA 2's 3D RoPE (rope.py): a patch token at
(row, col) of step t is rotated at (t, row, col); the conditioning tokens get the temporal rotation only,
which is the rotation at (t, 0, 0) since position 0 leaves a chunk unchanged. Outputs at the patch tokens of
step t predict frame t + 1.

Planning uses ``rollout``: one observed frame, then H imagined steps, each predicted frame layer-normed and fed
back, poses integrated from the actions (pose.py). Block-causal attention means the keys and values of past
steps never change, so they are cached and each step costs only its own tokens: with the official rollout of 2
that is 2 x 258 tokens per sample instead of 258 + 516 when the whole history is recomputed.

State-dict keys: ``predictor_embed``, ``action_encoder``, ``state_encoder``, ``extrinsics_encoder``,
``predictor_blocks.{i}.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2}``, ``predictor_norm``, ``predictor_proj``.

Shapes: B batch, T steps, H horizon, N = h*w patch tokens per frame, D encoder width, Dp predictor width,
A action/state dim (7), K conditioning tokens per step (2, or 3 with extrinsics), L = T * (K + N).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import DictRoundTrip, is_int
from ..models.ac_predictor import KVCache, block_causal_mask, cached_block
from ..models.normalize import check_float_tensor
from ..models.rope import LAYOUTS, apply_rope_3d
from ..models.vit import Block, init_transformer_
from .pose import integrate_pose


@dataclass(frozen=True)
class VJEPA2ACConfig(DictRoundTrip):
    """Presets: ``"vitg"`` (the released model, on a ViT-g encoder at 256 px) and ``"tiny"`` (for CPU tests)."""

    encoder_dim: int = 1408
    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    mlp_ratio: float = 4.0
    action_dim: int = 7
    grid: tuple[int, int] = (16, 16)  # patch rows, cols of one frame (256 px / 16)
    max_steps: int = 32  # steps the official attention mask covers (64 frames / tubelet 2)
    use_extrinsics: bool = False  # the released model has the encoder's weights but does not use it
    rope_layout: str = "repeat"  # the released weights' RoPE layout (see rope.py)
    norm_eps: float = 1e-6

    def __post_init__(self):
        for name in ("encoder_dim", "embed_dim", "depth", "num_heads", "action_dim", "max_steps"):
            value = getattr(self, name)
            if not is_int(value, 1):
                raise ValueError(f"{name}: expected a positive int, received {value!r}")
        if self.embed_dim % self.num_heads or self.embed_dim // self.num_heads < 6:
            raise ValueError(f"embed_dim={self.embed_dim} must split into num_heads={self.num_heads} heads of >= 6")
        if len(self.grid) != 2 or min(self.grid) < 1:
            raise ValueError(f"grid: expected (rows, cols) >= 1, received {self.grid!r}")
        if self.rope_layout not in LAYOUTS:
            raise ValueError(f"rope_layout must be one of {LAYOUTS}, got {self.rope_layout!r}")

    @property
    def cond_tokens(self) -> int:
        return 3 if self.use_extrinsics else 2

    @property
    def num_patches(self) -> int:
        return self.grid[0] * self.grid[1]

    @staticmethod
    def preset(name: str) -> "VJEPA2ACConfig":
        if name not in VJEPA2_AC_PRESETS:
            raise ValueError(f"unknown V-JEPA 2-AC preset {name!r}; expected one of {sorted(VJEPA2_AC_PRESETS)}")
        return VJEPA2_AC_PRESETS[name]


VJEPA2_AC_PRESETS = {
    "vitg": VJEPA2ACConfig(),
    "tiny": VJEPA2ACConfig(encoder_dim=48, embed_dim=64, depth=2, num_heads=4, grid=(4, 4), max_steps=8),
}


def step_positions(steps: int, grid: tuple[int, int], cond_tokens: int, t0: int = 0) -> torch.Tensor:
    """RoPE positions of the tokens of steps t0..t0+steps-1: Long [steps * (K + N), 3] of (step, row, col);
    the K conditioning tokens of a step sit at (step, 0, 0)."""
    h, w = grid
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    spatial = torch.cat([torch.zeros(cond_tokens, 2, dtype=torch.long),
                         torch.stack([rows.reshape(-1), cols.reshape(-1)], dim=-1)])  # [K + N, 2]
    t = torch.arange(t0, t0 + steps).repeat_interleave(len(spatial))[:, None]  # [steps * (K + N), 1]
    return torch.cat([t, spatial.repeat(steps, 1)], dim=-1)


class VJEPA2ACPredictor(nn.Module):
    """``predictor(z [B, T, N, D], actions [B, T, 7], states [B, T, 7], extrinsics [B, T, 6] | None)
    -> [B, T, N, D]``: output step t predicts frame t + 1 from frames, actions and states up to t."""

    def __init__(self, cfg: VJEPA2ACConfig = VJEPA2ACConfig()):
        super().__init__()
        self.cfg, dp = cfg, cfg.embed_dim
        self.predictor_embed = nn.Linear(cfg.encoder_dim, dp)
        self.action_encoder = nn.Linear(cfg.action_dim, dp)
        self.state_encoder = nn.Linear(cfg.action_dim, dp)
        self.extrinsics_encoder = nn.Linear(cfg.action_dim - 1, dp)
        self.predictor_blocks = nn.ModuleList(
            Block(dp, cfg.num_heads, round(dp * cfg.mlp_ratio), True, cfg.norm_eps) for _ in range(cfg.depth))
        self.predictor_norm = nn.LayerNorm(dp, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(dp, cfg.encoder_dim)
        if self.predictor_norm.weight.device.type != "meta":
            init_transformer_(self, self.predictor_blocks)

    @property
    def tokens_per_step(self) -> int:
        return self.cfg.cond_tokens + self.cfg.num_patches

    def check_inputs(self, z, actions, states, extrinsics=None, t0: int = 0) -> None:
        c = self.cfg
        check_float_tensor(z, "z", f"[B, T, {c.num_patches}, {c.encoder_dim}]")
        for name, x in (("actions", actions), ("states", states)):
            check_float_tensor(x, name, f"[B, T, {c.action_dim}]")
        if not isinstance(z, torch.Tensor) or z.ndim != 4 or tuple(z.shape[2:]) != (c.num_patches, c.encoder_dim):
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"z: expected latents [B, T, {c.num_patches}, {c.encoder_dim}], got {got}")
        b, t = z.shape[:2]
        for name, x, dim in (("actions", actions, c.action_dim), ("states", states, c.action_dim)):
            if not isinstance(x, torch.Tensor) or tuple(x.shape) != (b, t, dim):
                got = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
                raise ValueError(f"{name}: expected [B, T, {dim}] = [{b}, {t}, {dim}], got {got}")
        if c.use_extrinsics and (extrinsics is None or tuple(extrinsics.shape) != (b, t, c.action_dim - 1)):
            got = None if extrinsics is None else tuple(extrinsics.shape)
            raise ValueError(f"extrinsics: expected [B, T, {c.action_dim - 1}] with use_extrinsics, got {got}")
        if t0 + t > c.max_steps:
            raise ValueError(f"at most max_steps={c.max_steps} steps, got {t0 + t}")

    def embed(self, z, actions, states, extrinsics=None) -> torch.Tensor:
        """[B, T, N, D], [B, T, 7], [B, T, 7] (, [B, T, 6]) -> tokens [B, T, K + N, Dp]."""
        cond = [self.action_encoder(actions), self.state_encoder(states)]  # each [B, T, Dp]
        if self.cfg.use_extrinsics:
            cond.append(self.extrinsics_encoder(extrinsics))
        return torch.cat([torch.stack(cond, dim=2), self.predictor_embed(z)], dim=2)

    def rope(self, steps: int, t0: int, device) -> partial:
        pos = step_positions(steps, self.cfg.grid, self.cfg.cond_tokens, t0).to(device)
        return partial(apply_rope_3d, positions=pos, layout=self.cfg.rope_layout)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """[B, T, K + N, Dp] -> the patch tokens projected back to encoder width [B, T, N, D]."""
        return self.predictor_proj(self.predictor_norm(x[:, :, self.cfg.cond_tokens:]))

    def forward(self, z, actions, states, extrinsics=None) -> torch.Tensor:
        """Teacher forcing: all T steps in one block-causal pass -> [B, T, N, D]."""
        self.check_inputs(z, actions, states, extrinsics)
        t = z.shape[1]
        x = rearrange(self.embed(z, actions, states, extrinsics), "b t n d -> b (t n) d")  # [B, L, Dp]
        mask = block_causal_mask(t, self.tokens_per_step).to(x.device)  # [L, L]
        rope = self.rope(t, 0, x.device)
        for blk in self.predictor_blocks:
            x = blk(x, attn_mask=mask, rope=rope)
        return self.head(rearrange(x, "b (t n) d -> b t n d", t=t))

    def step(self, z, action, state, t: int, cache: list[KVCache], extrinsics=None) -> torch.Tensor:
        """One step on top of a key/value cache per block of steps < t (extended in place):
        z [B, N, D], action [B, 7], state [B, 7] -> next-frame latents [B, N, D]."""
        e = None if extrinsics is None else extrinsics[:, None]
        self.check_inputs(z[:, None], action[:, None], state[:, None], e, t0=t)
        x = self.embed(z[:, None], action[:, None], state[:, None], e)[:, 0]  # [B, K + N, Dp]
        rope = self.rope(1, t, x.device)
        for blk, kv in zip(self.predictor_blocks, cache):
            x = cached_block(blk, x, kv, rope)
        return self.head(x[:, None])[:, 0]

    @torch.no_grad()
    def rollout(self, z0: torch.Tensor, actions: torch.Tensor, pose0: torch.Tensor, normalize: bool = True,
                extrinsics: torch.Tensor | None = None) -> torch.Tensor:
        """Imagine H steps from one observed frame: z0 [B, N, D] (layer-normed), actions [B, H, 7], pose0
        [B, 7] -> predicted latents of frames 1..H [B, H, N, D]. Poses are integrated from the actions; each
        prediction is layer-normed (``normalize``) and fed back, as the official planner does."""
        cache = [KVCache(actions.shape[1] * self.tokens_per_step) for _ in self.predictor_blocks]
        z, pose, out = z0, pose0, []
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t], pose, t, cache, extrinsics)
            if normalize:
                z = F.layer_norm(z, z.shape[-1:])
            pose = integrate_pose(pose, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)
