"""The planning commands of ``jepa-lab`` (see cli.py for the rest):

    jepa-lab train-ac --env two_rooms [--encoder PATH] [--episodes E] [--steps N] [--rollout-steps K] [--pixel]
                      --out PATH
    jepa-lab plan --env two_rooms [--episodes N] [--methods cem,random,...] [--horizon H] [--samples S]
                  [--iterations I] [--json PATH]

``train-ac`` is phase 2 of V-JEPA 2-AC: random-action trajectories of the env, a frozen V-JEPA encoder
(default: the shipped ``vjepa_envs``), a fresh action-conditioned predictor (or, with ``--pixel``, the pixel
baseline); it writes a world-model file. ``plan`` runs fixed-seed episodes per method with a progress bar and
prints the success table.
"""

from __future__ import annotations

import argparse
import json
import shlex
from dataclasses import replace


def add_parsers(sub, int_at_least) -> None:
    from .planning_eval import METHODS
    from .trajectories import ENV_NAMES

    ac = sub.add_parser("train-ac", help="train an action-conditioned world model on a frozen encoder",
                        description="Phase 2 of V-JEPA 2-AC: random-action trajectories of an environment, a frozen "
                        "V-JEPA encoder and a fresh action-conditioned predictor (or the pixel baseline).")
    ac.add_argument("--env", choices=ENV_NAMES, default="two_rooms", help="environment: %(choices)s")
    ac.add_argument("--encoder", metavar="PATH", help="V-JEPA weights file (default: the shipped vjepa_envs)")
    ac.add_argument("--episodes", type=int_at_least(1), metavar="E", help="action-labelled episodes")
    ac.add_argument("--steps", type=int_at_least(1), metavar="N", help="optimiser steps")
    ac.add_argument("--rollout-steps", type=int_at_least(0), metavar="K", help="steps of the rollout loss (default: 4)")
    ac.add_argument("--pixel", action="store_true", help="train the pixel-space baseline instead")
    ac.add_argument("--out", required=True, metavar="PATH", help="world-model file to write")

    plan = sub.add_parser("plan", help="run planning episodes and print the success table",
                          description="Run fixed-seed episodes with each method and print success rates.")
    plan.add_argument("--env", choices=ENV_NAMES, default="two_rooms", help="environment: %(choices)s")
    plan.add_argument("--episodes", type=int_at_least(1), default=10, metavar="N",
                      help="episodes per method (default: %(default)s)")
    plan.add_argument("--methods", default="cem,random", metavar="LIST",
                      help=f"comma-separated, from {','.join(METHODS)} (default: %(default)s)")
    plan.add_argument("--model", metavar="PATH", help="latent world model (default: the shipped one)")
    plan.add_argument("--pixel-model", metavar="PATH", help="pixel world model (default: the shipped one)")
    plan.add_argument("--horizon", type=int_at_least(1), metavar="H", help="planned steps (default: 8)")
    plan.add_argument("--samples", type=int_at_least(2), metavar="S", help="samples per iteration (default: 128)")
    plan.add_argument("--iterations", type=int_at_least(1), metavar="I", help="planner iterations (default: 4)")
    plan.add_argument("--json", metavar="PATH", help="also write the table as JSON")


def run(args: argparse.Namespace, argv: list[str], prog: str) -> int:
    if args.command == "train-ac":
        return _train_ac(args, shlex.join([prog, *argv]))
    return _plan(args)


def _train_ac(args, command: str) -> int:
    from .ac_train import ACTrainConfig, save_world_model, train_ac, train_pixel
    from .trajectories import collect

    cfg = ACTrainConfig.preset(args.env)
    if args.episodes:
        cfg = replace(cfg, episodes=args.episodes)
    if args.steps:
        cfg = replace(cfg, steps=args.steps)
    if args.rollout_steps is not None:
        cfg = replace(cfg, rollout_steps=args.rollout_steps)
    traj = collect(cfg.env, cfg.episodes, cfg.episode_steps, seed=cfg.data_seed)
    if args.pixel:
        model, log = train_pixel(traj, cfg)
    else:
        model, log = train_ac(_encoder(args.encoder), traj, cfg)
    metrics = {"train_seconds": log["train_seconds"], "final_teacher_l1": log["teacher"][-1],
               "final_rollout_l1": log["rollout"][-1], "episodes": cfg.episodes}
    path = save_world_model(args.out, model, cfg, metrics=metrics, command=command)
    print(f"trained {cfg.steps} steps in {log['train_seconds']:.1f} s; teacher L1 {log['teacher'][0]:.4f} -> "
          f"{log['teacher'][-1]:.4f}, rollout L1 {log['rollout'][0]:.4f} -> {log['rollout'][-1]:.4f}; wrote {path}")
    return 0


def _encoder(path):
    """The frozen encoder: the target encoder of a V-JEPA weights file (default: the shipped vjepa_envs)."""
    from .pretrained import load_pretrained
    from .train import load_model

    model = load_pretrained("vjepa_envs") if path is None else load_model(path, "jepa_lab.vjepa")
    return model.target_encoder


def _plan(args) -> int:
    from .ac_train import load_world_model
    from .planning_eval import METHODS, PlanSettings, evaluate, shipped_world_model

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"--methods: unknown {bad or methods}; expected a comma-separated list from {METHODS}")
    load = lambda path, kind: load_world_model(path)[0] if path else shipped_world_model(kind, args.env)
    latent = load(args.model, "latent") if {"cem", "mppi"} & set(methods) else None
    pixel = load(args.pixel_model, "pixel") if "pixel" in methods else None
    settings = PlanSettings()
    for name in ("horizon", "samples", "iterations"):
        if getattr(args, name) is not None:
            settings = replace(settings, **{name: getattr(args, name)})
    if args.iterations is not None:
        settings = replace(settings, mppi_iterations=args.iterations)
    settings = replace(settings, elites=max(2, min(settings.elites, settings.samples // 4)))
    rows = {m: evaluate(args.env, m, args.episodes, latent, pixel, settings) for m in methods}
    print(f"{args.env}, {args.episodes} episodes per method")
    print(f"{'method':<8} {'success':>8} {'steps':>6} {'final dist':>10} {'ms/step':>8}")
    for m, r in rows.items():
        print(f"{m:<8} {r['success']:>8.0%} {r['steps']:>6.1f} {r['final_distance']:>10.1f} {r['ms_per_step']:>8.1f}")
    if args.json:
        from .checkpoint import atomic_write_text

        atomic_write_text(args.json, json.dumps({"env": args.env, "episodes": args.episodes, "rows": rows}, indent=2))
    return 0
