"""The two kinds of data of V-JEPA 2's recipe, for the planning environments (two_rooms.py, push.py).

1. Plenty of *action-free video*: clips of the agent wandering, for pretraining the video encoder with V-JEPA
   (``action_free_clips``). Nobody labelled what the agent did; the encoder only watches.
2. A much smaller set of *action-labelled trajectories*: frames plus the agent's proprioceptive state and the
   action taken at every step (``collect``), stored like DROID episodes (``write_episodes``): one folder per
   episode with the video file and a ``trajectory.npz`` of states and actions.

Everything is deterministic from a seed. Actions are random: a mix of smooth wandering (so the agent travels
through doors and pushes things) and independent draws (so every direction and length gets seen).

Shapes: E episodes, T steps (T + 1 frames), P pixels per side, A action dim, S state dim, F full simulator state.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import progress_bar
from ..checkpoint import atomic_write, atomic_write_text
from ..config import is_int
from ..data.video_io import read_video, write_video
from .arena import clip_norm
from .push import Push
from .two_rooms import TwoRooms

ENV_NAMES = ("two_rooms", "push")


def make_env(name: str):
    """A fresh environment by short name: ``"two_rooms"`` or ``"push"``."""
    if name == "two_rooms":
        return TwoRooms()
    if name == "push":
        return Push()
    raise ValueError(f"unknown environment {name!r}; expected one of {ENV_NAMES}")


def random_actions(rng: np.random.Generator, n: int, steps: int, max_step: float, smooth: float = 0.8) -> np.ndarray:
    """Random action sequences [n, steps, 2] within the norm bound: half the sequences wander smoothly
    (each action mostly repeats the last), half are independent draws, uniform in the disk."""
    disk = _uniform_disk(rng, (n, steps), max_step)  # [n, steps, 2]
    wander = np.empty_like(disk)
    wander[:, 0] = disk[:, 0]
    for t in range(1, steps):
        wander[:, t] = smooth * wander[:, t - 1] + (1 - smooth) * 2.0 * disk[:, t]
    wander = clip_norm(wander, max_step)[0]
    pick = (np.arange(n) % 2 == 0)[:, None, None]
    return np.where(pick, wander, disk).astype(np.float32)


def _uniform_disk(rng: np.random.Generator, shape: tuple, radius: float) -> np.ndarray:
    angle = rng.uniform(0, 2 * np.pi, shape)
    r = radius * np.sqrt(rng.uniform(0, 1, shape))
    return np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)


@dataclass
class Trajectories:
    """Action-labelled episodes: frames uint8 [E, T + 1, P, P, 3], states (proprioception) float32 [E, T + 1, S],
    actions float32 [E, T, A], full simulator states [E, T + 1, F] (for analysis, never for training)."""

    env: str
    frames: np.ndarray
    states: np.ndarray
    actions: np.ndarray
    sim_states: np.ndarray

    def __len__(self) -> int:
        return len(self.actions)

    def subset(self, n: int) -> "Trajectories":
        """The first n episodes (for success-vs-data-size measurements)."""
        if not 1 <= n <= len(self):
            raise ValueError(f"subset size must be in [1, {len(self)}], got {n}")
        return Trajectories(self.env, self.frames[:n], self.states[:n], self.actions[:n], self.sim_states[:n])


def collect(env_name: str, episodes: int, steps: int, seed: int = 0, progress: bool = True) -> Trajectories:
    """Random-action episodes of an environment (each reset with seed + e), simulated and rendered in batch."""
    if episodes < 1 or steps < 1:
        raise ValueError(f"episodes and steps must be >= 1, got {episodes} and {steps}")
    env, rng = make_env(env_name), np.random.default_rng(seed)
    frames, states, actions, sims = [], [], [], []
    for e in progress_bar(range(episodes), desc=f"{env_name} trajectories", enabled=progress, leave=False):
        env.reset(seed=seed * 100_003 + e)
        acts = random_actions(rng, 1, steps, env.cfg.max_step)  # [1, T, 2]
        start = env.full_state()[None]  # [1, F]
        sim = np.concatenate([start[:, None], env.simulate(start, acts)], axis=1)[0]  # [T + 1, F]
        frames.append(env.render_states(sim))
        states.append(sim[:, :2])
        actions.append(acts[0])
        sims.append(sim)
    stack = lambda xs, dtype: np.stack(xs).astype(dtype)
    return Trajectories(env_name, stack(frames, np.uint8), stack(states, np.float32), stack(actions, np.float32),
                        stack(sims, np.float32))


def downsample(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 [..., P, P, 3] -> uint8 [..., size, size, 3] by area averaging."""
    lead = frames.shape[:-3]
    x = torch.from_numpy(frames.reshape(-1, *frames.shape[-3:])).permute(0, 3, 1, 2).float()  # [M, 3, P, P]
    x = F.interpolate(x, size=(size, size), mode="area").round().clamp(0, 255).byte()
    return x.permute(0, 2, 3, 1).reshape(*lead, size, size, 3).numpy()


def action_free_clips(env_name: str, num_clips: int, frames: int, img_size: int, seed: int = 0,
                      progress: bool = True) -> torch.Tensor:
    """Video for encoder pretraining, no labels kept: uint8 [num_clips, 3, frames, img, img]."""
    traj = collect(env_name, num_clips, frames - 1, seed=seed, progress=progress)
    clips = downsample(traj.frames, img_size)  # [N, T, img, img, 3]
    return torch.from_numpy(clips).permute(0, 4, 1, 2, 3).contiguous()  # [N, 3, T, img, img]


def write_episodes(traj: Trajectories, folder: str | Path, fps: int = 10, progress: bool = True) -> Path:
    """DROID-like layout: ``folder/episode_00000/{recording.mp4, trajectory.npz}`` + ``folder/meta.json``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for e in progress_bar(range(len(traj)), desc="writing episodes", enabled=progress, leave=False):
        ep = folder / f"episode_{e:05d}"
        ep.mkdir(exist_ok=True)
        write_video(ep / "recording.mp4", traj.frames[e], fps=fps)
        arrays = dict(states=traj.states[e], actions=traj.actions[e], sim_states=traj.sim_states[e])
        atomic_write(ep / "trajectory.npz", lambda tmp, a=arrays: save_npz(tmp, a))
    meta = {"env": traj.env, "episodes": len(traj), "steps": int(traj.actions.shape[1]), "fps": fps,
            "state": "agent position (x, y) in pixels", "action": "displacement (dx, dy) in pixels"}
    atomic_write_text(folder / "meta.json", json.dumps(meta, indent=2))
    return folder


def save_npz(path, arrays: dict) -> None:
    """Arrays into an .npz at ``path`` exactly (the writer that ``atomic_write`` calls with its temp name)."""
    with open(path, "wb") as f:  # a file object: np.savez would otherwise append ".npz" to the temp name
        np.savez(f, **arrays)


def load_npz(path: str | Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The arrays ``keys`` of an .npz file (no pickled objects); a clear error for a missing, damaged or
    incomplete file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: expected an .npz file with {list(keys)}")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"could not read {path}: it is truncated, corrupt or not an .npz file "
                         f"({type(err).__name__})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds one array: expected an .npz file with {list(keys)}")
    with z:
        missing = [k for k in keys if k not in z.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: expected an .npz file with {list(keys)}, found {z.files}")
        try:
            return {k: z[k] for k in keys}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
            raise ValueError(f"could not read {path}: an array in it is damaged ({type(err).__name__})") from None


def _read_meta(folder: Path) -> dict:
    """meta.json of an episodes folder: a dict with 'env' and 'episodes' (an int >= 1)."""
    meta_path = folder / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{meta_path} not found: expected a folder written by write_episodes")
    try:
        meta = json.loads(meta_path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{meta_path} is not valid JSON ({err})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("env"), str) or not is_int(meta.get("episodes"), 1):
        raise ValueError(f"{meta_path}: expected a dict with 'env' (a name) and 'episodes' (an int >= 1), "
                         f"received {str(meta)[:200]}")
    return meta


def read_episodes(folder: str | Path) -> Trajectories:
    """Read a folder written by ``write_episodes`` back (frames decoded from the mp4 files)."""
    folder = Path(folder)
    meta = _read_meta(folder)
    frames, states, actions, sims = [], [], [], []
    for e in range(meta["episodes"]):
        ep = folder / f"episode_{e:05d}"
        z = load_npz(ep / "trajectory.npz", ("states", "actions", "sim_states"))
        states.append(z["states"]), actions.append(z["actions"]), sims.append(z["sim_states"])
        frames.append(np.asarray(read_video(ep / "recording.mp4")))
    return Trajectories(meta["env"], np.stack(frames), np.stack(states), np.stack(actions), np.stack(sims))
