"""A latent world model for planning: a frozen V-JEPA video encoder plus an action-conditioned predictor.

``encode`` turns observations into layer-normed patch latents, ``rollout`` imagines the latents an action
sequence leads to, and ``goal_energy`` builds the planner's energy: the mean L1 distance between the imagined
final latents and the goal image's latents (V-JEPA 2-AC's planning objective), or the smallest such distance
along the imagined path (``reduce="min"``). A planned action may stand for several simulator steps
(``repeat``): the plan then looks further ahead for the same number of planned actions. ``MPCPolicy`` closes
the loop: plan, take the first action, observe, re-plan (warm-started from the previous plan).

Shapes: B batch, S samples, H horizon, N patch tokens, D encoder width, A action dim.
"""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .ac_predictor import ACPredictor
from ..planning.base import RecedingHorizon
from .ijepa import IMAGENET_MEAN, IMAGENET_STD
from .video_vit import VideoViT


def observations_to_tensor(obs, img_size: int) -> torch.Tensor:
    """RGB observations (uint8 [B, H, W, 3] or [H, W, 3] arrays/tensors) -> float [B, 3, img, img] in [0, 1],
    resized with area averaging when the sizes differ."""
    x = torch.as_tensor(np.asarray(obs))
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected RGB observations [B, H, W, 3] or [H, W, 3], got {tuple(x.shape)}")
    scale = 255.0 if x.dtype == torch.uint8 else 1.0  # uint8 images, or floats already in [0, 1]
    x = x.permute(0, 3, 1, 2).float() / scale  # [B, H, W, 3] -> [B, 3, H, W]
    if x.shape[-1] != img_size or x.shape[-2] != img_size:
        x = F.interpolate(x, size=(img_size, img_size), mode="area")
    return x


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
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

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
        x = (observations_to_tensor(obs, self.img_size) - self.pixel_mean) / self.pixel_std
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
        if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
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


REDUCTIONS = ("final", "min")


def check_energy_options(repeat, reduce) -> None:
    """Clear errors for the energy's options (``repeat`` an int >= 1, ``reduce`` one of REDUCTIONS)."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(f"repeat: expected an int >= 1 (simulator steps per planned action), received {repeat!r}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"reduce: expected one of {REDUCTIONS}, received {reduce!r}")


def goal_l1_energy(rollout, start: torch.Tensor, state0, goal: torch.Tensor, repeat: int = 1,
                   reduce: str = "final"):
    """The planning energy of a world model's ``rollout(start [S, ...], actions [S, T, A], state0 [S, A])``:
    planned actions [S, H, A] -> energies [S], the mean L1 between imagined steps and ``goal`` [1, ...].
    ``start`` [1, ...] is what the model rolls out from (latents, or a frame for the pixel model).
    ``repeat``: each planned action is held for that many simulator steps (T = H * repeat imagined steps).
    ``reduce``: "final" scores the last imagined step (V-JEPA 2-AC); "min" the closest step to the goal along
    the way (a plan that reaches the goal and drifts off scores as well as one that stops there)."""
    check_energy_options(repeat, reduce)
    s0 = torch.as_tensor(np.asarray(state0), dtype=torch.float32).reshape(1, -1)  # [1, S]

    @torch.no_grad()
    def energy(actions: torch.Tensor) -> torch.Tensor:
        n = actions.shape[0]
        held = actions.repeat_interleave(repeat, dim=1)  # [S, H, A] -> [S, H * repeat, A]
        imagined = rollout(start.expand(n, *start.shape[1:]), held, s0.expand(n, -1))  # [S, T, ...]
        return reduce_steps((imagined - goal[:, None]).abs().flatten(2).mean(dim=2), reduce)  # [S, T] -> [S]

    return energy


def reduce_steps(per_step: torch.Tensor, reduce: str) -> torch.Tensor:
    """Distances to the goal at every imagined step [S, T] -> one energy per sample [S]: the last step
    (``"final"``) or the closest one (``"min"``)."""
    return per_step[:, -1] if reduce == "final" else per_step.min(dim=1).values


def _single(z: torch.Tensor, name: str) -> torch.Tensor:
    """Accept [N, D] or [1, N, D] latents -> [1, N, D]."""
    if z.ndim == 2:
        z = z[None]
    if z.ndim != 3 or z.shape[0] != 1:
        raise ValueError(f"{name}: expected the latents of one image [N, D] or [1, N, D], got {tuple(z.shape)}")
    return z


class MPCPolicy(RecedingHorizon):
    """Model-predictive control with a world model (anything with ``encode`` and ``goal_energy``: the latent
    model here or the pixel baseline): ``policy(obs, info) -> action`` plans with ``planner`` toward the goal
    image set by ``set_goal`` and returns the first action of the plan (numpy [A]); the next call re-plans,
    warm-started from the rest of this plan. ``plan_ms`` keeps the milliseconds of each planning call.
    ``repeat`` and ``reduce`` shape the energy (``goal_l1_energy``): with ``repeat=2`` each planned action is
    imagined for two simulator steps, but only one step of it is taken before re-planning."""

    def __init__(self, model: LatentWorldModel, planner, seed: int = 0, repeat: int = 1, reduce: str = "final"):
        check_energy_options(repeat, reduce)
        self.model, self.z_goal, self.repeat, self.reduce = model, None, repeat, reduce
        super().__init__(planner, seed)

    def reset(self) -> None:
        super().reset()
        self.plan_ms = []

    def set_goal(self, goal_image) -> None:
        """Goal image: uint8 RGB [H, W, 3] of the same size as the observations (checked at the first plan)."""
        goal = np.asarray(goal_image)
        if goal.ndim != 3 or goal.shape[-1] != 3:
            raise ValueError(f"goal image: expected one RGB image [H, W, 3], got shape {goal.shape}")
        self.goal_shape, self.z_goal = goal.shape, self.model.encode(goal)

    def __call__(self, obs, info) -> np.ndarray:
        if self.z_goal is None:
            raise RuntimeError("no goal: call policy.set_goal(goal_image) before planning")
        if np.shape(obs) != self.goal_shape:
            raise ValueError(f"goal image of shape {self.goal_shape} does not match the observations "
                             f"{np.shape(obs)}: render the goal with the same environment (env.goal_image())")
        start = time.perf_counter()
        energy = self.model.goal_energy(self.model.encode(obs), info["state"], self.z_goal, self.repeat, self.reduce)
        action = self.first_action(energy)
        self.plan_ms.append(1000 * (time.perf_counter() - start))
        return action
