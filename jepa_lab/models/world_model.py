"""A latent world model for planning: a frozen V-JEPA video encoder plus an action-conditioned predictor.

``encode`` turns observations into layer-normed patch latents, ``rollout`` imagines the latents an action
sequence leads to, and ``goal_energy`` builds the planner's energy (planning/energy.py): the mean L1 distance
between the imagined final latents and the goal image's latents (V-JEPA 2-AC's planning objective), or the
smallest such distance along the imagined path (``reduce="min"``). ``planning.mpc.MPCPolicy`` closes the loop.
``ACTrainConfig`` is what a trained world model is made of: its predictor (or pixel model) settings and the
phase-2 data and optimisation settings that ``train.ac`` uses and its checkpoint keeps.

Shapes: B batch, S samples, H horizon, N patch tokens, D encoder width, A action dim.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .. import progress_bar
from ..config import DictRoundTrip, is_int
from ..envs.trajectories import Trajectories
from ..planning.energy import goal_l1_energy
from .ac_predictor import ACPredictor, ACPredictorConfig
from .normalize import ImageNetNormalize, observations_to_tensor
from .pixel_world_model import PixelModelConfig
from .video_vit import VideoViT


class LatentWorldModel(nn.Module):
    """Frozen encoder + AC predictor. Verbs: ``encode``, ``predict``, ``rollout``, ``goal_energy``.

    ``context_steps``: the longest rollout the predictor was trained on (its training windows' steps; default:
    its whole time table); planning energies imagine longer horizons in chunks of that many steps."""

    def __init__(self, encoder: VideoViT, predictor: ACPredictor, context_steps: int | None = None):
        super().__init__()
        self.encoder = encoder.requires_grad_(False).eval()
        self.predictor = predictor
        limit = predictor.cfg.max_steps
        self.context_steps = limit if context_steps is None else int(context_steps)
        if not 1 <= self.context_steps <= limit:
            raise ValueError(f"context_steps: expected 1..{limit} (the predictor's max_steps), "
                             f"received {context_steps!r}")
        self.pixel_norm = ImageNetNormalize()

    @property
    def img_size(self) -> int:
        return self.encoder.cfg.img_size

    def train(self, mode: bool = True):
        super().train(mode)
        self.encoder.eval()  # frozen: always in eval mode
        return self

    @torch.no_grad()
    def encode(self, obs) -> torch.Tensor:
        """Observations (uint8 RGB [B, H, W, 3] or one [H, W, 3]) -> layer-normed latents [B, N, D]."""
        x = self.pixel_norm(observations_to_tensor(obs, self.img_size))
        h = self.encoder.encode_frames(x)  # [B, N, D]
        return F.layer_norm(h, h.shape[-1:])

    def predict(self, z: torch.Tensor, actions: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: z [B, T, N, D], actions [B, T, A], states [B, T, S] -> next latents [B, T, N, D]."""
        return self.predictor(z, actions, states)

    def rollout(self, z0: torch.Tensor, actions: torch.Tensor, state0: torch.Tensor,
                chunk: int | None = None) -> torch.Tensor:
        """Imagined latents of frames 1..H: z0 [B, N, D], actions [B, H, A], state0 [B, S] -> [B, H, N, D].
        ``chunk``: imagine in pieces of at most that many steps, each restarting the predictor's context from
        the last imagined latents and the commanded state (the frame holds the scene, the action the move);
        None: one pass, at most the predictor's max_steps."""
        if chunk is None or actions.shape[1] <= chunk:
            return self.predictor.rollout(z0, actions, state0)
        if not is_int(chunk, 1):
            raise ValueError(f"chunk: expected an int >= 1 or None, received {chunk!r}")
        z, state, out = z0, state0, []
        for piece in actions.split(chunk, dim=1):  # [B, <= chunk, A] each
            out.append(self.predictor.rollout(z, piece, state))  # [B, h, N, D]
            z, state = out[-1][:, -1], state + piece.sum(dim=1)
        return torch.cat(out, dim=1)

    def goal_energy(self, z0: torch.Tensor, state0, z_goal: torch.Tensor, repeat: int = 1,
                    reduce: str = "final"):
        """The planner's energy for one observation: actions [S, H, A] -> L1 between imagined latents and the
        goal latents [S] (all S samples in one batched rollout); ``repeat`` and ``reduce`` as in
        ``goal_l1_energy``. Rollouts longer than ``context_steps`` are imagined in chunks."""
        z0, z_goal = _single(z0, "z0"), _single(z_goal, "z_goal")
        if z0.shape != z_goal.shape:
            raise ValueError(f"goal latents {tuple(z_goal.shape)} do not match the observation's {tuple(z0.shape)}: "
                             f"is the goal image {self.img_size} px RGB like the observations?")

        def rollout(z, actions, state):
            return self.rollout(z, actions, state, chunk=self.context_steps)

        return goal_l1_energy(rollout, z0, state0, z_goal, repeat, reduce)


def _single(z: torch.Tensor, name: str) -> torch.Tensor:
    """Accept [N, D] or [1, N, D] latents -> [1, N, D]."""
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.shape[0] != 1:
        raise ValueError(f"{name}: expected the latents of one image [N, D] or [1, N, D], got {tuple(z.shape)}")
    return z



@torch.no_grad()
def encode_episodes(model: LatentWorldModel, traj: Trajectories, batch: int = 256, progress: bool = True):
    """Every frame of ``traj`` (an ``envs.trajectories.Trajectories``, frames uint8 [E, T + 1, P, P, 3]) through the
    frozen encoder once: -> layer-normed latents [E, T + 1, N, D]."""
    flat = traj.frames.reshape(-1, *traj.frames.shape[2:])  # [E * (T + 1), P, P, 3]
    chunks = range(0, len(flat), batch)
    z = [model.encode(flat[i:i + batch]) for i in progress_bar(chunks, desc="encoding frames", enabled=progress,
                                                              leave=False)]
    return torch.cat(z).reshape(*traj.frames.shape[:2], *z[0].shape[1:])


@dataclass(frozen=True)
class ACTrainConfig(DictRoundTrip):
    """Phase-2 settings: data size, windows, optimisation. Presets: ``ACTrainConfig.preset(name)``."""

    env: str = "two_rooms"
    episodes: int = 1000
    episode_steps: int = 16
    window: int = 8  # frames per sample: 7 actions, as V-JEPA 2-AC's 8-frame clips
    steps: int = 4000
    batch_size: int = 64
    lr: float = 2e-3
    warmup_steps: int = 100
    weight_decay: float = 0.01
    rollout_steps: int = 4
    integrate_states: bool = False  # True: teacher forcing on commanded states (ac_predictor.ac_loss)
    data_seed: int = 1
    seed: int = 0
    predictor: ACPredictorConfig = ACPredictorConfig()
    pixel: PixelModelConfig = PixelModelConfig()

    def __post_init__(self):
        if not is_int(self.rollout_steps, 0):  # more than window - 1 is fine: the rollout stops there
            raise ValueError(f"rollout_steps: expected an int >= 0, got {self.rollout_steps!r}")
        if not 2 <= self.window <= self.episode_steps + 1:
            raise ValueError(f"window: expected 2..episode_steps + 1 = {self.episode_steps + 1}, got {self.window}")
        if self.window - 1 > self.predictor.max_steps:
            raise ValueError(f"window - 1 = {self.window - 1} steps exceed predictor.max_steps")

    @staticmethod
    def preset(name: str) -> "ACTrainConfig":
        # the arm: end-effector moves and positions in 5-cm units; fewer episodes, play data is slow to render
        arm = dict(predictor=ACPredictorConfig(action_dim=3, state_dim=3),
                   pixel=PixelModelConfig(action_dim=3, state_dim=3), episodes=600)
        presets = {"two_rooms": ACTrainConfig(), "push": ACTrainConfig(env="push"),
                   "panda_reach": ACTrainConfig(env="panda_reach", **arm),
                   "panda_push": ACTrainConfig(env="panda_push", **arm),
                   "panda_pick_and_place": ACTrainConfig(  # + the gripper's opening: 4-D moves and states
                       env="panda_pick_and_place", **{**arm, "predictor": ACPredictorConfig(action_dim=4, state_dim=4),
                                                      "pixel": PixelModelConfig(action_dim=4, state_dim=4)})}
        if name not in presets:
            raise ValueError(f"unknown AC preset {name!r}; expected one of {sorted(presets)}")
        return presets[name]
