"""Tests of the latent-planning envs: Two Rooms (navigation through a door) and Push (object pushing)."""

import importlib
import time

import gymnasium as gym
import numpy as np
import pytest

from jepa_lab.envs import arena, push, two_rooms
from jepa_lab.envs.push import Push, PushConfig
from jepa_lab.envs.two_rooms import TwoRooms, TwoRoomsConfig, room_of

ENVS = [TwoRooms, Push]
INFO_KEYS = {"state", "goal", "distance", "success", "clipped"}


def _rollout(env, seed, actions):
    obs, info = env.reset(seed=seed)
    frames, infos = [obs], [info]
    for a in actions:
        obs, _, _, _, info = env.step(a)
        frames.append(obs)
        infos.append(info)
    return np.stack(frames), infos


def _big_actions(rng, n, max_step):
    """Random actions, about a third of them longer than max_step (so clipping is exercised)."""
    return rng.uniform(-1.6 * max_step, 1.6 * max_step, size=(n, 2))


def _centroid(img, mask_fn):
    ys, xs = np.nonzero(mask_fn(img.astype(int)))
    return np.array([xs.mean() + 0.5, ys.mean() + 0.5])


def _red(img):
    return (img[..., 0] > 150) & (img[..., 2] < 120)


def _blue(img):
    return (img[..., 2] > 150) & (img[..., 0] < 120)


@pytest.mark.parametrize("cls", ENVS)
def test_same_seed_same_episode(cls):
    env = cls()
    acts = _big_actions(np.random.default_rng(0), 10, env.cfg.max_step)
    f1, i1 = _rollout(env, 3, acts)
    f2, i2 = _rollout(env, 3, acts)
    assert np.array_equal(f1, f2)
    assert all(np.array_equal(a["state"], b["state"]) and np.array_equal(a["goal"], b["goal"]) for a, b in zip(i1, i2))
    f3, _ = _rollout(env, 4, acts)
    assert not np.array_equal(f1[0], f3[0])


@pytest.mark.parametrize("cls", ENVS)
def test_observation_and_info(cls):
    env = cls(render_mode="rgb_array")
    obs, info = env.reset(seed=0)
    assert obs.dtype == np.uint8 and obs.shape == (64, 64, 3)
    assert env.observation_space == gym.spaces.Box(0, 255, (64, 64, 3), np.uint8)
    assert env.observation_space.contains(obs)
    assert np.array_equal(env.render(), obs)
    obs, reward, term, trunc, info = env.step(env.action_space.sample())
    assert INFO_KEYS <= set(info)
    assert info["state"].dtype == np.float32 and info["state"].shape == (2,)
    assert info["goal"].dtype == np.float32 and info["goal"].shape == (2,)
    assert reward == pytest.approx(-info["distance"]) and isinstance(info["success"], bool)
    assert env.action_space.shape == (2,) and env.action_space.high[0] == pytest.approx(env.cfg.max_step)
    if cls is Push:
        assert info["object"].shape == (2,)
        assert np.allclose(info["object"], env.full_state()[2:])


def test_two_rooms_never_overlaps_walls():
    env = TwoRooms()
    rng = np.random.default_rng(1)
    for seed in range(4):
        env.reset(seed=seed)
        for a in _big_actions(rng, 40, env.cfg.max_step):
            env.step(a)
            assert env.is_free(env.full_state()[None])[0]
        # batched property check: many random rollouts through the true dynamics
        starts = np.stack([env._sample_free(rng, None) for _ in range(64)])
        traj = env.simulate(starts, rng.uniform(-9, 9, size=(64, 30, 2)))
        assert env.is_free(traj.reshape(-1, 2)).all()


def test_two_rooms_wall_blocks_except_door():
    env = TwoRooms()
    env.reset(seed=0, options={"door_y": 40.0, "start": [20.0, 10.0], "goal": [50.0, 40.0]})
    for _ in range(10):
        _, _, _, _, info = env.step([6.0, 0.0])
    assert room_of(info["state"][0]) == 0 and info["state"][0] <= 31.0 - 3.5 + 1e-6
    assert info["state"][1] == pytest.approx(10.0)  # slid along the wall, did not move in y
    env.reset(seed=0, options={"door_y": 40.0, "start": [20.0, 40.0], "goal": [50.0, 10.0]})
    for _ in range(5):
        _, _, _, _, info = env.step([6.0, 0.0])
    assert room_of(info["state"][0]) == 1 and info["state"][0] > 40.0


def test_push_never_leaves_arena_or_overlaps():
    env = Push()
    rng = np.random.default_rng(2)
    env.reset(seed=0)
    starts = np.tile(env.full_state(), (64, 1))
    traj = env.simulate(starts, rng.uniform(-6, 6, size=(64, 40, 2))).reshape(-1, 4)
    ra, ro = env.cfg.agent_radius, env.cfg.object_radius
    assert (traj[:, :2] >= 2 + ra - 1e-9).all() and (traj[:, :2] <= 62 - ra + 1e-9).all()
    assert (traj[:, 2:] >= 2 + ro - 1e-9).all() and (traj[:, 2:] <= 62 - ro + 1e-9).all()
    assert (np.linalg.norm(traj[:, :2] - traj[:, 2:], axis=1) >= ra + ro - 1e-6).all()


def test_push_moves_object_and_clamps_at_wall():
    env = Push()
    env.reset(seed=0, options={"start": [20.0, 30.0], "object": [32.0, 30.0], "goal": [45.0, 50.0]})  # off the path
    for _ in range(3):
        _, _, _, _, info = env.step([4.0, 0.0])
    assert info["object"][0] > 32.0 + 3.0 and info["object"][1] == pytest.approx(30.0)
    for _ in range(15):  # keep pushing into the right wall
        _, _, _, _, info = env.step([4.0, 0.0])
    assert info["object"][0] == pytest.approx(62.0 - 5.0)
    assert np.linalg.norm(info["object"] - info["state"]) >= 8.0 - 1e-4


@pytest.mark.parametrize("cls", ENVS)
def test_action_norm_clipping(cls):
    env = cls()
    m = env.cfg.max_step
    if cls is TwoRooms:
        env.reset(seed=0, options={"start": [10.0, 30.0], "goal": [50.0, 30.0]})
    else:
        env.reset(seed=0, options={"start": [15.0, 15.0], "object": [40.0, 40.0], "goal": [45.0, 45.0]})
    p0 = env.full_state()[:2]
    _, _, _, _, info = env.step([3 * m, 0.0])
    assert info["clipped"] and info["state"][0] == pytest.approx(p0[0] + m) and info["state"][1] == pytest.approx(p0[1])
    _, _, _, _, info = env.step([0.6 * m, 0.8 * m])  # norm exactly max_step: not clipped
    assert not info["clipped"]
    assert np.allclose(info["state"], p0 + [m + 0.6 * m, 0.8 * m], atol=1e-5)


@pytest.mark.parametrize("cls", ENVS)
@pytest.mark.parametrize("bad", [np.zeros(3), [np.nan, 0.0], [0.0, np.inf], np.zeros((1, 2)), "ab"])
def test_bad_action_raises(cls, bad):
    env = cls()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        env.step(bad)


@pytest.mark.parametrize("cls", ENVS)
def test_simulate_matches_step(cls):
    env = cls()
    rng = np.random.default_rng(5)
    for seed in range(3):
        env.reset(seed=seed)
        s0 = env.full_state()
        acts = _big_actions(rng, 25, env.cfg.max_step)
        stepped = []
        for a in acts:
            *_, terminated, truncated, _ = env.step(a.astype(np.float32))
            stepped.append(env.full_state())
            if terminated or truncated:  # the episode is over: step() refuses to go on
                break
        other = _big_actions(rng, 25, env.cfg.max_step)  # a second row in the batch must not change row 0
        sim = env.simulate(np.stack([s0, s0]), np.stack([acts.astype(np.float32), other]))
        assert sim.shape == (2, 25, s0.shape[0])
        assert np.array_equal(sim[0, :len(stepped)], np.stack(stepped))


@pytest.mark.parametrize("cls", ENVS)
def test_render_states_matches_render_and_is_fast(cls):
    env = cls()
    env.reset(seed=0)
    env.step([1.0, 1.0])
    assert np.array_equal(env.render_states(env.full_state()[None])[0], env.render())
    env.reset(seed=0)
    traj = env.simulate(env.full_state()[None].repeat(50, 0), np.random.default_rng(0).uniform(-4, 4, (50, 20, 2)))
    t = time.perf_counter()
    frames = env.render_states(traj.reshape(1000, -1))
    assert time.perf_counter() - t < 2.0  # typically ~0.1-0.2 s; loose bound for shared CPUs
    assert frames.shape == (1000, 64, 64, 3) and frames.dtype == np.uint8
    assert env.render_states(traj).shape == (50, 20, 64, 64, 3)


def test_two_rooms_lamp_blocked_by_wall_but_leaks_through_door():
    env = TwoRooms()
    env.reset(seed=0, options={"door_y": 46.0, "start": [26.0, 12.5], "goal": [50.0, 50.0]})
    obs = env.render().astype(int)
    behind, mirror = obs[12, 38], obs[12, 13]  # both 12.5 px from the agent, on either side of the wall
    assert behind[1] == arena.FLOOR[1] and mirror[1] > behind[1] + 20
    env.reset(seed=0, options={"door_y": 46.0, "start": [26.0, 46.0], "goal": [50.0, 50.0]})
    obs = env.render().astype(int)
    assert obs[45, 38, 1] > obs[12, 38, 1] + 20  # light leaks through the door into the right room


@pytest.mark.parametrize("cls", ENVS)
def test_goal_image(cls):
    env = cls()
    env.reset(seed=7)
    img = env.goal_image()
    assert img.dtype == np.uint8 and img.shape == (64, 64, 3)
    if cls is TwoRooms:
        assert np.linalg.norm(_centroid(img, _red) - env.goal) < 0.5
        assert np.array_equal(img, env.render_states(env.goal[None])[0])
    else:
        assert np.linalg.norm(_centroid(img, _blue) - env.goal) < 0.5
        assert np.linalg.norm(env.goal - _centroid(img, _red)) == pytest.approx(9.0, abs=1.0)


def test_success_terminates():
    env = TwoRooms()
    env.reset(seed=0, options={"start": [20.0, 40.0], "goal": [26.0, 40.0]})
    _, reward, term, trunc, info = env.step([5.0, 0.0])
    assert term and info["success"] and not trunc and reward == pytest.approx(-1.0)
    env = Push()
    env.reset(seed=0, options={"start": [18.0, 30.0], "object": [30.0, 30.0], "goal": [36.0, 30.0]})
    _, _, term, _, info = env.step([4.0, 0.0])  # agent reaches contact, object not moved yet
    assert not term
    _, _, term, _, info = env.step([4.0, 0.0])
    assert term and info["success"] and info["distance"] <= 4.0


@pytest.mark.parametrize("cls", ENVS)
def test_truncation_at_max_steps(cls):
    env = cls()
    env.reset(seed=0)
    truncs = [env.step([0.0, 0.0])[3] for _ in range(env.cfg.max_steps)]
    assert not any(truncs[:-1]) and truncs[-1]


@pytest.mark.parametrize("env_id, cls, module", [("jepa_lab/TwoRooms-v0", TwoRooms, two_rooms),
                                                 ("jepa_lab/Push-v0", Push, push)])
def test_gymnasium_make(env_id, cls, module):
    importlib.reload(module)  # re-registration must be a no-op
    env = gym.make(env_id)
    assert isinstance(env.unwrapped, module.__dict__[cls.__name__])
    obs, _ = env.reset(seed=0)
    assert env.step(env.action_space.sample())[0].shape == obs.shape == (64, 64, 3)
    cfg = module.__dict__[cls.__name__ + "Config"](max_steps=5)
    assert gym.make(env_id, cfg=cfg).unwrapped.cfg.max_steps == 5


def test_task_distance_properties():
    env = TwoRooms()
    env.reset(seed=0, options={"door_y": 30.0, "start": [10.0, 10.0], "goal": [50.0, 50.0]})
    rng = np.random.default_rng(0)
    pts = np.stack([env._sample_free(rng, None) for _ in range(200)])
    geo, euc = env.task_distance(pts), np.linalg.norm(pts - env.goal, axis=1)
    same = room_of(pts[:, 0]) == room_of(env.goal[0])
    assert geo.shape == (200,) and (geo >= euc - 1e-9).all()
    assert np.allclose(geo[same], euc[same]) and (geo[~same] > euc[~same]).any()
    env = Push()
    env.reset(seed=0, options={"start": [20.0, 30.0], "object": [30.0, 30.0], "goal": [45.0, 30.0]})
    s = np.array([[21.0, 30.0, 30.0, 30.0], [39.0, 30.0, 30.0, 30.0], [35.0, 30.0, 45.0, 30.0]])
    d = env.task_distance(s)
    assert d[0] == pytest.approx(15.0) and d[1] > d[0] and d[2] < d[0] - 10


def test_greedy_oracle_reaches_goal_in_two_rooms():
    env = TwoRooms()
    ang = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    cands = np.concatenate([m * np.stack([np.cos(ang), np.sin(ang)], 1) for m in (1.5, 3.0, 4.5, 6.0)])  # [64, 2]
    successes = 0
    for seed in range(10):
        env.reset(seed=seed)
        for _ in range(env.cfg.max_steps):
            nxt = env.simulate(np.tile(env.full_state(), (64, 1)), cands[:, None])[:, 0]
            _, _, term, trunc, _ = env.step(cands[np.argmin(env.task_distance(nxt))])
            if term or trunc:
                break
        successes += int(term)
    assert successes >= 8


def test_config_and_option_validation():
    with pytest.raises(ValueError, match="door_height"):
        TwoRoomsConfig(door_height=6.0)
    with pytest.raises(ValueError, match="substeps"):
        TwoRoomsConfig(substeps=0)
    with pytest.raises(ValueError, match="max_step / substeps"):
        PushConfig(max_step=100.0)
    with pytest.raises(ValueError, match="TwoRoomsConfig"):
        TwoRooms(cfg=PushConfig())
    env = TwoRooms()
    with pytest.raises(ValueError, match="free position"):
        env.reset(options={"start": [32.0, 2.0]})
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"object": [30.0, 30.0]})
    with pytest.raises(ValueError, match="door_y"):
        env.reset(options={"door_y": 5.0})
    with pytest.raises(ValueError, match="overlapping the object"):
        Push().reset(options={"start": [30.0, 30.0], "object": [32.0, 30.0]})
    with pytest.raises(RuntimeError, match="reset"):
        Push().step([0.0, 0.0])
