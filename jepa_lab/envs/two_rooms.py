"""Two Rooms: a navigation env for latent planning - walk a disk through a door into the other room.

The 64x64 arena has 2-px border walls and a vertical middle wall (x in [31, 33)) with a door of height
``door_height`` whose centre ``door_y`` is drawn per episode. The agent is a disk moved by displacement actions
(dx, dy) (norm-bounded by ``max_step``) in ``substeps`` equal sub-steps; in each sub-step the x move and then
the y move are tried separately and rejected when the disk would overlap a wall, so it slides along walls.

Observations are RGB frames: dark floor, grey walls, a red agent, and the agent's lamp lighting the floor
green; the middle wall blocks that light except through the door, so the light leaks into the other room.

The oracle energy ``task_distance`` is the geodesic distance to the goal (through the door when the agent and
the goal are in different rooms). ``simulate`` is the exact, batched dynamics used by ``step``.

Shape glossary: S states (batch), T horizon, D = 2 (state = agent xy), H = W = 64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import is_int
from . import arena
from .arena import ArenaEnv

ENV_ID = "jepa_lab/TwoRooms-v0"
WALL_X0, WALL_X1 = 31.0, 33.0  # the middle wall spans x in [31, 33)
MID_X = 32.0  # room boundary: left room x < 32, right room x >= 32
N_DOOR_POINTS = 9  # door samples of the geodesic distance


@dataclass(frozen=True)
class TwoRoomsConfig:
    """Settings of Two Rooms (pixels unless stated).

    door_height: height of the gap in the middle wall. door_range: (low, high) range of its centre door_y.
    agent_radius: disk radius. max_step: bound on the action norm. substeps: collision sub-steps per action.
    success_radius: success when the agent centre is this close to the goal. max_steps: episode length.
    other_room_prob: probability that the goal is in the other room. min_goal_dist: start-goal distance.
    light_sigma: lamp falloff scale sigma.
    """

    door_height: float = 20.0
    door_range: tuple[float, float] = (18.0, 46.0)
    agent_radius: float = 3.5
    max_step: float = 6.0
    substeps: int = 8
    success_radius: float = 4.0
    max_steps: int = 40
    other_room_prob: float = 0.75
    min_goal_dist: float = 16.0
    light_sigma: float = 10.0

    def __post_init__(self) -> None:
        for name in ("agent_radius", "max_step", "success_radius", "light_sigma", "door_height"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: expected a number > 0, received {getattr(self, name)!r}")
        if not 2 * self.agent_radius < self.door_height:
            raise ValueError(f"door_height: expected > 2 * agent_radius = {2 * self.agent_radius:g} so the agent "
                             f"fits through, received {self.door_height!r}")
        lo, hi = arena.BORDER + self.door_height / 2, arena.SIZE - arena.BORDER - self.door_height / 2
        dr = self.door_range
        if not (isinstance(dr, (tuple, list)) and len(dr) == 2 and lo <= dr[0] <= dr[1] <= hi):
            raise ValueError(f"door_range: expected a pair (low, high) with {lo:g} <= low <= high <= {hi:g}, "
                             f"received {dr!r}")
        for name in ("substeps", "max_steps"):
            v = getattr(self, name)
            if not is_int(v, 1):
                raise ValueError(f"{name}: expected an int >= 1, received {v!r}")
        if not 0.0 <= self.other_room_prob <= 1.0:
            raise ValueError(f"other_room_prob: expected a probability in [0, 1], received {self.other_room_prob!r}")
        if not 0.0 <= self.min_goal_dist <= 24.0:
            raise ValueError(f"min_goal_dist: expected a distance in [0, 24] px, received {self.min_goal_dist!r}")


def room_of(x) -> np.ndarray:
    """Room index of x coordinates float [...] -> int [...]: 0 = left (x < 32), 1 = right (x >= 32)."""
    return (np.asarray(x) >= MID_X).astype(np.int64)


def wall_rects(door_y: float, door_height: float) -> np.ndarray:
    """All walls for a door centred at door_y: float64 [6, 4] rows (x0, y0, x1, y1)."""
    lo, hi = door_y - door_height / 2, door_y + door_height / 2
    middle = np.array([[WALL_X0, 0.0, WALL_X1, lo], [WALL_X0, hi, WALL_X1, float(arena.SIZE)]])
    return np.concatenate([arena.border_rects(), middle])


class TwoRooms(ArenaEnv):
    """Two rooms joined by a door; full state = agent xy float64 [2]; the goal is an agent position."""

    def __init__(self, cfg: TwoRoomsConfig | None = None, render_mode: str | None = "rgb_array") -> None:
        cfg = TwoRoomsConfig() if cfg is None else cfg
        if not isinstance(cfg, TwoRoomsConfig):
            raise ValueError(f"cfg: expected a TwoRoomsConfig, received {type(cfg).__name__}")
        super().__init__(cfg, render_mode)
        self.door_y = float(np.mean(cfg.door_range))
        self._set_door(self.door_y)

    @property
    def layout(self) -> dict:
        """The episode layout {'door_y': float}; pass it back as reset options to replay the same walls."""
        return {"door_y": self.door_y}

    # ----- dynamics -----------------------------------------------------------------------------------------

    def simulate(self, states, actions) -> np.ndarray:
        """Batched true dynamics: states [S, 2] (agent xy), actions [S, T, 2] -> states after each step [S, T, 2].

        Uses the current door; matches ``step`` exactly (actions are norm-clipped the same way).
        """
        p = arena.as_states(states, 2)
        if p.ndim != 2:
            raise ValueError(f"states: expected shape [S, 2], received shape {p.shape}")
        a = arena.as_action_batch(actions, p.shape[0])
        d = arena.clip_norm(a, float(self.cfg.max_step))[0] / self.cfg.substeps
        out = np.empty(a.shape, dtype=np.float64)
        p = p.copy()
        for t in range(a.shape[1]):
            for _ in range(self.cfg.substeps):
                for axis in (0, 1):
                    cand = p.copy()
                    cand[:, axis] += d[:, t, axis]
                    hit = arena.disks_overlap_rects(cand, self.cfg.agent_radius, self._rects)
                    p = np.where(hit[:, None], p, cand)
            out[:, t] = p
        return out

    def task_distance(self, states) -> np.ndarray:
        """Geodesic agent-goal distance of states [..., 2] -> float64 [...] (the oracle planner's energy).

        Euclidean in the same room; otherwise min over door points q of |p - q| + |q - goal|.
        """
        p = arena.as_states(states, 2)
        g = self.goal
        euclid = np.linalg.norm(p - g, axis=-1)
        q = self._door_points()  # [Q, 2]
        via = (np.linalg.norm(p[..., None, :] - q, axis=-1) + np.linalg.norm(q - g, axis=-1)).min(axis=-1)
        return np.where(room_of(p[..., 0]) == room_of(g[0]), euclid, via)

    def is_free(self, points) -> np.ndarray:
        """Whether the agent disk at points [S, 2] overlaps no wall -> bool [S]."""
        return ~arena.disks_overlap_rects(arena.as_states(points, 2), self.cfg.agent_radius, self._rects)

    # ----- rendering ----------------------------------------------------------------------------------------

    def render_states(self, states) -> np.ndarray:
        """Batched rendering with the current door: states [..., 2] -> uint8 [..., 64, 64, 3]."""
        return self._render_chunks(arena.as_states(states, 2), self._render_batch)

    def goal_image(self) -> np.ndarray:
        """The observation with the agent at the goal (same door), uint8 [64, 64, 3]."""
        return self.render_states(self.goal[None])[0]

    def lamp(self, states) -> np.ndarray:
        """Lamp intensity on the floor for agent positions states [S, 2] -> float32 [S, H, W] (0 on walls)."""
        p = arena.as_states(states, 2)
        return arena.falloff(arena.distances(p), self.cfg.light_sigma) * self._visible(p)

    def _render_batch(self, p: np.ndarray) -> np.ndarray:
        """float64 [S, 2] -> uint8 [S, H, W, 3]."""
        dist = arena.distances(p)
        light = arena.falloff(dist, self.cfg.light_sigma) * self._visible(p)
        disk = arena.coverage(dist, self.cfg.agent_radius)
        return arena.compose([(light, arena.LAMP)], self._wall_mask, [(disk, arena.AGENT)])

    def _visible(self, p: np.ndarray) -> np.ndarray:
        """1 where the segment agent -> floor pixel is not blocked by the middle wall -> float32 [S, H, W]."""
        xs, ys = arena.pixel_centres()
        ax = p[:, 0, None, None].astype(np.float32)
        ay = p[:, 1, None, None].astype(np.float32)
        cross = (ax < MID_X) != (xs < MID_X)  # [S, 1, W]: pixel on the other side of x = 32
        dx = np.where(cross, xs - ax, 1.0)
        y_cross = ay + (ys - ay) * ((MID_X - ax) / dx)  # [S, H, W]: where the segment meets x = 32
        blocked = cross & ((y_cross < self._door_lo) | (y_cross > self._door_hi))
        return (~blocked & ~self._wall_mask).astype(np.float32)

    # ----- episodes -----------------------------------------------------------------------------------------

    def _tracked(self, states: np.ndarray) -> np.ndarray:
        """The point that must reach the goal: the agent itself, [S, 2] -> [S, 2]."""
        return states

    def _set_door(self, door_y: float) -> None:
        self.door_y = float(door_y)
        h = self.cfg.door_height
        self._door_lo, self._door_hi = self.door_y - h / 2, self.door_y + h / 2
        self._rects = wall_rects(self.door_y, h)
        self._wall_mask = arena.rect_mask(self._rects)

    def _door_points(self) -> np.ndarray:
        """N_DOOR_POINTS points on the door segment (x = 32) shrunk by the agent radius -> float64 [Q, 2]."""
        r = self.cfg.agent_radius
        ys = np.linspace(self._door_lo + r, self._door_hi - r, N_DOOR_POINTS)
        return np.stack([np.full_like(ys, MID_X), ys], axis=-1)

    def _new_episode(self, options: dict) -> tuple[np.ndarray, np.ndarray]:
        self._check_options(options, ("start", "goal", "door_y"))
        rng = self.np_random
        door_y = options.get("door_y", rng.uniform(*self.cfg.door_range))
        lo, hi = arena.BORDER + self.cfg.door_height / 2, arena.SIZE - arena.BORDER - self.cfg.door_height / 2
        if not (isinstance(door_y, (int, float, np.floating, np.integer)) and lo <= float(door_y) <= hi):
            raise ValueError(f"options['door_y']: expected a number in [{lo:g}, {hi:g}], received {door_y!r}")
        self._set_door(float(door_y))
        start = self._option_point(options, "start") if "start" in options else self._sample_free(rng, None)
        if "goal" in options:
            return start, self._option_point(options, "goal")
        other = rng.random() < self.cfg.other_room_prob
        room = int(room_of(start[0])) ^ int(other)
        while True:
            goal = self._sample_free(rng, room)
            if np.linalg.norm(goal - start) >= self.cfg.min_goal_dist:
                return start, goal

    def _option_point(self, options: dict, key: str) -> np.ndarray:
        p = arena.as_points(options[key], 2, f"options[{key!r}]")
        if not self.is_free(p[None])[0]:
            raise ValueError(f"options[{key!r}]: expected a free position (agent disk overlapping no wall), "
                             f"received {p.tolist()}")
        return p

    def _sample_free(self, rng: np.random.Generator, room: int | None) -> np.ndarray:
        """Uniform free agent position, in the given room (0 left / 1 right) or anywhere (None) -> float64 [2]."""
        r, b, s = self.cfg.agent_radius, arena.BORDER, float(arena.SIZE)
        x_lo, x_hi = {None: (b + r, s - b - r), 0: (b + r, WALL_X0 - r), 1: (WALL_X1 + r, s - b - r)}[room]
        while True:
            p = np.array([rng.uniform(x_lo, x_hi), rng.uniform(b + r, s - b - r)])
            if self.is_free(p[None])[0]:
                return p


arena.register_once(ENV_ID, "jepa_lab.envs.two_rooms:TwoRooms")
