"""The planning energy: how far the world model's imagined future is from the goal (lower is better).

V-JEPA 2-AC plans by minimising the mean L1 distance between the latents its predictor imagines for an action
sequence and the latents of the goal image. ``goal_l1_energy`` turns any world model's ``rollout`` into that
energy, a function of a batch of candidate action sequences [S, H, A] -> [S], which the planners
(``CEM``, ``MPPI``) evaluate in one batched call. Options: a planned action may stand for several simulator
steps (``repeat``), and the energy may score the last imagined step (``"final"``, the paper's choice) or the
closest one to the goal along the way (``"min"``).

Shapes: S samples, H planned steps, T = H * repeat imagined steps, A action dim.
"""

from __future__ import annotations

import numpy as np
import torch

from ..config import is_int

REDUCTIONS = ("final", "min")


def check_energy_options(repeat, reduce, names: tuple[str, str] = ("repeat", "reduce")) -> None:
    """Clear errors for the energy's options (``repeat`` an int >= 1, ``reduce`` one of REDUCTIONS); ``names``:
    what the caller calls them (e.g. PlanSettings' fields)."""
    if not is_int(repeat, 1):
        raise ValueError(f"{names[0]}: expected an int >= 1 (simulator steps per planned action), "
                         f"received {repeat!r}")
    if reduce not in REDUCTIONS:
        raise ValueError(f"{names[1]}: expected one of {REDUCTIONS}, received {reduce!r}")


def check_finite(x, name: str) -> torch.Tensor:
    """``x`` (a tensor or array) as a tensor, refused if an entry is NaN / inf: a NaN goal, start or state
    would make every energy NaN."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float64))
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise ValueError(f"{name}: expected finite values, received {bad} NaN/inf of {t.numel()} "
                         f"(shape {tuple(t.shape)})")
    return t


def goal_l1_energy(rollout, start: torch.Tensor, state0, goal: torch.Tensor, repeat: int = 1,
                   reduce: str = "final"):
    """The planning energy of a world model's ``rollout(start [S, ...], actions [S, T, A], state0 [S, A])``:
    planned actions [S, H, A] -> energies [S], the mean L1 between imagined steps and ``goal`` [1, ...].
    ``start`` [1, ...] is what the model rolls out from (latents, or a frame for the pixel model).
    ``repeat``: each planned action is held for that many simulator steps (T = H * repeat imagined steps).
    ``reduce``: "final" scores the last imagined step (V-JEPA 2-AC); "min" the closest step to the goal along
    the way (a plan that reaches the goal and drifts off scores as well as one that stops there)."""
    check_energy_options(repeat, reduce)
    for name, x in (("start", start), ("goal", goal)):
        check_finite(x, name)
    s0 = check_finite(state0, "state0").to(torch.float32).reshape(1, -1)  # [1, S]

    @torch.no_grad()
    def energy(actions: torch.Tensor) -> torch.Tensor:
        n = actions.shape[0]
        held = actions.repeat_interleave(repeat, dim=1)  # [S, H, A] -> [S, H * repeat, A]
        imagined = rollout(start.expand(n, *start.shape[1:]), held, s0.expand(n, -1))  # [S, T, ...]
        return reduce_steps(l1_to_goal(imagined, goal), reduce)  # [S, T] -> [S]

    return energy


def l1_to_goal(imagined: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
    """Mean L1 distance of every imagined step to the goal: imagined [S, T, ...], goal [1, ...] -> [S, T]."""
    return (imagined - goal[:, None]).abs().flatten(2).mean(dim=2)  # [S, T, ...] -> [S, T, rest] -> [S, T]


def reduce_steps(per_step: torch.Tensor, reduce: str) -> torch.Tensor:
    """Distances to the goal at every imagined step [S, T] -> one energy per sample [S]: the last step
    (``"final"``) or the closest one (``"min"``)."""
    return per_step[:, -1] if reduce == "final" else per_step.min(dim=1).values
