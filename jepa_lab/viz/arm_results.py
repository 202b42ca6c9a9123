"""Notebook 07 beyond Reach: Push and pick-and-place from sub-goal images, and the benchmark's numbers read from
its JSON (``benchmarks/results/robot.json``, written by ``benchmarks/robot.py --json``; ``arm.stored_benchmark``).

- ``subgoal_starts(task)`` / ``subgoal_schedule(task)``: the step each sub-goal starts at on the fixed schedule
  (``panda.SUBGOAL_STEPS``), and the same as text.
- ``subgoal_strips_figure({label: (first observation, sub-goal images)})``: one row per episode.
- ``aimed_goals_figure(episode, goal_index, subgoals)``: an episode's frames above the sub-goal each step aimed
  at (``SubgoalMPC.goal_index``), with the task's distance (for Push the cube's) under each.
- ``scene_frames(task, seed)``: the first frame of one episode in the training scene and in every zero-shot
  scene (``panda.ZERO_SHOT``).
- ``benchmark_table(stored, rows)``: rows of the JSON as text, each success with its sample size and a 95%
  interval (``success_interval``: Wilson's); a missing file gives the command that makes it.
- ``encoder_and_data_figure(stored)``: what the passive video buys (pretrained vs random-init encoder, Reach and
  Push) and success against the amount of action-labelled data (Reach).
- ``plan_step_times(stored)``: latent against pixel planning, milliseconds per planning step.

Shapes: P image size in pixels, T episode steps.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..envs.panda import SUBGOAL_STEPS, ZERO_SHOT
from ..envs.registry import make_env
from .arm import CM, frame_rows_figure
from .plots import new_figure

MAKE_BENCHMARK = "python benchmarks/robot.py --json benchmarks/results/robot.json"
NOT_MEASURED = f"[not measured in this checkout] run: {MAKE_BENCHMARK}"
DATA_EPISODES = (50, 150, 600)  # the data-amount curve's play episodes (600: the shipped ac_panda_reach)
RANDOM_ENCODER = {"Reach": ("panda_reach_success_cem", "panda_reach_success_random_encoder"),
                  "Push": ("panda_push_success_cem", "panda_push_success_random_encoder")}


# ----- sub-goals -----------------------------------------------------------------------------------------------


def subgoal_starts(task: str) -> list[int]:
    """The step (0-based) at which each sub-goal of ``task`` starts on the fixed schedule: push [0, 6, 11]."""
    task = task.removeprefix("panda_")
    if task not in SUBGOAL_STEPS:
        raise ValueError(f"task: expected one of {list(SUBGOAL_STEPS)}, received {task!r}")
    return [0, *np.cumsum(SUBGOAL_STEPS[task]).tolist()]


def subgoal_schedule(task: str) -> str:
    """The schedule in words (steps counted from 1): "sub-goal 1: steps 1-6, ..., sub-goal 3 (the goal): from step 12 on"."""
    starts = subgoal_starts(task)
    parts = [f"sub-goal {k + 1}: steps {s + 1}-{e}" for k, (s, e) in enumerate(zip(starts, starts[1:]))]
    return ", ".join(parts + [f"sub-goal {len(starts)} (the goal): from step {starts[-1] + 1} on"])


def subgoal_strips_figure(strips: Mapping[str, tuple], size: float = 1.1) -> Figure:
    """One row per episode: its first observation, then its sub-goal images (uint8 [P, P, 3] each); ``strips``:
    {row label: (first observation, [sub-goal images])}. Rows may have different numbers of sub-goals."""
    if not strips:
        raise ValueError("strips is empty: expected {label: (first observation, [sub-goal images])}")
    rows = {label: [first, *goals] for label, (first, goals) in strips.items()}
    titles = ["first observation", *(f"sub-goal {k}" for k in range(1, max(len(r) for r in rows.values())))]
    return frame_rows_figure(rows, titles, size=size, title="the last sub-goal of each row is the task's goal")


def aimed_goals_figure(episode, goal_index: Sequence[int], subgoals: Sequence, max_columns: int = 16,
                       size: float = 0.9, what: str = "cube") -> Figure:
    """Top: the episode's observations (``Episode``, T steps); bottom: the sub-goal image the policy aimed at from
    each (``goal_index`` [T], indices into ``subgoals``); under each frame its step and ``what``'s distance to
    the target. At most ``max_columns`` columns: every k-th step, always the last frame."""
    T = len(episode.observations) - 1
    if len(goal_index) != T:
        raise ValueError(f"goal_index: expected one sub-goal per step ({T}), received {len(goal_index)}")
    stride = max(1, math.ceil((T + 1) / max(1, int(max_columns) - 1)))
    cols = sorted(set(range(0, T + 1, stride)) | {T})
    rows = {"camera": [episode.observations[t] for t in cols],
            "aiming at": [subgoals[goal_index[t]] if t < T else None for t in cols]}
    titles = [f"t={t}" + (f" (g{goal_index[t] + 1})" if t < T else "") + f"\n{CM * episode.distances[t]:.0f} cm"
              for t in cols]
    return frame_rows_figure(rows, titles, size=size,
                             title=f"gK: sub-goal K; cm: the {what}'s distance to the target")


# ----- scenes ----------------------------------------------------------------------------------------------


def scene_frames(task: str = "push", seed: int = 10_000, scenes: Sequence[str] = tuple(ZERO_SHOT),
                 **config) -> dict[str, np.ndarray]:
    """The first observation of episode ``seed`` (uint8 [P, P, 3]) in the training scene ("unchanged") and in
    each scene of ``panda.ZERO_SHOT`` named in ``scenes``; ``config``: more PandaConfig (e.g. img_size)."""
    unknown = [s for s in scenes if s not in ZERO_SHOT]
    if unknown:
        raise ValueError(f"scenes: expected names from {list(ZERO_SHOT)}, received {unknown}")
    frames = {}
    for name in ("unchanged", *scenes):
        env = make_env(f"panda_{task.removeprefix('panda_')}", **config, **ZERO_SHOT.get(name, {}))
        try:
            frames[name] = env.reset(seed=seed)[0]
        finally:  # one PyBullet simulation per scene: never leave one running
            env.close()
    return frames


# ----- the benchmark's numbers -------------------------------------------------------------------------------


def success_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson's score interval (95% for z = 1.96) of a success rate from ``successes`` of ``n`` episodes."""
    if n < 1 or not 0 <= successes <= n:
        raise ValueError(f"expected 0 <= successes <= n and n >= 1, received {successes} of {n}")
    p, zz = successes / n, z * z / n
    centre, half = (p + zz / 2) / (1 + zz), z * math.sqrt(p * (1 - p) / n + zz / (4 * n)) / (1 + zz)
    return max(0.0, centre - half), min(1.0, centre + half)


def _successes(stored: Mapping, key: str) -> tuple[int, int] | None:
    """(successes, episodes) of a success key of the JSON, or None where the row did not run or is absent."""
    rate, n = stored.get(key), int(stored["episodes"])
    return None if rate is None else (round(rate * n), n)


def benchmark_table(stored: Mapping | None, rows: Mapping[str, str]) -> str:
    """Rows of the benchmark's JSON ({label: key}, e.g. {"latent CEM": "panda_push_success_cem"}) as a text table:
    successes of the sample, their 95% interval, and where the JSON has the full row, mean steps, final
    distance (cm) and ms per planning step. A row that did not run says so; no JSON (None): ``NOT_MEASURED``."""
    if stored is None:
        return NOT_MEASURED
    width = max(len(label) for label in rows) + 2
    lines = [f"{'row':<{width}} {'success':>15} {'95% interval':>13} {'steps':>6} {'final cm':>9} {'ms/step':>8}"]
    for label, key in rows.items():
        counts = _successes(stored, key)
        if counts is None:
            lines.append(f"{label:<{width}} {'not run' if key in stored else 'not in the JSON':>15}")
            continue
        (k, n), (lo, hi) = counts, success_interval(*counts)
        line = f"{label:<{width}} {f'{k}/{n} ({k / n:.0%})':>15} {f'{lo:.0%}-{hi:.0%}':>13}"
        full = stored.get("rows", {}).get(key)
        if full:
            line += f" {full['steps']:>6.1f} {CM * full['final_distance']:>9.1f} {full['ms_per_step']:>8.1f}"
        lines.append(line)
    if "how" in stored:  # the run's own account of how it was made (e.g. jobs sharing the cores: slower ms/step)
        lines.append(f"how it ran: {stored['how']}")
    return "\n".join(lines)


def _bar_with_interval(ax, x: float, counts: tuple[int, int] | None, colour: str, label: str | None = None):
    """A success-rate bar (in %) with its 95% interval, or "not run" written where it would stand."""
    if counts is None:
        ax.text(x, 2, "not run", rotation=90, ha="center", va="bottom", fontsize=7, color="0.4")
        return
    lo, hi = success_interval(*counts)
    rate = counts[0] / counts[1]
    ax.bar(x, 100 * rate, width=0.38, color=colour, label=label,
           yerr=[[100 * (rate - lo)], [100 * (hi - rate)]], capsize=3, error_kw={"linewidth": 1})


def encoder_and_data_figure(stored: Mapping) -> Figure:
    """Left: success with the pretrained (``vjepa_panda``) and the random-init encoder under the same predictor
    training, Reach and Push. Right: Reach's success against the play episodes of action-labelled data
    (``DATA_EPISODES``; 600 is the shipped model). Bars and points carry 95% intervals; rows that did not run
    are marked "not run"."""
    fig = new_figure(figsize=(8.0, 3.0), layout="constrained")
    ax, ax_d = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.2]})
    for j, (task, keys) in enumerate(RANDOM_ENCODER.items()):
        for dx, key, colour, label in ((-0.2, keys[0], "C0", "pretrained encoder"),
                                       (0.2, keys[1], "C1", "random-init encoder")):
            _bar_with_interval(ax, j + dx, _successes(stored, key), colour, label if j == 0 else None)
    ax.set_xticks(range(len(RANDOM_ENCODER)), list(RANDOM_ENCODER))
    ax.set_ylim(0, 130)  # room for the legend above the bars
    ax.set_yticks(range(0, 101, 20))
    ax.set_ylabel(f"success (%), {int(stored['episodes'])} episodes")
    ax.set_title("what the passive video buys", fontsize=9)
    ax.legend(fontsize=7, loc="upper center", ncol=2)
    points = [(e, _successes(stored, f"panda_reach_success_episodes_{e}")) for e in DATA_EPISODES]
    done = [(e, c) for e, c in points if c is not None]
    if done:
        rates = np.array([100 * c[0] / c[1] for _, c in done])
        bounds = 100 * np.array([success_interval(*c) for _, c in done])  # [points, 2]
        ax_d.errorbar([e for e, _ in done], rates, yerr=[rates - bounds[:, 0], bounds[:, 1] - rates], marker="o",
                      capsize=3)
    missing = [str(e) for e, c in points if c is None]
    ax_d.set_xscale("log")
    ax_d.set_xticks(DATA_EPISODES, [str(e) for e in DATA_EPISODES])
    ax_d.minorticks_off()
    ax_d.set_xlim(35, 850)
    ax_d.set_ylim(0, 110)
    ax_d.set_xlabel("action-labelled play episodes (16 moves each)")
    ax_d.set_ylabel("Reach success (%)")
    ax_d.set_title("how much action data" + (f" (not run: {', '.join(missing)})" if missing else ""), fontsize=9)
    return fig


def plan_step_times(stored: Mapping | None) -> str:
    """Latent against pixel planning on Reach: milliseconds per planning step and their ratio, from the JSON."""
    if stored is None:
        return NOT_MEASURED
    latent, pixel = stored.get("panda_ms_per_plan_step"), stored.get("panda_ms_per_plan_step_pixel")
    if latent is None or pixel is None:
        return "latent or pixel planning did not run in this JSON: no time per planning step to compare"
    return (f"per planning step on Reach: latent CEM {latent:.0f} ms, pixel CEM {pixel:.0f} ms "
            f"(pixel / latent = {pixel / latent:.1f}x)")
