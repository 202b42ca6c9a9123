"""Every planning environment of the kit by its name, with its action-labelled data.

``make_env(name)`` builds one: the 2-D arenas ``two_rooms`` and ``push`` (trajectories.py) or the Franka arm's
tasks ``panda_reach``, ``panda_push`` and ``panda_pick_and_place`` (panda.py, the robot extra).
``collect_episodes(name, ...)`` returns random-action (arenas) or play (arm) episodes in the kit's
``Trajectories`` layout, for the action-conditioned predictor's training.
"""

from __future__ import annotations

import os

from .panda import PandaEnv, make_panda
from .panda_data import cached_panda
from .trajectories import ENV_NAMES as ARENA_ENVS
from .trajectories import Trajectories, collect
from .trajectories import make_env as make_arena

PANDA_ENVS = ("panda_reach", "panda_push", "panda_pick_and_place")
ENV_NAMES = ARENA_ENVS + PANDA_ENVS


def make_env(name: str, **config):
    """A fresh environment by name (``ENV_NAMES``); ``config`` goes to the arm's PandaConfig."""
    if name in PANDA_ENVS:
        return make_panda(name.removeprefix("panda_"), **config)
    if name in ARENA_ENVS and not config:
        return make_arena(name)
    raise ValueError(f"unknown environment {name!r} (or settings {sorted(config)} it does not take); expected "
                     f"one of {ENV_NAMES}")


def is_arm(env) -> bool:
    return isinstance(env, PandaEnv)


def collect_episodes(name: str, episodes: int, steps: int, seed: int = 0, progress: bool = True) -> Trajectories:
    """Action-labelled episodes of an environment: random actions in the arenas (batched true dynamics), play
    in the arm's tasks (rendered by up to 4 processes and cached in .cache/panda)."""
    if name in PANDA_ENVS:
        return cached_panda(name.removeprefix("panda_"), episodes, steps, seed=seed,
                            workers=min(4, os.cpu_count() or 1), progress=progress)
    if name in ARENA_ENVS:
        return collect(name, episodes, steps, seed=seed, progress=progress)
    raise ValueError(f"unknown environment {name!r}; expected one of {ENV_NAMES}")
