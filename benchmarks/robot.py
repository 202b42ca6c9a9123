"""The simulated Franka arm: does V-JEPA 2-AC's recipe at the kit's scale reach and push from goal images?

    python benchmarks/robot.py --quick --json out.json   # shipped arm models, a few episodes per row
    python benchmarks/robot.py --json out.json           # 50 episodes per row

The world model is the shipped one of each task (``ac_panda_reach``: the frozen V-JEPA encoder pretrained on
action-free arm video, ``vjepa_panda``, plus an action-conditioned predictor trained on play episodes); it plans
with latent CEM and MPC toward the goal image (the scene with the arm, or the cube, at the target). Beside it, on
the same fixed-seed episodes: random actions, and an oracle controller that sees the simulator's true positions
(the upper bound). Success is panda-gym's own criterion (within 5 cm of the target). Rows whose world model is
not shipped are left out (and named in the output).

Prints a table and, with --json, writes a flat JSON. Keys: panda_{task}_success_{cem,random,oracle} per task
measured, panda_ms_per_plan_step (latent CEM on reach, after one untimed warm-up episode), episodes (per
row), threads.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from common import write_json
from jepa_lab.eval.planning import PlanSettings, evaluate
from jepa_lab.weights.pretrained import SHIPPED, load_pretrained

TASKS = ("reach", "push")


def rows_for(task: str, episodes: int, settings: PlanSettings) -> dict:
    env, name = f"panda_{task}", f"ac_panda_{task}"
    model = load_pretrained(name) if name in SHIPPED else None
    out = {}
    for method in ("cem", "random", "oracle"):
        if method == "cem" and model is None:
            print(f"(no shipped {name}: the latent CEM row of {task} is left out)")
            continue
        if method == "cem":  # one untimed episode first: torch's first calls are slow, and Reach takes few steps
            evaluate(env, method, 1, latent_model=model, settings=settings, progress=False)
        t0 = time.perf_counter()
        out[method] = evaluate(env, method, episodes, latent_model=model, settings=settings)
        out[method]["seconds"] = time.perf_counter() - t0
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a few episodes per row")
    ap.add_argument("--episodes", type=int, help="episodes per row (default: 6 quick, 50 full)")
    ap.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated from {TASKS}")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args(argv)
    episodes = args.episodes or (6 if args.quick else 50)
    settings = PlanSettings()
    results = {"episodes": episodes, "threads": torch.get_num_threads()}
    print(f"{'task':<8} {'method':<7} {'episodes':>8} {'success':>8} {'steps':>6} {'final cm':>9} {'ms/step':>8}")
    for task in args.tasks.split(","):
        for method, r in rows_for(task, episodes, settings).items():
            results[f"panda_{task}_success_{method}"] = r["success"]
            if task == "reach" and method == "cem":
                results["panda_ms_per_plan_step"] = r["ms_per_step"]
            print(f"{task:<8} {method:<7} {episodes:>8} {r['success']:>8.0%} {r['steps']:>6.1f} "
                  f"{100 * r['final_distance']:>9.1f} {r['ms_per_step']:>8.1f}")
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
