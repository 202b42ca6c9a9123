"""The limits of the kit's latent world model (Two Rooms), measured: error accumulation over long rollouts,
planning with a moved camera, and a goal detail the latents barely keep.

    python benchmarks/limits.py --quick --json out.json    # 6 episodes per condition (~5 min on 2 cores)
    python benchmarks/limits.py --json out.json            # 30 episodes per condition

Stable keys: rollout_error (list over horizon 1..15), teacher_forcing_error, copy_start_error,
success_{camera_same,camera_shift_1px,camera_shift_2px,camera_shift_4px,camera_zoom_1.1,goal_recoloured},
latent_change_{recoloured,moved_1px,moved_2px,moved_4px,camera_shift_2px}, episodes.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from common import write_json
from jepa_lab.eval.limits import (RecolouredGoal, ViewChange, latent_change, recolour_agent, rollout_error,
                                  shift_view, zoom_view)
from jepa_lab.eval.planning import PlanSettings, make_policy, run_episodes, shipped_world_model, summarise
from jepa_lab.envs.registry import make_env

VIEWS = {"camera_same": None, "camera_shift_1px": shift_view(1), "camera_shift_2px": shift_view(2),
         "camera_shift_4px": shift_view(4), "camera_zoom_1.1": zoom_view(1.1)}


def planning(model, episodes: int) -> dict:
    env = make_env("two_rooms")
    out = {}
    for name, view in VIEWS.items():
        policy = make_policy("cem", env, latent_model=model, settings=PlanSettings())
        policy = policy if view is None else ViewChange(policy, view)
        out[name] = summarise(run_episodes(env, policy, episodes, desc=name))
    policy = RecolouredGoal(make_policy("cem", env, latent_model=model, settings=PlanSettings()), env)
    out["goal_recoloured"] = summarise(run_episodes(env, policy, episodes, desc="goal recoloured"))
    return out


def _moved(env, p: np.ndarray, d: int) -> np.ndarray:
    """The goal image with the agent d px lower (or higher, if that spot is blocked)."""
    q = p + [0, d] if env.is_free((p + [0, d])[None])[0] else p - [0, d]
    return env.render_states(q[None])[0]


def detail_sizes(model, goals: int = 20) -> dict:
    """Mean latent change over several goals: recolouring vs moving the agent vs moving the camera."""
    env, rows = make_env("two_rooms"), []
    for seed in range(goals):
        env.reset(seed=20_000 + seed)
        g, p = env.goal_image(), env.goal
        moved = {f"moved_{d}px": _moved(env, p, d) for d in (1, 2, 4)}
        rows.append(latent_change(model, g, {"recoloured": recolour_agent(g, p, env.cfg.agent_radius), **moved,
                                             "camera_shift_2px": shift_view(2)(g)}))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    episodes = 6 if args.quick else 30
    model = shipped_world_model("latent", "two_rooms")
    t0 = time.perf_counter()
    err = rollout_error(model, episodes=64, horizon=15)
    results = {"rollout_error": err["rollout"].tolist(), "teacher_forcing_error": err["teacher_forcing"].tolist(),
               "copy_start_error": err["copy_start"].tolist(), "episodes": episodes}
    results |= {f"latent_change_{k}": v for k, v in detail_sizes(model).items()}
    plans = planning(model, episodes)
    results |= {f"success_{k}": v["success"] for k, v in plans.items()}
    results |= {f"final_distance_{k}": v["final_distance"] for k, v in plans.items()}
    results["seconds"] = time.perf_counter() - t0
    print("latent L1 to the truth, by horizon (rollout / one-step from true frames / first frame):")
    for h in (1, 4, 8, 12, 15):
        print(f"  step {h:>2}: {err['rollout'][h - 1]:.3f} / {err['teacher_forcing'][h - 1]:.3f} / "
              f"{err['copy_start'][h - 1]:.3f}")
    print("latent change of a goal image (mean L1):", {k[len("latent_change_"):]: round(v, 3) for k, v in results.items()
                                                       if k.startswith("latent_change_")})
    print(f"Two Rooms CEM success over {episodes} episodes:")
    for k, v in plans.items():
        print(f"  {k:<20} {v['success']:.0%}  (final distance {v['final_distance']:.1f} px)")
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
