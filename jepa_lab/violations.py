"""Paired physics clips for violation-of-expectation tests: a possible and an impossible version of one event.

The two clips of a pair are identical up to a *break frame*; from there on the impossible one breaks a law:

* ``permanence`` - the ball vanishes (in plain view, or while it is behind the occluder: it never comes out);
* ``continuity`` - the ball jumps 8-10 px sideways from one frame to the next (or while hidden);
* ``solidity``   - the ball meets a wall and passes through it instead of bouncing back (the collision is
  hidden behind a box in the occluded variant; the wall's ends stay visible above and below the box);
* ``constancy``  - the ball changes colour (in view, or while hidden).

Each law comes in a ``visible`` and an ``occluded`` variant (developmental-psychology and IntPhys-style tests
use both: occluded violations ask the model to carry the object's state through the occlusion). One ball,
moving left to right or right to left at 1.3-1.7 px per frame, rendered as in physics.py (anti-aliased disc,
same background), 16 frames of 32 x 32 px - the tiny V-JEPA's frame size.

``make_violations(n, cfg, seed)`` returns n clips (n/2 pairs, cycling over laws x variants) as uint8 videos
plus factors (``law``, ``variant``, ``impossible``, ``pair``, ``break_frame``); ``cached_violations`` writes them
as lossless mp4 files (so decoded pairs stay identical before the break) and reads them back through the
kit's video reader, like every other clip in the kit.

Shapes: P pairs, T frames, H = W pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from .physics import BallsConfig, _hsv_to_rgb

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
class _Scene:
    """One pair's shared state: the possible trajectory [T, 2], colours [T, 3], presence [T], extras."""

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


def _pair(law: str, variant: str, cfg: ViolationConfig, rng) -> tuple[_Scene, _Scene, int]:
    """(possible scene, impossible scene, break frame) of one law and variant."""
    pos, r, direction = _straight(cfg, rng)
    color = np.repeat(_hsv_to_rgb(np.array([rng.uniform()]), 0.85, 0.95), cfg.frames, axis=0).astype(np.float32)
    present = np.ones(cfg.frames, dtype=bool)
    mid = int(rng.integers(cfg.frames // 2 - 1, cfg.frames // 2 + 2))  # the event happens mid-clip
    box = None
    if law == "solidity":
        return _solidity(pos, r, direction, color, present, variant, cfg, mid)
    if variant == "occluded":
        box = _occluder_at(pos, cfg, mid)
        mid = _hidden_frame(pos, r, box, start=3)
    possible = _Scene(pos, color, present, r, box=box)
    bad = _Scene(pos.copy(), color.copy(), present.copy(), r, box=box)
    if law == "permanence":
        bad.present[mid:] = False
    elif law == "continuity":
        jump = rng.uniform(*cfg.jump)
        bad.pos[mid:, 1] += jump if pos[mid, 1] < cfg.size / 2 else -jump
    elif law == "constancy":
        hue = (_rgb_hue(color[0]) + 0.5) % 1.0
        bad.color[mid:] = _hsv_to_rgb(np.array([hue]), 0.85, 0.95)
    else:
        raise ValueError(f"law must be one of {LAWS}, got {law!r}")
    return possible, bad, mid


def _solidity(pos, r, direction, color, present, variant, cfg, mid) -> tuple[_Scene, _Scene, int]:
    """A wall across the path: the possible ball bounces back off its face, the impossible one goes on."""
    face = pos[mid, 0] + direction * r  # the ball's leading edge at frame ``mid``, when it turns back
    # the wall starts at the first whole pixel beyond the edge's anti-aliased half pixel
    x0 = int(np.ceil(face + 0.5)) if direction > 0 else int(np.floor(face - 0.5)) - cfg.wall_width
    wall = (x0, x0 + cfg.wall_width)
    contact = pos[mid, 0]
    bounced = pos.copy()
    bounced[mid:, 0] = 2 * contact - pos[mid:, 0]  # mirrored about the contact point
    box = None
    if variant == "occluded":
        y = pos[mid, 1]
        rows = (int(round(y - cfg.box_height / 2)), int(round(y + cfg.box_height / 2)))
        box = _occluder_at(pos, cfg, mid, rows)
    possible = _Scene(bounced, color, present, r, wall=wall, box=box)
    bad = _Scene(pos, color.copy(), present.copy(), r, wall=wall, box=box)
    return possible, bad, mid + 1  # frame mid is shared: the clips differ from the next frame on


def _rgb_hue(rgb: np.ndarray) -> float:
    import colorsys

    return colorsys.rgb_to_hsv(*[float(c) for c in rgb])[0]


def render(scene: _Scene, cfg: ViolationConfig) -> np.ndarray:
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
    """n clips = n/2 pairs (cycling over LAWS x VARIANTS), clip 2p possible and 2p + 1 impossible.
    Returns videos uint8 [n, T, H, W, 3] and factors {law, variant, impossible, pair, break_frame} (long [n])."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2 or n % 2:
        raise ValueError(f"n: expected an even number of clips >= 2 (pairs), received {n!r}")
    rng = np.random.default_rng(seed)
    cells = [(law, var) for law in LAWS for var in VARIANTS]
    videos, rows = [], []
    for p in tqdm(range(n // 2), desc="violation pairs", disable=not progress or n < 64):
        law, var = cells[p % len(cells)]
        possible, impossible, brk = _pair(law, var, cfg, rng)
        for k, scene in enumerate((possible, impossible)):
            videos.append(render(scene, cfg))
            rows.append((LAWS.index(law), VARIANTS.index(var), k, p, brk))
    cols = np.array(rows, dtype=np.int64).T
    names = ("law", "variant", "impossible", "pair", "break_frame")
    return torch.from_numpy(np.stack(videos)), {k: torch.from_numpy(c) for k, c in zip(names, cols)}


def possible_events(n: int, frames: int, cfg: ViolationConfig = ViolationConfig(), seed: int = 0,
                    progress: bool = True) -> torch.Tensor:
    """Training video of the same little world in which nothing impossible ever happens: the *possible*
    member of random pairs (every law and variant: crossings, bounces off walls, occluders, constant colours),
    each cut to a random window of ``frames`` frames. uint8 [n, frames, H, W, 3], deterministic from seed.
    A violation-of-expectation test trains on these and is then shown the impossible twins."""
    if not 1 <= frames <= cfg.frames:
        raise ValueError(f"frames: expected 1..{cfg.frames}, received {frames!r}")
    rng = np.random.default_rng(seed)
    cells = [(law, var) for law in LAWS for var in VARIANTS]
    out = np.empty((n, frames, cfg.size, cfg.size, 3), dtype=np.uint8)
    for i in tqdm(range(n), desc="possible events", disable=not progress or n < 256):
        law, var = cells[int(rng.integers(len(cells)))]
        possible, _, _ = _pair(law, var, cfg, rng)
        start = int(rng.integers(cfg.frames - frames + 1))
        out[i] = render(possible, cfg)[start:start + frames]
    return torch.from_numpy(out)
