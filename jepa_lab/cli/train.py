"""The model commands of ``jepa-lab``: ``train`` (I-JEPA / V-JEPA, also under torchrun), ``train-pixel-predictor``
(the pixel-space surprise baseline), ``info`` (presets, parameter counts, cost) and ``released`` (Meta's
checkpoints). ``main.py`` parses the arguments and calls these.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import replace
from pathlib import Path

import torch

from ..data.violations import possible_events
from ..fullscale.released import load_released
from ..fullscale.sizing import format_bytes, format_count, image_encoder_cost, video_encoder_cost
from ..models.ijepa import IJEPA_PRESETS
from ..models.pixel_video_predictor import PixelPredictorConfig
from ..models.vit import count_parameters
from ..models.vjepa import VJEPA_PRESETS, VJEPAConfig
from ..train.jepa import RECIPES, train
from ..train.parallel import init_world
from ..train.pixel_video_predictor import train_pixel_predictor
from ..weights.saved import export_weights, save_pixel_predictor
from .common import PROG, check_writable, parallel_config

MODELS = ("ijepa", "vjepa")
BIG_DATASET_BYTES = 2 * 1024**3  # warn before rendering a training set larger than this


def presets(model: str) -> dict:
    """The named configs of one model."""
    return VJEPA_PRESETS if model == "vjepa" else IJEPA_PRESETS


def preset_names() -> list[str]:
    return list(dict.fromkeys(name for model in MODELS for name in presets(model)))


# --------------------------------------------------------------------------------------------- train


def _train(args: argparse.Namespace, argv: list[str]) -> int:
    cfg = presets(args.model)[args.preset]
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
    if world.is_main:  # before any work: a long run must not end in a permission error
        check_writable(out, "--out", folder=True)
        check_writable(args.export, "--export")
    existed = ckpt.exists()
    resuming = existed and not args.no_resume
    say(f"{args.model}, preset {args.preset!r}: {cfg.optim.steps} steps, batch {cfg.optim.batch_size}, "
        f"training data: {cfg.data}")
    if world.distributed:
        say(f"{world.size} processes ({args.strategy}, {world.device}), {cfg.optim.batch_size // world.size} "
            f"samples each per step in {args.grad_accum} micro-batch(es)")
    if getattr(cfg, "init", "") and not resuming:
        say(f"fine-tuning: starts from {cfg.init!r} (its weights, resized to {cfg.video.num_frames}-frame clips)")
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
        print(f"exported weights to {path} (load with jepa_lab.weights.saved.load_model)")
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
    named = presets(args.model)
    if args.preset is None:
        print(f"{args.model} presets (jepa-lab train {args.model} --preset NAME; "
              f"jepa-lab info --model {args.model} --preset NAME for sizes):")
        for name in named:
            print("  " + _describe(name, named[name]))
        return 0
    cfg = named[args.preset]
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
    video = getattr(cfg, "video", None)
    cost = video_encoder_cost(video) if video is not None else image_encoder_cost(cfg.vit)
    what = f"a {video.num_frames}-frame clip" if video is not None else "an image"
    print(f"encoder cost for {what} ({cost.tokens:,} tokens, fp32, estimates from sizing.py):")
    print(f"  {format_count(cost.flops)}FLOP forward; activations kept for training ~{format_bytes(cost.train_activation_bytes)}; "
          f"inference peak ~{format_bytes(cost.inference_peak_bytes)}; weights {format_bytes(cost.weight_bytes)}")


def _released(args: argparse.Namespace) -> int:
    """Load a released checkpoint strictly and print the report and the parameter counts."""
    model = load_released(args.path, entry=args.entry, predictor=not args.encoder_only)
    for label, module in (("encoder", model.encoder), ("predictor", model.predictor)):
        if module is not None:
            print(f"{label}: {type(module).__name__}, {count_parameters(module):,} trained parameters")
    return 0


# ------------------------------------------------------------------------------- train-pixel-predictor


def _train_pixel_predictor(args: argparse.Namespace, argv: list[str]) -> int:
    """Train the pixel-space video predictor on the possible events of the violation-of-expectation world (the
    intuitive_physics V-JEPA preset's data) and save it."""
    check_writable(args.out, "--out")
    data = VJEPAConfig.preset("intuitive_physics").data
    cfg = PixelPredictorConfig(steps=args.steps)
    videos = possible_events(data.num_clips, cfg.window, seed=data.seed)
    model, log = train_pixel_predictor(videos, cfg)
    metrics = {"train_seconds": log["train_seconds"],
               "final_loss": sum(log["loss"][-100:]) / min(100, len(log["loss"]))}
    save_pixel_predictor(args.out, model, metrics, shlex.join([PROG, *argv]))
    print(f"wrote {args.out} ({log['train_seconds']:.0f} s, final L1 {log['loss'][-1]:.4f})")
    return 0

