"""Planning a robot arm's next move with the full-size V-JEPA 2-AC model: the same CEM as in the toy envs.

V-JEPA 2-AC plans in latent space toward a goal image: encode the current frame and the goal (ViT-g, each frame
alone), then let CEM search end-effector moves. Following the official planner, CEM searches 4 numbers per step,
(dx, dy, dz, dgripper), with the rotation delta fixed at 0, position deltas clipped to +-0.05 m and the gripper
delta to +-0.75; each candidate is rolled out ``rollout`` steps by the predictor (poses integrated from the
actions, pose.py) and scored by the mean L1 between the final predicted latent and the goal latent. The plan's
first action is executed and everything is re-planned at the next frame (MPC).

Speed: all S candidates go through the predictor in ONE batched call per rollout step, past steps' keys and
values are cached (vjepa2_ac.py), and on a GPU the predictor runs under bf16 autocast with PyTorch's fused
attention. The official settings (rollout 2, 400 samples, top 10, 10 iterations) cost about
10 x 400 x 2 x 258 tokens through a 305M-parameter predictor per action.

Shapes: S samples, H rollout steps, N patch tokens per frame, D encoder width.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ..planning.base import ActionBounds, PlanResult
from ..planning.cem import CEM, CEMConfig
from .pose import planar_action
from .vjepa2_ac import VJEPA2ACPredictor


@dataclass(frozen=True)
class RobotPlanSettings:
    """CEM settings of the official V-JEPA 2-AC planner (notebooks/utils/world_model_wrapper.py)."""

    rollout: int = 2
    samples: int = 400
    elites: int = 10
    iterations: int = 10
    momentum: float = 0.15
    max_delta: float = 0.05  # metres per step, per axis
    max_gripper: float = 0.75

    def planner(self, device="cpu") -> CEM:
        bounds = ActionBounds(low=(-self.max_delta,) * 3 + (-self.max_gripper,),
                              high=(self.max_delta,) * 3 + (self.max_gripper,))
        cfg = CEMConfig(samples=self.samples, elites=self.elites, iterations=self.iterations,
                        momentum=self.momentum, min_std=1e-3)
        return CEM(cfg, bounds, action_dim=4, horizon=self.rollout, device=device)


def autocast_for(device: torch.device | str):
    """bf16 autocast on a GPU; nothing on a CPU (bf16 matmuls are ~8x slower than fp32 on CPUs without
    bf16 instructions)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def latent_energy(predictor: VJEPA2ACPredictor, z0: torch.Tensor, pose0: torch.Tensor, z_goal: torch.Tensor):
    """The energy CEM minimises: actions [S, H, 4] -> mean |rollout(z0, a)[-1] - z_goal| [S].
    z0, z_goal: layer-normed latents [N, D] of the current and goal frames; pose0 [7] the current pose."""
    n, d = predictor.cfg.num_patches, predictor.cfg.encoder_dim
    for name, z in (("z0", z0), ("z_goal", z_goal)):
        if not isinstance(z, torch.Tensor) or tuple(z.shape) != (n, d):
            got = tuple(z.shape) if isinstance(z, torch.Tensor) else type(z).__name__
            raise ValueError(f"{name}: expected one frame's latents [{n}, {d}], got {got}")
    if not isinstance(pose0, torch.Tensor) or tuple(pose0.shape) != (7,):
        raise ValueError(f"pose0: expected the end-effector pose [7], got {getattr(pose0, 'shape', pose0)!r}")
    device = z0.device

    def energy(actions: torch.Tensor) -> torch.Tensor:
        s = actions.shape[0]
        full = planar_action(actions.to(device, torch.float32))  # [S, H, 7]
        with autocast_for(device):
            pred = predictor.rollout(z0.expand(s, n, d), full, pose0.expand(s, 7))  # [S, H, N, D]
        return (pred[:, -1].float() - z_goal).abs().mean(dim=(1, 2))  # [S]

    return energy


def plan_robot_action(predictor: VJEPA2ACPredictor, z0: torch.Tensor, pose0: torch.Tensor, z_goal: torch.Tensor,
                      settings: RobotPlanSettings = RobotPlanSettings(), seed: int = 0,
                      record: bool = False) -> tuple[torch.Tensor, PlanResult]:
    """One MPC step: plan ``settings.rollout`` moves toward the goal, return (the first 7-D action [7], the
    plan). The planner's samples live on the CPU; the energy runs where z0 is."""
    planner = settings.planner()
    result = planner.plan(latent_energy(predictor, z0, pose0, z_goal),
                          generator=torch.Generator().manual_seed(seed), record=record)
    return planar_action(result.actions[0]), result
