"""Model-predictive control (MPC): plan, take the first action, observe, re-plan.

``RecedingHorizon`` is the MPC step every policy shares: plan (warm-started from the previous plan shifted by
one step), keep the plan, return its first action. ``MPCPolicy`` plans with a world model toward a goal image;
``random_policy`` is the baseline that does not plan; ``mpc_episode`` runs any policy in a gymnasium env and
records the episode.

Shapes: S samples, H horizon (planned steps), A action dimension, T episode steps.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch

from .. import progress_bar
from ..config import is_int
from .base import ActionBounds, Energy, Planner
from .energy import check_energy_options


def shift_plan(actions: torch.Tensor) -> torch.Tensor:
    """Warm start for the next MPC step: [H, A] -> [H, A], the first action dropped and a zero action
    ("stay") appended. Zeros suit displacement actions; ``Planner.plan`` projects init_mean anyway."""
    if actions.ndim != 2:
        raise ValueError(f"shift_plan: expected actions [H, A], received shape {list(actions.shape)}")
    return torch.cat([actions[1:], torch.zeros_like(actions[:1])])


class RecedingHorizon:
    """The MPC step shared by the policies: ``first_action(energy)`` plans (warm-started from the previous plan
    shifted by one step, ``shift_plan``), keeps the plan and its ``last_result``, and returns the first action
    (numpy float32 [A]). Every plan of the episode is kept for replays: ``plans`` (actions [H, A] per step) and
    ``plan_energies`` (floats). ``reset()`` forgets them and reseeds the planner's generator."""

    def __init__(self, planner: "Planner", seed: int = 0):
        self.planner, self.seed = planner, seed
        self.reset()

    def reset(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        self.last_result = None
        self.plans: list[torch.Tensor] = []
        self.plan_energies: list[float] = []

    def first_action(self, energy: Energy) -> np.ndarray:
        init = shift_plan(self.plans[-1]) if self.plans else None
        self.last_result = self.planner.plan(energy, init_mean=init, generator=self.generator)
        self.plans.append(self.last_result.actions.clone())
        self.plan_energies.append(self.last_result.energy)
        return self.plans[-1][0].numpy().astype(np.float32)


class MPCPolicy(RecedingHorizon):
    """Model-predictive control with a world model (anything with ``encode`` and ``goal_energy``: the latent
    model here or the pixel baseline): ``policy(obs, info) -> action`` plans with ``planner`` toward the goal
    image set by ``set_goal`` and returns the first action of the plan (numpy [A]); the next call re-plans,
    warm-started from the rest of this plan. ``plan_ms`` keeps the milliseconds of each planning call.
    ``repeat`` and ``reduce`` shape the energy (``goal_l1_energy``): with ``repeat=2`` each planned action is
    imagined for two simulator steps, but only one step of it is taken before re-planning."""

    def __init__(self, model, planner: Planner, seed: int = 0, repeat: int = 1, reduce: str = "final"):
        check_energy_options(repeat, reduce)
        self.model, self.z_goal, self.repeat, self.reduce = model, None, repeat, reduce
        super().__init__(planner, seed)

    def reset(self) -> None:
        super().reset()
        self.plan_ms = []

    def set_goal(self, goal_image) -> None:
        """Goal image: uint8 RGB [H, W, 3] of the same size as the observations (checked at the first plan)."""
        goal = np.asarray(goal_image)
        if goal.ndim != 3 or goal.shape[-1] != 3:
            raise ValueError(f"goal image: expected one RGB image [H, W, 3], got shape {goal.shape}")
        self.goal_shape, self.z_goal = goal.shape, self.model.encode(goal)

    def __call__(self, obs, info) -> np.ndarray:
        if self.z_goal is None:
            raise RuntimeError("no goal: call policy.set_goal(goal_image) before planning")
        if np.shape(obs) != self.goal_shape:
            raise ValueError(f"goal image of shape {self.goal_shape} does not match the observations "
                             f"{np.shape(obs)}: render the goal with the same environment (env.goal_image())")
        start = time.perf_counter()
        energy = self.model.goal_energy(self.model.encode(obs), info["state"], self.z_goal, self.repeat, self.reduce)
        action = self.first_action(energy)
        self.plan_ms.append(1000 * (time.perf_counter() - start))
        return action



class SubgoalMPC(MPCPolicy):
    """MPC toward a sequence of goal images (V-JEPA 2-AC's sub-goals for pick-and-place): ``set_goals(images)``,
    then the policy aims at goal k for ``steps[k]`` environment steps and at the last goal for the rest of the
    episode. A fixed schedule: nothing tells the policy that a sub-goal was reached. ``goal_index`` keeps the
    goal each step aimed at. With one image it is an ``MPCPolicy``."""

    def __init__(self, model, planner: Planner, steps: Sequence[int], seed: int = 0, repeat: int = 1,
                 reduce: str = "final"):
        if not all(is_int(k, 1) for k in steps):
            raise ValueError(f"steps: expected an int >= 1 per sub-goal, received {tuple(steps)!r}")
        self.steps, self.z_goals = tuple(int(k) for k in steps), []
        super().__init__(model, planner, seed, repeat, reduce)

    def reset(self) -> None:
        super().reset()
        self.goal_index: list[int] = []

    def set_goals(self, goal_images) -> None:
        """Goal images in order, the final goal last: a list of uint8 RGB [H, W, 3]; one more than ``steps``."""
        if len(goal_images) != len(self.steps) + 1:
            raise ValueError(f"expected {len(self.steps) + 1} goal images (a schedule of {self.steps} steps and "
                             f"the final goal), received {len(goal_images)}")
        self.z_goals = []
        for image in goal_images:
            self.set_goal(image)
            self.z_goals.append(self.z_goal)

    def __call__(self, obs, info) -> np.ndarray:
        k = int(np.searchsorted(np.cumsum(self.steps), len(self.goal_index), side="right"))  # goal of this step
        if self.z_goals:
            self.z_goal = self.z_goals[k]
        self.goal_index.append(k)
        return super().__call__(obs, info)


def random_policy(bounds, action_dim: int | None = None, generator: torch.Generator | None = None):
    """A policy(obs, info) -> float32 [A] of uniform random actions: uniform in the max_norm ball (then
    clipped to the box), or uniform in the box. bounds: ActionBounds or a gymnasium Box (its low/high)."""
    if not isinstance(bounds, ActionBounds):
        if not (hasattr(bounds, "low") and hasattr(bounds, "high")):
            raise ValueError(f"random_policy: expected ActionBounds or a gymnasium Box, received {bounds!r}")
        action_dim = int(np.prod(bounds.shape))
        bounds = ActionBounds(low=tuple(np.ravel(bounds.low)), high=tuple(np.ravel(bounds.high)))
    if action_dim is None and bounds.low is not None:
        action_dim = np.broadcast(np.asarray(bounds.low), np.asarray(bounds.high)).size
    if action_dim is None or (bounds.max_norm is None and bounds.low is None):
        raise ValueError("random_policy: expected bounds with max_norm or low/high, and action_dim for a "
                         f"norm-only bound; received {bounds!r}, action_dim={action_dim!r}")
    A = int(action_dim)

    def policy(obs=None, info=None) -> np.ndarray:
        if bounds.max_norm is not None:
            d = torch.randn(A, generator=generator, dtype=torch.float64)
            r = torch.rand(1, generator=generator, dtype=torch.float64) ** (1.0 / A) * bounds.max_norm
            a = bounds.project(d / d.norm().clamp_min(1e-12) * r)
        else:
            low, high = bounds.box(A, dtype=torch.float64)
            a = low + (high - low) * torch.rand(A, generator=generator, dtype=torch.float64)
        return a.numpy().astype(np.float32)

    return policy


@dataclass
class Episode:
    """One MPC episode of T steps: observations uint8 [T+1, ...] (images [T+1, H_img, W_img, 3]), states
    [T+1, ...] (info['state']), actions float32 [T, A], rewards [T], distances [T+1] (info['distance'], NaN
    if absent), policy_ms [T] (wall time of each policy call), success (info['success'] at the end)."""

    observations: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    distances: np.ndarray
    policy_ms: np.ndarray
    success: bool
    steps: int
    ms_per_step: float


def _to_numpy(action) -> np.ndarray:
    if isinstance(action, torch.Tensor):
        action = action.detach().cpu().numpy()
    return np.asarray(action, dtype=np.float32)


def _stack_states(states: list) -> np.ndarray:
    """info['state'] per step -> float64 [T+1, ...]; NaN [T+1] if some info lacks a 'state'."""
    if any(s is None for s in states):
        return np.full(len(states), np.nan)
    return np.stack([np.asarray(s, dtype=np.float64) for s in states])


def mpc_episode(env, policy: Callable, seed: int | None = None, options: dict | None = None,
                max_steps: int | None = None, progress: bool = False) -> Episode:
    """Run policy(obs, info) -> action [A] in a gymnasium env until terminated, truncated or max_steps.

    Calls policy.reset() first if it has one, then env.reset(seed=seed, options=options).
    """
    if max_steps is not None and (not is_int(max_steps, 0)):
        raise ValueError(f"mpc_episode: expected max_steps an int >= 0 or None, received {max_steps!r}")
    if callable(getattr(policy, "reset", None)):
        policy.reset()
    obs, info = env.reset(seed=seed, options=options)
    observations, states, infos = [np.asarray(obs)], [info.get("state")], [info]
    actions, rewards, policy_ms = [], [], []
    done = False
    with progress_bar(total=max_steps, desc="mpc", enabled=progress) as bar:
        while not done and (max_steps is None or len(actions) < max_steps):
            t0 = time.perf_counter()
            action = _to_numpy(policy(obs, info))
            policy_ms.append(1000 * (time.perf_counter() - t0))
            obs, reward, terminated, truncated, info = env.step(action)
            done = bool(terminated or truncated)
            observations.append(np.asarray(obs))
            states.append(info.get("state"))
            infos.append(info)
            actions.append(action)
            rewards.append(float(reward))
            bar.update(1)
    T = len(actions)
    return Episode(
        observations=np.stack(observations),
        states=_stack_states(states),
        actions=np.stack(actions) if T else np.zeros((0,) + env.action_space.shape, np.float32),
        rewards=np.asarray(rewards, dtype=np.float64),
        distances=np.asarray([float(i.get("distance", np.nan)) for i in infos]),
        policy_ms=np.asarray(policy_ms),
        success=bool(infos[-1].get("success", False)),
        steps=T,
        ms_per_step=float(np.mean(policy_ms)) if T else 0.0,
    )
