"""What the commands of ``jepa-lab`` share: the program name, integer options, the scale-out options."""

from __future__ import annotations

import argparse

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
