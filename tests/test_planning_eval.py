"""The planning comparison: policies for every method, the oracle upper bound, the shipped world models, and the
clear errors a planner gives for goals it cannot use."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from jepa_lab.models.ac_predictor import ACPredictor, ACPredictorConfig
from jepa_lab.planning.cem import CEM, CEMConfig
from jepa_lab.planning.base import ActionBounds
from jepa_lab.planning.mpc import mpc_episode
from jepa_lab.eval.planning import METHODS, PlanSettings, evaluate, make_policy, run_episodes, summarise
from jepa_lab.weights.pretrained import load_pretrained
from jepa_lab.envs.registry import make_env
from jepa_lab.envs.two_rooms import TwoRooms
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.world_model import LatentWorldModel
from jepa_lab.planning.mpc import MPCPolicy

FAST = PlanSettings(horizon=4, samples=32, elites=4, iterations=2, mppi_iterations=2)


def random_world_model() -> LatentWorldModel:
    torch.manual_seed(0)
    return LatentWorldModel(VideoViT(VideoViTConfig()), ACPredictor(96, 16, ACPredictorConfig(embed_dim=32, depth=1)))


def test_oracle_reaches_two_rooms_goals_and_random_mostly_does_not():
    settings = PlanSettings(horizon=8, samples=64, elites=8, iterations=3)
    oracle = evaluate("two_rooms", "oracle", 4, settings=settings, progress=False)
    random = evaluate("two_rooms", "random", 4, settings=settings, progress=False)
    assert oracle["success"] >= 0.75
    assert oracle["success"] > random["success"]
    assert oracle["steps"] < 40


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_an_episode(method):
    env = make_env("two_rooms")
    model = random_world_model()
    policy = make_policy(method, env, latent_model=model, pixel_model=_pixel(), settings=FAST)
    episodes = run_episodes(env, policy, 1, progress=False)
    row = summarise(episodes)
    assert set(row) == {"success", "steps", "final_distance", "ms_per_step"}
    assert 1 <= row["steps"] <= env.cfg.max_steps
    assert np.isfinite(row["ms_per_step"])


def _pixel():
    from jepa_lab.models.pixel_world_model import PixelModelConfig, PixelWorldModel

    torch.manual_seed(0)
    return PixelWorldModel(PixelModelConfig(width=4)).eval()


def test_unknown_method_and_missing_models_are_clear_errors():
    env = make_env("two_rooms")
    with pytest.raises(ValueError, match="expected one of"):
        make_policy("dijkstra", env)
    with pytest.raises(ValueError, match="latent world model"):
        make_policy("cem", env)
    with pytest.raises(ValueError, match="pixel world model"):
        make_policy("pixel", env)
    with pytest.raises(ValueError, match="unknown environment"):
        make_env("three_rooms")


def test_plan_settings_refuse_bad_values():
    with pytest.raises(ValueError, match="horizon"):
        PlanSettings(horizon=0)
    with pytest.raises(ValueError, match="repeat"):
        PlanSettings(action_repeat=0)
    with pytest.raises(ValueError, match="PlanSettings.energy"):
        PlanSettings(energy="mean")


def test_oracle_holds_each_planned_action_for_the_repeat():
    """With repeat 2 the oracle's energy simulates every planned action twice: a plan of 3 actions that walks
    straight to a goal 2 x 3 x 5 px away scores (nearly) zero distance, one step short of it does not."""
    env = TwoRooms()
    env.reset(seed=0, options={"start": (10.0, 32.0), "goal": (25.0, 32.0)})
    policy = make_policy("oracle", env, settings=replace(FAST, horizon=3, action_repeat=2))
    e = policy.energy()(torch.tensor([[[2.5, 0.0]] * 3, [[2.0, 0.0]] * 3]))  # 15 px vs 12 px to the right
    assert e[0] < 0.5 < e[1]


def test_goal_image_of_the_wrong_size_is_refused():
    env = TwoRooms()
    obs, info = env.reset(seed=0)
    policy = MPCPolicy(random_world_model(), CEM(CEMConfig(samples=8, elites=2, iterations=1),
                                                 ActionBounds(max_norm=6.0), 2, 3))
    policy.set_goal(env.goal_image()[::2, ::2])  # 32 x 32: encodable, but not what the env renders
    with pytest.raises(ValueError, match=r"does not match the observations"):
        policy(obs, info)
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        policy.set_goal(np.zeros((64, 64), np.uint8))
    with pytest.raises(RuntimeError, match="set_goal"):
        MPCPolicy(random_world_model(), policy.planner)(obs, info)


def test_unreachable_goal_is_refused_by_the_env():
    env = TwoRooms()
    with pytest.raises(ValueError, match="goal"):
        env.reset(seed=0, options={"goal": (32.0, 5.0)})  # inside the middle wall


def test_a_bad_action_bound_is_refused():
    with pytest.raises(ValueError, match="max_norm"):
        ActionBounds(max_norm=-1.0)
    with pytest.raises(ValueError, match="max_norm"):
        ActionBounds(max_norm=float("nan"))


def test_shipped_two_rooms_model_plans_better_than_random():
    """Three fixed episodes: the shipped latent world model with CEM reaches more goals than random actions."""
    model = load_pretrained("ac_two_rooms")
    env = make_env("two_rooms")
    settings = PlanSettings()
    latent = run_episodes(env, make_policy("cem", env, latent_model=model, settings=settings), 3, progress=False)
    random = run_episodes(env, make_policy("random", env, settings=settings), 3, progress=False)
    assert sum(e.success for e in latent) > sum(e.success for e in random)
