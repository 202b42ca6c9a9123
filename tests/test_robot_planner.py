"""Planning with the V-JEPA 2-AC predictor: batched energy == one-by-one, the official action convention
(rotation fixed, deltas bounded), the plan no worse than standing still, clear errors on bad inputs."""

import pytest
import torch
import torch.nn.functional as F

from jepa_lab.fullscale.robot_planner import RobotPlanSettings, latent_energy, plan_robot_action
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor

CFG = VJEPA2ACConfig.preset("tiny")
SMALL = RobotPlanSettings(samples=24, elites=4, iterations=3)


@pytest.fixture(scope="module")
def world():
    torch.manual_seed(0)
    model = VJEPA2ACPredictor(CFG).eval()
    g = torch.Generator().manual_seed(1)
    z0, goal = (F.layer_norm(torch.randn(CFG.num_patches, CFG.encoder_dim, generator=g), (CFG.encoder_dim,))
                for _ in range(2))
    return model, z0, torch.tensor([0.4, 0.0, 0.3, 0.1, 0.0, 0.2, 0.5]), goal


def test_batched_energy_equals_one_sample_at_a_time(world):
    energy = latent_energy(*world)
    actions = 0.05 * torch.randn(5, 2, 4, generator=torch.Generator().manual_seed(2))
    batched = energy(actions)
    single = torch.cat([energy(a[None]) for a in actions])
    assert batched.shape == (5,)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-5)
    assert batched.std() > 0  # the actions matter


def test_plan_respects_the_official_action_convention(world):
    action, result = plan_robot_action(*world, settings=SMALL, record=True)
    assert action.shape == (7,) and (action[3:6] == 0).all()
    assert action[:3].abs().max() <= 0.05 + 1e-6 and action[6].abs() <= 0.75 + 1e-6
    assert result.actions.shape == (2, 4) and len(result.history) == 3
    assert all(h.samples.shape == (24, 2, 4) for h in result.history)
    standing_still = latent_energy(*world)(torch.zeros(1, 2, 4))
    assert result.energy <= float(standing_still) + 1e-6  # sample 0 of iteration 0 is the zero move
    assert result.energy_trace == sorted(result.energy_trace, reverse=True)


def test_same_seed_same_plan(world):
    a, _ = plan_robot_action(*world, settings=SMALL, seed=3)
    b, _ = plan_robot_action(*world, settings=SMALL, seed=3)
    torch.testing.assert_close(a, b)


def test_official_defaults():
    s = RobotPlanSettings()
    assert (s.rollout, s.samples, s.elites, s.iterations, s.momentum, s.max_delta) == (2, 400, 10, 10, 0.15, 0.05)


@pytest.mark.parametrize("which, bad, match", [
    (1, torch.zeros(16, 32), r"z0: expected one frame's latents \[16, 48\]"),
    (3, torch.zeros(2, 16, 48), r"z_goal: expected one frame's latents \[16, 48\]"),
    (2, torch.zeros(6), r"pose0: expected the end-effector pose \[7\]"),
])
def test_bad_inputs(world, which, bad, match):
    args = list(world)
    args[which] = bad
    with pytest.raises(ValueError, match=match):
        latent_energy(*args)
