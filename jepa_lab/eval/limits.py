"""The limits of latent world models, measured on the kit's planning model (notebook 10).

1. **Error accumulates over long rollouts.** Imagining H steps feeds each prediction back as the next input,
   so errors compound: ``rollout_error`` compares the latent error of an H-step rollout with one-step
   predictions from the true frames (teacher forcing) and with "nothing moves" (the first frame's latents).
2. **The camera must stay where it was.** The encoder only ever saw one viewpoint. ``ViewChange`` wraps a
   policy so that both the observations and the goal image are seen through a moved camera (``shift_view``,
   ``zoom_view``); planning success then shows how much a small change of viewpoint costs.
3. **The planner can only optimise what the latents keep.** ``recolour_agent`` changes a detail of a goal image
   (the agent's colour) that no action can reach; ``latent_change`` measures how much the latents move for that
   detail compared with moving the agent a few pixels, and planning toward such goals shows what the planner
   does with a detail the representation mostly discards.

Shapes: E episodes, H horizon, N tokens, D width, P pixels.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ..envs import arena
from ..envs.trajectories import collect
from ..models.world_model import encode_episodes

Transform = Callable[[np.ndarray], np.ndarray]


@torch.no_grad()
def rollout_error(model, env_name: str = "two_rooms", episodes: int = 64, horizon: int = 15,
                  seed: int = 77) -> dict[str, np.ndarray]:
    """Mean L1 to the true latents at each step 1..H of held-out random-action episodes, for an H-step
    rollout (``rollout``), one-step predictions from the true frames (``teacher_forcing``) and the first
    frame's latents (``copy_start``). Returns arrays [H] plus ``horizon`` = 1..H."""
    if not 1 <= horizon <= model.predictor.cfg.max_steps:
        raise ValueError(f"horizon: expected 1..{model.predictor.cfg.max_steps} (the predictor's max_steps), "
                         f"received {horizon}")
    traj = collect(env_name, episodes, horizon, seed=seed, progress=False)
    z = encode_episodes(model, traj, progress=False)  # [E, H + 1, N, D]
    states, actions = torch.from_numpy(traj.states), torch.from_numpy(traj.actions)
    imagined = model.rollout(z[:, 0], actions, states[:, 0])  # [E, H, N, D]
    teacher = model.predict(z[:, :-1], actions, states[:, :-1])  # [E, H, N, D]
    truth = z[:, 1:]
    per_step = lambda pred: (pred - truth).abs().mean(dim=(0, 2, 3)).numpy()  # [H]
    return {"horizon": np.arange(1, horizon + 1), "rollout": per_step(imagined),
            "teacher_forcing": per_step(teacher), "copy_start": per_step(z[:, :1].expand_as(truth))}


def shift_view(dx: int, dy: int = 0) -> Transform:
    """A camera moved by (dx, dy) pixels: images [..., P, P, 3] shifted, the uncovered border repeating the
    edge pixels."""
    def transform(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        p = images.shape[-2]
        pad = [(0, 0)] * (images.ndim - 3) + [(abs(dy), abs(dy)), (abs(dx), abs(dx)), (0, 0)]
        big = np.pad(images, pad, mode="edge")
        y0, x0 = abs(dy) - dy, abs(dx) - dx
        return np.ascontiguousarray(big[..., y0:y0 + p, x0:x0 + p, :])
    return transform


def zoom_view(scale: float) -> Transform:
    """A camera zoomed by ``scale`` about the image centre (>1 closer, <1 further; nearest pixel, edges
    repeated)."""
    if not 0.5 <= scale <= 2.0:
        raise ValueError(f"scale: expected a zoom in [0.5, 2], received {scale!r}")

    def transform(images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        p = images.shape[-2]
        src = np.clip(np.floor((np.arange(p) + 0.5 - p / 2) / scale + p / 2), 0, p - 1).astype(int)
        return np.ascontiguousarray(images[..., src[:, None], src[None, :], :])
    return transform


class ViewChange:
    """A policy that sees observations and goal images through ``transform`` (a moved camera); everything
    else (states, actions, the environment) is unchanged."""

    def __init__(self, policy, transform: Transform):
        self.policy, self.transform = policy, transform

    def reset(self) -> None:
        if callable(getattr(self.policy, "reset", None)):
            self.policy.reset()

    def set_goal(self, goal_image) -> None:
        self.policy.set_goal(self.transform(goal_image))

    def __call__(self, obs, info) -> np.ndarray:
        return self.policy(self.transform(obs), info)


def recolour_agent(image: np.ndarray, position, radius: float, colour=(230.0, 150.0, 40.0)) -> np.ndarray:
    """The image with the agent disk at ``position`` (x, y pixels) repainted in ``colour`` (default orange
    instead of red), anti-aliased exactly as the renderer blends it."""
    xs, ys = arena.pixel_centres()
    d = np.sqrt((xs[0] - position[0]) ** 2 + (ys[0] - position[1]) ** 2) - radius  # [P, P]
    cover = np.clip(0.5 - d, 0.0, 1.0)[..., None]
    out = np.asarray(image, dtype=np.float32) + cover * (np.asarray(colour) - np.asarray(arena.AGENT))
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


class RecolouredGoal:
    """A policy whose goal image shows the agent in another colour (``recolour_agent``): a detail of the goal
    that no action can reach. ``env`` gives the goal position and the agent's radius."""

    def __init__(self, policy, env):
        self.policy, self.env = policy, env

    def reset(self) -> None:
        if callable(getattr(self.policy, "reset", None)):
            self.policy.reset()

    def set_goal(self, goal_image) -> None:
        self.policy.set_goal(recolour_agent(goal_image, self.env.goal, self.env.cfg.agent_radius))

    def __call__(self, obs, info) -> np.ndarray:
        return self.policy(obs, info)


@torch.no_grad()
def latent_change(model, reference: np.ndarray, others: dict[str, np.ndarray]) -> dict[str, float]:
    """Mean L1 between the latents of ``reference`` and of each other image (uint8 [P, P, 3])."""
    z = model.encode(reference)
    return {name: float((model.encode(img) - z).abs().mean()) for name, img in others.items()}
