"""The Franka arm in notebook 07: drive it by hand, see what the planner imagined, pick a goal and plan.

- ``ArmDriver(env, seed)``: buttons that move the end effector along x, y and z (and open or close the gripper
  on pick-and-place), a step slider, a seed box with a reset button, the camera image beside the goal image and a
  status line (end effector in cm, distance to the target, success).
- ``FrameBank``: real frames and their latents (e.g. every frame of a few play episodes); ``nearest`` shows an
  imagined latent as the real frame whose latents are closest in mean L1 - the model never draws a pixel, so this
  is how to look at what it imagines.
- ``record_first_plan(policy, obs, info)``: an ``MPCPolicy``'s first planning step again, every CEM iteration
  recorded; ``imagined_latents`` rolls a plan out in the world model, ``replay_actions`` in the simulator.
- Figures: ``frame_rows_figure`` (rows of frames), ``distance_figure`` (distance to the target per step).
- ``GoalPicker(env, policy, seeds)``: a dropdown of evaluation episodes, their start and goal images, and a
  "plan" button that runs a short MPC episode and shows its frames.
- ``success_comparison``: success counts measured here beside the benchmark's, with their sample sizes.

As in ``jepa_lab.viz.env_widgets``, the widgets' callbacks are plain methods (``press``, ``act``, ``reset``,
``choose``, ``plan``), so tests and scripts drive them without a browser.

Shapes: P image size in pixels, A action dim (3: dx, dy, dz in [-1, 1], 5 cm per unit; 4 with the gripper),
F frames in a bank, T steps, N patch tokens, D latent width.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..envs.panda import STEP_METRES
from ..envs.registry import is_arm, make_env
from ..models.world_model import encode_episodes
from ..planning.mpc import mpc_episode
from .env_widgets import _Driver, _to_png
from .plots import figure_to_png, new_figure
from .widgets import _Explorer

CM = 100.0  # the simulator's metres -> centimetres
BENCHMARK_JSON = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "robot.json"
# button name -> (action index, sign); the gripper buttons exist only when the action has a 4th entry
MOVES = {"-x": (0, -1.0), "+x": (0, 1.0), "-y": (1, -1.0), "+y": (1, 1.0), "-z": (2, -1.0), "+z": (2, 1.0),
         "close": (3, -1.0), "open": (3, 1.0)}


def _arm(env):
    """An arm env, or one made from its name ("panda_reach"); ValueError for anything else."""
    env = make_env(env) if isinstance(env, str) else env
    if not is_arm(env):
        raise ValueError(f"env: expected a Franka arm environment (PandaEnv) or its name, e.g. 'panda_reach'; "
                         f"received {type(env).__name__}")
    return env


class ArmDriver(_Driver):
    """Drive the arm with buttons. Attributes: ``env``, ``obs`` (uint8 [P, P, 3]), ``info``, ``steps``, ``done``
    (success or time limit), ``buttons`` (name -> Button, names in ``MOVES``), ``step`` (FloatSlider: the move
    per press, in action units of 5 cm), ``seed`` (IntText), ``reset_button``, ``image`` / ``goal`` (PNG
    images), ``status_line`` (HTML), ``widget``."""

    def __init__(self, env="panda_reach", seed: int = 0, display_px: int = 256):
        self.env, self.display_px = _arm(env), int(display_px)
        names = [n for n, (i, _) in MOVES.items() if i < self.env.action_space.shape[0]]
        self.buttons = {n: W.Button(description=n, layout=W.Layout(width="60px"),
                                    tooltip=f"{n} the gripper" if MOVES[n][0] == 3 else f"move along {n}")
                        for n in names}
        for name, button in self.buttons.items():
            button.on_click(lambda _b, name=name: self.press(name))
        self.step = W.FloatSlider(value=1.0, min=0.1, max=1.0, step=0.1, description="step",
                                  continuous_update=False, style={"description_width": "40px"})
        self.seed = W.IntText(value=int(seed), description="seed", layout=W.Layout(width="160px"),
                              style={"description_width": "40px"})
        self.reset_button = W.Button(description="reset", button_style="warning")
        self.reset_button.on_click(lambda _b: self.reset(self.seed.value))
        self.image = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.goal = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.status_line = W.HTML()
        pad = W.GridBox(list(self.buttons.values()), layout=W.Layout(grid_template_columns="repeat(2, 64px)"))
        controls = W.VBox([pad, self.step, W.HTML("<small>one step = 5 cm per axis</small>"),
                           W.HBox([self.seed, self.reset_button])])
        views = W.HBox([W.VBox([W.HTML("<b>camera</b>"), self.image]), W.VBox([W.HTML("<b>goal</b>"), self.goal])])
        self.widget = W.VBox([W.HBox([views, controls]), self.status_line])
        self.reset(seed)

    def reset(self, seed: int | None = None) -> dict:
        """A new episode (the same seed gives the same start and target); returns the env's info."""
        seed = self.seed.value if seed is None else int(seed)
        self.seed.value = seed
        self.obs, self.info = self.env.reset(seed=seed)
        self.steps, self.done = 0, False
        self.goal.value = _to_png(self.env.goal_image(), self.display_px)
        self._show()
        return self.info

    def press(self, name: str) -> dict:
        """One move of ``step`` action units: "+x", "-z", ... (``MOVES``; "open"/"close" with a gripper)."""
        if name not in self.buttons:
            raise ValueError(f"unknown move {name!r}; expected one of {list(self.buttons)}")
        index, sign = MOVES[name]
        action = np.zeros(self.env.action_space.shape, np.float32)
        action[index] = sign * self.step.value
        return self.act(action)

    def act(self, action) -> dict:
        """Apply an action [A] in [-1, 1] (clipped by the env). After success or the time limit, moves do nothing
        until ``reset``."""
        if not self.done:
            self.obs, _, terminated, truncated, self.info = self.env.step(action)
            self.steps += 1
            self.done = bool(terminated or truncated)
        self._show()
        return self.info

    def status(self) -> str:
        """One line: step, end-effector position (cm), distance to the target (cm), success."""
        x, y, z = self.info["state"][:3] * STEP_METRES * CM
        parts = [f"step {self.steps}/{self.env.config.max_steps}", f"end effector ({x:.1f}, {y:.1f}, {z:.1f}) cm",
                 f"target {CM * self.info['distance']:.1f} cm away",
                 f"success: {'yes' if self.info['success'] else 'no'}"]
        if self.done:
            parts.append("episode over: reset to play again")
        return " | ".join(parts)


# ----- what the model imagines, as real frames ---------------------------------------------------------------


@dataclass
class FrameBank:
    """Real frames uint8 [F, P, P, 3], their latents [F, N, D] and, if known, what the simulator knew about each
    (``sim_states`` [F, ...]: for the arm the end effector's, or object's, and the target's positions in m);
    ``FrameBank.of_episodes(model, traj)``."""

    frames: np.ndarray
    latents: torch.Tensor
    sim_states: np.ndarray | None = None

    def __post_init__(self) -> None:
        if len(self.frames) != len(self.latents) or len(self.frames) == 0:
            raise ValueError(f"expected as many frames as latents (at least one), received {len(self.frames)} "
                             f"frames and {len(self.latents)} latents")

    @classmethod
    def of_episodes(cls, model, traj) -> "FrameBank":
        """Every frame of ``traj`` (``Trajectories``, frames [E, T + 1, P, P, 3]), encoded by ``model``."""
        latents = encode_episodes(model, traj, progress=False)  # [E, T + 1, N, D]
        sim = None if traj.sim_states is None else traj.sim_states.reshape(-1, *traj.sim_states.shape[2:])
        return cls(traj.frames.reshape(-1, *traj.frames.shape[2:]), latents.flatten(0, 1), sim)

    def nearest(self, latents: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """latents [T, N, D] -> (indices int [T] of the closest bank frames, their mean L1 distances [T])."""
        z = torch.as_tensor(latents, dtype=torch.float32)
        if z.ndim != 3 or z.shape[1:] != self.latents.shape[1:]:
            raise ValueError(f"latents: expected [T, {', '.join(map(str, self.latents.shape[1:]))}], "
                             f"received {list(z.shape)}")
        d = torch.cdist(z.flatten(1), self.latents.flatten(1).float(), p=1) / z[0].numel()  # [T, F] mean L1
        best = d.min(dim=1)
        return best.indices.numpy(), best.values.numpy()


def record_first_plan(policy, obs, info):
    """The first planning step of an ``MPCPolicy`` (goal already set) from ``obs``, with every iteration recorded:
    the same energy, a fresh generator with the policy's seed and no warm start, so the plan is the one an
    episode starting at ``obs`` takes first (``policy.plans[0]``). Returns the ``PlanResult``."""
    if policy.z_goal is None:
        raise RuntimeError("no goal: call policy.set_goal(goal_image) first")
    energy = policy.model.goal_energy(policy.model.encode(obs), info["state"], policy.z_goal, policy.repeat,
                                      policy.reduce)
    return policy.planner.plan(energy, generator=torch.Generator().manual_seed(policy.seed), record=True)


@torch.no_grad()
def imagined_latents(model, obs, state, actions, repeat: int = 1) -> torch.Tensor:
    """What the world model imagines for planned actions [H, A], each held ``repeat`` steps, from one
    observation uint8 [P, P, 3] and its proprioception [A]: latents [H * repeat, N, D]."""
    held = torch.as_tensor(np.asarray(actions), dtype=torch.float32).repeat_interleave(repeat, dim=0)[None]
    s0 = torch.as_tensor(np.asarray(state), dtype=torch.float32).reshape(1, -1)
    return model.rollout(model.encode(obs), held, s0, chunk=model.context_steps)[0]


def replay_actions(env, seed: int, actions, repeat: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reset ``env`` with ``seed`` and take the actions [H, A], each ``repeat`` times, open loop (also after
    success). Returns, for the start and every step (T = H * repeat): frames uint8 [T + 1, P, P, 3],
    proprioception [T + 1, A] (``info["state"]``: the end effector in 5-cm units) and distances to the target
    in m [T + 1]."""
    obs, info = env.reset(seed=seed)
    frames, infos = [obs], [info]
    for a in np.repeat(np.asarray(actions, dtype=np.float32), repeat, axis=0):
        obs, _, _, _, info = env.step(a)
        frames.append(obs)
        infos.append(info)
    return (np.stack(frames), np.stack([i["state"] for i in infos]),
            np.asarray([i["distance"] for i in infos]))


# ----- figures -----------------------------------------------------------------------------------------------


def frame_rows_figure(rows: Mapping[str, Sequence], titles: Sequence[str] | None = None, size: float = 1.0,
                      title: str = "") -> Figure:
    """One row of frames (uint8 [P, P, 3], or None for an empty cell) per entry of ``rows`` ({label: frames});
    rows may differ in length. ``titles``: one per column."""
    if not rows or not any(len(r) for r in rows.values()):
        raise ValueError("rows is empty: expected {row label: [frame uint8 [P, P, 3], ...]}")
    ncols = max(len(r) for r in rows.values())
    fig = new_figure(figsize=(size * ncols + 1.3, size * len(rows) + 0.5), layout="constrained")
    axes = fig.subplots(len(rows), ncols, squeeze=False)
    for r, (label, frames) in enumerate(rows.items()):
        for c, ax in enumerate(axes[r]):
            frame = frames[c] if c < len(frames) else None
            if frame is not None:
                ax.imshow(np.asarray(frame), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(frame is not None)
            if r == 0 and titles is not None and c < len(titles):
                ax.set_title(str(titles[c]), fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=9)
    return fig


def distance_figure(curves: Mapping[str, Sequence[float]], threshold: float = 0.05, title: str = "",
                    marks: Sequence[int] = (), mark_label: str = "next sub-goal") -> Figure:
    """Distance to the target (given in m, drawn in cm) per step for each curve ({label: distances}), the
    success threshold (panda-gym's 5 cm) as a dashed line, and a dotted vertical line at each step of ``marks``
    (e.g. where a sub-goal starts) that the longest curve reaches."""
    if not curves:
        raise ValueError("curves is empty: expected {label: distances in m per step}")
    fig = new_figure(figsize=(5.2, 3.0), layout="constrained")
    ax = fig.add_subplot()
    for label, d in curves.items():
        ax.plot(np.arange(len(d)), CM * np.asarray(d, dtype=float), marker=".", label=label)
    ax.axhline(CM * threshold, color="0.4", linestyle="--", linewidth=1,
               label=f"success ({CM * threshold:.0f} cm)")
    for j, t in enumerate(t for t in marks if t < max(len(d) for d in curves.values())):
        ax.axvline(t, color="0.6", linestyle=":", linewidth=1, label=mark_label if j == 0 else None)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("step")
    ax.set_ylabel("distance to the target (cm)")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


# ----- choose a goal, plan -----------------------------------------------------------------------------------


def _give_goal(policy, env) -> None:
    """Hand the episode's goal to a policy that takes one (sub-goal images, or one goal image)."""
    if hasattr(policy, "set_goals"):
        policy.set_goals(env.subgoal_images())
    elif hasattr(policy, "set_goal"):
        policy.set_goal(env.goal_image())


class GoalPicker(_Explorer):
    """Pick an evaluation episode (its seed decides the start and the target) from ``dropdown``, see its start
    and goal images, press ``plan_button`` to run ``policy`` for at most ``max_steps`` steps (None: the env's
    limit). Attributes: ``episode`` (the last ``Episode``, or None), ``start`` / ``goal`` / ``strip`` (PNG
    images; ``strip``: the episode's frames), ``status_line``, ``widget``."""

    def __init__(self, env, policy, seeds: Sequence[int], max_steps: int | None = None, display_px: int = 192):
        self.env, self.policy, self.max_steps, self.display_px = _arm(env), policy, max_steps, int(display_px)
        if len(seeds) == 0:
            raise ValueError("seeds is empty: expected at least one episode seed")
        options = []
        for s in seeds:
            _, info = self.env.reset(seed=int(s))
            options.append((f"seed {int(s)}: target {CM * info['distance']:.1f} cm away", int(s)))
        self.dropdown = W.Dropdown(options=options, description="goal", layout=W.Layout(width="320px"))
        self.plan_button = W.Button(description="plan", button_style="success")
        self.plan_button.on_click(lambda _b: self.plan())
        self.start = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.goal = W.Image(format="png", width=self.display_px, height=self.display_px)
        self.strip, self.status_line = W.Image(format="png"), W.HTML()
        self.dropdown.observe(lambda change: self.choose(change["new"]), names="value")
        views = W.HBox([W.VBox([W.HTML("<b>start</b>"), self.start]), W.VBox([W.HTML("<b>goal</b>"), self.goal])])
        self.widget = W.VBox([W.HBox([self.dropdown, self.plan_button]), views, self.status_line, self.strip])
        self.choose(options[0][1])

    def choose(self, seed: int) -> None:
        """Show episode ``seed``'s start and goal (and select it in the dropdown)."""
        if self.dropdown.value != int(seed):
            self.dropdown.value = int(seed)  # its observer calls choose again
            return
        self.seed, self.episode = int(seed), None
        obs, info = self.env.reset(seed=self.seed)
        self.start.value = _to_png(obs, self.display_px)
        self.goal.value = _to_png(self.env.goal_image(), self.display_px)
        self._show_strip({"start": [obs]}, ["step 0"])
        self.status_line.value = f"target {CM * info['distance']:.1f} cm away: press <b>plan</b>"

    def plan(self):
        """Run the policy on the chosen episode; returns the ``Episode`` (also kept as ``episode``)."""
        self.status_line.value = "planning..."
        self.env.reset(seed=self.seed)
        _give_goal(self.policy, self.env)
        ep = mpc_episode(self.env, self.policy, seed=self.seed, max_steps=self.max_steps)
        self.episode = ep
        labels = [f"step {t}\n{CM * d:.0f} cm" for t, d in enumerate(ep.distances)]
        self._show_strip({"episode": list(ep.observations)}, labels)
        steps = f"{ep.steps} step{'' if ep.steps == 1 else 's'}"
        verdict = f"reached the target in {steps}" if ep.success else f"missed after {steps}"
        self.status_line.value = (f"{verdict}: {CM * ep.distances[0]:.1f} -> {CM * ep.distances[-1]:.1f} cm, "
                                  f"{ep.ms_per_step:.0f} ms per step")
        return ep

    def _show_strip(self, rows: dict, titles: list, dpi: int = 90) -> None:
        """Draw rows of frames into ``strip`` at their own size (a container would stretch a short strip)."""
        fig = frame_rows_figure(rows, titles)
        self.strip.value, self.strip.width = figure_to_png(fig, dpi=dpi), str(round(fig.get_figwidth() * dpi))


# ----- the numbers beside the benchmark's --------------------------------------------------------------------


def success_comparison(rows: Mapping[str, Mapping[str, float]], episodes: Mapping[str, int],
                       reference: Mapping[str, tuple[int, int]]) -> str:
    """A text table: per method, the successes measured here (``rows``: ``eval.planning.summarise`` dicts over
    ``episodes[method]`` episodes) beside the benchmark's (``reference``: method -> (successes, episodes))."""
    lines = [f"{'method':<8} {'here':>14} {'benchmark':>16}"]
    for m, row in rows.items():
        n = int(episodes[m])
        here = f"{round(row['success'] * n)}/{n} ({row['success']:.0%})"
        k, total = reference.get(m, (None, None))
        ref = "-" if k is None else f"{k}/{total} ({k / total:.0%})"
        lines.append(f"{m:<8} {here:>14} {ref:>16}")
    return "\n".join(lines)


def stored_benchmark(path: str | Path = BENCHMARK_JSON) -> dict | None:
    """The JSON ``benchmarks/robot.py --json`` wrote (default: ``benchmarks/results/robot.json``), or None."""
    path = Path(path)
    return json.loads(path.read_text()) if path.is_file() else None
