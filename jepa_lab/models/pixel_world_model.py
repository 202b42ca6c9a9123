"""The generative baseline: a world model that predicts the next frame's *pixels* from a frame and an action.

The toy version of the paper's comparison between V-JEPA 2-AC and a video-generation world model (Cosmos):
the same data, the same CEM planner, but imagination happens in pixel space (every sample's every future frame
is drawn in full) and the energy is the pixel distance to the goal image. A small convolutional
encoder-decoder: the action and state set a per-channel scale and shift of the bottleneck features (FiLM), and
the network outputs the change to the current frame (residual), so "nothing moves" is easy to express.

Shapes: B batch, T steps, H horizon, C = 3 channels, P pixels per side, A action dim, S state dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..config import DictRoundTrip
from ..planning.energy import goal_l1_energy
from .normalize import check_float_tensor, observations_to_tensor


@dataclass(frozen=True)
class PixelModelConfig(DictRoundTrip):
    img_size: int = 32
    width: int = 16
    action_dim: int = 2
    state_dim: int = 2

    def __post_init__(self):
        if self.img_size % 4 or self.img_size < 8:
            raise ValueError(f"img_size: expected a multiple of 4 and >= 8, received {self.img_size}")


class PixelWorldModel(nn.Module):
    """``model(frames [B, 3, P, P], actions [B, A], states [B, S]) -> next frames [B, 3, P, P]`` in [0, 1]."""

    def __init__(self, cfg: PixelModelConfig = PixelModelConfig()):
        super().__init__()
        self.cfg, w = cfg, cfg.width
        self.down = nn.Sequential(
            nn.Conv2d(3, w, 3, padding=1), nn.GELU(),
            nn.Conv2d(w, w, 4, stride=2, padding=1), nn.GELU(),  # P/2
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1), nn.GELU())  # P/4
        self.film = nn.Sequential(nn.Linear(cfg.action_dim + cfg.state_dim, 2 * w), nn.GELU(),
                                  nn.Linear(2 * w, 4 * w))  # scale and shift for 2w channels
        self.mid = nn.Sequential(nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU(),
                                 nn.Conv2d(2 * w, 2 * w, 3, padding=1), nn.GELU())
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1), nn.GELU(),  # P/2
            nn.ConvTranspose2d(w, w, 4, stride=2, padding=1), nn.GELU(),  # P
            nn.Conv2d(w, 3, 3, padding=1))

    def check_inputs(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> None:
        c, p = self.cfg, self.cfg.img_size
        check_float_tensor(frames, "frames", f"[B, 3, {p}, {p}]")
        check_float_tensor(actions, "actions", f"[B, {c.action_dim}]")
        check_float_tensor(states, "states", f"[B, {c.state_dim}]")
        if frames.ndim != 4 or tuple(frames.shape[1:]) != (3, p, p):
            raise ValueError(f"frames: expected [B, 3, {p}, {p}], got {tuple(frames.shape)}")
        b = frames.shape[0]
        if tuple(actions.shape) != (b, c.action_dim) or tuple(states.shape) != (b, c.state_dim):
            raise ValueError(f"actions/states: expected [{b}, {c.action_dim}] and [{b}, {c.state_dim}], "
                             f"got {tuple(actions.shape)} and {tuple(states.shape)}")

    def forward(self, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        self.check_inputs(frames, actions, states)
        h = self.down(frames * 2 - 1)  # [B, 2w, P/4, P/4]
        scale, shift = self.film(torch.cat([actions, states], dim=-1)).chunk(2, dim=-1)  # [B, 2w] each
        h = self.mid(h * (1 + scale[:, :, None, None]) + shift[:, :, None, None])
        return (frames + self.up(h)).clamp(0, 1)  # residual: the change to the current frame

    def rollout(self, frames: torch.Tensor, actions: torch.Tensor, state0: torch.Tensor) -> torch.Tensor:
        """Imagined frames 1..H: frames [B, 3, P, P], actions [B, H, A], state0 [B, S] -> [B, H, 3, P, P]
        (states advanced by state + action while imagining)."""
        check_float_tensor(actions, "actions", f"[B, H, {self.cfg.action_dim}]")
        x, s, out = frames, state0, []
        for t in range(actions.shape[1]):
            x = self(x, actions[:, t], s)
            s = s + actions[:, t]
            out.append(x)
        return torch.stack(out, dim=1)

    def encode(self, obs) -> torch.Tensor:
        """Observations (uint8 RGB [B, H, W, 3] or [H, W, 3]) -> the model's input frames [B, 3, P, P]."""
        return observations_to_tensor(obs, self.cfg.img_size)

    def goal_energy(self, frame0: torch.Tensor, state0, goal: torch.Tensor, repeat: int = 1, reduce: str = "final"):
        """actions [S, H, A] -> mean L1 between the imagined frames and the goal image [S] (``repeat``,
        ``reduce``: as in ``planning.energy.goal_l1_energy``)."""
        if frame0.shape != goal.shape:
            raise ValueError(f"goal image {tuple(goal.shape)} does not match the observation {tuple(frame0.shape)}")
        return goal_l1_energy(self.rollout, frame0, state0, goal, repeat, reduce)


def pixel_loss(model: PixelWorldModel, frames: torch.Tensor, actions: torch.Tensor, states: torch.Tensor,
               rollout_steps: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Teacher forcing over T steps plus a short rollout, L1 in pixels: frames [B, T + 1, 3, P, P],
    actions/states [B, T, .] -> (teacher loss, rollout loss)."""
    b, t = actions.shape[:2]
    flat = lambda x: x.reshape(b * t, *x.shape[2:])  # [B, T, ...] -> [B*T, ...]
    pred = model(flat(frames[:, :-1]), flat(actions), flat(states))
    teacher = F.l1_loss(pred, flat(frames[:, 1:]))
    k = min(rollout_steps, t)
    if k == 0:
        return teacher, torch.zeros(())
    imagined = model.rollout(frames[:, 0], actions[:, :k], states[:, 0])
    return teacher, F.l1_loss(imagined, frames[:, 1:k + 1])
