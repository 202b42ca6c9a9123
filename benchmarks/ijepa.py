"""I-JEPA at reduced scale: does pretraining beat a random-init network and raw pixels on a linear probe?

    python benchmarks/ijepa.py --quick --json out.json   # probe the shipped checkpoint (< 1 min)
    python benchmarks/ijepa.py --json out.json           # train the tiny preset from scratch, then probe

Prints a table and, with --json, writes a flat JSON. Stable keys: probe_acc_trained, probe_acc_random_init,
probe_acc_pixels, position_r2_trained, position_r2_random_init, train_seconds, train_steps_per_second.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import torch

from common import fresh_run, shipped_run, write_json
from jepa_lab.models.ijepa import IJEPAConfig
from jepa_lab.eval.probe import probe_shapes


def table(results: dict) -> str:
    rows = [("linear probe: shape accuracy", "probe_acc"), ("linear probe: position R^2", "position_r2")]
    lines = ["| metric | trained | random init | pixels |", "|---|---|---|---|"]
    for label, key in rows:
        cells = [f"{results[f'{key}_{k}']:.3f}" for k in ("trained", "random_init", "pixels")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(f"\ntraining: {results['train_steps']} steps in {results['train_seconds']:.0f} s "
                 f"({results['train_steps_per_second']:.2f} steps/s); source: {results['source']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="probe the shipped checkpoint instead of training")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--preset", default="tiny", help="preset to train when not --quick (default: tiny)")
    parser.add_argument("--steps", type=int, help="override the preset's training steps (not --quick)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    model, info = (shipped_run("ijepa_tiny") if args.quick
                   else fresh_run(IJEPAConfig.preset(args.preset), args.preset, args.steps))
    results = {**probe_shapes(model), **info, "mode": "quick" if args.quick else "full",
               "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
               "benchmark_seconds": time.perf_counter() - t0}
    print(table(results))
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
