"""Sampling-based planning: action bounds, the planner interface and a model-predictive-control (MPC) loop.

A planner searches an action sequence a [H, A] that minimises an injected ``energy``: a callable mapping a
batch of candidate sequences [S, H, A] to energies [S] (lower is better), e.g. the distance between the
world model's predicted final embedding and the goal embedding. The planner never differentiates the energy;
it samples S candidates per iteration around a Gaussian (mean, std) [H, A], evaluates ALL of them in ONE
energy call (one batched forward of the world model) and refits the Gaussian (``CEM``: top-k elites,
``MPPI``: softmax weights). Every iteration re-evaluates the current mean (sample 0) and the best sequence
seen so far (sample 1, from iteration 1 on), so the returned plan - the best evaluated sequence, usually the
converged mean - never gets worse from one iteration to the next and its energy needs no extra forward.

MPC executes only the first action of each plan, observes, and replans (mpc.py).

Shape glossary: S samples per iteration, H horizon (planned steps), A action dimension, T episode steps.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Callable

import numpy as np
import torch

from ..config import is_int

Energy = Callable[[torch.Tensor], torch.Tensor]  # actions [S, H, A] -> energies [S]


def _as_box_tensor(v, A: int, name: str, device, dtype) -> torch.Tensor:
    """A float or a length-A sequence -> tensor [A]."""
    t = torch.as_tensor(v, device=device, dtype=dtype).reshape(-1)
    if t.numel() == 1:
        return t.expand(A)
    if t.numel() != A:
        raise ValueError(f"bounds: expected {name} as a float or a sequence of length A={A}, received {v!r}")
    return t


@dataclass(frozen=True)
class ActionBounds:
    """Feasible actions, applied per step: a Euclidean norm ball and/or an axis-aligned box.

    max_norm: largest Euclidean norm of one action [A] (e.g. an end-effector displacement), or None.
    low, high: box bounds, floats or sequences of length A (both or neither), or None.
    ``project`` scales to the ball first and clips to the box second, so a box that excludes 0 wins.
    """

    max_norm: float | None = None
    low: float | tuple[float, ...] | None = None
    high: float | tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        m = self.max_norm
        if m is not None and not (isinstance(m, (int, float)) and math.isfinite(m) and m > 0):
            raise ValueError(f"bounds: expected max_norm a finite float > 0 or None, received {m!r}")
        if (self.low is None) != (self.high is None):
            raise ValueError(f"bounds: expected both low and high or neither, received low={self.low!r}, "
                             f"high={self.high!r}")
        if self.low is not None:
            lo, hi = np.asarray(self.low, dtype=float), np.asarray(self.high, dtype=float)
            ok = lo.ndim <= 1 and hi.ndim <= 1 and (lo.size == hi.size or lo.size == 1 or hi.size == 1)
            if not ok or not (np.isfinite(lo).all() and np.isfinite(hi).all() and (lo < hi).all()):
                raise ValueError(f"bounds: expected finite low < high (floats or length-A sequences), "
                                 f"received low={self.low!r}, high={self.high!r}")

    def box(self, A: int, device=None, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(low [A], high [A]) tensors, or None without a box; ValueError if a sequence's length is not A."""
        if self.low is None:
            return None
        return (_as_box_tensor(self.low, A, "low", device, dtype),
                _as_box_tensor(self.high, A, "high", device, dtype))

    def project(self, actions: torch.Tensor) -> torch.Tensor:
        """actions [..., A] -> the same shape inside the bounds (longer vectors scaled to max_norm, then clipped)."""
        if self.max_norm is not None:
            norm = actions.norm(dim=-1, keepdim=True)
            actions = actions * (self.max_norm / norm.clamp_min(1e-12)).clamp(max=1.0)
        box = self.box(actions.shape[-1], actions.device, actions.dtype)
        if box is not None:
            actions = torch.maximum(torch.minimum(actions, box[1]), box[0])
        return actions

    def scale(self, A: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """[A] unit of the sampling stds: max_norm if set, else half the box width, else 1."""
        if self.max_norm is not None:
            return torch.full((A,), float(self.max_norm), device=device, dtype=dtype)
        box = self.box(A, device, dtype)
        return torch.ones(A, device=device, dtype=dtype) if box is None else (box[1] - box[0]) / 2

    def center(self, A: int, device=None, dtype=torch.float32) -> torch.Tensor:
        """[A] default action: the box midpoint (zeros without a box), projected."""
        box = self.box(A, device, dtype)
        c = torch.zeros(A, device=device, dtype=dtype) if box is None else (box[0] + box[1]) / 2
        return self.project(c)


@dataclass
class IterationInfo:
    """One planner iteration, for callbacks and ``PlanResult.history``.

    samples [S, H, A] (projected; sample 0 = the mean they were drawn around), energies [S];
    elites: long [k] indices into samples (CEM) or None; weights: [S] softmax weights (MPPI) or None;
    mean, std [H, A]: the Gaussian AFTER this iteration's update; mean_energy: energy of sample 0;
    best_energy: the plan's energy so far (non-increasing over iterations).
    """

    iteration: int
    samples: torch.Tensor
    energies: torch.Tensor
    elites: torch.Tensor | None
    weights: torch.Tensor | None
    mean: torch.Tensor
    std: torch.Tensor
    mean_energy: float
    best_energy: float


@dataclass
class PlanResult:
    """actions [H, A]: the plan (best sequence evaluated); energy: its energy; energy_trace: the plan's energy
    after each iteration; history: IterationInfo per iteration if plan(record=True), else empty."""

    actions: torch.Tensor
    energy: float
    iterations: int
    seconds: float
    energy_trace: list[float] = field(default_factory=list)
    history: list[IterationInfo] = field(default_factory=list)


def check_common(name: str, cfg: Any) -> None:
    """Validate the fields every sampling-planner config shares (samples, iterations, stds, momentum)."""
    def bad(field_name: str, expected: str):
        v = getattr(cfg, field_name)
        return ValueError(f"{name}.{field_name}: expected {expected}, received {v!r}")

    for k, lo in (("samples", 2), ("iterations", 1)):
        v = getattr(cfg, k)
        if not is_int(v, lo):
            raise bad(k, f"an int >= {lo}")
    for k in ("init_std", "min_std", "momentum"):
        v = getattr(cfg, k)
        if isinstance(v, bool) or not isinstance(v, Real):
            raise bad(k, "a float")
    if not (math.isfinite(cfg.init_std) and cfg.init_std > 0):
        raise bad("init_std", "a finite float > 0")
    if not (math.isfinite(cfg.min_std) and 0 <= cfg.min_std <= cfg.init_std):
        raise bad("min_std", f"a float in [0, init_std={cfg.init_std}]")
    if not 0.0 <= cfg.momentum < 1.0:
        raise bad("momentum", "a float in [0, 1)")


class Planner(ABC):
    """Gaussian sampling planner over action sequences [H, A]; subclasses implement ``_update``.

    config: an instance of the subclass's ``config_type`` (None: its defaults), with samples S, iterations,
    init_std, min_std, momentum (stds in units of ``bounds.scale``).
    """

    config_type: type  # the frozen config dataclass of the subclass (CEMConfig, MPPIConfig)

    def __init__(self, config=None, bounds: ActionBounds = ActionBounds(), action_dim: int = 2, horizon: int = 5,
                 device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32):
        config = self.config_type() if config is None else config
        if not isinstance(config, self.config_type):
            raise ValueError(f"{type(self).__name__}: expected config of type {self.config_type.__name__}, "
                             f"received {type(config).__name__}")
        for k, v in (("action_dim", action_dim), ("horizon", horizon)):
            if not is_int(v, 1):
                raise ValueError(f"{type(self).__name__}: expected {k} an int >= 1, received {v!r}")
        if not isinstance(bounds, ActionBounds):
            raise ValueError(f"{type(self).__name__}: expected bounds an ActionBounds, received {bounds!r}")
        self.config, self.bounds, self.action_dim, self.horizon = config, bounds, action_dim, horizon
        self.device, self.dtype = torch.device(device), dtype
        bounds.box(action_dim)  # ValueError if low / high are sequences of another length
        self.scale = bounds.scale(action_dim, self.device, dtype)  # [A]
        self.min_std = (config.min_std * self.scale).expand(horizon, action_dim)  # [H, A]

    @abstractmethod
    def _update(self, samples, energies, mean, std):
        """samples [S, H, A], energies [S], mean, std [H, A] -> (mean, std, elites or None, weights or None)."""
    def _initial_mean(self, init_mean) -> torch.Tensor:
        """init_mean [H, A] or None -> projected mean [H, A]."""
        if init_mean is None:
            c = self.bounds.center(self.action_dim, self.device, self.dtype)  # [A]
            return c.expand(self.horizon, self.action_dim).clone()
        m = torch.as_tensor(init_mean, device=self.device, dtype=self.dtype)
        if m.shape != (self.horizon, self.action_dim) or not torch.isfinite(m).all():
            bad = int((~torch.isfinite(m)).sum())
            raise ValueError(f"init_mean: expected finite [H, A]=[{self.horizon}, {self.action_dim}], "
                             f"received shape {list(m.shape)}" + (f" with {bad} NaN/inf values" if bad else ""))
        return self.bounds.project(m)

    def _evaluate(self, energy: Energy, samples: torch.Tensor) -> torch.Tensor:
        """One batched energy call: samples [S, H, A] -> checked float energies [S]."""
        S = samples.shape[0]
        with torch.no_grad():
            e = energy(samples)
        if not isinstance(e, torch.Tensor) or e.shape != (S,):
            got = list(e.shape) if isinstance(e, torch.Tensor) else type(e).__name__
            raise ValueError(f"energy must return shape [S]=[{S}] (a tensor), got {got}")
        e = e.detach().to(self.device, self.dtype)
        if not torch.isfinite(e).all():
            n = int((~torch.isfinite(e)).sum())
            raise ValueError(f"energy must return finite values, got {n} NaN/inf of [S]=[{S}]")
        return e

    def _sample(self, mean, std, best, iteration: int, generator) -> torch.Tensor:
        """[S, H, A] projected candidates: 0 = mean, 1 = best so far (from iteration 1), rest Gaussian."""
        S = self.config.samples
        shape = (S, self.horizon, self.action_dim)
        noise = torch.randn(shape, generator=generator, device=self.device, dtype=self.dtype)
        samples = mean + std * noise
        samples[0] = mean
        if iteration > 0:
            samples[1] = best
        return self.bounds.project(samples)

    def plan(self, energy: Energy, init_mean=None, generator: torch.Generator | None = None,
             callback: Callable[[IterationInfo], None] | None = None, record: bool = False) -> PlanResult:
        """Minimise energy over [H, A]; one energy call per iteration. Same generator seed -> same plan."""
        if not callable(energy):
            raise ValueError(f"energy: expected a callable actions [S, H, A] -> energies [S], received {energy!r}")
        t0 = time.perf_counter()
        mean = self._initial_mean(init_mean)
        std = (self.config.init_std * self.scale).expand(self.horizon, self.action_dim).clone()
        best, best_e, trace, history = mean, math.inf, [], []
        for it in range(self.config.iterations):
            samples = self._sample(mean, std, best, it, generator)
            energies = self._evaluate(energy, samples)
            k = int(energies.argmin())
            if float(energies[k]) < best_e:
                best, best_e = samples[k].clone(), float(energies[k])
            mean, std, elites, weights = self._update(samples, energies, mean, std)
            trace.append(best_e)
            info = IterationInfo(it, samples, energies, elites, weights, mean, std, float(energies[0]), best_e)
            if record:
                history.append(info)
            if callback is not None:
                callback(info)
        return PlanResult(best, best_e, self.config.iterations, time.perf_counter() - t0, trace, history)

