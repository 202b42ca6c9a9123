"""The simulated Franka arm: does V-JEPA 2-AC's recipe at the kit's scale reach, push and pick-and-place from goal
images?

    python benchmarks/robot.py --quick --json out.json   # shipped arm models, a few episodes per row
    python benchmarks/robot.py --json out.json           # 50 episodes per row
    python benchmarks/robot.py --parts push,push_ablations   # some of the parts (e.g. one per process)

Each task's world model is the shipped one (``ac_panda_{task}``: the frozen V-JEPA encoder pretrained on
action-free arm video, ``vjepa_panda``, plus an action-conditioned predictor trained on play episodes); it plans
with latent CEM and MPC toward the goal image, and on Push and pick-and-place toward the task's sub-goal images
on a fixed schedule (``panda.subgoal_images``, ``panda.SUBGOAL_STEPS``), as V-JEPA 2-AC does for pick-and-place.
Beside it, on the same fixed-seed episodes: random actions, an oracle controller that sees the simulator's true
positions (the upper bound), the pixel-space world model (Reach), and the ablations below when their files exist
(the commands that make them are printed otherwise). Success is panda-gym's own criterion (within 5 cm).

Ablations (files under runs/, not shipped): the same predictor trained on the encoder's random initialisation
(what the passive video buys), on fewer play episodes (the data-amount curve), and the shipped Reach model in
scenes changed after training (``panda.ZERO_SHOT``: table colour, light, camera).

Prints a table and, with --json, writes a flat JSON. Keys: panda_{reach,push,pick_place}_success_{cem,random,
oracle}, panda_reach_success_{mppi,pixel}, panda_push_success_cem_one_goal (the goal image alone), panda_{reach,push}_
success_random_encoder, panda_reach_success_episodes_{50,150,600}, panda_zero_shot_reach_success (all changes at
once) and panda_zero_shot_reach_success_{table,light,camera}, panda_ms_per_plan_step (latent CEM on Reach, after
one untimed warm-up episode), panda_ms_per_plan_step_{push,pixel}, panda_data_train_seconds (rendering the data
and training the encoder and the three world models: their recorded training seconds plus their frames at a timed
sample's rendering rate), episodes (per row), threads; "rows" holds each row's steps, distances and times. A row
that could not run is null.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import torch

from common import write_json
from jepa_lab.checkpoint import load_checkpoint
from jepa_lab.envs.panda import ZERO_SHOT
from jepa_lab.envs.panda_data import collect_panda
from jepa_lab.eval.planning import PlanSettings, evaluate
from jepa_lab.weights.pretrained import load_pretrained, pretrained_path
from jepa_lab.weights.saved import load_world_model

TASKS = {"reach": "reach", "push": "push", "pick_place": "pick_and_place"}  # JSON name -> panda task
TRAIN = "jepa-lab train-ac --env panda_{task} {flags}--out runs/{name}.pt --run-dir runs/{name} --no-resume"
ABLATIONS = {  # JSON key -> (task, file under runs/, extra train-ac flags)
    "panda_reach_success_random_encoder": ("reach", "ac_panda_reach_random_encoder", "--encoder random-init "),
    "panda_push_success_random_encoder": ("push", "ac_panda_push_random_encoder", "--encoder random-init "),
    "panda_reach_success_episodes_50": ("reach", "ac_panda_reach_e50", "--episodes 50 "),
    "panda_reach_success_episodes_150": ("reach", "ac_panda_reach_e150", "--episodes 150 "),
}
PARTS = (*TASKS, "reach_ablations", "push_ablations")
SHIPPED_ARM = ("vjepa_panda", "ac_panda_reach", "ac_panda_push", "ac_panda_pick_and_place")  # the kit's recipe


def row(env: str, method: str, episodes: int, settings: PlanSettings, warm_up: bool = False, **models) -> dict:
    """One row, timed; with ``warm_up`` one untimed episode first (torch's first calls are slow)."""
    if warm_up:
        evaluate(env, method, 1, settings=settings, progress=False, **models)
    t0 = time.perf_counter()
    out = evaluate(env, method, episodes, settings=settings, **models)
    return {**out, "seconds": time.perf_counter() - t0}


def task_rows(key: str, episodes: int, settings: PlanSettings, quick: bool = False) -> dict:
    """cem / random / oracle (and mppi and pixel on reach, one-goal on push unless ``quick``) for one task:
    name -> row."""
    task = TASKS[key]
    env, model = f"panda_{task}", load_pretrained(f"ac_panda_{task}")
    rows = {m: row(env, m, episodes, settings) for m in ("random", "oracle")}
    rows["cem"] = row(env, "cem", episodes, settings, True, latent_model=model)
    if key == "push" and not quick:
        rows["cem_one_goal"] = row(env, "cem", episodes, replace(settings, subgoals=False), latent_model=model)
    if key == "reach":
        rows["mppi"] = row(env, "mppi", episodes, settings, latent_model=model)
        pixel = load_pretrained("pixel_panda_reach")
        rows["pixel"] = row(env, "pixel", episodes, settings, True, pixel_model=pixel)
    return rows


def ablation_rows(task: str, episodes: int, settings: PlanSettings, runs: Path) -> dict:
    """One task's random-encoder and data-amount rows (files under ``runs``), and on Reach the zero-shot scenes."""
    rows = {}
    for key, (of, name, flags) in ABLATIONS.items():
        if of != task:
            continue
        path = runs / f"{name}.pt"
        if not path.is_file():
            print(f"({key}: no {path}; make it with: {TRAIN.format(task=task, flags=flags, name=name)})")
            rows[key] = None
            continue
        rows[key] = row(f"panda_{task}", "cem", episodes, settings, latent_model=load_world_model(path)[0])
    model = load_pretrained("ac_panda_reach")
    for scene in ("table", "light", "camera", "all") if task == "reach" else ():
        key = "panda_zero_shot_reach_success" + ("" if scene == "all" else f"_{scene}")
        rows[key] = row("panda_reach", "cem", episodes, settings, latent_model=model, scene=ZERO_SHOT[scene])
    return rows


def data_train_seconds(sample: int = 4) -> float:
    """Rendering the data and training the kit's shipped arm models (the encoder and the three world models; not
    the pixel baseline), in seconds on this machine: the training seconds
    recorded in their files, plus the frames they were trained on (arm clips and play episodes) at the rate of a
    timed sample of ``sample`` play episodes rendered now in one process (PyBullet renders on one core)."""
    train, frames = 0.0, 0
    for name in SHIPPED_ARM:
        ckpt = load_checkpoint(pretrained_path(name))
        train += float(ckpt.get("metrics", {}).get("train_seconds", 0.0))
        if "ac_config" in ckpt:  # world models: E play episodes of T + 1 frames
            cfg = ckpt["ac_config"]
            frames += cfg["episodes"] * (cfg["episode_steps"] + 1)
        else:  # the encoder: clips of the arm at play
            frames += ckpt["config"]["data"]["num_clips"] * ckpt["config"]["video"]["num_frames"]
    t0 = time.perf_counter()
    collect_panda("push", sample, 16, seed=99, progress=False)
    per_frame = (time.perf_counter() - t0) / (sample * 17)
    return train + frames * per_frame


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few episodes per row, no ablations")
    ap.add_argument("--episodes", type=int, help="episodes per row (default: 3 quick, 50 full)")
    ap.add_argument("--parts", help=f"comma-separated from {PARTS} (default: the tasks, and the ablations unless "
                    "--quick)")
    ap.add_argument("--runs", type=Path, default=Path("runs"), help="where the ablation models are")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    parts = [t.strip() for t in args.parts.split(",")] if args.parts else list(TASKS if args.quick else PARTS)
    if any(t not in PARTS for t in parts) or args.episodes is not None and args.episodes < 1:
        ap.error(f"expected --parts from {PARTS} and --episodes >= 1; received {args.parts!r}, {args.episodes!r}")
    episodes = args.episodes or (3 if args.quick else 50)
    settings = PlanSettings()
    results = {"episodes": episodes, "threads": torch.get_num_threads(),
               "panda_data_train_seconds": data_train_seconds(1 if args.quick else 4)}
    table = {}
    for key in (p for p in parts if p in TASKS):
        table.update({f"panda_{key}_success_{m}": r for m, r in task_rows(key, episodes, settings, args.quick).items()})
    for task in ("reach", "push"):
        if f"{task}_ablations" in parts:
            table.update(ablation_rows(task, episodes, settings, args.runs))
    print(f"{'row':<44} {'episodes':>8} {'success':>8} {'steps':>6} {'final cm':>9} {'ms/step':>8}")
    for key, r in table.items():
        results[key] = None if r is None else r["success"]
        if r is None:
            print(f"{key:<44} {'not run':>8}")
            continue
        print(f"{key:<44} {episodes:>8} {r['success']:>8.0%} {r['steps']:>6.1f} {100 * r['final_distance']:>9.1f} "
              f"{r['ms_per_step']:>8.1f}")
    for key, name in (("panda_reach_success_cem", "panda_ms_per_plan_step"),
                      ("panda_push_success_cem", "panda_ms_per_plan_step_push"),
                      ("panda_reach_success_pixel", "panda_ms_per_plan_step_pixel")):
        if table.get(key):
            results[name] = table[key]["ms_per_step"]
    if table.get("panda_reach_success_cem"):  # the shipped Reach model is the data curve's 600-episode point
        results["panda_reach_success_episodes_600"] = results["panda_reach_success_cem"]
    results["rows"] = {k: r for k, r in table.items() if r is not None}  # the full rows: steps, distances, times
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
