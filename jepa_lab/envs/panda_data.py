"""The arm's two kinds of data, as in V-JEPA 2-AC: plenty of action-free video, and a little action-labelled play.

Both come from the same generator: episodes of the Franka Panda (panda.py) driven by *play* actions - a smooth
random walk of the end effector, mixed with noisy moves toward the task's target (``toward``, the share of
episodes that head for the target, so that the data also shows the arm at and near targets and, for push,
the arm touching the cube). Every episode is reset with its own seed, so the data do not depend on how many
processes render it. ``collect_panda`` returns the kit's ``Trajectories`` (frames, proprioceptive states,
actions, the simulator's positions for analysis); ``panda_clips`` keeps only the frames, as video for encoder
pretraining. Rendering costs about 50 ms a frame; ``workers`` processes share the episodes, and
``cached_panda`` keeps a dataset on disk (``.cache/panda``, outside git) keyed by its settings.

Shapes: E episodes, T steps, P pixels, A action dim (= the proprioceptive state's, panda.py).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np
import torch

from .. import progress_bar
from ..checkpoint import atomic_write
from .panda import TASKS, make_panda, oracle_action
from .trajectories import Trajectories, downsample, load_npz, save_npz

CACHE = Path(".cache") / "panda"
DATA_VERSION = 2  # part of the cache key: bump when what an episode holds changes (2: states in action units)


def play_actions(rng: np.random.Generator, steps: int, action_dim: int, smooth: float = 0.7) -> np.ndarray:
    """A smooth random walk in the action box: float32 [steps, A] in [-1, 1] (each action mostly repeats the
    last, so the arm travels instead of jittering in place)."""
    out = np.empty((steps, action_dim), np.float32)
    a = rng.uniform(-1, 1, action_dim)
    for t in range(steps):
        a = smooth * a + (1 - smooth) * rng.uniform(-1, 1, action_dim) * 2.0
        out[t] = np.clip(a, -1.0, 1.0)
    return out


def _episode(env, steps: int, seed: int, toward: bool):
    """One episode: frames uint8 [T + 1, P, P, 3], states [T + 1, A], actions [T, A], positions [T + 1, 6]."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    walk = play_actions(rng, steps, env.action_space.shape[0])
    frames, states, actions, positions = [obs], [info["state"]], [], [_positions(env)]
    for t in range(steps):
        a = walk[t]
        if toward:  # noisy moves toward the target: the oracle's action plus the walk's noise
            a = np.clip(oracle_action(env) + 0.5 * walk[t], -1.0, 1.0).astype(np.float32)
        obs, _, _, _, info = env.step(a)
        frames.append(obs)
        states.append(info["state"])
        actions.append(a)
        positions.append(_positions(env))
    return np.stack(frames), np.stack(states), np.stack(actions), np.stack(positions)


def _positions(env) -> np.ndarray:
    """What the simulator knows and the model never sees: the end effector's (or object's) position and the
    target's, float32 [6]."""
    return np.concatenate([env.task.get_achieved_goal(), env.goal()]).astype(np.float32)


def _episodes(args) -> list:
    """A chunk of episodes in one simulation (chunks are fixed, so the data do not depend on ``workers``)."""
    task, steps, seeds, toward, img_size = args
    env = make_panda(task, img_size=img_size, max_steps=steps + 1)
    try:
        return [_episode(env, steps, s, t) for s, t in zip(seeds, toward)]
    finally:
        env.close()


def collect_panda(task: str, episodes: int, steps: int, seed: int = 0, toward: float = 0.5, img_size: int = 64,
                  workers: int = 1, progress: bool = True) -> Trajectories:
    """Play episodes of an arm task: episode e is reset with seed * 100_003 + e, and heads for the target when
    e's draw is below ``toward`` (the rest wander). ``workers`` processes render them (same data either way)."""
    if task not in TASKS:
        raise ValueError(f"task: expected one of {TASKS}, received {task!r}")
    if min(episodes, steps, workers) < 1 or not 0.0 <= toward <= 1.0:
        raise ValueError(f"expected episodes, steps, workers >= 1 and toward in [0, 1], received {episodes}, "
                         f"{steps}, {workers}, {toward}")
    seeds = [seed * 100_003 + e for e in range(episodes)]
    heads = (np.random.default_rng(seed).uniform(size=episodes) < toward).tolist()
    chunks = [(task, steps, seeds[i:i + 8], heads[i:i + 8], img_size) for i in range(0, episodes, 8)]
    bar = progress_bar(total=episodes, desc=f"panda {task} episodes", enabled=progress, leave=False)
    results = []
    if workers == 1:
        for chunk in chunks:
            results += _episodes(chunk)
            bar.update(len(chunk[2]))
    else:  # worker processes, each with its own PyBullet simulation (forked where the OS can: no torch runs there)
        method = "fork" if "fork" in get_all_start_methods() else "spawn"
        with ProcessPoolExecutor(workers, mp_context=get_context(method)) as pool:
            for chunk, out in zip(chunks, pool.map(_episodes, chunks)):
                results += out
                bar.update(len(chunk[2]))
    bar.close()
    frames, states, actions, positions = (np.stack(x) for x in zip(*results))
    return Trajectories(f"panda_{task}", frames, states.astype(np.float32), actions.astype(np.float32),
                        positions.astype(np.float32))


def cached_panda(task: str, episodes: int, steps: int, seed: int = 0, toward: float = 0.5, img_size: int = 64,
                 workers: int = 1, cache: str | Path = CACHE, progress: bool = True) -> Trajectories:
    """``collect_panda`` once, then read back from ``cache`` (a .npz per setting, written atomically)."""
    settings = dict(task=task, episodes=episodes, steps=steps, seed=seed, toward=toward, img_size=img_size,
                    version=DATA_VERSION)
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
    path = Path(cache) / f"panda_{task}_{episodes}x{steps}_{key}.npz"
    if path.is_file():
        try:
            z = load_npz(path, ("frames", "states", "actions", "sim_states"))
        except ValueError as err:
            raise ValueError(f"{err}; delete the cache file to collect the data again") from None
        return Trajectories(f"panda_{task}", z["frames"], z["states"], z["actions"], z["sim_states"])
    traj = collect_panda(task, episodes, steps, seed, toward, img_size, workers, progress)
    arrays = dict(frames=traj.frames, states=traj.states, actions=traj.actions, sim_states=traj.sim_states)
    atomic_write(path, lambda tmp: save_npz(tmp, arrays))
    return traj


def panda_clips(task: str, num_clips: int, frames: int, img_size: int, seed: int = 0, workers: int = 1,
                cache: str | Path = CACHE, progress: bool = True) -> torch.Tensor:
    """Action-free video of the arm for encoder pretraining, no labels kept: uint8 [N, 3, frames, img, img]
    (rendered at 64 px, averaged down to ``img_size``)."""
    traj = cached_panda(task, num_clips, frames - 1, seed=seed, workers=workers, cache=cache, progress=progress)
    clips = downsample(traj.frames, img_size)  # [N, T, img, img, 3]
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()  # [N, 3, T, img, img]
