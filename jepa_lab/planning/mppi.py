"""Model Predictive Path Integral (MPPI) planner: refit the Gaussian to ALL samples, softmax-weighted by energy.

Where CEM keeps the top-k samples with equal weight, MPPI weights every sample by exp(-energy / lambda):

    w = softmax(-(E - min E) / (temperature * (std(E) + 1e-8)))       [S], sums to 1
    mean <- momentum * mean + (1 - momentum) * sum_s w_s a_s
    std  <- max(momentum * std + (1 - momentum) * sqrt(sum_s w_s (a_s - mean_new)^2), min_std)

The temperature is relative to the spread of the energies, so one setting works whatever the energy's scale:
small -> nearly the single best sample (greedy), large -> nearly the plain average (no selection).
As in CEM, sample 0 is the current mean and sample 1 the best sequence seen so far (``jepa_lab.planning.base``).

Shape glossary: S samples, H horizon, A action dimension.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .base import Planner, check_common


@dataclass(frozen=True)
class MPPIConfig:
    """MPPI settings.

    samples: S candidate sequences per iteration (one energy call each iteration).
    iterations: refits (= energy calls) per plan.
    temperature: softmax temperature in units of the energies' standard deviation (> 0).
    momentum: weight of the old mean / std in the update, in [0, 1).
    init_std, min_std: initial and smallest sampling std, in units of the action bound (max_norm if set,
        else half the box width, else 1).
    """

    samples: int = 200
    iterations: int = 6
    temperature: float = 0.5
    momentum: float = 0.0
    init_std: float = 1.0
    min_std: float = 0.05

    def __post_init__(self) -> None:
        check_common("MPPIConfig", self)
        t = self.temperature
        if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0):
            raise ValueError(f"MPPIConfig.temperature: expected a finite float > 0, received {t!r}")


def mppi_weights(energies: torch.Tensor, temperature: float) -> torch.Tensor:
    """energies [S] -> softmax weights [S] (sum 1), sharper for smaller temperature (relative to std(E))."""
    spread = energies.std(unbiased=False) + 1e-8
    return torch.softmax(-(energies - energies.min()) / (temperature * spread), dim=0)


class MPPI(Planner):
    """MPPI planner: ``MPPI(MPPIConfig(), ActionBounds(max_norm=0.05), action_dim=3, horizon=5).plan(energy)``.

    energy: callable actions [S, H, A] -> energies [S]; see ``Planner.plan`` for warm starts and callbacks.
    """

    config_type = MPPIConfig

    def _update(self, samples: torch.Tensor, energies: torch.Tensor, mean: torch.Tensor, std: torch.Tensor):
        """samples [S, H, A], energies [S], mean, std [H, A] -> (mean [H, A], std [H, A], None, weights [S])."""
        w = mppi_weights(energies, self.config.temperature)  # [S]
        wb = w[:, None, None]  # [S, 1, 1]
        fit_mean = (wb * samples).sum(dim=0)  # [H, A]
        fit_std = (wb * (samples - fit_mean) ** 2).sum(dim=0).sqrt()
        m = self.config.momentum
        new_mean = self.bounds.project(m * mean + (1 - m) * fit_mean)
        new_std = torch.maximum(m * std + (1 - m) * fit_std, self.min_std)
        return new_mean, new_std, None, w
