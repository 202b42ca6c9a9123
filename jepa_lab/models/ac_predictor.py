"""The action-conditioned predictor of V-JEPA 2-AC at reduced scale: how an action changes the latent state.

A frozen video encoder turns every frame into patch tokens. Per time step the predictor reads the tokens
``[action, state, patch_1 .. patch_N]`` (action and proprioceptive state embedded by linear layers) and, through
block-causal attention (a step sees itself and every earlier step, never a later one), writes the patch tokens
of the *next* frame. Training mixes teacher forcing (every step from the true latents) with an autoregressive
rollout (the predictor's own outputs fed back), as in the paper. Because attention is block-causal, the keys
and values of past steps never change when a step is appended: ``rollout`` caches them and pays for each new
step only, which is what makes batched planning fast on a CPU.

Positions are learned here (a table per patch, one per token type, one per time step) where the paper uses
RoPE: at this scale they train faster and cost nothing at planning time.

Shapes: B batch, T steps, H horizon, N patch tokens per frame, D encoder width, Dp predictor width,
A action dim, S state dim, L = T * (N + 2) tokens.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from ..config import DictRoundTrip, is_int
from .normalize import check_float_tensor
from .vit import Block, init_transformer_


@dataclass(frozen=True)
class ACPredictorConfig(DictRoundTrip):
    """Predictor hyper-parameters. The released V-JEPA 2-AC predictor is 1024 wide, 24 deep, 16 heads,
    7-D actions and states (``ACPredictorConfig.preset("vitg")`` is its shape, not buildable here)."""

    embed_dim: int = 64
    depth: int = 2
    num_heads: int = 4
    mlp_ratio: float = 2.0
    action_dim: int = 2
    state_dim: int = 2
    max_steps: int = 16
    norm_eps: float = 1e-6
    use_state: bool = True  # False: the state token carries no state (an ablation: position from pixels only)

    def __post_init__(self):
        for name in ("embed_dim", "depth", "num_heads", "action_dim", "state_dim", "max_steps"):
            value = getattr(self, name)
            if not is_int(value, 1):
                raise ValueError(f"{name}: expected a positive int, received {value!r}")
        if self.embed_dim % self.num_heads:
            raise ValueError(f"embed_dim={self.embed_dim} must be divisible by num_heads={self.num_heads}")


def block_causal_mask(steps: int, tokens_per_step: int) -> torch.Tensor:
    """Boolean [L, L] attention mask (True = may attend): token i of step s sees every token of steps <= s."""
    step_of = torch.arange(steps).repeat_interleave(tokens_per_step)  # [L]
    return step_of[:, None] >= step_of[None, :]


class ACPredictor(nn.Module):
    """``predictor(z [B, T, N, D], actions [B, T, A], states [B, T, S]) -> [B, T, N, D]``: output step t is the
    prediction of frame t + 1's latents from frames, actions and states up to step t."""

    def __init__(self, encoder_dim: int, num_patches: int, cfg: ACPredictorConfig = ACPredictorConfig()):
        super().__init__()
        self.cfg, self.encoder_dim, self.num_patches = cfg, encoder_dim, num_patches
        dp = cfg.embed_dim
        self.predictor_embed = nn.Linear(encoder_dim, dp)
        self.action_encoder = nn.Linear(cfg.action_dim, dp)
        self.state_encoder = nn.Linear(cfg.state_dim, dp)
        self.patch_pos = nn.Parameter(torch.zeros(1, num_patches, dp))  # where a patch is in the frame
        self.type_embed = nn.Parameter(torch.zeros(2, dp))  # action token, state token
        self.time_embed = nn.Parameter(torch.zeros(cfg.max_steps, 1, dp))  # which step a token belongs to
        self.predictor_blocks = nn.ModuleList(
            Block(dp, cfg.num_heads, round(dp * cfg.mlp_ratio), True, cfg.norm_eps) for _ in range(cfg.depth))
        self.predictor_norm = nn.LayerNorm(dp, eps=cfg.norm_eps)
        self.predictor_proj = nn.Linear(dp, encoder_dim)
        init_transformer_(self, self.predictor_blocks)
        for p in (self.patch_pos, self.type_embed, self.time_embed):
            nn.init.trunc_normal_(p, std=0.02)

    @property
    def tokens_per_step(self) -> int:
        return self.num_patches + 2

    def check_inputs(self, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor, t0: int = 0) -> None:
        c, n, d = self.cfg, self.num_patches, self.encoder_dim
        for name, x, shape in (("z", z, f"[B, T, {n}, {d}]"), ("actions", actions, f"[B, T, {c.action_dim}]"),
                               ("states", states, f"[B, T, {c.state_dim}]")):
            check_float_tensor(x, name, shape)
        if z.ndim != 4 or tuple(z.shape[2:]) != (n, d):
            raise ValueError(f"z: expected latents [B, T, {n}, {d}], got {tuple(z.shape)}")
        b, t = z.shape[:2]
        if tuple(actions.shape) != (b, t, c.action_dim):
            raise ValueError(f"actions: expected [B, T, A] = [{b}, {t}, {c.action_dim}], got {tuple(actions.shape)}")
        if tuple(states.shape) != (b, t, c.state_dim):
            raise ValueError(f"states: expected [B, T, S] = [{b}, {t}, {c.state_dim}], got {tuple(states.shape)}")
        if t0 + t > c.max_steps:
            raise ValueError(f"at most max_steps={c.max_steps} steps fit the time table, got {t0 + t}")

    def embed(self, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor, t0: int = 0) -> torch.Tensor:
        """Tokens of T steps starting at step t0: [B, T, N, D], [B, T, A], [B, T, S] -> [B, T, N + 2, Dp]."""
        patches = self.predictor_embed(z) + self.patch_pos  # [B, T, N, Dp]
        act = self.action_encoder(actions) + self.type_embed[0]  # [B, T, Dp]
        if not self.cfg.use_state:
            states = torch.zeros_like(states)
        sta = self.state_encoder(states) + self.type_embed[1]  # [B, T, Dp]
        tokens = torch.cat([act[:, :, None], sta[:, :, None], patches], dim=2)  # [B, T, N + 2, Dp]
        return tokens + self.time_embed[t0:t0 + z.shape[1]]

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """Predictor outputs of the patch tokens -> next-frame latents: [B, T, N + 2, Dp] -> [B, T, N, D]."""
        return self.predictor_proj(self.predictor_norm(x[:, :, 2:]))

    def forward(self, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: every step from the given latents, in one block-causal pass -> [B, T, N, D]."""
        self.check_inputs(z, actions, states)
        b, t = z.shape[:2]
        x = rearrange(self.embed(z, actions, states), "b t n d -> b (t n) d")  # [B, L, Dp]
        mask = block_causal_mask(t, self.tokens_per_step).to(x.device)  # [L, L]
        for blk in self.predictor_blocks:
            x = blk(x, attn_mask=mask)
        return self.head(rearrange(x, "b (t n) d -> b t n d", t=t))

    def step(self, z: torch.Tensor, action: torch.Tensor, state: torch.Tensor, t: int,
             cache: list[KVCache]) -> torch.Tensor:
        """One step with a key/value cache per block of the earlier steps (extended in place):
        z [B, N, D], action [B, A], state [B, S] at step t -> next-frame latents [B, N, D]."""
        x = self.embed(z[:, None], action[:, None], state[:, None], t0=t)[:, 0]  # [B, N + 2, Dp]
        for blk, kv in zip(self.predictor_blocks, cache):
            x = cached_block(blk, x, kv)
        return self.head(x[:, None])[:, 0]

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor, state0: torch.Tensor,
                next_state=None, z_past: tuple | None = None) -> torch.Tensor:
        """Imagine H steps from the current latents: z0 [B, N, D], actions [B, H, A], state0 [B, S]
        -> predicted latents of frames 1..H [B, H, N, D]. Each prediction is fed back as the next input.
        Future states are unknown while imagining: ``next_state(state, action)`` guesses them (default:
        state + action, right for displacement actions; walls make it wrong, the latents know better)."""
        next_state = next_state or (lambda s, a: s + a)
        b, h = actions.shape[:2]
        self.check_inputs(z0[:, None], actions[:, :1], state0[:, None], t0=h - 1)
        cache = [KVCache(h * self.tokens_per_step) for _ in self.predictor_blocks]
        z, state, out = z0, state0, []
        for t in range(h):
            z = self.step(z, actions[:, t], state, t, cache)  # [B, N, D]
            state = next_state(state, actions[:, t])
            out.append(z)
        return torch.stack(out, dim=1)  # [B, H, N, D]


class KVCache:
    """Keys and values of the steps imagined so far, for one transformer block. Without autograd (planning)
    they go into preallocated buffers of ``capacity`` tokens [B, heads, capacity, d], filled in place, so a
    rollout copies each key once instead of concatenating the growing past at every step; with autograd (the
    rollout loss) they are concatenated, since in-place writes would break the backward pass."""

    def __init__(self, capacity: int):
        self.capacity, self.length, self.k, self.v = capacity, 0, None, None

    def extend(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v [B, heads, M, d] -> all keys and values so far [B, heads, L_past + M, d]."""
        m = k.shape[2]
        if self.length + m > self.capacity:
            raise ValueError(f"KVCache: {self.length} + {m} tokens exceed its capacity of {self.capacity}")
        if torch.is_grad_enabled() and (k.requires_grad or v.requires_grad):
            self.k = k if self.k is None else torch.cat([self.k[:, :, :self.length], k], dim=2)
            self.v = v if self.v is None else torch.cat([self.v[:, :, :self.length], v], dim=2)
            self.length += m
            return self.k, self.v
        if self.k is None:
            shape = (*k.shape[:2], self.capacity, k.shape[3])
            self.k, self.v = k.new_empty(shape), v.new_empty(shape)
        self.k[:, :, self.length:self.length + m], self.v[:, :, self.length:self.length + m] = k, v
        self.length += m
        return self.k[:, :, :self.length], self.v[:, :, :self.length]


def cached_block(blk: Block, x: torch.Tensor, cache: KVCache, rope=None) -> torch.Tensor:
    """A transformer block on the newest step's tokens x [B, M, Dp], attending to them and to the keys/values
    of earlier steps in ``cache`` (extended in place; ``rope``: the rotary function of the new tokens'
    positions, or None). Returns the output [B, M, Dp]."""
    attn = blk.attn
    q, k, v = rearrange(attn.qkv(blk.norm1(x)), "b m (three h d) -> three b h m d", three=3, h=attn.num_heads)
    if rope is not None:  # cached keys were rotated at their own positions already
        q, k = rope(q), rope(k)
    k, v = cache.extend(k, v)  # [B, heads, L_past + M, d]
    out = F.scaled_dot_product_attention(q, k, v)  # the new step sees itself and all the past
    x = x + attn.proj(rearrange(out, "b h m d -> b m (h d)"))
    return x + blk.mlp(blk.norm2(x))


def latent_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error between latents: [..., N, D] pairs -> scalar."""
    return (pred - target).abs().mean()


def integrated_states(state0: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """Where the actions *command* the agent to be: state0 [B, S] + running sums of actions [B, T, A]
    -> [B, T, S] (step t: state0 + a_0 + ... + a_{t-1}); what a planner can know about future states."""
    before = torch.cat([torch.zeros_like(actions[:, :1]), actions[:, :-1]], dim=1).cumsum(dim=1)
    return state0[:, None] + before


def ac_loss(model: ACPredictor, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor,
            rollout_steps: int = 2, integrate_states: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """V-JEPA 2-AC's two losses on a clip of T + 1 frames (z [B, T + 1, N, D] layer-normed latents, actions and
    states [B, T, .] of the first T steps): teacher forcing predicts frames 1..T from the true frames and
    states 0..T-1; the rollout feeds its own predictions back for ``rollout_steps`` steps from frame 0, with
    the states guessed as at planning time (state + action), so the predictor learns to trust the latents
    where the guess is wrong (an agent pressed against a wall does not move). ``integrate_states`` feeds the
    teacher-forcing steps the same guess instead of the recorded states (the paper feeds recorded ones), so
    the state token always means "commanded position" and the frame latents carry where the agent really is.
    Returns both L1s."""
    if integrate_states:
        states = integrated_states(states[:, 0], actions)
    teacher = latent_l1(model(z[:, :-1], actions, states), z[:, 1:])
    k = min(rollout_steps, actions.shape[1])
    if k == 0:
        return teacher, torch.zeros(())
    imagined = model.rollout(z[:, 0], actions[:, :k], states[:, 0])
    return teacher, latent_l1(imagined, z[:, 1:k + 1])
