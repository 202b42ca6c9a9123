"""What the commands of ``jepa-lab`` share: the program name, integer options, the scale-out options."""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import torch

from ..train.parallel import PRECISIONS, STRATEGIES, ParallelConfig

PROG = "jepa-lab"


def int_at_least(low: int):
    """argparse ``type=``: an integer >= ``low``, with a message that says so."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return parse


def add_parallel_args(p: argparse.ArgumentParser) -> None:
    """Options of data-parallel training (they matter under torchrun, or on a GPU)."""
    g = p.add_argument_group("scale-out (see parallel.py; launch with torchrun for several processes)")
    g.add_argument("--strategy", choices=STRATEGIES, default="ddp",
                   help="with several processes: replicate the model (ddp) or shard it (fsdp); default %(default)s")
    g.add_argument("--grad-accum", type=int_at_least(1), default=1, metavar="K",
                   help="split each process's share of the batch into K micro-batches (default %(default)s)")
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16 autocasts the forward pass (for GPUs); default %(default)s")
    g.add_argument("--activation-checkpointing", action="store_true",
                   help="recompute each transformer block in backward: less memory, more compute")
    g.add_argument("--device", metavar="DEV", help="cpu, cuda or cuda:N (default: the GPU of each process under "
                   "torchrun on a GPU machine, else the CPU)")


def parallel_config(args: argparse.Namespace):
    return ParallelConfig(args.strategy, args.grad_accum, args.precision, args.activation_checkpointing, args.device)


def check_device(device: str | None) -> None:
    """Before any work: ``--device`` names a device this machine has (None: the default choice)."""
    if device is None:
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"--device: expected cpu, cuda or cuda:N, received {device!r}") from None
    if dev.type == "cpu":
        return
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"--device {device}: this machine has no CUDA GPU that torch can use; use --device cpu")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"--device {device}: expected cuda:0 .. cuda:{count - 1} (this machine has {count} GPU(s))")
        return
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {device}: Apple's MPS backend is not available on this machine; use --device cpu")
    if dev.type != "mps":
        raise ValueError(f"--device: expected cpu, cuda or cuda:N, received {device!r}")


def check_writable(path: str | os.PathLike | None, what: str, folder: bool = False) -> None:
    """Before any work: ``path`` (a file, or with ``folder`` a folder) can be written, so a long run does not end
    in a permission error. Creates missing parent folders; writes and removes a probe file."""
    if path is None:
        return
    path = Path(path)
    where = path if folder else path.parent
    if not folder and path.is_dir():
        raise ValueError(f"{what} {path}: expected a file path, but it is a folder")
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path}: expected a folder, but it is a file")
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-check.", dir=where)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ValueError(f"{what} {path}: cannot write there ({err.strerror or err})") from None
