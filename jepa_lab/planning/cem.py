"""Cross-Entropy Method (CEM) planner: refit a diagonal Gaussian over action sequences to the top-k samples.

Each iteration draws S action sequences a ~ N(mean, std^2) [S, H, A], projects them into the action bounds,
evaluates them in one batched energy call, keeps the ``elites`` lowest-energy sequences and moves the
Gaussian towards them:

    mean <- momentum * mean + (1 - momentum) * elite_mean
    std  <- max(momentum * std + (1 - momentum) * elite_std, min_std)

Sample 0 is the current mean and sample 1 the best sequence seen so far (see ``jepa_lab.planning.base``), so a good
sequence stays among the elites and the plan's energy never increases. With a world model, the energy is
e.g. ||predict(z_0, a) - z_goal|| on the final predicted embedding (V-JEPA 2-AC plans this way).

Shape glossary: S samples, k elites, H horizon, A action dimension.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..config import is_int
from .base import Planner, check_common


@dataclass(frozen=True)
class CEMConfig:
    """CEM settings.

    samples: S candidate sequences per iteration (one energy call each iteration).
    elites: k best samples the Gaussian is refitted to (1 <= k <= S).
    iterations: refits (= energy calls) per plan.
    momentum: weight of the old mean / std in the update, in [0, 1).
    init_std, min_std: initial and smallest sampling std, in units of the action bound (max_norm if set,
        else half the box width, else 1).
    """

    samples: int = 200
    elites: int = 20
    iterations: int = 10
    momentum: float = 0.15
    init_std: float = 1.0
    min_std: float = 0.05

    def __post_init__(self) -> None:
        check_common("CEMConfig", self)
        k = self.elites
        if not is_int(k, 1, self.samples):
            raise ValueError(f"CEMConfig.elites: expected an int in [1, samples={self.samples}], received {k!r}")


class CEM(Planner):
    """CEM planner: ``CEM(CEMConfig(), ActionBounds(max_norm=0.05), action_dim=3, horizon=5).plan(energy)``.

    energy: callable actions [S, H, A] -> energies [S]; see ``Planner.plan`` for warm starts and callbacks.
    """

    config_type = CEMConfig

    def _update(self, samples: torch.Tensor, energies: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
        """samples [S, H, A], energies [S], mean, std [H, A] -> (mean [H, A], std [H, A], elites long [k], None)."""
        elite_mean, elite_std, elites = elite_moments(samples, energies, self.config.elites)
        m = self.config.momentum
        new_mean = self.bounds.project(m * mean + (1 - m) * elite_mean)
        new_std = torch.maximum(m * std + (1 - m) * elite_std, self.min_std)
        return new_mean, new_std, elites, None


def elite_moments(samples: torch.Tensor, energies: torch.Tensor, k: int):
    """CEM's refit: samples [S, H, A], energies [S] -> (mean [H, A], std [H, A], elites Long [k]) of the k
    lowest-energy samples (population std: 0 when k == 1; elites best first)."""
    elites = torch.topk(energies, k, largest=False).indices  # [k], best first
    chosen = samples[elites]  # [k, H, A]
    return chosen.mean(dim=0), chosen.std(dim=0, unbiased=False), elites
