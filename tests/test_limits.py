"""Limits experiments: camera transforms move pixels as stated, the view-change wrapper feeds the policy moved
images, recolouring touches only the agent, rollout error is measured per step."""

import numpy as np
import pytest
import torch

from jepa_lab.eval.limits import ViewChange, latent_change, recolour_agent, rollout_error, shift_view, zoom_view
from jepa_lab.eval.planning import shipped_world_model
from jepa_lab.envs.two_rooms import TwoRooms


@pytest.fixture(scope="module")
def model():
    torch.set_num_threads(1)
    return shipped_world_model("latent", "two_rooms")


def test_shift_view_moves_content():
    img = np.zeros((8, 8, 3), dtype=np.uint8)
    img[3, 2] = 255
    moved = shift_view(2, 1)(img)
    assert moved[4, 4, 0] == 255 and moved.sum() == 3 * 255 and moved.shape == img.shape
    assert np.array_equal(shift_view(0, 0)(img), img)
    batch = np.stack([img, img])
    assert np.array_equal(shift_view(2, 1)(batch)[1], moved)


def test_zoom_view():
    img = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    assert np.array_equal(zoom_view(1.0)(img), img)
    zoomed = zoom_view(2.0)(img)
    assert np.array_equal(zoomed[0, 0], img[16, 16]) and np.array_equal(zoomed[-1, -1], img[47, 47])
    with pytest.raises(ValueError, match=r"zoom in \[0.5, 2\]"):
        zoom_view(3.0)


def test_view_change_wrapper_passes_moved_images():
    seen = {}

    class Recorder:
        def set_goal(self, g):
            seen["goal"] = g

        def __call__(self, obs, info):
            seen["obs"] = obs
            return np.zeros(2)

    img = np.arange(64 * 64 * 3, dtype=np.uint8).reshape(64, 64, 3)
    wrapped = ViewChange(Recorder(), shift_view(3))
    wrapped.set_goal(img)
    wrapped(img, {})
    assert np.array_equal(seen["goal"], shift_view(3)(img)) and np.array_equal(seen["obs"], seen["goal"])
    wrapped.reset()  # no reset on the inner policy: nothing to do, no error


def test_recolour_touches_only_the_agent():
    env = TwoRooms()
    env.reset(seed=3)
    goal = env.goal_image()
    new = recolour_agent(goal, env.goal, env.cfg.agent_radius)
    changed = np.argwhere((new != goal).any(-1))
    assert len(changed) > 10
    dist = np.hypot(changed[:, 1] + 0.5 - env.goal[0], changed[:, 0] + 0.5 - env.goal[1])
    assert dist.max() <= env.cfg.agent_radius + 0.5


def test_rollout_error_per_step(model):
    r = rollout_error(model, episodes=4, horizon=6)
    assert list(r["horizon"]) == [1, 2, 3, 4, 5, 6]
    assert all(r[k].shape == (6,) and (r[k] > 0).all() for k in ("rollout", "teacher_forcing", "copy_start"))
    assert r["rollout"][0] == pytest.approx(r["teacher_forcing"][0], rel=1e-4)  # step 1 is the same prediction
    with pytest.raises(ValueError, match="max_steps"):
        rollout_error(model, horizon=40)


def test_latent_change_is_zero_for_the_same_image(model):
    env = TwoRooms()
    env.reset(seed=4)
    g = env.goal_image()
    out = latent_change(model, g, {"same": g, "shifted": shift_view(2)(g)})
    assert out["same"] == 0.0 and out["shifted"] > 0


def test_recoloured_goal_wrapper_hands_the_policy_a_recoloured_goal():
    from jepa_lab.eval.limits import RecolouredGoal

    seen = {}

    class Recorder:
        def set_goal(self, g):
            seen["goal"] = g

        def __call__(self, obs, info):
            return np.ones(2)

    env = TwoRooms()
    env.reset(seed=5)
    wrapped = RecolouredGoal(Recorder(), env)
    wrapped.reset()
    wrapped.set_goal(env.goal_image())
    assert np.array_equal(seen["goal"], recolour_agent(env.goal_image(), env.goal, env.cfg.agent_radius))
    assert np.array_equal(wrapped(None, {}), np.ones(2))
