"""The planning commands of ``jepa-lab`` (see main.py for the rest):

    jepa-lab train-ac --env two_rooms [--encoder PATH|random-init] [--episodes E] [--steps N] [--batch-size B]
                      [--rollout-steps K] [--pixel] [--run-dir DIR] [--no-resume] [--ckpt-every K] --out PATH
    torchrun --nproc_per_node 2 -m jepa_lab train-ac ...   (data-parallel, DDP)
    jepa-lab plan --env two_rooms [--episodes N] [--methods cem,random,...] [--horizon H] [--samples S]
                  [--iterations I] [--json PATH]

``train-ac`` is phase 2 of V-JEPA 2-AC: random-action trajectories of the env, a frozen V-JEPA encoder
(default: the shipped ``vjepa_envs``), a fresh action-conditioned predictor (or, with ``--pixel``, the pixel
baseline); it writes a world-model file. Training checkpoints go to ``--run-dir`` (default
``runs/ac-ENV`` or ``runs/ac-ENV-pixel``); the same command run again resumes from there. ``plan`` runs fixed-seed episodes per method with a progress bar and
prints the success table.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import asdict, replace

import torch

from ..checkpoint import atomic_write_text
from ..envs.registry import ENV_NAMES, PANDA_ENVS, collect_episodes
from ..eval.planning import METHODS, PlanSettings, evaluate, shipped_world_model
from ..models.pixel_world_model import PixelWorldModel
from ..models.vjepa import VJEPA
from ..models.world_model import ACTrainConfig
from ..train.ac import RunOptions, train_ac, train_pixel
from ..train.parallel import init_world
from ..weights.pretrained import load_pretrained
from ..weights.saved import VJEPA_KIND, load_model, load_world_model, save_world_model
from .common import add_parallel_args, check_writable, int_at_least, parallel_config

RANDOM_INIT = "random-init"  # --encoder: the untrained encoder
DEFAULTS = PlanSettings()  # what `plan` runs with unless told otherwise (its --help quotes these)
MAX_HORIZON, MAX_SAMPLES, MAX_ITERATIONS = 64, 4096, 100  # beyond these a run is minutes per step, or hours


def add_parsers(sub) -> None:
    ac = sub.add_parser("train-ac", help="train an action-conditioned world model on a frozen encoder",
                        description="Phase 2 of V-JEPA 2-AC: random-action trajectories of an environment, a frozen "
                        "V-JEPA encoder and a fresh action-conditioned predictor (or the pixel baseline).")
    ac.add_argument("--env", choices=ENV_NAMES, default="two_rooms", help="environment: %(choices)s")
    ac.add_argument("--encoder", metavar="PATH", help="V-JEPA weights file (default: the shipped vjepa_panda for "
                    f"the arm, vjepa_envs otherwise), or '{RANDOM_INIT}': the default's architecture at its random "
                    "initialisation (seed 0), to measure what pretraining buys")
    ac.add_argument("--episodes", type=int_at_least(1), metavar="E", help="action-labelled episodes")
    ac.add_argument("--steps", type=int_at_least(1), metavar="N", help="optimiser steps")
    ac.add_argument("--rollout-steps", type=int_at_least(0), metavar="K", help="steps of the rollout loss (default: 4)")
    ac.add_argument("--pixel", action="store_true", help="train the pixel-space baseline instead")
    ac.add_argument("--batch-size", type=int_at_least(1), metavar="B", help="windows per step (default: 64)")
    ac.add_argument("--out", required=True, metavar="PATH", help="world-model file to write")
    ac.add_argument("--run-dir", metavar="DIR", help="training checkpoints (default: runs/ac-ENV[-pixel])")
    ac.add_argument("--no-resume", action="store_true", help="start over even if DIR/last.pt exists")
    ac.add_argument("--ckpt-every", type=int_at_least(1), default=500, metavar="K",
                    help="save DIR/last.pt every K steps (default: %(default)s)")
    add_parallel_args(ac)

    plan = sub.add_parser("plan", help="run planning episodes and print the success table",
                          description="Run fixed-seed episodes with each method and print success rates.")
    plan.add_argument("--env", choices=ENV_NAMES, default="two_rooms", help="environment: %(choices)s")
    plan.add_argument("--episodes", type=int_at_least(1), default=10, metavar="N",
                      help="episodes per method (default: %(default)s)")
    plan.add_argument("--methods", default="cem,random", metavar="LIST",
                      help=f"comma-separated, from {','.join(METHODS)} (default: %(default)s)")
    plan.add_argument("--model", metavar="PATH", help="latent world model (default: the shipped one)")
    plan.add_argument("--pixel-model", metavar="PATH", help="pixel world model (default: the shipped one)")
    plan.add_argument("--horizon", type=int_at_least(1), metavar="H",
                      help=f"planned steps, at most {MAX_HORIZON} (default: {DEFAULTS.horizon})")
    plan.add_argument("--samples", type=int_at_least(2), metavar="S",
                      help=f"samples per iteration, at most {MAX_SAMPLES} (default: {DEFAULTS.samples})")
    plan.add_argument("--iterations", type=int_at_least(1), metavar="I",
                      help=f"planner iterations, at most {MAX_ITERATIONS} (default: {DEFAULTS.iterations})")
    plan.add_argument("--json", metavar="PATH", help="also write the table and the settings it ran with as JSON")


def run(args: argparse.Namespace, argv: list[str], prog: str) -> int:
    if args.command == "train-ac":
        return _train_ac(args, shlex.join([prog, *argv]))
    return _plan(args)


def _train_ac(args, command: str) -> int:
    cfg = ACTrainConfig.preset(args.env)
    for flag, field in (("episodes", "episodes"), ("steps", "steps"), ("batch_size", "batch_size"),
                        ("rollout_steps", "rollout_steps")):
        if getattr(args, flag) is not None:
            cfg = replace(cfg, **{field: getattr(args, flag)})
    parallel = parallel_config(args)
    run_dir = args.run_dir or f"runs/ac-{args.env}{'-pixel' if args.pixel else ''}"
    run = RunOptions(run_dir, args.ckpt_every, not args.no_resume, parallel)
    world = init_world(args.device)
    if world.is_main:  # before any work: a long run must not end in a permission error
        check_writable(args.out, "--out")
        check_writable(run_dir, "--run-dir", folder=True)
    talk = world.is_main and sys.stderr.isatty()  # progress bars: rank 0, on a terminal (not into a log file)
    traj = collect_episodes(cfg.env, cfg.episodes, cfg.episode_steps, seed=cfg.data_seed, progress=talk)
    if args.pixel:
        model, log = train_pixel(traj, cfg, progress=talk, run=run)
    else:
        model, log = train_ac(_encoder(args.encoder, cfg.env), traj, cfg, progress=talk, run=run)
    if not world.is_main:
        return 0
    metrics = {"train_seconds": log["train_seconds"], "final_teacher_l1": log["teacher"][-1],
               "final_rollout_l1": log["rollout"][-1], "episodes": cfg.episodes, "steps_run": log["steps_run"]}
    path = save_world_model(args.out, model, cfg, metrics=metrics, command=command)
    print(f"trained {log['steps_run']} of {cfg.steps} steps in {log['train_seconds']:.1f} s (checkpoints in "
          f"{run_dir}); teacher L1 {log['teacher'][0]:.4f} -> {log['teacher'][-1]:.4f}, rollout L1 "
          f"{log['rollout'][0]:.4f} -> {log['rollout'][-1]:.4f}; wrote {path}")
    return 0


def _encoder(path, env: str):
    """The frozen encoder: the target encoder of a V-JEPA weights file (default: the shipped vjepa_panda for the
    arm's tasks, vjepa_envs for the arenas), or (``RANDOM_INIT``) the default's random initialisation."""
    shipped = "vjepa_panda" if env in PANDA_ENVS else "vjepa_envs"
    if path == RANDOM_INIT:
        torch.manual_seed(0)  # the same untrained weights every time
        return VJEPA(load_pretrained(shipped).cfg).target_encoder
    model = load_pretrained(shipped) if path is None else load_model(path, VJEPA_KIND)
    return model.target_encoder


def _plan(args) -> int:
    methods = _methods(args.methods)
    check_writable(args.json, "--json")
    settings = _settings(args)  # checked before any model is loaded or episode run
    latent = _model(args.model, "latent", args.env, "--model") if {"cem", "mppi"} & set(methods) else None
    pixel = _model(args.pixel_model, "pixel", args.env, "--pixel-model") if "pixel" in methods else None
    progress = sys.stderr.isatty()  # no carriage-return bars in a redirected log
    rows = {m: evaluate(args.env, m, args.episodes, latent, pixel, settings, progress=progress) for m in methods}
    print(f"{args.env}, {args.episodes} episodes per method")
    print(f"{'method':<8} {'success':>8} {'steps':>6} {'final dist':>10} {'ms/step':>8}")
    for m, r in rows.items():
        print(f"{m:<8} {r['success']:>8.0%} {r['steps']:>6.1f} {r['final_distance']:>10.1f} {r['ms_per_step']:>8.1f}")
    if args.json:
        record = {"env": args.env, "episodes": args.episodes, "settings": asdict(settings),
                  "models": {"latent": args.model or "shipped", "pixel": args.pixel_model or "shipped"}, "rows": rows}
        atomic_write_text(args.json, json.dumps(record, indent=2))
    return 0


def _methods(text: str) -> list[str]:
    """--methods as a list: known names, each once."""
    methods = [m.strip() for m in text.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"--methods: unknown {bad or methods}; expected a comma-separated list from {METHODS}")
    twice = sorted({m for m in methods if methods.count(m) > 1})
    if twice:
        raise ValueError(f"--methods: {twice} given more than once; expected each method at most once")
    return methods


def _model(path, kind: str, env: str, flag: str):
    """The world model of ``kind`` (latent or pixel) for ``env``: the shipped one, or ``path`` checked to be one."""
    if not path:
        return shipped_world_model(kind, env)
    model, cfg, _ = load_world_model(path)
    found = "pixel" if isinstance(model, PixelWorldModel) else "latent"
    if found != kind:
        raise ValueError(f"{flag} {path}: expected a {kind} world model, but the file holds a {found} one"
                         + (" (pass it as --pixel-model)" if found == "pixel" else " (pass it as --model)"))
    if cfg.env != env:
        raise ValueError(f"{flag} {path}: the model was trained on {cfg.env!r}, but --env is {env!r}")
    return model


def _settings(args) -> PlanSettings:
    """PlanSettings with the command line's --horizon / --samples / --iterations, within their bounds."""
    settings = PlanSettings()
    for name, high in (("horizon", MAX_HORIZON), ("samples", MAX_SAMPLES), ("iterations", MAX_ITERATIONS)):
        value = getattr(args, name)
        if value is not None and value > high:
            raise ValueError(f"--{name}: expected at most {high}, received {value}")
    for name in ("horizon", "samples", "iterations"):
        if getattr(args, name) is not None:
            settings = replace(settings, **{name: getattr(args, name)})
    if args.iterations is not None:
        settings = replace(settings, mppi_iterations=args.iterations)
    return replace(settings, elites=max(2, min(settings.elites, settings.samples // 4)))
