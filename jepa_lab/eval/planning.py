"""Planners side by side on the planning environments: latent CEM / MPPI, random actions, an oracle with the
simulator's true dynamics, and the pixel-space world model, over the same fixed-seed episodes.

``make_policy(method, env, ...)`` builds a policy for one method; ``run_episodes`` runs a policy over episodes
and ``evaluate`` returns one summary row (success rate, steps, milliseconds per re-planning step). The shipped
world models are found by ``shipped_world_model(kind, env)``.

Shapes: S samples, H horizon, A action dim, F full simulator state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .. import progress_bar
from ..config import is_int
from ..envs.panda import SUBGOAL_STEPS, oracle_action
from ..envs.registry import is_arm, make_env
from ..planning.base import ActionBounds
from ..planning.cem import CEM, CEMConfig
from ..planning.energy import check_energy_options, reduce_steps
from ..planning.mpc import MPCPolicy, RecedingHorizon, SubgoalMPC, mpc_episode, random_policy
from ..planning.mppi import MPPI, MPPIConfig
from ..weights.pretrained import pretrained_path
from ..weights.saved import load_world_model

METHODS = ("cem", "mppi", "random", "oracle", "pixel")


@dataclass(frozen=True)
class PlanSettings:
    """The planner settings of the benchmark (CPU-sized; V-JEPA 2-AC uses 400 samples x 10 iterations,
    eb_jepa's Two Rooms 200 x 20 with a horizon of 90).

    horizon: planned actions. action_repeat: simulator steps each planned action is imagined for (the plan
    looks horizon x action_repeat steps ahead; the policy still re-plans after every step). energy: "min"
    (closest imagined step to the goal) or "final" (the last one, as V-JEPA 2-AC); see
    ``world_model.goal_l1_energy``. subgoals: on the arm's push and pick-and-place, plan toward the task's
    sub-goal images on their fixed schedule (``panda.SUBGOAL_STEPS``); False: toward the goal image alone."""

    horizon: int = 7
    samples: int = 64
    elites: int = 6
    iterations: int = 3
    mppi_iterations: int = 3
    action_repeat: int = 2
    energy: str = "min"
    seed: int = 0
    subgoals: bool = True

    def __post_init__(self) -> None:
        limits = {"horizon": (1, None), "samples": (2, None), "iterations": (1, None),
                  "mppi_iterations": (1, None), "elites": (1, self.samples), "seed": (0, None)}
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if not is_int(value, low, high):
                expected = f"an int >= {low}" if high is None else f"an int in [{low}, samples={high}]"
                raise ValueError(f"PlanSettings.{name}: expected {expected}, received {value!r}")
        if not isinstance(self.subgoals, bool):
            raise ValueError(f"PlanSettings.subgoals: expected True or False, received {self.subgoals!r}")
        check_energy_options(self.action_repeat, self.energy,
                             ("PlanSettings.action_repeat", "PlanSettings.energy"))


def make_planner(kind: str, bounds: ActionBounds, settings: PlanSettings = PlanSettings(), action_dim: int = 2):
    """A CEM or MPPI planner with the benchmark's settings."""
    s = settings
    if kind == "cem":
        return CEM(CEMConfig(samples=s.samples, elites=s.elites, iterations=s.iterations), bounds, action_dim,
                   s.horizon)
    if kind == "mppi":
        return MPPI(MPPIConfig(samples=s.samples, iterations=s.mppi_iterations), bounds, action_dim, s.horizon)
    raise ValueError(f"unknown planner {kind!r}; expected 'cem' or 'mppi'")


class OraclePolicy(RecedingHorizon):
    """Upper bound: CEM on the simulator's true dynamics (``env.simulate``) with the task distance
    (geodesic in Two Rooms) as the energy, planned as the world models plan: each action held for ``repeat``
    steps, the distance at the end of the plan (``reduce="final"``) or the smallest along it (``"min"``).
    Sees the true state, which no world model does."""

    def __init__(self, env, planner, seed: int = 0, repeat: int = 1, reduce: str = "final"):
        check_energy_options(repeat, reduce)
        self.env, self.repeat, self.reduce = env, repeat, reduce
        super().__init__(planner, seed)

    def energy(self):
        """The energy from the env's current state: planned actions [S, H, A] -> distances [S]."""
        start = self.env.full_state()[None]  # [1, F]

        def energy(actions: torch.Tensor) -> torch.Tensor:
            a = np.repeat(actions.numpy(), self.repeat, axis=1)  # [S, H, A] -> [S, T = H * repeat, A]
            path = self.env.simulate(np.repeat(start, len(a), axis=0), a)  # [S, T, F]
            dist = self.env.task_distance(path.reshape(-1, path.shape[-1])).reshape(path.shape[:2])  # [S, T]
            return reduce_steps(torch.as_tensor(dist, dtype=torch.float32), self.reduce)  # [S]

        return energy

    def __call__(self, obs, info) -> np.ndarray:
        return self.first_action(self.energy())


def arm_oracle(env):
    """Upper bound on the arm: the controller that sees the simulator's true positions (panda.oracle_action)."""
    return lambda obs=None, info=None: oracle_action(env)


def make_policy(method: str, env, latent_model=None, pixel_model=None, settings: PlanSettings = PlanSettings()):
    """A policy ``policy(obs, info) -> action`` for one method; world-model methods need the model. The arenas'
    actions are displacements in a disk (``max_step``), the arm's end-effector moves in the box [-1, 1]^A."""
    arm = is_arm(env)
    bounds = ActionBounds(low=-1.0, high=1.0) if arm else ActionBounds(max_norm=float(env.cfg.max_step))
    a_dim = env.action_space.shape[0]
    if method == "random":
        return random_policy(bounds, a_dim, torch.Generator().manual_seed(settings.seed))
    if method == "oracle":
        if arm:
            return arm_oracle(env)
        planner = make_planner("cem", bounds, settings, a_dim)
        return OraclePolicy(env, planner, settings.seed, settings.action_repeat, settings.energy)
    if method not in ("cem", "mppi", "pixel"):
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    model, kind = (pixel_model, "pixel") if method == "pixel" else (latent_model, "latent")
    if model is None:
        raise ValueError(f"method {method!r} needs a {kind} world model ({kind}_model=...)")
    planner = make_planner("mppi" if method == "mppi" else "cem", bounds, settings, a_dim)
    if arm and settings.subgoals and SUBGOAL_STEPS[env.config.task]:
        return SubgoalMPC(model, planner, SUBGOAL_STEPS[env.config.task], settings.seed, settings.action_repeat,
                          settings.energy)
    return MPCPolicy(model, planner, settings.seed, settings.action_repeat, settings.energy)


def episode_seeds(episodes: int, first: int = 10_000) -> list[int]:
    """The fixed evaluation seeds (disjoint from the training data's seeds)."""
    return [first + e for e in range(episodes)]


def run_episodes(env, policy, episodes: int, progress: bool = True, desc: str = "episodes") -> list:
    """Run a policy on fixed-seed episodes; the goal image (or the sub-goal images) is handed to policies
    that take one."""
    out = []
    for seed in progress_bar(episode_seeds(episodes), desc=desc, enabled=progress, leave=False):
        env.reset(seed=seed)
        if hasattr(policy, "set_goals"):
            policy.set_goals(env.subgoal_images())
        elif hasattr(policy, "set_goal"):
            policy.set_goal(env.goal_image())
        out.append(mpc_episode(env, policy, seed=seed))
    return out


def summarise(episodes: list) -> dict:
    """Success rate, mean steps, mean final distance and mean milliseconds per policy call."""
    return {"success": float(np.mean([e.success for e in episodes])),
            "steps": float(np.mean([e.steps for e in episodes])),
            "final_distance": float(np.mean([e.distances[-1] for e in episodes])),
            "ms_per_step": float(np.mean([e.ms_per_step for e in episodes]))}


def evaluate(env_name: str, method: str, episodes: int, latent_model=None, pixel_model=None,
             settings: PlanSettings = PlanSettings(), progress: bool = True, scene: dict | None = None) -> dict:
    """One row of the benchmark table: a method on an environment over fixed-seed episodes. ``scene``: the arm's
    PandaConfig changes (e.g. ``panda.ZERO_SHOT["all"]``)."""
    env = make_env(env_name, **(scene or {}))
    policy = make_policy(method, env, latent_model, pixel_model, settings)
    return summarise(run_episodes(env, policy, episodes, progress, desc=f"{env_name} {method}"))


def shipped_world_model(kind: str, env_name: str):
    """The shipped latent (``kind="latent"``) or pixel (``"pixel"``) world model of an env, in eval mode."""
    name = f"{'ac' if kind == 'latent' else 'pixel'}_{env_name}"
    return load_world_model(pretrained_path(name))[0]
