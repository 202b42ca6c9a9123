"""Physics clips for violation-of-expectation tests: possible and impossible versions of one event.

Clips come in IntPhys-style *minimal sets* of four: two possible clips P1, P2 and two impossible ones, I1 = P1
until a *break frame* and P2 after it, I2 = P2 then P1. Each impossible clip is identical to its possible twin
until the break (a *pair*); over the set, every frame of an impossible clip also appears, at the same time, in a
possible clip (except in solidity, below) - so a score that adds up over time cannot look right by finding one
kind of scene easier to predict (after a ball vanishes the scene is simply emptier); only the transition is
impossible. The laws:

* ``permanence`` - P1 has a ball, P2 the same scene without it: the ball vanishes (I1) or appears (I2), in plain
  view or while behind the occluder;
* ``continuity`` - P1 and P2 are parallel tracks 8-10 px apart: the ball jumps from one to the other;
* ``solidity``   - P1: the ball bounces off a wall; P2: no wall, it goes on. I1: it passes through the wall; I2:
  it bounces off nothing (the collision hidden behind a box in the occluded variant, the wall's ends visible).
  The splices keep the first clip's wall, so these sets are balanced in motion but not frame by frame;
* ``constancy``  - P1 and P2 differ in the ball's colour: it changes colour (in view, or while hidden).

Each law comes in a ``visible`` and an ``occluded`` variant (occluded violations ask the model to carry the
object's state through the occlusion). One ball, moving left to right or right to left at 1.3-1.7 px per frame,
rendered as in physics.py (anti-aliased disc, same background), 16 frames of 32 x 32 px - the tiny V-JEPA's
frame size.

``make_violations(n, cfg, seed)`` returns n clips (n/4 sets, cycling over laws x variants) as uint8 videos plus
factors (``law``, ``variant``, ``impossible``, ``pair``, ``set``, ``break_frame``); ``cached_clips("violations",
...)`` writes them as H.264 at crf 0 (lossless in YUV 4:2:0, so decoded twins stay identical before the break;
colours at ball edges differ from the arrays by the chroma subsampling) and reads them back
through the kit's video reader, like every other clip in the kit. ``possible_events`` is training video of the
same world with nothing impossible in it.

Shapes: T frames, H = W pixels.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import torch

from .. import progress_bar
from .balls import BallsConfig, _hsv_to_rgb

LAWS = ("permanence", "continuity", "solidity", "constancy")
VARIANTS = ("visible", "occluded")
WALL_COLOR = (0.75, 0.75, 0.82)


@dataclass(frozen=True)
class ViolationConfig:
    """Scene settings. Occluder: a vertical bar ``occluder_width`` px wide (full height, or a box of
    ``box_height`` rows around the ball's path for solidity)."""

    size: int = 32
    frames: int = 16
    radius: tuple[float, float] = (2.5, 3.0)
    speed: tuple[float, float] = (1.3, 1.7)
    occluder_width: int = 10
    box_height: int = 14
    wall_width: int = 2
    jump: tuple[float, float] = (8.0, 10.0)

    def __post_init__(self):
        if self.size < 24 or self.frames < 12:
            raise ValueError(f"size >= 24 and frames >= 12 expected, got size={self.size}, frames={self.frames}")
        if self.occluder_width <= 2 * self.radius[1]:
            raise ValueError(f"occluder_width={self.occluder_width} must exceed the ball's diameter "
                             f"{2 * self.radius[1]:g}, or nothing is ever fully hidden")


@dataclass
class Scene:
    """What ``render`` draws: ball positions [T, 2] (pixels), colours [T, 3] (RGB in [0, 1]), presence [T]
    (bool), the radius, and optionally a wall (columns [x0, x1)) and an occluder (columns, rows)."""

    pos: np.ndarray
    color: np.ndarray
    present: np.ndarray
    radius: float
    wall: tuple[int, int] | None = None  # columns [x0, x1)
    box: tuple[int, int, int, int] | None = None  # columns [x0, x1), rows [y0, y1)


def _straight(cfg: ViolationConfig, rng) -> tuple[np.ndarray, float, int]:
    """A ball crossing the frame: positions [T, 2], its radius, and the direction (+1 right, -1 left)."""
    r = rng.uniform(*cfg.radius)
    direction = 1 if rng.uniform() < 0.5 else -1
    speed, y0, vy = rng.uniform(*cfg.speed), rng.uniform(11, cfg.size - 11), rng.uniform(-0.25, 0.25)
    x0 = r + 1.0 + rng.uniform(0, 2) if direction > 0 else cfg.size - r - 1.0 - rng.uniform(0, 2)
    t = np.arange(cfg.frames)
    return np.stack([x0 + direction * speed * t, y0 + vy * t], axis=-1), r, direction


def _hidden_frame(pos: np.ndarray, r: float, box, start: int = 1) -> int:
    """First frame >= start at which the ball is entirely inside the occluder's columns."""
    x0, x1 = box[0], box[1]
    inside = (pos[:, 0] - r >= x0) & (pos[:, 0] + r <= x1)
    frames = np.nonzero(inside & (np.arange(len(pos)) >= start))[0]
    if frames.size == 0:
        raise RuntimeError("the ball never hides behind the occluder (config too tight)")
    return int(frames[0])


def _occluder_at(pos: np.ndarray, cfg: ViolationConfig, frame: int, rows=None) -> tuple[int, int, int, int]:
    """A bar centred on the ball's column at ``frame`` (full height unless rows = (y0, y1))."""
    x0 = int(round(pos[frame, 0] - cfg.occluder_width / 2))
    x0 = min(max(x0, 1), cfg.size - cfg.occluder_width - 1)
    y0, y1 = rows or (0, cfg.size)
    return x0, x0 + cfg.occluder_width, y0, y1


def _minimal_set(law: str, variant: str, cfg: ViolationConfig, rng) -> tuple[list[Scene], int]:
    """IntPhys-style minimal set of one law and variant: ([P1, I1, P2, I2], break frame). P1 and P2 are
    possible; I1 follows P1 until the break and P2 after it, I2 the other way round. Every frame of the
    impossible clips appears in a possible clip at the same time, so a model cannot win by preferring
    simpler scenes: only the *transition* is impossible."""
    pos, r, direction = _straight(cfg, rng)
    color = np.repeat(_hsv_to_rgb(np.array([rng.uniform()]), 0.85, 0.95), cfg.frames, axis=0).astype(np.float32)
    present = np.ones(cfg.frames, dtype=bool)
    mid = int(rng.integers(cfg.frames // 2 - 1, cfg.frames // 2 + 2))  # the event happens mid-clip
    if law == "solidity":
        p1, p2, brk = _solidity(pos, r, direction, color, present, variant, cfg, mid)
        return [p1, _splice(p1, p2, brk), p2, _splice(p2, p1, brk)], brk
    box = None
    if variant == "occluded":
        box = _occluder_at(pos, cfg, mid)
        mid = _hidden_frame(pos, r, box, start=3)
    p1 = Scene(pos, color, present, r, box=box)
    p2 = Scene(pos.copy(), color.copy(), present.copy(), r, box=box)
    if law == "permanence":
        p2.present[:] = False  # the same scene without the ball
    elif law == "continuity":
        jump = rng.uniform(*cfg.jump)
        p2.pos[:, 1] += jump if pos[mid, 1] < cfg.size / 2 else -jump  # a parallel track
    elif law == "constancy":
        p2.color[:] = _hsv_to_rgb(np.array([(_rgb_hue(color[0]) + 0.5) % 1.0]), 0.85, 0.95)
    else:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    return [p1, _splice(p1, p2, mid), p2, _splice(p2, p1, mid)], mid


def _splice(first: Scene, second: Scene, brk: int) -> Scene:
    """``first`` before frame ``brk``, ``second`` from it on (the wall and occluder of ``first``)."""
    cut = lambda a, b: np.concatenate([a[:brk], b[brk:]])
    return Scene(cut(first.pos, second.pos), cut(first.color, second.color), cut(first.present, second.present),
                  first.radius, wall=first.wall, box=first.box)


def _solidity(pos, r, direction, color, present, variant, cfg, mid) -> tuple[Scene, Scene, int]:
    """P1: a wall across the path and the ball bouncing back off it; P2: no wall, the ball going on.
    (I1 = the wall and a ball passing through it; I2 = a ball bouncing off nothing.)"""
    face = pos[mid, 0] + direction * r  # the ball's leading edge at frame ``mid``, when it turns back
    # the wall starts at the first whole pixel beyond the edge's anti-aliased half pixel
    x0 = int(np.ceil(face + 0.5)) if direction > 0 else int(np.floor(face - 0.5)) - cfg.wall_width
    wall = (x0, x0 + cfg.wall_width)
    bounced = pos.copy()
    bounced[mid:, 0] = 2 * pos[mid, 0] - pos[mid:, 0]  # mirrored about the contact point
    box = None
    if variant == "occluded":
        y = pos[mid, 1]
        rows = (int(round(y - cfg.box_height / 2)), int(round(y + cfg.box_height / 2)))
        box = _occluder_at(pos, cfg, mid, rows)
    p1 = Scene(bounced, color, present, r, wall=wall, box=box)
    p2 = Scene(pos, color.copy(), present.copy(), r, box=box)
    return p1, p2, mid + 1  # frame mid is shared: the clips differ from the next frame on


def _rgb_hue(rgb: np.ndarray) -> float:
    return colorsys.rgb_to_hsv(*[float(c) for c in rgb])[0]


def render(scene: Scene, cfg: ViolationConfig) -> np.ndarray:
    """Scene -> uint8 frames [T, H, W, 3]: background, wall, ball (drawn over the wall), occluder."""
    bg = np.asarray(BallsConfig().background, dtype=np.float32)
    img = np.broadcast_to(bg, (cfg.frames, cfg.size, cfg.size, 3)).copy()
    if scene.wall is not None:
        img[:, :, scene.wall[0]:scene.wall[1]] = WALL_COLOR
    grid = np.arange(cfg.size, dtype=np.float32) + 0.5
    d = np.sqrt((grid[None, None, :] - scene.pos[:, 0, None, None]) ** 2
                + (grid[None, :, None] - scene.pos[:, 1, None, None]) ** 2) - scene.radius  # [T, H, W]
    alpha = (np.clip(0.5 - d, 0.0, 1.0) * scene.present[:, None, None])[..., None]  # [T, H, W, 1]
    img += (scene.color[:, None, None, :] - img) * alpha
    if scene.box is not None:
        x0, x1, y0, y1 = scene.box
        img[:, y0:y1, x0:x1] = BallsConfig().occluder_color
    return np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)


def make_violations(n: int, cfg: ViolationConfig = ViolationConfig(), seed: int = 0,
                    progress: bool = True) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """n clips = n/4 minimal sets (cycling over LAWS x VARIANTS), each [P1, I1, P2, I2]: clips 2p (possible)
    and 2p + 1 (impossible) form pair p, identical until the break frame. Returns videos uint8
    [n, T, H, W, 3] and factors {law, variant, impossible, pair, set, break_frame} (long [n])."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 4 or n % 4:
        raise ValueError(f"n: expected a multiple of 4 clips (minimal sets of 2 possible + 2 impossible), "
                         f"received {n!r}")
    rng = np.random.default_rng(seed)
    cells = [(law, var) for law in LAWS for var in VARIANTS]
    videos, rows = [], []
    for k in progress_bar(range(n // 4), desc="violation sets", enabled=progress and n >= 128):
        law, var = cells[k % len(cells)]
        scenes, brk = _minimal_set(law, var, cfg, rng)
        for j, scene in enumerate(scenes):
            videos.append(render(scene, cfg))
            rows.append((LAWS.index(law), VARIANTS.index(var), j % 2, 2 * k + j // 2, k, brk))
    cols = np.array(rows, dtype=np.int64).T
    names = ("law", "variant", "impossible", "pair", "set", "break_frame")
    return torch.from_numpy(np.stack(videos)), {k: torch.from_numpy(c) for k, c in zip(names, cols)}


def possible_events(n: int, frames: int, cfg: ViolationConfig = ViolationConfig(), seed: int = 0,
                    progress: bool = True) -> torch.Tensor:
    """Training video of the same little world in which nothing impossible ever happens: a *possible* clip
    of random minimal sets (every law and variant: crossings, bounces off walls, occluders, constant colours),
    each cut to a random window of ``frames`` frames. uint8 [n, frames, H, W, 3], deterministic from seed.
    A violation-of-expectation test trains on these and is then shown the impossible twins."""
    if not 1 <= frames <= cfg.frames:
        raise ValueError(f"frames: expected 1..{cfg.frames}, received {frames!r}")
    rng = np.random.default_rng(seed)
    cells = [(law, var) for law in LAWS for var in VARIANTS]
    out = np.empty((n, frames, cfg.size, cfg.size, 3), dtype=np.uint8)
    for i in progress_bar(range(n), desc="possible events", enabled=progress and n >= 256):
        law, var = cells[int(rng.integers(len(cells)))]
        scenes, _ = _minimal_set(law, var, cfg, rng)
        possible = scenes[2 * int(rng.integers(2))]  # P1 or P2
        start = int(rng.integers(cfg.frames - frames + 1))
        out[i] = render(possible, cfg)[start:start + frames]
    return torch.from_numpy(out)
