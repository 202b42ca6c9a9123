"""Tests for jepa_lab.viz.arm (notebook 07): the widgets are driven through their methods and buttons, the
imagination helpers are checked against the planner's own energy, the figures headless (no browser)."""
import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from jepa_lab.envs.panda_data import collect_panda  # noqa: E402
from jepa_lab.envs.registry import make_env  # noqa: E402
from jepa_lab.eval.planning import PlanSettings, make_policy  # noqa: E402
from jepa_lab.planning.mpc import mpc_episode  # noqa: E402
from jepa_lab.viz.arm import (ArmDriver, FrameBank, GoalPicker, distance_figure, frame_rows_figure,  # noqa: E402
                              imagined_latents, record_first_plan, replay_actions, stored_benchmark,
                              success_comparison)
from jepa_lab.weights.pretrained import load_pretrained  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")
SEED = 10029  # an evaluation episode whose target is 26 cm from the start
SMALL = PlanSettings(horizon=3, samples=16, elites=4, iterations=2)


@pytest.fixture(scope="module")
def env():
    e = make_env("panda_reach", max_steps=4)
    yield e
    e.close()


@pytest.fixture(scope="module")
def model():
    return load_pretrained("ac_panda_reach")


def png(image) -> bytes:
    return bytes(image.value)


def test_driver_buttons_move_the_end_effector_and_redraw(env):
    d = ArmDriver(env, seed=SEED, display_px=64)
    assert isinstance(d.widget, W.Box) and sorted(d.buttons) == ["+x", "+y", "+z", "-x", "-y", "-z"]
    assert png(d.image).startswith(b"\x89PNG") and png(d.goal) != png(d.image)
    assert d.status().startswith("step 0/4") and "target 25.9 cm away" in d.status_line.value
    before, image = d.info["state"].copy(), png(d.image)
    d.buttons["+x"].click()
    moved = d.info["state"] - before  # in 5-cm units: about +1 along x, little along y and z
    assert d.steps == 1 and moved[0] > 0.5 and np.abs(moved[1:]).max() < 0.5 and png(d.image) != image
    d.step.value = 0.5
    d.press("-z")
    assert -0.75 < d.info["state"][2] - before[2] - moved[2] < -0.25 and d.status().startswith("step 2/4")


def test_driver_stops_at_the_time_limit_and_reset_reproduces(env):
    d = ArmDriver(env, seed=SEED, display_px=64)
    start = d.obs.copy()
    for _ in range(5):
        d.press("+y")
    assert d.steps == 4 and d.done and "episode over" in d.status()
    d.seed.value = SEED
    d.reset_button.click()
    assert d.steps == 0 and not d.done and np.array_equal(d.obs, start)
    with pytest.raises(ValueError, match=r"\+x"):
        d.press("north")


def test_driver_has_gripper_buttons_only_with_a_gripper_and_refuses_other_envs():
    d = ArmDriver("panda_pick_and_place", seed=0, display_px=64)
    assert {"open", "close"} <= set(d.buttons)
    width = d.info["state"][3]
    d.press("open")
    assert d.info["state"][3] > width
    d.env.close()
    with pytest.raises(ValueError, match="Franka arm"):
        ArmDriver("two_rooms")


def test_a_frame_bank_finds_each_frame_itself_and_keeps_the_simulator_states(model):
    traj = collect_panda("reach", 2, 3, seed=7, progress=False)
    bank = FrameBank.of_episodes(model, traj)
    assert bank.frames.shape == (8, 64, 64, 3) and bank.latents.shape == (8, 16, 96)
    assert bank.sim_states.shape == (8, 6) and np.allclose(bank.sim_states[4], traj.sim_states[1, 0])
    index, l1 = bank.nearest(bank.latents[[5, 2]])
    assert index.tolist() == [5, 2] and np.allclose(l1, 0.0, atol=1e-6)
    noisy = bank.latents[[3]] + 0.002 * torch.randn(1, 16, 96, generator=torch.Generator().manual_seed(0))
    index, l1 = bank.nearest(noisy)
    assert index.tolist() == [3] and np.isclose(l1[0], float((noisy - bank.latents[3]).abs().mean()), rtol=1e-4)
    with pytest.raises(ValueError, match=r"\[T, 16, 96\]"):
        bank.nearest(bank.latents[0])
    with pytest.raises(ValueError, match="as many frames"):
        FrameBank(bank.frames[:2], bank.latents[:3])


def test_the_recorded_first_plan_is_the_episodes_first_plan_and_its_energy_is_the_imagined_one(env, model):
    policy = make_policy("cem", env, model, settings=SMALL)
    with pytest.raises(RuntimeError, match="set_goal"):
        record_first_plan(policy, *env.reset(seed=SEED))
    obs, info = env.reset(seed=SEED)
    goal = env.goal_image()
    policy.set_goal(goal)
    first = record_first_plan(policy, obs, info)
    assert len(first.history) == SMALL.iterations
    mpc_episode(env, policy, seed=SEED, max_steps=1)
    assert torch.equal(first.actions, policy.plans[0])
    imagined = imagined_latents(model, obs, info["state"], first.actions, SMALL.action_repeat)
    assert imagined.shape == (SMALL.horizon * SMALL.action_repeat, 16, 96)
    per_step = (imagined - model.encode(goal)).abs().mean(dim=(1, 2))  # energy "min": the closest imagined step
    assert np.isclose(float(per_step.min()), first.energy, rtol=1e-4)


def test_replaying_actions_gives_the_frames_of_stepping_by_hand(env):
    actions = np.array([[1.0, 0.0, 0.0], [0.0, -1.0, 0.5]], np.float32)
    frames, states, distances = replay_actions(env, SEED, actions, repeat=2)
    assert frames.shape == (5, 64, 64, 3) and states.shape == (5, 3) and distances.shape == (5,)
    obs, info = env.reset(seed=SEED)
    assert np.array_equal(frames[0], obs) and np.isclose(distances[0], info["distance"])
    for a in (actions[0], actions[0], actions[1]):
        obs, _, _, _, info = env.step(a)
    assert np.array_equal(frames[3], obs) and np.allclose(states[3], info["state"])


def test_frame_rows_and_distance_figures():
    frame = np.zeros((8, 8, 3), np.uint8)
    fig = frame_rows_figure({"a": [frame] * 3, "b": [frame, None]}, ["t=1", "t=2", "t=3"], title="rows")
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "t=1" and len(fig.axes[4].images) == 0
    with pytest.raises(ValueError, match="rows is empty"):
        frame_rows_figure({})
    fig = distance_figure({"cem": [0.2, 0.1, 0.03], "random": [0.2, 0.25]}, title="episode")
    ax = fig.axes[0]
    assert np.allclose(ax.lines[0].get_ydata(), [20.0, 10.0, 3.0]) and ax.lines[2].get_ydata()[0] == 5.0
    fig = distance_figure({"cube": [0.2, 0.2, 0.2, 0.1]}, marks=[2, 6])  # a sub-goal starts at 2; 6 is past the end
    marks = [line for line in fig.axes[0].lines if line.get_linestyle() == ":"]
    assert len(marks) == 1 and marks[0].get_xdata()[0] == 2 and marks[0].get_label() == "next sub-goal"
    with pytest.raises(ValueError, match="curves is empty"):
        distance_figure({})


def test_the_goal_picker_shows_a_goal_and_plans_an_episode():
    env = make_env("panda_reach")
    picker = GoalPicker(env, make_policy("oracle", env), [10000, SEED], max_steps=3, display_px=64)
    labels = [label for label, _ in picker.dropdown.options]
    assert labels == ["seed 10000: target 4.8 cm away", f"seed {SEED}: target 25.9 cm away"]
    goal, strip, width = png(picker.goal), png(picker.strip), picker.strip.width
    picker.dropdown.value = SEED  # as the browser does: the observer shows the new episode
    assert picker.seed == SEED and png(picker.goal) != goal  # Reach always starts from the same pose
    picker.plan_button.click()
    assert png(picker.strip) != strip and int(picker.strip.width) > int(width)  # 4 frames, not 1
    ep = picker.episode
    assert ep is not None and ep.steps == 3 and not ep.success  # 26 cm need more than 3 moves of 5 cm
    assert "missed after 3 steps" in picker.status_line.value and ep.distances[-1] < ep.distances[0]
    picker.choose(10000)
    assert picker.episode is None and picker.dropdown.value == 10000
    with pytest.raises(ValueError, match="seeds is empty"):
        GoalPicker(env, make_policy("oracle", env), [])
    env.close()


def test_success_comparison_and_the_stored_benchmark(tmp_path):
    rows = {"cem": {"success": 1.0}, "random": {"success": 0.5}, "pixel": {"success": 0.0}}
    text = success_comparison(rows, {"cem": 2, "random": 2, "pixel": 1}, {"cem": (50, 50), "random": (10, 50)})
    lines = text.splitlines()
    assert lines[0].split() == ["method", "here", "benchmark"]
    assert lines[1].split() == ["cem", "2/2", "(100%)", "50/50", "(100%)"]
    assert lines[2].split() == ["random", "1/2", "(50%)", "10/50", "(20%)"]
    assert lines[3].split() == ["pixel", "0/1", "(0%)", "-"]
    assert stored_benchmark(tmp_path / "missing.json") is None
    (tmp_path / "robot.json").write_text(json.dumps({"episodes": 50}))
    assert stored_benchmark(tmp_path / "robot.json") == {"episodes": 50}
