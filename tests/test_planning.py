"""Sampling planners (CEM, MPPI), action bounds and the MPC loop, on known energies and a tiny fake env."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from jepa_lab.planning.cem import CEM, CEMConfig
from jepa_lab.planning.mppi import MPPI, MPPIConfig, mppi_weights
from jepa_lab.planning.base import ActionBounds, PlanResult
from jepa_lab.planning.mpc import RecedingHorizon, mpc_episode, random_policy, shift_plan

H, A = 5, 2
TARGET = torch.tensor([0.3, -0.4]).expand(H, A)  # inside the unit ball
BALL = ActionBounds(max_norm=1.0)


def quadratic(target: torch.Tensor, weight: float | torch.Tensor = 1.0):
    """energy(a [S, H, A]) = sum_{H, A} w * (a - target)^2 -> [S]."""
    return lambda a: (weight * (a - target) ** 2).sum(dim=(1, 2))


def bumpy(a: torch.Tensor) -> torch.Tensor:
    """A non-convex energy [S, H, A] -> [S] (many local minima)."""
    return ((a - 0.2) ** 2 + 0.3 * torch.sin(12 * a)).sum(dim=(1, 2))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def make(kind: str, **cfg):
    if kind == "cem":
        return CEM(CEMConfig(**cfg), BALL, A, H)
    return MPPI(MPPIConfig(**cfg), BALL, A, H)


# ----------------------------------------------------------------------------------------------- bounds


def test_project_norm_keeps_direction_and_short_vectors():
    a = 3 * torch.randn(500, H, A, generator=gen(0))
    p = ActionBounds(max_norm=0.5).project(a)
    assert p.shape == a.shape
    assert (p.norm(dim=-1) <= 0.5 + 1e-6).all()
    cos = torch.nn.functional.cosine_similarity(p, a, dim=-1)
    assert torch.allclose(cos, torch.ones_like(cos), atol=1e-5)
    short = 0.1 * torch.nn.functional.normalize(a, dim=-1)
    assert torch.allclose(ActionBounds(max_norm=0.5).project(short), short)


def test_project_box_and_norm_then_box():
    a = torch.tensor([[2.0, -3.0], [0.1, 0.2]])
    box = ActionBounds(low=(-1.0, -0.5), high=(1.0, 0.5))
    assert torch.equal(box.project(a), torch.tensor([[1.0, -0.5], [0.1, 0.2]]))
    both = ActionBounds(max_norm=1.0, low=-0.5, high=0.5).project(a)
    assert (both.abs() <= 0.5).all() and (both.norm(dim=-1) <= 1.0 + 1e-6).all()


@pytest.mark.parametrize("kwargs", [dict(max_norm=-1.0), dict(max_norm=0.0), dict(max_norm=float("inf")),
                                    dict(low=1.0, high=0.0), dict(low=0.0, high=0.0), dict(low=-1.0),
                                    dict(low=(0.0, 0.0), high=(1.0, 1.0, 1.0))])
def test_bad_bounds(kwargs):
    with pytest.raises(ValueError, match="bounds: expected"):
        ActionBounds(**kwargs)


def test_box_length_must_match_action_dim():
    with pytest.raises(ValueError, match="length A=2"):
        CEM(CEMConfig(), ActionBounds(low=(-1.0, -1.0, -1.0), high=(1.0, 1.0, 1.0)), A, H)


def test_shift_plan_drops_first_and_appends_zeros():
    a = torch.arange(10.0).reshape(H, A)
    s = shift_plan(a)
    assert torch.equal(s[:-1], a[1:]) and torch.equal(s[-1], torch.zeros(A))


# ------------------------------------------------------------------------------------- optimisation


def test_cem_finds_quadratic_minimum():
    weight = torch.linspace(1.0, 3.0, H)[:, None]  # [H, 1]
    res = make("cem").plan(quadratic(TARGET, weight), generator=gen(0))
    assert isinstance(res, PlanResult) and res.actions.shape == (H, A) and res.iterations == 10
    assert (res.actions - TARGET).abs().max() < 0.05
    assert res.energy == pytest.approx(float(quadratic(TARGET, weight)(res.actions[None])[0]), rel=1e-5)


def test_mppi_finds_quadratic_minimum():
    # MPPI weights all samples, so it converges more slowly than CEM: 10 iterations instead of the default 6.
    res = make("mppi", iterations=10).plan(quadratic(TARGET), generator=gen(0))
    assert (res.actions - TARGET).abs().max() < 0.1


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_target_outside_bound_gives_boundary_plan(kind):
    far = torch.tensor([3.0, 4.0])  # norm 5, direction (0.6, 0.8)
    res = make(kind, iterations=10).plan(quadratic(far.expand(H, A)), generator=gen(1))
    norms = res.actions.norm(dim=-1)
    assert torch.allclose(norms, torch.ones(H), atol=0.02)
    cos = torch.nn.functional.cosine_similarity(res.actions, far.expand(H, A), dim=-1)
    assert (cos > 0.99).all()


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_seeded_reproducibility(kind):
    a = make(kind).plan(bumpy, generator=gen(3), record=True)
    b = make(kind).plan(bumpy, generator=gen(3), record=True)
    c = make(kind).plan(bumpy, generator=gen(4), record=True)
    assert torch.equal(a.actions, b.actions) and a.energy == b.energy
    assert not torch.equal(a.history[0].samples, c.history[0].samples)


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_one_batched_energy_call_per_iteration(kind):
    shapes = []

    def counting(a):
        shapes.append(tuple(a.shape))
        return bumpy(a)

    planner = make(kind, samples=50, iterations=7)
    planner.plan(counting, generator=gen(0))
    assert shapes == [(50, H, A)] * 7


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_plan_energy_is_monotone(kind):
    res = make(kind, samples=40, iterations=8).plan(bumpy, generator=gen(5), record=True)
    trace = res.energy_trace
    assert len(trace) == 8 and all(b <= a for a, b in zip(trace, trace[1:]))
    assert [h.best_energy for h in res.history] == trace and res.energy == trace[-1]
    assert float(bumpy(res.actions[None])[0]) == pytest.approx(res.energy, rel=1e-5)


def test_warm_start_is_sample_zero_and_projected():
    init = torch.full((H, A), 2.0)  # outside the unit ball -> projected onto it
    res = make("cem", iterations=1).plan(bumpy, init_mean=init, generator=gen(0), record=True)
    assert torch.allclose(res.history[0].samples[0], BALL.project(init))


# ----------------------------------------------------------------------------------- callbacks, errors


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_callback_and_history_fields(kind):
    seen = []
    res = make(kind, samples=30, iterations=4).plan(bumpy, generator=gen(0), callback=seen.append, record=True)
    assert len(seen) == 4 and res.history == seen
    assert make(kind, iterations=2).plan(bumpy, generator=gen(0)).history == []
    for i, info in enumerate(seen):
        assert info.iteration == i
        assert info.samples.shape == (30, H, A) and info.energies.shape == (30,)
        assert info.mean.shape == (H, A) and info.std.shape == (H, A) and (info.std >= 0.05 - 1e-6).all()
        assert info.mean_energy == float(info.energies[0])
        if kind == "cem":
            assert info.weights is None and info.elites.shape == (20,)
            assert info.energies[info.elites].max() <= info.energies.sort().values[19]
        else:
            assert info.elites is None and info.weights.shape == (30,)
            assert float(info.weights.sum()) == pytest.approx(1.0, abs=1e-5)


def test_mppi_weights_favour_low_energy():
    w = mppi_weights(torch.tensor([0.0, 1.0, 2.0, 10.0]), temperature=0.5)
    assert torch.all(w[:-1] > w[1:]) and float(w.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["cem", "mppi"])
def test_bad_energy_outputs(kind):
    planner = make(kind, samples=200)
    with pytest.raises(ValueError, match=r"energy must return shape \[S\]=\[200\]"):
        planner.plan(lambda a: a.sum(dim=-1))
    with pytest.raises(ValueError, match="finite"):
        planner.plan(lambda a: torch.full((a.shape[0],), float("nan")))


def test_bad_configs_and_init_mean():
    with pytest.raises(ValueError, match="elites: expected an int in"):
        CEMConfig(samples=10, elites=20)
    with pytest.raises(ValueError, match="samples: expected"):
        CEMConfig(samples=1, elites=1)
    with pytest.raises(ValueError, match="temperature: expected"):
        MPPIConfig(temperature=0.0)
    with pytest.raises(ValueError, match="momentum: expected"):
        MPPIConfig(momentum=1.0)
    with pytest.raises(ValueError, match=r"init_mean: expected finite \[H, A\]=\[5, 2\]"):
        make("cem").plan(bumpy, init_mean=torch.zeros(H + 1, A))


# --------------------------------------------------------------------------------------------- MPC loop


class PointEnv(gym.Env):
    """1-D point x in [-1, 1] that must reach 0: x <- x + clip(a, -0.3, 0.3); 8x8 RGB image observations."""

    def __init__(self, max_steps: int = 20):
        self.action_space = gym.spaces.Box(-0.3, 0.3, (1,), np.float32)
        self.observation_space = gym.spaces.Box(0, 255, (8, 8, 3), np.uint8)
        self.max_steps, self.x, self.t = max_steps, 0.0, 0

    def _obs(self):
        img = np.zeros((8, 8, 3), np.uint8)
        img[:, int(round((self.x + 1) / 2 * 7))] = 255
        return img

    def _info(self):
        d = abs(self.x)
        return {"state": np.array([self.x]), "distance": d, "success": d < 0.05}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.x = (options or {}).get("start", float(self.np_random.uniform(-1, 1)))
        self.t = 0
        return self._obs(), self._info()

    def step(self, action):
        self.x = float(np.clip(self.x + np.clip(action[0], -0.3, 0.3), -1, 1))
        self.t += 1
        info = self._info()
        return self._obs(), -info["distance"], info["success"], self.t >= self.max_steps, info


class CEMPolicy:
    """Plans with the true dynamics and executes the first action; warm-starts from the shifted plan."""

    def __init__(self):
        self.planner = CEM(CEMConfig(samples=64, elites=8, iterations=4), ActionBounds(max_norm=0.3), 1, 5)
        self.gen, self.prev, self.resets = gen(0), None, 0

    def reset(self):
        self.prev, self.resets = None, self.resets + 1

    def __call__(self, obs, info):
        x0 = float(info["state"][0])

        def energy(a):  # a [S, H, 1] -> [S]: squared distance to 0 along the rollout
            return ((x0 + a.cumsum(dim=1)) ** 2).sum(dim=(1, 2))

        init = None if self.prev is None else shift_plan(self.prev)
        self.prev = self.planner.plan(energy, init_mean=init, generator=self.gen).actions
        return self.prev[0]


def test_mpc_episode_reaches_goal_with_cem():
    policy = CEMPolicy()
    ep = mpc_episode(PointEnv(), policy, seed=0, options={"start": 0.9})
    assert policy.resets == 1 and ep.success and ep.steps <= 6
    T = ep.steps
    assert ep.observations.shape == (T + 1, 8, 8, 3) and ep.observations.dtype == np.uint8
    assert ep.states.shape == (T + 1, 1) and ep.states[0, 0] == 0.9
    assert ep.actions.shape == (T, 1) and ep.rewards.shape == (T,) and ep.policy_ms.shape == (T,)
    assert ep.distances.shape == (T + 1,) and ep.distances[-1] < 0.05
    assert ep.ms_per_step > 0


class PointMPC(RecedingHorizon):
    """The same controller on the package's MPC step: the policies' plan / first action / warm start."""

    def __call__(self, obs, info):
        x0 = float(info["state"][0])
        return self.first_action(lambda a: ((x0 + a.cumsum(dim=1)) ** 2).sum(dim=(1, 2)))  # [S, H, 1] -> [S]


def test_receding_horizon_keeps_every_plan_of_the_episode():
    policy = PointMPC(CEM(CEMConfig(samples=64, elites=8, iterations=4), ActionBounds(max_norm=0.3), 1, 5))
    ep = mpc_episode(PointEnv(), policy, seed=0, options={"start": 0.9})
    assert ep.success and len(policy.plans) == len(policy.plan_energies) == ep.steps
    assert all(p.shape == (5, 1) for p in policy.plans)
    np.testing.assert_allclose(ep.actions[:, 0], [float(p[0, 0]) for p in policy.plans])  # first actions executed
    assert policy.plan_energies[-1] < policy.plan_energies[0]  # nearer the goal, a cheaper plan
    policy.last_result.actions.add_(1.0)  # the kept plans are copies
    assert float(policy.plans[-1][0, 0]) == pytest.approx(float(ep.actions[-1, 0]))
    policy.reset()
    assert policy.plans == [] and policy.plan_energies == [] and policy.last_result is None


def test_random_policy_respects_bounds():
    bounds = ActionBounds(max_norm=0.3)
    pol = random_policy(bounds, action_dim=2, generator=gen(0))
    acts = np.stack([pol(None, {}) for _ in range(2000)])
    norms = np.linalg.norm(acts, axis=-1)
    assert acts.shape == (2000, 2) and norms.max() <= 0.3 + 1e-6
    assert abs(norms.mean() - 0.2) < 0.01  # uniform in the disk: E|a| = 2/3 * max_norm
    box_pol = random_policy(gym.spaces.Box(-0.3, 0.3, (1,), np.float32), generator=gen(1))
    ep = mpc_episode(PointEnv(max_steps=7), box_pol, seed=1, options={"start": -0.99}, max_steps=5)
    assert ep.steps == 5 and np.abs(ep.actions).max() <= 0.3 and ep.observations.shape == (6, 8, 8, 3)
    with pytest.raises(ValueError, match="action_dim"):
        random_policy(bounds)
