"""Shared geometry, rendering and env plumbing of the 64x64 planning arenas (``two_rooms``, ``push``).

Coordinates: float pixels of the 64x64 image, x = column (right), y = row (down); the pixel (i, j) centre is at
(x, y) = (j + 0.5, i + 0.5). Walls are axis-aligned rectangles ``(x0, y0, x1, y1)`` (half-open: a pixel belongs
to a wall when its centre lies in ``[x0, x1) x [y0, y1)``). Agents and objects are disks.

Rendering is vectorised numpy over a batch of S states: every helper returns float32 [S, H, W] maps that
``compose`` turns into uint8 [S, H, W, 3] frames. The "lamp" is a light carried by the agent whose intensity
falls off as 1 / (1 + (d / sigma)^2), so every image patch sees where the agent is.

Shape glossary: S states (batch), H = W = 64 pixels, R wall rectangles, T horizon (actions per rollout).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from ..config import is_int

SIZE = 64  # H = W of every observation
BORDER = 2.0  # thickness of the border walls in pixels
FLOOR = (20.0, 20.0, 30.0)
WALL = (160.0, 160.0, 160.0)
AGENT = (230.0, 40.0, 40.0)
OBJECT = (40.0, 90.0, 240.0)
LAMP = (0.0, 190.0, 60.0)  # colour added to the floor at full lamp intensity
GLOW = (0.0, 0.0, 110.0)  # colour of the object's faint glow (Push)
RENDER_CHUNK = 1024  # frames rendered per vectorised pass (bounds peak memory)

_XS = (np.arange(SIZE, dtype=np.float32) + 0.5)[None, None, :]  # [1, 1, W] pixel-centre x
_YS = (np.arange(SIZE, dtype=np.float32) + 0.5)[None, :, None]  # [1, H, 1] pixel-centre y


def pixel_centres() -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates xs float32 [1, 1, W] and ys float32 [1, H, 1], broadcastable to [S, H, W]."""
    return _XS, _YS


def border_rects() -> np.ndarray:
    """The four border walls as float64 [4, 4] rows (x0, y0, x1, y1)."""
    s, b = float(SIZE), BORDER
    return np.array([[0, 0, s, b], [0, s - b, s, s], [0, 0, b, s], [s - b, 0, s, s]], dtype=np.float64)


def disks_overlap_rects(centres: np.ndarray, radius: float, rects: np.ndarray) -> np.ndarray:
    """Circle-vs-rectangle overlap test: centres float [S, 2], rects [R, 4] -> bool [S] (touching is not overlap).

    The closest point of each rectangle to the centre is the centre clamped into the rectangle.
    """
    c = centres[:, None, :]  # [S, 1, 2]
    qx = np.clip(c[..., 0], rects[None, :, 0], rects[None, :, 2])  # [S, R]
    qy = np.clip(c[..., 1], rects[None, :, 1], rects[None, :, 3])
    d2 = (c[..., 0] - qx) ** 2 + (c[..., 1] - qy) ** 2
    return (d2 < radius * radius).any(axis=1)


def rect_mask(rects: np.ndarray) -> np.ndarray:
    """Pixels whose centre lies inside any rectangle of rects [R, 4] -> bool [H, W]."""
    xs, ys = _XS[0], _YS[0]  # [1, W], [H, 1]
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    for x0, y0, x1, y1 in rects:
        mask |= (xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)
    return mask


def distances(centres: np.ndarray) -> np.ndarray:
    """Distance from each centre float [S, 2] to every pixel centre -> float32 [S, H, W]."""
    c = centres.astype(np.float32)
    return np.sqrt((_XS - c[:, 0, None, None]) ** 2 + (_YS - c[:, 1, None, None]) ** 2)


def falloff(dist: np.ndarray, sigma: float) -> np.ndarray:
    """Lamp intensity 1 / (1 + (d / sigma)^2) of distances float32 [S, H, W] -> float32 [S, H, W] in (0, 1]."""
    return 1.0 / (1.0 + (dist / np.float32(sigma)) ** 2)


def coverage(dist: np.ndarray, radius: float) -> np.ndarray:
    """Anti-aliased disk coverage clip(radius + 0.5 - d, 0, 1) (a 1-px soft edge) -> float32 [S, H, W]."""
    return np.clip(np.float32(radius + 0.5) - dist, 0.0, 1.0)


def compose(lights: list[tuple[np.ndarray, tuple]], walls: np.ndarray,
            disks: list[tuple[np.ndarray, tuple]]) -> np.ndarray:
    """Paint frames: floor + sum(intensity * colour), walls on top (unlit), then disks alpha-blended in order.

    lights: (intensity float32 [S, H, W], RGB) pairs; walls: bool [H, W]; disks: (coverage [S, H, W], RGB).
    Returns uint8 [S, H, W, 3].
    """
    shape = disks[0][0].shape if disks else lights[0][0].shape
    out = np.empty(shape + (3,), dtype=np.uint8)
    for ch in range(3):  # channel planes [S, H, W] are contiguous: far faster than [..., 3] arithmetic
        plane = np.full(shape, FLOOR[ch], dtype=np.float32)
        for intensity, colour in lights:
            if colour[ch]:
                plane += intensity * np.float32(colour[ch])
        plane = np.where(walls, np.float32(WALL[ch]), plane)
        for cov, colour in disks:
            plane += cov * (np.float32(colour[ch]) - plane)
        out[..., ch] = np.clip(np.rint(plane), 0, 255)
    return out


def as_points(x: Any, dim: int, name: str) -> np.ndarray:
    """Validate a finite float vector of shape (dim,) -> float64 [dim]; ValueError naming the shape otherwise."""
    a = np.asarray(x, dtype=np.float64) if is_numeric(x) else None
    if a is None or a.shape != (dim,) or not np.isfinite(a).all():
        raise ValueError(f"{name}: expected a finite float array of shape ({dim},), received {x!r}")
    return a


def as_states(states: Any, dim: int) -> np.ndarray:
    """Validate states [..., dim] -> finite float64 [..., dim]."""
    a = np.asarray(states, dtype=np.float64) if is_numeric(states) else None
    if a is None or a.ndim < 1 or a.shape[-1] != dim or not np.isfinite(a).all():
        shape = getattr(a, "shape", None)
        raise ValueError(f"states: expected a finite float array of shape [..., {dim}], received shape {shape}")
    return a


def as_action_batch(actions: Any, n_states: int) -> np.ndarray:
    """Validate actions [S, T, 2] (S must equal n_states) -> finite float64 [S, T, 2]."""
    a = np.asarray(actions, dtype=np.float64) if is_numeric(actions) else None
    if a is None or a.ndim != 3 or a.shape[0] != n_states or a.shape[2] != 2 or not np.isfinite(a).all():
        shape = getattr(a, "shape", None)
        raise ValueError(f"actions: expected a finite float array of shape [S={n_states}, T, 2] (each action of "
                         f"shape (2,)), received shape {shape}")
    return a


def clip_norm(actions: np.ndarray, max_step: float) -> tuple[np.ndarray, np.ndarray]:
    """Scale actions float64 [..., 2] whose Euclidean norm exceeds max_step down to norm max_step.

    Returns (clipped actions [..., 2], clipped flags bool [...]). Elementwise, so batched == one-by-one exactly.
    """
    norm = np.sqrt(actions[..., 0] ** 2 + actions[..., 1] ** 2)
    clipped = norm > max_step
    scale = np.where(clipped, max_step / np.where(clipped, norm, 1.0), 1.0)
    return actions * scale[..., None], clipped


def unit(v: np.ndarray, fallback: tuple[float, float] = (1.0, 0.0)) -> np.ndarray:
    """Unit vectors of v float [..., 2]; a (near-)zero vector maps to ``fallback``."""
    n = np.sqrt(v[..., 0] ** 2 + v[..., 1] ** 2)[..., None]
    ok = n > 1e-12
    return np.where(ok, v / np.where(ok, n, 1.0), np.asarray(fallback, np.float64))


def check_reset_args(seed: Any, options: Any) -> int | None:
    """reset()'s arguments: ``seed`` None or an int >= 0 (numpy ints too; returned as a Python int, which
    gymnasium needs), ``options`` None or a dict."""
    if seed is not None and not is_int(seed, 0):
        raise ValueError(f"seed: expected None or an int >= 0, received {seed!r}")
    if options is not None and not isinstance(options, dict):
        raise ValueError(f"options: expected None or a dict, received {type(options).__name__} {options!r}")
    return None if seed is None else int(seed)


def is_numeric(x: Any) -> bool:
    """True for int and float arrays (not booleans: a True action must not move anything)."""
    try:
        return np.asarray(x).dtype.kind in "iuf"
    except (ValueError, TypeError):
        return False


def register_once(env_id: str, entry_point: str) -> None:
    """Register env_id with gymnasium unless it is already registered (safe on re-import / reload)."""
    if env_id not in gym.registry:
        gym.register(id=env_id, entry_point=entry_point)


class ArenaEnv(gym.Env):
    """Common plumbing of the arena envs: spaces, reset / step bookkeeping, info dict, rendering.

    Subclasses implement ``simulate``, ``render_states``, ``_new_episode(options) -> (full state, goal)``,
    ``_tracked(states [S, D]) -> [S, 2]`` (the point that must reach the goal: agent or object) and may extend
    ``_info``. ``cfg`` needs ``max_step``, ``max_steps`` and ``success_radius``.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, cfg: Any, render_mode: str | None = "rgb_array") -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode: expected 'rgb_array' (or None), received {render_mode!r}")
        self.cfg = cfg
        self.render_mode = render_mode
        self.observation_space = gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        m = float(cfg.max_step)
        self.action_space = gym.spaces.Box(-m, m, (2,), np.float32)
        self._state: np.ndarray | None = None
        self._goal: np.ndarray | None = None
        self._t, self._ended = 0, None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode (same seed -> identical episode). Returns (obs uint8 [64, 64, 3], info)."""
        super().reset(seed=check_reset_args(seed, options))
        self._state, self._goal = self._new_episode(dict(options or {}))
        self._t, self._ended = 0, None
        return self.render(), self._info(clipped=False)

    def step(self, action: Any):
        """Apply a displacement (dx, dy) (norm-bounded by max_step). Returns (obs, reward, terminated, truncated,
        info) with reward = -distance to goal, terminated = success, truncated = max_steps reached."""
        self._require_episode()
        if self._ended is not None:
            raise RuntimeError(f"the episode is over ({self._ended} at step {self._t}): call reset() before "
                               f"step() again")
        a = as_points(action, 2, "action")
        clipped = bool(clip_norm(a, float(self.cfg.max_step))[1])
        self._state = self.simulate(self._state[None], a[None, None])[0, 0]
        self._t += 1
        info = self._info(clipped)
        truncated = self._t >= self.cfg.max_steps
        if info["success"] or truncated:
            self._ended = "goal reached" if info["success"] else f"step budget of {self.cfg.max_steps} used"
        return self.render(), -info["distance"], info["success"], truncated, info

    def render(self) -> np.ndarray:
        """The current observation, uint8 [64, 64, 3]."""
        self._require_episode()
        return self.render_states(self._state[None])[0]

    def full_state(self) -> np.ndarray:
        """Copy of the current simulator state, float64 [D]."""
        self._require_episode()
        return self._state.copy()

    @property
    def goal(self) -> np.ndarray:
        """The goal position float64 [2] (of the agent in Two Rooms, of the object in Push)."""
        self._require_episode()
        return self._goal.copy()

    def _info(self, clipped: bool) -> dict:
        dist = float(np.linalg.norm(self._tracked(self._state[None])[0] - self._goal))
        return {"state": self._state[:2].astype(np.float32), "goal": self._goal.astype(np.float32),
                "distance": dist, "success": bool(dist <= self.cfg.success_radius), "clipped": clipped}

    def _render_chunks(self, states: np.ndarray, render_fn) -> np.ndarray:
        """Apply render_fn (float64 [s, D] -> uint8 [s, H, W, 3]) to states [..., D] in chunks."""
        flat = states.reshape(-1, states.shape[-1])
        out = np.empty((flat.shape[0], SIZE, SIZE, 3), dtype=np.uint8)
        for i in range(0, flat.shape[0], RENDER_CHUNK):
            out[i:i + RENDER_CHUNK] = render_fn(flat[i:i + RENDER_CHUNK])
        return out.reshape(states.shape[:-1] + (SIZE, SIZE, 3))

    def _require_episode(self) -> None:
        if self._state is None:
            raise RuntimeError("call reset() before step() / render() / full_state()")

    @staticmethod
    def _check_options(options: dict, allowed: tuple[str, ...]) -> None:
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"options: unknown keys {unknown}; expected a subset of {list(allowed)}")
