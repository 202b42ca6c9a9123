"""V-JEPA at reduced scale: has the video encoder learned motion, and does its predictor see the future?

    python benchmarks/vjepa.py --quick --json out.json   # evaluate the shipped checkpoint (< 1 min)
    python benchmarks/vjepa.py --json out.json           # train the tiny preset from scratch, then evaluate
    python benchmarks/vjepa.py --record                  # full-size evaluation of the shipped checkpoint,
                                                         # stored in its "metrics" (data/README.md)

Prints a table and, with --json, writes a flat JSON. Stable keys: probe_motion_acc_trained,
probe_motion_acc_random_init, probe_motion_acc_image_encoder, probe_count_acc_trained, future_l1_trained, future_l1_copy_last,
future_l1_mean, future_l1_random_init, train_seconds, train_steps_per_second; the full mode adds
probe_count_acc_random_init and probe_count_acc_image_encoder.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

from common import fresh_run, shipped_run, write_json
from jepa_lab.eval.attentive_probe import ProbeTraining
from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.data.balls import make_balls, videos_to_float
from jepa_lab.weights.pretrained import load_pretrained, pretrained_path
from jepa_lab.weights.saved import load_model
from jepa_lab.eval.video_eval import VideoEvalConfig, future_prediction, motion_and_count_probes
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig
from jepa_lab.train.jepa import balls_config

# Quick trains its probes as the full evaluation does (with 1,500 training clips the direction probe underfit and
# ranked the encoders differently) and saves time on a smaller test set and no count baselines.
QUICK = VideoEvalConfig(n_train=3000, n_test=500, probe=ProbeTraining(epochs=40, batch_size=256, lr=2e-3))
FULL = VideoEvalConfig(n_train=3000, n_test=1000, probe=ProbeTraining(epochs=40, batch_size=256, lr=2e-3))


def evaluate(model: VJEPA, cfg: VideoEvalConfig, count_baselines: bool = True) -> dict:
    """Probes (trained / random init / I-JEPA frame by frame) and future prediction (trained / random init)."""
    torch.manual_seed(model.cfg.seed)
    random_model = VJEPA(model.cfg).eval()
    results = motion_and_count_probes(model, random_model, load_pretrained("ijepa_tiny"), cfg, count_baselines)
    videos, _ = make_balls(cfg.n_test, balls_config(model.cfg), seed=cfg.seed + 4, progress=False)
    clips = videos_to_float(videos)  # [B, C, T, H, W]
    trained = future_prediction(model, clips, cfg.future_context)
    random = future_prediction(random_model, clips, cfg.future_context)
    results.update(future_l1_trained=trained["future_l1"], future_l1_copy_last=trained["copy_last_l1"],
                   future_l1_mean=trained["mean_l1"], future_l1_random_init=random["future_l1"],
                   future_l1_copy_last_random_init=random["copy_last_l1"])
    return results


def record() -> dict:
    """Full-size evaluation of the shipped checkpoint, merged into the metrics stored inside it."""
    path = pretrained_path("vjepa_tiny")
    ckpt = load_checkpoint(path, "jepa_lab.vjepa")
    model = load_model(path, "jepa_lab.vjepa")
    results = evaluate(model, FULL)
    ckpt["metrics"] = {**ckpt.get("metrics", {}), **results}
    save_checkpoint(path, ckpt)
    print(json.dumps(results, indent=2))
    return results


def table(r: dict) -> str:
    lines = ["| attentive probe (held-out clips) | trained V-JEPA | same net, random init | I-JEPA frame by frame |",
             "|---|---|---|---|"]
    for label, key in (("direction of motion, 8 bins (chance 0.125)", "probe_motion_acc"),
                       ("number of balls, 1-3 (chance 0.33)", "probe_count_acc")):
        cells = [f"{r[f'{key}_{k}']:.3f}" if f"{key}_{k}" in r else "-" for k in ("trained", "random_init", "image_encoder")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "| future latents, L1 (lower is better) | predictor | copy last frame | batch mean |",
              "|---|---|---|---|",
              f"| trained V-JEPA | {r['future_l1_trained']:.4f} | {r['future_l1_copy_last']:.4f} | "
              f"{r['future_l1_mean']:.4f} |",
              f"| random init | {r['future_l1_random_init']:.4f} | {r['future_l1_copy_last_random_init']:.4f} | - |",
              "", f"training: {r['train_steps']} steps in {r['train_seconds']:.0f} s "
              f"({r['train_steps_per_second']:.2f} steps/s); source: {r['source']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="evaluate the shipped checkpoint instead of training")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--preset", default="tiny", help="preset to train when not --quick (default: tiny)")
    parser.add_argument("--steps", type=int, help="override the preset's training steps (not --quick)")
    parser.add_argument("--record", action="store_true",
                        help="evaluate the shipped checkpoint at full size and store the numbers in it")
    args = parser.parse_args(argv)
    if args.record:
        return record()
    t0 = time.perf_counter()
    model, info = (shipped_run("vjepa_tiny") if args.quick
                   else fresh_run(VJEPAConfig.preset(args.preset), args.preset, args.steps))
    results = {**evaluate(model, QUICK if args.quick else FULL, count_baselines=not args.quick), **info,
               "mode": "quick" if args.quick else "full",
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
               "benchmark_seconds": time.perf_counter() - t0}
    print(table(results))
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
