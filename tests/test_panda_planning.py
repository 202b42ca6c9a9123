"""Planning on the arm with the kit's machinery: the registry builds the arm's tasks, the planners get 3-D box
actions, the oracle bounds what a world model can do, and an MPC step runs end to end on a world model."""

import numpy as np
import pytest
import torch

from jepa_lab.envs.panda import SUBGOAL_STEPS, PandaEnv
from jepa_lab.envs.registry import ENV_NAMES, make_env
from jepa_lab.eval.planning import PlanSettings, evaluate, make_policy
from jepa_lab.models.ac_predictor import ACPredictor
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.world_model import ACTrainConfig, LatentWorldModel
from jepa_lab.planning.mpc import SubgoalMPC, mpc_episode

FAST = PlanSettings(horizon=3, samples=16, elites=4, iterations=2)


def test_the_registry_builds_the_arm_and_refuses_what_it_does_not_know():
    assert {"panda_reach", "panda_push", "two_rooms"} <= set(ENV_NAMES)
    env = make_env("panda_reach", max_steps=5)
    assert isinstance(env, PandaEnv) and env.config.max_steps == 5
    env.close()
    with pytest.raises(ValueError, match="unknown environment"):
        make_env("panda_stack")
    with pytest.raises(ValueError, match="settings"):
        make_env("two_rooms", max_steps=5)


def test_the_oracle_reaches_and_ends_closer_than_random_actions():
    oracle = evaluate("panda_reach", "oracle", 3, settings=FAST, progress=False)
    random = evaluate("panda_reach", "random", 3, settings=FAST, progress=False)
    assert oracle["success"] == 1.0 and oracle["final_distance"] < 0.05
    assert random["final_distance"] > 2 * oracle["final_distance"]


def untrained_world_model(preset: str) -> LatentWorldModel:
    torch.manual_seed(0)
    return LatentWorldModel(VideoViT(VideoViTConfig()), ACPredictor(96, 16, ACTrainConfig.preset(preset).predictor))


def test_an_mpc_step_plans_3d_box_actions_on_a_world_model():
    model = untrained_world_model("panda_reach")
    env = make_env("panda_reach", max_steps=2)
    try:
        env.reset(seed=0)
        policy = make_policy("cem", env, latent_model=model, settings=FAST)
        policy.set_goal(env.goal_image())
        episode = mpc_episode(env, policy, seed=0)
    finally:
        env.close()
    assert episode.actions.shape == (2, 3) and np.abs(episode.actions).max() <= 1.0
    assert policy.plans[0].shape == (FAST.horizon, 3)


def test_sub_goal_mpc_aims_at_each_goal_for_its_steps_then_at_the_last():
    model = untrained_world_model("panda_push")
    env = make_env("panda_push", max_steps=5)
    try:
        env.reset(seed=0)
        policy = make_policy("cem", env, latent_model=model, settings=FAST)
        assert isinstance(policy, SubgoalMPC) and policy.steps == SUBGOAL_STEPS["push"]
        policy.steps = (2, 1)  # a short schedule: goal 0 for 2 steps, goal 1 for 1, then the final goal
        images = env.subgoal_images()
        policy.set_goals(images)
        mpc_episode(env, policy, seed=0)
        assert policy.goal_index == [0, 0, 1, 2, 2]
        assert torch.equal(policy.z_goal, model.encode(images[-1]))
        with pytest.raises(ValueError, match="expected 3 goal images"):
            policy.set_goals(images[:2])
        one = make_policy("cem", env, latent_model=model, settings=PlanSettings(subgoals=False))
        assert not isinstance(one, SubgoalMPC)
    finally:
        env.close()
