"""Push: a manipulation env for latent planning - push a blue disk (the object) onto a goal with a red one.

The 64x64 arena has 2-px border walls and no inner wall. The agent (end effector, radius 3) moves by
displacement actions (dx, dy), norm-bounded by ``max_step``, in ``substeps`` equal sub-steps. Per sub-step:
move the agent (clamped inside the arena); if it overlaps the object, push the object along the
centre-to-centre direction just far enough to remove the overlap (kinematic push); clamp the object inside the
arena; if that left an overlap (the object is stuck at a wall), push the agent back out. Deterministic.

Observations: dark floor, grey walls, the blue object with a faint blue glow, the red agent, and the agent's
lamp lighting the floor green (no occluders), so every image patch sees where both disks are.

The oracle energy ``task_distance`` is |object - goal| + 0.1 * |agent - spot behind the object|, which draws a
greedy planner behind the object. ``simulate`` is the exact, batched dynamics used by ``step``.

Shape glossary: S states (batch), T horizon, D = 4 (state = agent xy, object xy), H = W = 64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import is_int
from . import arena
from .arena import ArenaEnv

ENV_ID = "jepa_lab/Push-v0"
BEHIND_WEIGHT = 0.1  # weight of the agent-behind-object term of task_distance


@dataclass(frozen=True)
class PushConfig:
    """Settings of Push (pixels unless stated).

    agent_radius, object_radius: disk radii. max_step: bound on the action norm. substeps: physics sub-steps
    per action (each moves < agent_radius + object_radius, so the agent cannot jump over the object).
    success_radius: success when the object centre is this close to the goal. max_steps: episode length.
    object_region: (low, high) square of the object's start. goal_region: square that holds the goal.
    goal_dist: (low, high) object start-goal distance. min_agent_dist: least agent-object start distance.
    light_sigma: falloff scale of the agent's lamp and the object's glow. glow: object glow strength in [0, 1].
    """

    agent_radius: float = 3.0
    object_radius: float = 5.0
    max_step: float = 4.0
    substeps: int = 8
    success_radius: float = 4.0
    max_steps: int = 40
    object_region: tuple[float, float] = (16.0, 48.0)
    goal_region: tuple[float, float] = (12.0, 52.0)
    goal_dist: tuple[float, float] = (10.0, 18.0)
    min_agent_dist: float = 10.0
    light_sigma: float = 10.0
    glow: float = 0.35

    def __post_init__(self) -> None:
        for name in ("agent_radius", "object_radius", "max_step", "success_radius", "light_sigma"):
            if not float(getattr(self, name)) > 0:
                raise ValueError(f"{name}: expected a number > 0, received {getattr(self, name)!r}")
        for name in ("substeps", "max_steps"):
            v = getattr(self, name)
            if not is_int(v, 1):
                raise ValueError(f"{name}: expected an int >= 1, received {v!r}")
        contact = self.agent_radius + self.object_radius
        if not self.max_step / self.substeps < contact:
            raise ValueError(f"max_step / substeps: expected < agent_radius + object_radius = {contact:g} (no "
                             f"tunnelling), received {self.max_step / self.substeps:g}")
        for name, rmin in (("object_region", self.object_radius), ("goal_region", self.object_radius)):
            _check_pair(name, getattr(self, name), arena.BORDER + rmin, arena.SIZE - arena.BORDER - rmin)
        _check_pair("goal_dist", self.goal_dist, 0.0, (self.goal_region[1] - self.goal_region[0]) / 2)
        if not contact <= self.min_agent_dist <= 24.0:
            raise ValueError(f"min_agent_dist: expected a distance in [{contact:g}, 24] (no overlap at the start), "
                             f"received {self.min_agent_dist!r}")
        if not 0.0 <= self.glow <= 1.0:
            raise ValueError(f"glow: expected a strength in [0, 1], received {self.glow!r}")


def _check_pair(name: str, pair, lo: float, hi: float) -> None:
    ok = isinstance(pair, (tuple, list)) and len(pair) == 2 and lo <= pair[0] <= pair[1] <= hi
    if not ok:
        raise ValueError(f"{name}: expected a pair (low, high) with {lo:g} <= low <= high <= {hi:g}, "
                         f"received {pair!r}")


class Push(ArenaEnv):
    """Push the object onto the goal; full state = (agent x, agent y, object x, object y) float64 [4]."""

    def __init__(self, cfg: PushConfig | None = None, render_mode: str | None = "rgb_array") -> None:
        cfg = PushConfig() if cfg is None else cfg
        if not isinstance(cfg, PushConfig):
            raise ValueError(f"cfg: expected a PushConfig, received {type(cfg).__name__}")
        super().__init__(cfg, render_mode)
        self._walls = arena.rect_mask(arena.border_rects())
        self._object_start: np.ndarray | None = None

    # ----- dynamics -----------------------------------------------------------------------------------------

    def simulate(self, states, actions) -> np.ndarray:
        """Batched true dynamics: states [S, 4], actions [S, T, 2] -> states after each step [S, T, 4].

        Matches ``step`` exactly (actions are norm-clipped the same way).
        """
        s = arena.as_states(states, 4)
        if s.ndim != 2:
            raise ValueError(f"states: expected shape [S, 4], received shape {s.shape}")
        a = arena.as_action_batch(actions, s.shape[0])
        d = arena.clip_norm(a, float(self.cfg.max_step))[0] / self.cfg.substeps
        out = np.empty(a.shape[:2] + (4,), dtype=np.float64)
        ag, ob = s[:, :2].copy(), s[:, 2:].copy()
        for t in range(a.shape[1]):
            for _ in range(self.cfg.substeps):
                ag, ob = self._substep(ag, ob, d[:, t])
            out[:, t, :2], out[:, t, 2:] = ag, ob
        return out

    def _substep(self, ag: np.ndarray, ob: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One physics sub-step: agent, object float64 [S, 2], displacement [S, 2] -> new (agent, object)."""
        ra, ro = self.cfg.agent_radius, self.cfg.object_radius
        contact = ra + ro
        ag = self._clamp(ag + d, ra)
        diff = ob - ag
        touching = np.sqrt(diff[:, 0] ** 2 + diff[:, 1] ** 2) < contact
        ob = np.where(touching[:, None], ag + arena.unit(diff) * contact, ob)
        ob = self._clamp(ob, ro)
        back = ag - ob
        stuck = np.sqrt(back[:, 0] ** 2 + back[:, 1] ** 2) < contact - 1e-9
        ag = np.where(stuck[:, None], self._clamp(ob + arena.unit(back) * contact, ra), ag)
        return ag, ob

    @staticmethod
    def _clamp(p: np.ndarray, radius: float) -> np.ndarray:
        """Keep disks of this radius inside the border walls: [S, 2] -> [S, 2]."""
        return np.clip(p, arena.BORDER + radius, arena.SIZE - arena.BORDER - radius)

    def behind_spot(self, states) -> np.ndarray:
        """The spot just behind the object w.r.t. the goal direction, states [..., 4] -> float64 [..., 2]."""
        s = arena.as_states(states, 4)
        ob = s[..., 2:]
        towards = arena.unit(self.goal - ob, fallback=(0.0, 0.0))
        return ob - towards * (self.cfg.object_radius + self.cfg.agent_radius + 1.0)

    def task_distance(self, states) -> np.ndarray:
        """Oracle energy of states [..., 4] -> float64 [...]: |object - goal| + 0.1 * |agent - behind_spot|."""
        s = arena.as_states(states, 4)
        obj = np.linalg.norm(s[..., 2:] - self.goal, axis=-1)
        return obj + BEHIND_WEIGHT * np.linalg.norm(s[..., :2] - self.behind_spot(s), axis=-1)

    # ----- rendering ----------------------------------------------------------------------------------------

    def render_states(self, states) -> np.ndarray:
        """Batched rendering: states [..., 4] -> uint8 [..., 64, 64, 3]."""
        return self._render_chunks(arena.as_states(states, 4), self._render_batch)

    def goal_image(self) -> np.ndarray:
        """Object at the goal, agent just behind it along the push direction -> uint8 [64, 64, 3]."""
        self._require_episode()
        g = self._goal
        ag = g - arena.unit(g - self._object_start) * (self.cfg.object_radius + self.cfg.agent_radius + 1.0)
        return self.render_states(np.concatenate([self._clamp(ag[None], self.cfg.agent_radius)[0], g]))

    def _render_batch(self, s: np.ndarray) -> np.ndarray:
        """float64 [S, 4] -> uint8 [S, H, W, 3]."""
        da, do = arena.distances(s[:, :2]), arena.distances(s[:, 2:])
        lamp = arena.falloff(da, self.cfg.light_sigma)
        glow = arena.falloff(do, self.cfg.light_sigma) * np.float32(self.cfg.glow)
        disks = [(arena.coverage(do, self.cfg.object_radius), arena.OBJECT),
                 (arena.coverage(da, self.cfg.agent_radius), arena.AGENT)]
        return arena.compose([(lamp, arena.LAMP), (glow, arena.GLOW)], self._walls, disks)

    # ----- episodes -----------------------------------------------------------------------------------------

    def _tracked(self, states: np.ndarray) -> np.ndarray:
        """The point that must reach the goal: the object, [S, 4] -> [S, 2]."""
        return states[:, 2:]

    def _info(self, clipped: bool) -> dict:
        info = super()._info(clipped)
        info["object"] = self._state[2:].astype(np.float32)
        return info

    def _new_episode(self, options: dict) -> tuple[np.ndarray, np.ndarray]:
        self._check_options(options, ("start", "goal", "object"))
        cfg, rng = self.cfg, self.np_random
        ob = self._option(options, "object", cfg.object_radius)
        if ob is None:
            ob = rng.uniform(*cfg.object_region, size=2)
        goal = self._option(options, "goal", cfg.object_radius)
        while goal is None:
            r, phi = rng.uniform(*cfg.goal_dist), rng.uniform(0.0, 2 * np.pi)
            g = ob + r * np.array([np.cos(phi), np.sin(phi)])
            if np.all((g >= cfg.goal_region[0]) & (g <= cfg.goal_region[1])):
                goal = g
        ag = self._option(options, "start", cfg.agent_radius)
        if ag is not None and np.linalg.norm(ag - ob) < cfg.agent_radius + cfg.object_radius:
            raise ValueError(f"options['start']: expected an agent position not overlapping the object at "
                             f"{ob.tolist()}, received {ag.tolist()}")
        lo, hi = arena.BORDER + cfg.agent_radius, arena.SIZE - arena.BORDER - cfg.agent_radius
        while ag is None:
            p = rng.uniform(lo, hi, size=2)
            if np.linalg.norm(p - ob) >= cfg.min_agent_dist:
                ag = p
        self._object_start = ob.copy()
        return np.concatenate([ag, ob]), goal

    def _option(self, options: dict, key: str, radius: float) -> np.ndarray | None:
        """options[key] validated as a position whose disk of this radius lies inside the arena (or None)."""
        if key not in options:
            return None
        p = arena.as_points(options[key], 2, f"options[{key!r}]")
        lo, hi = arena.BORDER + radius, arena.SIZE - arena.BORDER - radius
        if not np.all((p >= lo) & (p <= hi)):
            raise ValueError(f"options[{key!r}]: expected x and y in [{lo:g}, {hi:g}] (disk inside the arena), "
                             f"received {p.tolist()}")
        return p


arena.register_once(ENV_ID, "jepa_lab.envs.push:Push")
