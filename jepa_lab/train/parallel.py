"""Data-parallel training with PyTorch's own stack: torchrun, DDP or FSDP, sharded batches, gradient accumulation.

How a run of W processes (``torchrun --nproc_per_node W``, one process per GPU or CPU slot) is laid out:

- every process builds the same model from the same seed, and draws the same *global* batch (indices and
  masks) from the same generator; process r keeps the r-th contiguous share of it (``shard``). That is the
  kit's distributed sampler, and it is why a W-process run equals a 1-process run with the same global batch:
  the mean of the W share-losses is the global mean loss, and DDP averages the share-gradients.
- ``strategy="ddp"``: DistributedDataParallel keeps a full model per process and all-reduces gradients during
  backward. ``strategy="fsdp"``: fully-sharded data parallel (``fully_shard``, one unit per transformer block)
  also splits parameters, gradients and optimizer state across processes - for the full-size presets.
- ``grad_accum=K`` splits each share into K micro-batches whose gradients add up (each loss scaled by 1/K),
  synchronising only on the last one: the same update with a K times smaller activation peak.
- gloo on CPU, NCCL on GPU; rank 0 alone prints, logs and writes checkpoints; every rank reads them to resume.

Shapes: B global batch, W processes (world size), K micro-batches per share.
"""

from __future__ import annotations

import os
import warnings
from contextlib import nullcontext
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Callable

import torch
import torch.distributed as dist
from torch import nn

from ..config import DictRoundTrip
from ..models.vit import Block

STRATEGIES = ("ddp", "fsdp")
PRECISIONS = ("fp32", "bf16")


@dataclass(frozen=True)
class ParallelConfig(DictRoundTrip):
    """How to run a training job (not what it learns: resuming may change these)."""

    strategy: str = "ddp"  # used when torchrun starts more than one process
    grad_accum: int = 1  # micro-batches per optimiser step and process
    precision: str = "fp32"  # "bf16": autocast the forward pass (GPU; ~8x slower on a laptop CPU)
    activation_checkpointing: bool = False  # recompute each transformer block in backward
    device: str | None = None  # None: cuda:LOCAL_RANK under torchrun on a GPU machine, else the CPU

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy: expected one of {STRATEGIES}, got {self.strategy!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision: expected one of {PRECISIONS}, got {self.precision!r}")
        if not isinstance(self.grad_accum, int) or self.grad_accum < 1:
            raise ValueError(f"grad_accum: expected an integer >= 1, got {self.grad_accum!r}")


@dataclass(frozen=True)
class World:
    """This process's place in the job: rank r of ``size`` processes, and the device it computes on."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def init_world(device: str | None = None) -> World:
    """Join the job torchrun started (env RANK / WORLD_SIZE / LOCAL_RANK), or a 1-process world without it.

    Device: ``device`` when given (e.g. "cuda" for one GPU); else ``cuda:LOCAL_RANK`` under torchrun on a GPU
    machine, and the CPU otherwise - a plain ``train(...)`` in a notebook stays on the CPU, where the
    notebook's tensors are. Backend: NCCL on GPUs, gloo on CPUs. Safe to call twice (the group is reused).
    """
    size, rank, local = (int(os.environ.get(k, d)) for k, d in (("WORLD_SIZE", 1), ("RANK", 0), ("LOCAL_RANK", 0)))
    if device is None:
        device = f"cuda:{local}" if size > 1 and torch.cuda.is_available() else "cpu"
    elif device == "cuda":
        device = f"cuda:{local}"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this torch ({torch.__version__}) sees no GPU; "
                         "expected 'cpu' here")
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))
    if size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    if dist.is_initialized():
        size, rank = dist.get_world_size(), dist.get_rank()
    return World(rank, size, local, device)


def close_world() -> None:
    """Leave the process group (if any); call once at the end of a torchrun job."""
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()


def check_batch(batch_size: int, world: World, par: ParallelConfig) -> None:
    """The global batch must split evenly into W shares of K micro-batches."""
    parts = world.size * par.grad_accum
    if batch_size % parts:
        raise ValueError(f"batch size {batch_size} does not split into {world.size} process(es) x {par.grad_accum} "
                         f"micro-batch(es); expected a multiple of {parts}")


def _map_tensors(obj, fn):
    """``obj`` with ``fn`` applied to every tensor in it (tensors, lists, tuples, dicts and dataclasses nested;
    anything else is kept)."""
    if isinstance(obj, torch.Tensor):
        return fn(obj)
    if isinstance(obj, (list, tuple)):
        return type(obj)(_map_tensors(x, fn) for x in obj)
    if isinstance(obj, dict):
        return {k: _map_tensors(v, fn) for k, v in obj.items()}
    if is_dataclass(obj) and not isinstance(obj, type):
        return replace(obj, **{f.name: _map_tensors(getattr(obj, f.name), fn) for f in fields(obj) if f.init})
    return obj


def shard(obj, index: int, parts: int):
    """The ``index``-th of ``parts`` contiguous slices along dim 0 of every tensor in ``obj`` (nested as in
    ``_map_tensors``). Dim 0 is the batch everywhere."""

    def part(x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n % parts:
            raise ValueError(f"cannot split a batch of {n} into {parts} equal parts (tensor {tuple(x.shape)})")
        return x[index * (n // parts):(index + 1) * (n // parts)]

    return _map_tensors(obj, part)


def to_device(obj, device):
    """``obj`` with every tensor in it moved to ``device``."""
    return _map_tensors(obj, lambda x: x.to(device, non_blocking=True))


class LossModule(nn.Module):
    """``forward(*batch) = loss_fn(model, *batch)``: DDP and FSDP hook ``forward``, while the kit's models
    compute their training loss in ``.loss`` (or a free function such as ``ac_loss``)."""

    def __init__(self, model: nn.Module, loss_fn: Callable | None = None):
        super().__init__()
        self.model = model
        self.loss_fn = loss_fn or (lambda m, *batch: m.loss(*batch))

    def forward(self, *batch):
        return self.loss_fn(self.model, *batch)


def set_activation_checkpointing(model: nn.Module, enable: bool = True) -> int:
    """Switch activation checkpointing on every transformer block of ``model``; returns how many blocks."""
    blocks = [m for m in model.modules() if isinstance(m, Block)]
    for blk in blocks:
        blk.checkpointing = enable
    return len(blocks)


def prepare(model: nn.Module, world: World, par: ParallelConfig, loss_fn: Callable | None = None) -> nn.Module:
    """Move ``model`` to the world's device and wrap it for training: returns the module to call with a batch
    (a LossModule, inside DDP or sharded by FSDP when there are several processes). Build the optimiser
    *after* this call: FSDP replaces the parameters by sharded ones."""
    model.to(world.device)
    if par.activation_checkpointing:
        set_activation_checkpointing(model, True)
    if par.precision == "bf16" and not world.device.startswith("cuda"):
        warnings.warn("bf16 autocast on a CPU is much slower than fp32 here (about 8x on a laptop); "
                      "use it on a GPU", stacklevel=2)
    module = LossModule(model, loss_fn)
    if not world.distributed:
        return module
    if par.strategy == "ddp":
        ids = [torch.device(world.device).index] if world.device.startswith("cuda") else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)
    # torch.distributed's FSDP2 / DTensor / checkpoint modules are imported only by sharded runs: they are new in
    # torch 2.6 (the kit runs on torch >= 2.2 otherwise) and slow to import.
    from torch.distributed.fsdp import fully_shard

    for blk in [m for m in model.modules() if isinstance(m, Block)]:
        fully_shard(blk)  # one unit per transformer block: gathered just before it runs, freed after
    return fully_shard(module)


def sharded(model: nn.Module) -> bool:
    """True when FSDP has sharded (some of) ``model``'s parameters."""
    from torch.distributed.tensor import DTensor  # sharded runs only (see prepare)

    return any(isinstance(p, DTensor) for p in model.parameters())


def autocast(par: ParallelConfig, device: str):
    if par.precision == "bf16":
        return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)
    return nullcontext()


def _sync(module: nn.Module, last: bool):
    """Context for one micro-batch's backward: gradients are synchronised only on the last one."""
    if isinstance(module, nn.parallel.DistributedDataParallel) and not last:
        return module.no_sync()
    if hasattr(module, "set_requires_gradient_sync"):  # FSDP
        module.set_requires_gradient_sync(last)
    return nullcontext()


def accumulate(module: nn.Module, batch, world: World, par: ParallelConfig) -> torch.Tensor:
    """Forward + backward of this process's share ``batch`` in ``par.grad_accum`` micro-batches.

    The loss function may return one loss or a tuple of losses (their sum is minimised). Returns the losses,
    detached, averaged over micro-batches and processes: shape [L] for L losses - the global-batch values.
    """
    k = par.grad_accum
    total = None
    for i in range(k):
        micro = to_device(shard(batch, i, k), world.device)
        with _sync(module, last=i == k - 1):
            with autocast(par, world.device):
                out = module(*micro)
            losses = torch.stack(list(out) if isinstance(out, (tuple, list)) else [out]).float()  # [L]
            (losses.sum() / k).backward()
        total = losses.detach() / k if total is None else total + losses.detach() / k
    return all_mean(total, world)


def all_mean(x: torch.Tensor, world: World) -> torch.Tensor:
    """Mean of ``x`` over the processes (gloo has no AVG reduction: sum, then divide)."""
    if not world.distributed:
        return x
    x = x.clone()
    dist.all_reduce(x, op=dist.ReduceOp.SUM)
    return x / world.size


def state_dicts(model: nn.Module, opt: torch.optim.Optimizer) -> tuple[dict, dict]:
    """Full (unsharded, CPU) model and optimizer state, keyed by parameter name: the same files whatever the
    strategy, so a run can resume with another number of processes. Collective under FSDP: call on every rank."""
    # sharded runs only (see prepare)
    from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                         get_optimizer_state_dict)

    full = sharded(model)
    opts = StateDictOptions(full_state_dict=full, cpu_offload=full)
    model_sd = get_model_state_dict(model, options=opts) if full else model.state_dict()
    return model_sd, get_optimizer_state_dict(model, opt, options=opts)


def load_optimizer(model: nn.Module, opt: torch.optim.Optimizer, state: dict) -> None:
    """Inverse of ``state_dicts`` for the optimizer (model weights are loaded before ``prepare``)."""
    from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict  # sharded only

    keyed = state.get("state", {})
    if any(not isinstance(k, str) for k in keyed):
        raise ValueError("this checkpoint's optimizer state is keyed by position, not parameter name (written by an "
                         "older jepa_lab); start over with --no-resume")
    set_optimizer_state_dict(model, opt, state, options=StateDictOptions(full_state_dict=sharded(model)))
