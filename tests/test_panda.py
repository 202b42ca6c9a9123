"""The Franka Panda arm env (PyBullet via panda-gym, the robot extra): observations, proprioception, goal images,
the simulator's success criterion, and baselines that bound what a planner can do."""

import sys

import numpy as np
import pytest

from jepa_lab.envs.panda import ZERO_SHOT, Camera, PandaConfig, PandaEnv, make_panda, oracle_action


@pytest.fixture(scope="module")
def reach():
    env = make_panda("reach")
    yield env
    env.close()


def run(env, policy, seed):
    obs, info = env.reset(seed=seed)
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(policy(env))
        done = terminated or truncated
    return info, env.steps


def test_observations_are_images_and_state_is_proprioception(reach):
    obs, info = reach.reset(seed=0)
    assert obs.shape == (64, 64, 3) and obs.dtype == np.uint8 and obs.std() > 10  # a scene, not a blank frame
    assert info["state"].shape == (3,) and info["state"].dtype == np.float32
    np.testing.assert_allclose(info["state"] * 0.05, reach.robot.get_ee_position(), atol=1e-6)  # 5-cm units
    assert info["distance"] == pytest.approx(np.linalg.norm(reach.robot.get_ee_position() - reach.goal()))
    assert reach.action_space.shape == (3,)
    again, _ = reach.reset(seed=0)
    np.testing.assert_array_equal(obs, again)  # same seed, same scene


def test_the_goal_image_shows_the_arm_at_the_target_and_changes_nothing(reach):
    obs, info = reach.reset(seed=1)
    goal = reach.goal_image()
    assert goal.shape == obs.shape and np.abs(goal.astype(int) - obs).sum() > 0  # the arm moved in the picture
    np.testing.assert_array_equal(reach.render(), obs)  # the simulation was restored
    np.testing.assert_allclose(reach.state(), info["state"], atol=1e-6)


def test_an_action_moves_the_state_along_itself(reach):
    """The state is in action units, so imagining ``state + action`` (the AC predictor's guess) points the right
    way: one controller step covers a good part of the commanded displacement, along it (the controller lags,
    which the latents have to learn)."""
    _, info = reach.reset(seed=4)
    for a in ([0.5, 0, 0], [0, -0.5, 0], [0, 0, 0.5], [0.3, 0.3, 0.0]):
        a = np.array(a, np.float32)
        _, _, _, _, after = reach.step(a)
        moved = after["state"] - info["state"]
        along = moved @ a / (a @ a)  # share of the commanded move made
        assert 0.3 < along < 1.2 and np.linalg.norm(moved - along * a) < 0.2 * np.linalg.norm(a), (a, moved)
        info = after


def test_the_oracle_reaches_and_random_actions_do_not(reach):
    rng = np.random.default_rng(0)
    for seed in (10, 11, 12):
        info, steps = run(reach, oracle_action, seed)
        assert info["success"] and info["distance"] < 0.05 and steps < 20, (seed, info["distance"], steps)
        info, steps = run(reach, lambda env: rng.uniform(-1, 1, 3), seed)
        assert not info["success"] and steps == reach.config.max_steps, (seed, info["distance"])


def test_push_has_a_recoloured_object_and_its_goal_image_moves_it():
    env = make_panda("push", max_steps=5)
    try:
        obs, _ = env.reset(seed=2)
        blue = (obs[..., 2] > 150) & (obs[..., 0] < 100)  # the cube is blue; the table grey, the floor black
        assert blue.sum() > 0
        goal = env.goal_image()
        assert ((goal[..., 2] > 150) & (goal[..., 0] < 100) & ~blue).sum() > 0  # blue where the target is
        _, _, terminated, truncated, info = env.step(np.zeros(3))
        assert info["distance"] == pytest.approx(np.linalg.norm(env.sim.get_base_position("object") - env.goal()))
    finally:
        env.close()


def test_bad_inputs_fail_clearly(reach):
    reach.reset(seed=0)
    with pytest.raises(ValueError, match=r"action: expected 3 finite floats"):
        reach.step(np.zeros(4))
    with pytest.raises(ValueError, match=r"action: expected 3 finite floats"):
        reach.step([np.nan, 0, 0])
    with pytest.raises(ValueError, match="task: expected one of"):
        PandaConfig(task="stack")
    with pytest.raises(ValueError, match="img_size"):
        PandaConfig(img_size=8)
    with pytest.raises(ValueError, match="expected a PandaConfig"):
        PandaEnv({"task": "reach"})


def test_a_moved_camera_sees_another_picture(reach):
    obs, _ = reach.reset(seed=0)
    moved = make_panda("reach", camera=Camera(yaw=50.0))
    try:
        other, _ = moved.reset(seed=0)
        assert np.abs(other.astype(int) - obs).mean() > 1
    finally:
        moved.close()


def test_without_the_robot_extra_the_error_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "panda_gym.envs", None)  # as if panda-gym were not installed
    with pytest.raises(ModuleNotFoundError, match=r'pip install -e "\.\[robot\]"'):
        make_panda("reach")


@pytest.mark.parametrize("task, count", [("reach", 1), ("push", 3), ("pick_and_place", 4)])
def test_sub_goal_images_lead_to_the_goal_and_change_nothing(task, count):
    env = make_panda(task)
    try:
        obs, info = env.reset(seed=5)
        images = env.subgoal_images()
        assert len(images) == count and all(im.shape == obs.shape for im in images)
        assert all(np.abs(im.astype(int) - obs).sum() > 0 for im in images)  # each shows another scene
        assert np.array_equal(env.render(), obs) and np.array_equal(env.state(), info["state"])  # restored
        if task == "push":  # the last sub-goal: the cube at the target (pixels where the goal image has it)
            final = np.abs(images[-1].astype(int) - env.goal_image()).sum(-1) > 0
            assert final.sum() < np.prod(final.shape) // 4  # the arm moved, the rest of the scene did not
    finally:
        env.close()


@pytest.mark.parametrize("task", ["push", "pick_and_place"])
def test_the_oracle_pushes_and_picks_and_places(task):
    env = make_panda(task)
    try:
        wins = [run(env, oracle_action, seed)[0]["success"] for seed in (10000, 10001, 10002)]
    finally:
        env.close()
    assert sum(wins) >= 2, wins


def test_zero_shot_scenes_change_what_the_camera_sees_and_nothing_else():

    base = make_panda("push")
    obs, info = base.reset(seed=3)
    base.close()
    assert set(ZERO_SHOT) == {"table", "cube", "light", "camera", "all"}
    for name, change in ZERO_SHOT.items():
        env = make_panda("push", **change)
        try:
            other, other_info = env.reset(seed=3)
        finally:
            env.close()
        assert np.abs(other.astype(int) - obs).mean() > 0.2, name  # another picture
        assert np.array_equal(other_info["state"], info["state"]), name  # the same arm, the same task
