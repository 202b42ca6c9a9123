"""The ``jepa-lab`` command (also ``python -m jepa_lab``, or ``main([...])`` from Python).

    jepa-lab train ijepa --preset tiny [--steps N] [--batch-size B] [--out DIR] [--no-resume]
                         [--ckpt-every K] [--export PATH]
                         [--strategy ddp|fsdp] [--grad-accum K] [--precision fp32|bf16] [--activation-checkpointing]
    torchrun --nproc_per_node 2 -m jepa_lab train ijepa ...   (data-parallel over 2 processes; parallel.py)
    jepa-lab info [--preset NAME]
    jepa-lab released PATH [--entry auto|target_encoder|encoder] [--encoder-only]   (Meta's released weights)
    jepa-lab train-ac --env two_rooms --out PATH      (phase 2 of V-JEPA 2-AC; cli_planning.py)
    jepa-lab plan --env two_rooms --episodes N        (planning episodes and their success table)

``train`` runs :func:`jepa_lab.train.jepa.train` on the model's preset config, with ``--steps`` / ``--batch-size``
overriding the preset's ``optim`` settings. Running the same command again on the same ``--out`` folder
resumes from its ``last.pt``. ``info`` lists the presets and, for one preset, counts the parameters of its
encoder and predictor without allocating them (the modules are built on PyTorch's ``meta`` device).

Bad arguments print an argparse-style message naming the accepted values and exit with status 2.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Sequence

from .. import __version__

from . import planning as cli_planning

PROG = "jepa-lab"
MODELS = ("ijepa", "vjepa")
DEFAULT_PRESET = "tiny"
BIG_DATASET_BYTES = 2 * 1024**3  # warn before rendering a training set larger than this


def _int_at_least(low: int):
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


def _presets(model: str) -> dict:
    """The named configs of one model."""
    if model == "vjepa":
        from ..models.vjepa import VJEPA_PRESETS

        return VJEPA_PRESETS
    from ..models.ijepa import IJEPA_PRESETS

    return IJEPA_PRESETS


def _preset_names() -> list[str]:
    return list(dict.fromkeys(name for model in MODELS for name in _presets(model)))


def add_parallel_args(p: argparse.ArgumentParser) -> None:
    """Options of data-parallel training (they matter under torchrun, or on a GPU)."""
    from ..train.parallel import PRECISIONS, STRATEGIES

    g = p.add_argument_group("scale-out (see parallel.py; launch with torchrun for several processes)")
    g.add_argument("--strategy", choices=STRATEGIES, default="ddp",
                   help="with several processes: replicate the model (ddp) or shard it (fsdp); default %(default)s")
    g.add_argument("--grad-accum", type=_int_at_least(1), default=1, metavar="K",
                   help="split each process's share of the batch into K micro-batches (default %(default)s)")
    g.add_argument("--precision", choices=PRECISIONS, default="fp32",
                   help="bf16 autocasts the forward pass (for GPUs); default %(default)s")
    g.add_argument("--activation-checkpointing", action="store_true",
                   help="recompute each transformer block in backward: less memory, more compute")
    g.add_argument("--device", metavar="DEV", help="cpu, cuda or cuda:N (default: the GPU of each process under "
                   "torchrun on a GPU machine, else the CPU)")


def parallel_config(args: argparse.Namespace):
    from ..train.parallel import ParallelConfig

    return ParallelConfig(args.strategy, args.grad_accum, args.precision, args.activation_checkpointing, args.device)


def build_parser() -> argparse.ArgumentParser:
    presets = _preset_names()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="jepa-lab: train and inspect the kit's JEPA models from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{train,info,released,train-ac,plan}")

    train = sub.add_parser(
        "train",
        help="train a model (resumes from OUT/last.pt when it exists)",
        description="Train a model on the CPU. Writes OUT/log.csv (one line per step) and OUT/last.pt "
        "(a resumable checkpoint); running the same command again continues from OUT/last.pt.",
    )
    train.add_argument("model", choices=MODELS, help="which model to train: %(choices)s")
    train.add_argument("--preset", choices=presets, default=DEFAULT_PRESET,
                       help="config preset: %(choices)s (default: %(default)s)")
    train.add_argument("--steps", type=_int_at_least(1), metavar="N",
                       help="total optimiser steps, counted from step 0 (default: the preset's)")
    train.add_argument("--batch-size", type=_int_at_least(1), metavar="B", help="images per step (default: the preset's)")
    train.add_argument("--out", metavar="DIR", help="output folder (default: runs/MODEL-PRESET)")
    train.add_argument("--no-resume", action="store_true",
                       help="start from step 0 even if DIR/last.pt exists (overwrites it and its log.csv)")
    train.add_argument("--ckpt-every", type=_int_at_least(1), default=500, metavar="K",
                       help="save DIR/last.pt every K steps, and at the end (default: %(default)s)")
    train.add_argument("--export", metavar="PATH",
                       help="after training, also write a stripped weights file (config + weights + losses + this "
                       "command) that jepa_lab.train.jepa.load_model loads")

    info = sub.add_parser("info", help="list the presets; with --preset, count its parameters",
                          description="List the I-JEPA presets; with --preset, also count the parameters of its "
                          "encoder and predictor (built on the meta device: nothing is allocated).")
    info.add_argument("--model", choices=MODELS, default="ijepa", help="whose presets: %(choices)s (default: %(default)s)")
    info.add_argument("--preset", choices=presets, help="preset to describe: %(choices)s")
    rel = sub.add_parser("released", help="load one of Meta's released checkpoints and report on it",
                         description="Load a released checkpoint (vitl.pt, vith.pt, vitg.pt, vitg-384.pt, "
                         "vjepa2-ac-vitg.pt, I-JEPA *.pth.tar) from a local path, strictly, and print which "
                         "entry was taken, the prefixes removed and the parameter counts. Nothing is downloaded.")
    rel.add_argument("path", help="the downloaded file (its name selects the architecture)")
    rel.add_argument("--entry", choices=("auto", "target_encoder", "encoder"), default="auto",
                     help="encoder entry to load (default: target_encoder when present, as the evaluations do)")
    rel.add_argument("--encoder-only", action="store_true", help="skip the predictor")
    add_parallel_args(train)
    cli_planning.add_parsers(sub, _int_at_least, add_parallel_args)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Bad arguments raise ``SystemExit(2)`` after printing the usage and a message, as argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error("expected a command: train, info, released, train-ac or plan (see jepa-lab --help)")
    if getattr(args, "preset", None) is not None and args.preset not in _presets(args.model):
        parser.error(f"{args.model} has no preset {args.preset!r}; expected one of {sorted(_presets(args.model))}")
    try:
        if args.command == "train":
            return _train(args, argv)
        if args.command in ("train-ac", "plan"):
            return cli_planning.run(args, argv, PROG)
        if args.command == "released":
            return _released(args)
        return _info(args)
    except (ValueError, FileNotFoundError) as err:
        # Problems with the user's input or files (e.g. resuming a run of another config): no traceback.
        parser.exit(2, f"{PROG}: error: {err}\n")
    finally:
        from ..train.parallel import close_world

        close_world()  # no-op unless torchrun started a process group


# --------------------------------------------------------------------------------------------- train


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    from ..train.parallel import init_world
    from ..train.jepa import export_weights, train

    cfg = _presets(args.model)[args.preset]
    overrides = {}
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.batch_size is not None:
        overrides["batch_size"] = args.batch_size
    cfg = replace(cfg, optim=replace(cfg.optim, **overrides))
    out = Path(args.out if args.out else f"runs/{args.model}-{args.preset}")
    ckpt, log = out / "last.pt", out / "log.csv"
    command = shlex.join([PROG, *argv])
    world = init_world(args.device)
    say = print if world.is_main else (lambda *a, **k: None)  # under torchrun only rank 0 talks

    if args.model == "ijepa" and world.is_main:
        _warn_if_big(cfg, args.preset)
    if args.no_resume and log.exists() and world.is_main:
        log.unlink()  # starting over: the old log belongs to the checkpoint that is about to be replaced
    existed = ckpt.exists()
    resuming = existed and not args.no_resume
    say(f"{args.model}, preset {args.preset!r}: {cfg.optim.steps} steps, batch {cfg.optim.batch_size}, "
        f"training data: {cfg.data}")
    if world.distributed:
        say(f"{world.size} processes ({args.strategy}, {world.device}), {cfg.optim.batch_size // world.size} "
            f"samples each per step in {args.grad_accum} micro-batch(es)")
    say(f"log:        {log}")
    note = " (resuming from it)" if resuming else " (starting over: --no-resume)" if existed else ""
    say(f"checkpoint: {ckpt}{note}, saved every {args.ckpt_every} steps")
    sys.stdout.flush()

    try:
        result = train(cfg, out, resume=not args.no_resume, ckpt_every=args.ckpt_every,
                       progress=sys.stderr.isatty(), parallel=parallel_config(args))
    except KeyboardInterrupt:
        print(f"\ninterrupted; {ckpt} holds the last saved step - run the same command to resume", file=sys.stderr)
        return 130
    if not world.is_main:
        return 0

    total = len(result.losses)
    start = total - result.steps_run
    if result.steps_run == 0:
        print(f"nothing to train: {ckpt} is already at step {total} (>= --steps {cfg.optim.steps}); "
              "pass a larger --steps to continue")
    else:
        run_losses = result.losses[start:]
        print(f"trained steps {start} -> {total} ({result.steps_run} this run) in {result.seconds:.1f} s, "
              f"{result.steps_per_second:.2f} steps/s; loss {run_losses[0]:.4f} (first) -> {run_losses[-1]:.4f} (last)")
    print(f"wrote {log} and {result.checkpoint}")

    if args.export:
        metrics = {"final_loss": result.losses[-1]} if result.losses else {}
        if result.steps_run:  # timing of this invocation (a resumed run reports only its own steps)
            metrics |= {"train_seconds": result.seconds, "train_steps_per_second": result.steps_per_second,
                        "timed_steps": result.steps_run}
        path = export_weights(result.checkpoint, args.export, metrics=metrics, command=command)
        print(f"exported weights to {path} (load with jepa_lab.train.jepa.load_model)")
    return 0


def _warn_if_big(cfg, preset: str) -> None:
    nbytes = cfg.data.num_images * cfg.vit.in_chans * cfg.vit.img_size**2 * 4  # float32 training set
    if nbytes > BIG_DATASET_BYTES:
        print(f"warning: preset {preset!r} renders {cfg.data.num_images:,} images of {cfg.vit.img_size}x"
              f"{cfg.vit.img_size} px ({nbytes / 1024**3:.1f} GiB as float32) and trains on the CPU; "
              f"it is the paper's full-scale config - the 'tiny' preset is the one sized for a laptop",
              file=sys.stderr)


# ---------------------------------------------------------------------------------------------- info


def _describe(name: str, cfg) -> str:
    v, p, o = getattr(cfg, "vit", None) or cfg.video, cfg.predictor, cfg.optim
    grid = "x".join(str(g) for g in v.grid)
    return (f"{name:<8} {v.img_size} px, patch {v.patch_size} ({grid} grid); encoder {v.embed_dim} wide x {v.depth} "
            f"blocks, {v.num_heads} heads; predictor {p.embed_dim} wide x {p.depth} blocks; "
            f"{o.steps:,} steps x batch {o.batch_size}")


def _info(args: argparse.Namespace) -> int:
    import torch

    from ..train.jepa import RECIPES
    from ..models.vit import count_parameters

    presets = _presets(args.model)
    if args.preset is None:
        print(f"{args.model} presets (jepa-lab train {args.model} --preset NAME; "
              f"jepa-lab info --model {args.model} --preset NAME for sizes):")
        for name in presets:
            print("  " + _describe(name, presets[name]))
        return 0
    cfg = presets[args.preset]
    print(_describe(args.preset, cfg))
    with torch.device("meta"):  # shapes only: no memory is allocated, no weights initialised
        model = RECIPES[args.model].model(cfg)
    rows = [("encoder", model.encoder), ("predictor", model.predictor)]
    width = max(len(f"{count_parameters(m, trainable_only=False):,}") for _, m in rows)
    print("parameters (trained; the fixed sin-cos position tables counted apart):")
    for label, module in rows:
        trained = count_parameters(module)
        fixed = count_parameters(module, trainable_only=False) - trained
        print(f"  {label:<10} {trained:>{width},}   (+ {fixed:,} fixed position-table values)")
    print("  the target encoder is an EMA copy of the encoder: same size, not trained by gradients")
    _print_cost(cfg)
    return 0


def _print_cost(cfg) -> None:
    """FLOPs and activation memory of one encoder forward (estimates on the meta device, sizing.py)."""
    from ..fullscale.sizing import format_bytes, format_count, image_encoder_cost, video_encoder_cost

    video = getattr(cfg, "video", None)
    cost = video_encoder_cost(video) if video is not None else image_encoder_cost(cfg.vit)
    what = f"a {video.num_frames}-frame clip" if video is not None else "an image"
    print(f"encoder cost for {what} ({cost.tokens:,} tokens, fp32, estimates from sizing.py):")
    print(f"  {format_count(cost.flops)}FLOP forward; activations kept for training ~{format_bytes(cost.train_activation_bytes)}; "
          f"inference peak ~{format_bytes(cost.inference_peak_bytes)}; weights {format_bytes(cost.weight_bytes)}")


def _released(args: argparse.Namespace) -> int:
    """Load a released checkpoint strictly and print the report and the parameter counts."""
    from ..fullscale.released import load_released
    from ..models.vit import count_parameters

    model = load_released(args.path, entry=args.entry, predictor=not args.encoder_only)
    for label, module in (("encoder", model.encoder), ("predictor", model.predictor)):
        if module is not None:
            print(f"{label}: {type(module).__name__}, {count_parameters(module):,} trained parameters")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
