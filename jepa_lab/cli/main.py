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
import sys
from typing import Sequence

from .. import __version__
from ..models.pixel_video_predictor import PixelPredictorConfig
from ..train.parallel import close_world
from . import planning as cli_planning
from .common import PROG, add_parallel_args, check_device, int_at_least
from .train import MODELS, _info, _released, _train, _train_pixel_predictor, preset_names, presets

DEFAULT_PRESET = "tiny"
COMMANDS = ("train", "info", "released", "train-ac", "plan", "train-pixel-predictor")


def _per_model() -> str:
    """The presets of each model, for help texts: 'ijepa: tiny, ...; vjepa: tiny, ...'."""
    return "; ".join(f"{model}: {', '.join(presets(model))}" for model in MODELS)


def build_parser() -> argparse.ArgumentParser:
    names = preset_names()
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="jepa-lab: train and inspect the kit's JEPA models from the command line.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + ",".join(COMMANDS) + "}")

    train = sub.add_parser(
        "train",
        help="train a model (resumes from OUT/last.pt when it exists)",
        description="Train a model (on the CPU; on GPUs with --device or under torchrun). Writes OUT/log.csv (one line per step) and OUT/last.pt "
        "(a resumable checkpoint); running the same command again continues from OUT/last.pt.",
    )
    train.add_argument("model", choices=MODELS, help="which model to train: %(choices)s")
    train.add_argument("--preset", choices=names, default=DEFAULT_PRESET, metavar="NAME",
                       help=f"config preset, {_per_model()} (default: %(default)s)")
    train.add_argument("--steps", type=int_at_least(1), metavar="N",
                       help="total optimiser steps, counted from step 0 (default: the preset's)")
    train.add_argument("--batch-size", type=int_at_least(1), metavar="B", help="images per step (default: the preset's)")
    train.add_argument("--out", metavar="DIR", help="output folder (default: runs/MODEL-PRESET)")
    train.add_argument("--no-resume", action="store_true",
                       help="start from step 0 even if DIR/last.pt exists (overwrites it and its log.csv once the run starts)")
    train.add_argument("--ckpt-every", type=int_at_least(1), default=500, metavar="K",
                       help="save DIR/last.pt every K steps, and at the end (default: %(default)s)")
    train.add_argument("--export", metavar="PATH",
                       help="after training, also write a stripped weights file (config + weights + losses + this "
                       "command) that jepa_lab.weights.saved.load_model loads")

    info = sub.add_parser("info", help="list a model's presets; with --preset, count its parameters",
                          description="List the presets of a model (--model ijepa or vjepa); with --preset, also "
                          "count the parameters of its encoder and predictor (built on the meta device: nothing is "
                          "allocated).")
    info.add_argument("--model", choices=MODELS, default="ijepa", help="whose presets: %(choices)s (default: %(default)s)")
    info.add_argument("--preset", choices=names, metavar="NAME", help=f"preset to describe, {_per_model()}")
    rel = sub.add_parser("released", help="load one of Meta's released checkpoints and report on it",
                         description="Load a released checkpoint (vitl.pt, vith.pt, vitg.pt, vitg-384.pt, "
                         "vjepa2-ac-vitg.pt, I-JEPA *.pth.tar) from a local path, strictly, and print which "
                         "entry was taken, the prefixes removed and the parameter counts. Nothing is downloaded.")
    rel.add_argument("path", help="the downloaded file (its name selects the architecture)")
    rel.add_argument("--entry", choices=("auto", "target_encoder", "encoder"), default="auto",
                     help="encoder entry to load (default: target_encoder when present, as the evaluations do)")
    rel.add_argument("--encoder-only", action="store_true", help="skip the predictor")
    pix = sub.add_parser("train-pixel-predictor", help="train the pixel-space surprise baseline and save it",
                         description="Train the pixel-space video predictor (the surprise baseline of notebook 09) on "
                         "the possible events the intuitive_physics V-JEPA preset trains on, and save it.")
    pix.add_argument("--out", required=True, metavar="PATH", help="file to write (e.g. data/pixel_physics.pt)")
    pix.add_argument("--steps", type=int_at_least(1), default=PixelPredictorConfig.steps, metavar="N",
                     help="optimiser steps (default: %(default)s)")
    add_parallel_args(train)
    cli_planning.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status.

    Bad arguments raise ``SystemExit(2)`` after printing the usage and a message, as argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.error(f"expected a command: {', '.join(COMMANDS)} (see jepa-lab --help)")
    if getattr(args, "preset", None) is not None and args.preset not in presets(args.model):
        parser.error(f"{args.model} has no preset {args.preset!r}; expected one of {sorted(presets(args.model))}")
    try:
        check_device(getattr(args, "device", None))  # before any work
        if args.command == "train":
            return _train(args, argv)
        if args.command in ("train-ac", "plan"):
            return cli_planning.run(args, argv, PROG)
        if args.command == "released":
            return _released(args)
        if args.command == "train-pixel-predictor":
            return _train_pixel_predictor(args, argv)
        return _info(args)
    except (ValueError, OSError, ModuleNotFoundError) as err:
        # Problems with the user's input, files or installation (e.g. resuming a run of another config, an
        # unwritable folder, a missing extra): one line, no traceback.
        parser.exit(2, f"{PROG}: error: {err}\n")
    finally:
        close_world()  # no-op unless torchrun started a process group


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
