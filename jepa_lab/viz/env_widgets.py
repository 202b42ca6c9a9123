"""Drive a planning environment by hand (ipywidgets), for notebook 05.

``EnvDriver(env, seed=0)``: eight direction buttons, a step-length slider (up to the env's ``max_step``), a
seed box with a reset button, the current observation (upscaled) beside the goal image, and a status line with
the step count, the agent's state, the distance to the goal and whether the episode succeeded. Play the agent
yourself before watching a planner do it: it shows what an action is (a displacement in pixels), that walls
stop the agent, and what "the goal" looks like to a model that only sees images.

As in ``jepa_lab.viz.widgets``, every callback is a plain method (``press``, ``act``, ``reset``, ``status``), so
tests and scripts can drive the explorer without a browser.

Shapes: H = W = 64 pixels, A = 2 (action dx, dy), S = 2 (agent x, y; Push adds the object's x, y to the
full simulator state).
"""

from __future__ import annotations

import html

import ipywidgets as W
import numpy as np

from ..envs.registry import make_env
from .widgets import _Explorer, image_png

# direction name -> unit vector (x right, y down: "up" lowers y), diagonals normalised to length 1
_S = float(np.sqrt(0.5))
DIRECTIONS = {
    "up-left": (-_S, -_S), "up": (0.0, -1.0), "up-right": (_S, -_S),
    "left": (-1.0, 0.0), "right": (1.0, 0.0),
    "down-left": (-_S, _S), "down": (0.0, 1.0), "down-right": (_S, _S),
}
_ARROWS = {"up-left": "\u2196", "up": "\u2191", "up-right": "\u2197", "left": "\u2190", "right": "\u2192",
           "down-left": "\u2199", "down": "\u2193", "down-right": "\u2198"}
_PAD = ("up-left", "up", "up-right", "left", None, "right", "down-left", "down", "down-right")  # 3 x 3 keypad


def _to_png(frame: np.ndarray, size: int) -> bytes:
    """uint8 RGB [H, W, 3] -> PNG bytes of a size x size nearest-neighbour upscale."""
    return image_png(np.asarray(frame).transpose(2, 0, 1) / 255.0, size)


class _Driver(_Explorer):
    """What the drivers share: ``_show`` draws ``obs`` into ``image`` and ``status()`` into ``status_line``
    (green once the episode succeeded)."""

    def _show(self) -> None:
        self.image.value = _to_png(self.obs, self.display_px)
        colour = "#1b7f3b" if self.info["success"] else "#333"
        self.status_line.value = f"<span style='color:{colour}'>{html.escape(self.status())}</span>"


class EnvDriver(_Driver):
    """Play an arena environment (``TwoRooms``, ``Push``, or their short names) with buttons.

    Attributes: ``env``, ``obs`` (uint8 [64, 64, 3]), ``info`` (the env's last info dict), ``steps`` (actions
    taken this episode), ``path`` (agent positions so far, float [steps + 1, 2]), ``done`` (success or time
    limit reached), ``buttons`` (direction -> Button), ``step_length`` (FloatSlider), ``seed`` (IntText),
    ``reset_button``, ``image`` / ``goal`` (ipywidgets.Image, PNG), ``status_line`` (HTML), ``widget``.
    """

    def __init__(self, env, seed: int = 0, display_px: int = 256):
        if isinstance(env, str):
            env = make_env(env)
        if not hasattr(env, "goal_image") or not hasattr(env.cfg, "max_step"):
            raise ValueError(f"env: expected an arena environment (TwoRooms, Push) or its short name, "
                             f"received {type(env).__name__}")
        self.env, self.display_px = env, int(display_px)
        max_step = float(env.cfg.max_step)
        self.buttons = {d: W.Button(description=_ARROWS[d], tooltip=d, layout=W.Layout(width="44px"))
                        for d in DIRECTIONS}
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self.press(name))
        pad = [self.buttons[d] if d else W.Label("", layout=W.Layout(width="44px")) for d in _PAD]
        self.step_length = W.FloatSlider(value=max_step, min=0.5, max=max_step, step=0.5, description="step length",
                                         style={"description_width": "80px"}, continuous_update=False)
        self.seed = W.IntText(value=int(seed), description="seed", style={"description_width": "80px"},
                              layout=W.Layout(width="180px"))
        self.reset_button = W.Button(description="reset", button_style="warning")
        self.reset_button.on_click(lambda _b: self.reset(self.seed.value))
        self.image = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.goal = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.status_line = W.HTML()
        keypad = W.GridBox(pad, layout=W.Layout(grid_template_columns="repeat(3, 48px)"))
        controls = W.VBox([keypad, self.step_length, W.HBox([self.seed, self.reset_button])])
        views = W.HBox([W.VBox([W.HTML("<b>observation</b>"), self.image]),
                        W.VBox([W.HTML("<b>goal</b>"), self.goal])])
        self.widget = W.VBox([W.HBox([views, controls]), self.status_line])
        self.reset(seed)

    # ----- verbs ---------------------------------------------------------------------------------------------

    def reset(self, seed: int | None = None, options: dict | None = None) -> dict:
        """Start a new episode (same seed -> same walls, start and goal; ``options`` as for ``env.reset``, e.g.
        {"start": (x, y), "goal": (x, y)}); returns the env's info dict."""
        seed = self.seed.value if seed is None else int(seed)
        self.seed.value = seed
        self.obs, self.info = self.env.reset(seed=seed, options=options)
        self.steps, self.done, self.path = 0, False, [self.info["state"].astype(np.float64)]
        self.goal.value = _to_png(self.env.goal_image(), self.display_px)
        self._show()
        return self.info

    def press(self, direction: str) -> dict:
        """Move one step of the current step length in a named direction (see ``DIRECTIONS``)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {direction!r}; expected one of {list(DIRECTIONS)}")
        return self.act(np.asarray(DIRECTIONS[direction]) * self.step_length.value)

    def act(self, action) -> dict:
        """Apply a displacement action (dx, dy) in pixels (norm clipped to max_step by the env). Once the
        episode is over (goal reached or steps used up) further moves do nothing until ``reset``."""
        if self.done:
            self._show()
            return self.info
        self.obs, _, terminated, truncated, self.info = self.env.step(np.asarray(action, dtype=np.float64))
        self.steps += 1
        self.done = self.done or bool(terminated or truncated)
        self.path.append(self.info["state"].astype(np.float64))
        self._show()
        return self.info

    def status(self) -> str:
        """One line: step, agent state (and object for Push), distance to the goal, success."""
        x, y = self.info["state"]
        parts = [f"step {self.steps}/{self.env.cfg.max_steps}", f"agent ({x:.1f}, {y:.1f})"]
        full = self.env.full_state()
        if full.shape[0] >= 4:
            parts.append(f"object ({full[2]:.1f}, {full[3]:.1f})")
        gx, gy = self.info["goal"]
        parts += [f"goal ({gx:.1f}, {gy:.1f})", f"distance {self.info['distance']:.1f}",
                  "success: yes" if self.info["success"] else "success: no"]
        if self.info.get("clipped"):
            parts.append("action clipped")
        if self.steps >= self.env.cfg.max_steps and not self.info["success"]:
            parts.append("time limit reached")
        return " | ".join(parts)


def env_driver(env, seed: int = 0, **kwargs) -> EnvDriver:
    """An EnvDriver over an env or a short name ("two_rooms", "push"); kwargs: display_px."""
    return EnvDriver(env, seed=seed, **kwargs)
