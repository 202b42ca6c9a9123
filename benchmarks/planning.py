"""Planning in latent space: does the V-JEPA 2-AC-style world model reach goals, and how fast does it plan?

    python benchmarks/planning.py --quick --json out.json   # shipped world models, few episodes (~2 min)
    python benchmarks/planning.py --json out.json           # >= 50 episodes per row, plus success against the
                                                            # amount of action-labelled data (trains 2 models)
    python benchmarks/planning.py --record out.json         # store a full run's data curve in data/ac_two_rooms.pt

Prints a table and, with --json, writes a flat JSON. Stable keys: two_rooms_success_{cem,mppi,random,oracle,pixel},
push_success_{cem,random}, ms_per_plan_step_latent, ms_per_plan_step_pixel, ac_train_seconds,
pixel_train_seconds, episodes, threads; the full mode adds two_rooms_success_cem_by_episodes ({episodes: success}) and
push_success_oracle. Success rates are over the same fixed-seed episodes for every method.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from common import write_json
from jepa_lab.models.world_model import ACTrainConfig
from jepa_lab.train.ac import train_ac
from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.eval.planning import PlanSettings, evaluate, shipped_world_model
from jepa_lab.weights.pretrained import load_pretrained, pretrained_path
from jepa_lab.envs.trajectories import collect

QUICK = {"two_rooms": {"cem": 10, "mppi": 4, "random": 10, "oracle": 4, "pixel": 2}, "push": {"cem": 4, "random": 10}}
# The pixel model plans ~3x slower and fails its episodes (40 steps each), so its row uses 10 episodes.
FULL = {"two_rooms": {"cem": 50, "mppi": 50, "random": 50, "oracle": 50, "pixel": 10},
        "push": {"cem": 50, "random": 50, "oracle": 50}}
DATA_EPISODES = (50, 200)  # + the shipped model's 1000: success against the amount of action-labelled data
DATA_EVAL_EPISODES = 30


def shipped_seconds(name: str) -> float:
    """Training seconds recorded in a shipped world-model file."""
    return float(load_checkpoint(pretrained_path(name)).get("metrics", {}).get("train_seconds", float("nan")))


def main_table(plan: dict, settings: PlanSettings) -> tuple[dict, dict]:
    """Every (env, method) row of ``plan`` with the shipped world models."""
    models = {env: shipped_world_model("latent", env) for env in plan}
    pixel = shipped_world_model("pixel", "two_rooms") if "pixel" in plan.get("two_rooms", {}) else None
    rows = {}
    for env, methods in plan.items():
        for method, episodes in methods.items():
            t0 = time.perf_counter()
            rows[(env, method)] = evaluate(env, method, episodes, models[env], pixel, settings)
            rows[(env, method)]["seconds"] = time.perf_counter() - t0
            rows[(env, method)]["episodes"] = episodes
    return rows, models


def data_curve(settings: PlanSettings) -> dict:
    """Two Rooms CEM success after training on fewer action-labelled episodes (same steps, same encoder)."""
    encoder = load_pretrained("vjepa_envs").target_encoder
    cfg = ACTrainConfig.preset("two_rooms")
    out = {}
    for n in DATA_EPISODES:
        traj = collect("two_rooms", n, cfg.episode_steps, seed=cfg.data_seed)
        model, _ = train_ac(encoder, traj, replace(cfg, episodes=n))
        out[n] = evaluate("two_rooms", "cem", DATA_EVAL_EPISODES, model, settings=settings)["success"]
    return out


def flatten(rows: dict, quick: bool, curve: dict | None, settings: PlanSettings) -> dict:
    res = {f"{env}_success_{m}": r["success"] for (env, m), r in rows.items()}
    for key, row in (("latent", ("two_rooms", "cem")), ("pixel", ("two_rooms", "pixel")),
                     ("oracle", ("two_rooms", "oracle"))):
        if row in rows:
            res[f"ms_per_plan_step_{key}"] = rows[row]["ms_per_step"]
    res["ac_train_seconds"] = shipped_seconds("ac_two_rooms")
    res["data_curve_eval_episodes"] = DATA_EVAL_EPISODES
    res["ac_train_seconds_push"] = shipped_seconds("ac_push")
    res["pixel_train_seconds"] = shipped_seconds("pixel_two_rooms")
    res["episodes"] = {f"{env}_{m}": r["episodes"] for (env, m), r in rows.items()}
    res["mean_steps"] = {f"{env}_{m}": r["steps"] for (env, m), r in rows.items()}
    if curve is not None:
        res["two_rooms_success_cem_by_episodes"] = {str(k): v for k, v in curve.items()}
        if ("two_rooms", "cem") in rows:
            res["two_rooms_success_cem_by_episodes"]["1000"] = rows[("two_rooms", "cem")]["success"]
    res.update(mode="quick" if quick else "full", torch=torch.__version__, threads=torch.get_num_threads(),
               plan_settings=asdict(settings),
               machine=platform.processor() or platform.machine())
    return res


def print_table(rows: dict, res: dict) -> None:
    print(f"{'env':<10} {'method':<7} {'episodes':>8} {'success':>8} {'steps':>6} {'ms/step':>8} {'seconds':>8}")
    for (env, m), r in rows.items():
        print(f"{env:<10} {m:<7} {r['episodes']:>8} {r['success']:>8.0%} {r['steps']:>6.1f} "
              f"{r['ms_per_step']:>8.1f} {r['seconds']:>8.1f}")
    print(f"AC predictor training: {res['ac_train_seconds']:.0f} s (two_rooms), {res['ac_train_seconds_push']:.0f} s "
          f"(push); pixel model: {res['pixel_train_seconds']:.0f} s (recorded in the shipped files)")
    if "two_rooms_success_cem_by_episodes" in res:
        print("two_rooms CEM success by action-labelled episodes:", res["two_rooms_success_cem_by_episodes"])


def record(run_json: Path) -> dict:
    """Merge a full run's success-vs-data curve (and its settings) into the metrics of the shipped Two Rooms
    world model, where notebook 05 reads it."""
    res = json.loads(Path(run_json).read_text())
    curve = res.get("two_rooms_success_cem_by_episodes")
    if not curve or "1000" not in curve:
        raise SystemExit(f"{run_json}: no full-run data curve (expected two_rooms_success_cem_by_episodes with the "
                         f"shipped model's '1000'); run `python benchmarks/planning.py --json {run_json}` first")
    path = pretrained_path("ac_two_rooms")
    ckpt = load_checkpoint(path, "jepa_lab.ac")
    keep = ("two_rooms_success_cem_by_episodes", "data_curve_eval_episodes", "plan_settings")
    ckpt["metrics"] = {**ckpt.get("metrics", {}), **{k: res[k] for k in keep if k in res}}
    save_checkpoint(path, ckpt)
    print("stored in", path, {k: ckpt["metrics"][k] for k in keep if k in ckpt["metrics"]})
    return ckpt["metrics"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few episodes, shipped models only")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--envs", default="two_rooms,push", help="comma-separated subset of the envs")
    parser.add_argument("--no-data-curve", action="store_true", help="full mode without the data-size curve")
    parser.add_argument("--only-data-curve", action="store_true", help="full mode: the data-size curve alone")
    parser.add_argument("--record", type=Path, metavar="RUN_JSON",
                        help="store the data curve of a full run's JSON in the shipped data/ac_two_rooms.pt")
    parser.add_argument("--threads", type=int, default=min(2, torch.get_num_threads()), help="torch threads")
    args = parser.parse_args()
    if args.record:
        record(args.record)
        return
    torch.set_num_threads(args.threads)
    settings = PlanSettings()
    envs = [e for e in args.envs.split(",") if e]
    plan = {env: rows for env, rows in (QUICK if args.quick else FULL).items() if env in envs}
    if not plan:
        parser.error(f"--envs: expected a subset of two_rooms,push, got {args.envs!r}")
    if args.only_data_curve:
        curve = data_curve(settings)
        res = {"two_rooms_success_cem_by_episodes": {str(k): v for k, v in curve.items()},
               "data_curve_eval_episodes": DATA_EVAL_EPISODES, "threads": torch.get_num_threads()}
        print("two_rooms CEM success by action-labelled episodes:", res["two_rooms_success_cem_by_episodes"])
        if args.json:
            write_json(args.json, res)
        return
    rows, _ = main_table(plan, settings)
    curve = None if args.quick or args.no_data_curve else data_curve(settings)
    res = flatten(rows, args.quick, curve, settings)
    print_table(rows, res)
    if args.json:
        write_json(args.json, res)


if __name__ == "__main__":
    main()
