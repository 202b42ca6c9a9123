"""Every benchmark in quick mode, one after the other: one JSON and one markdown table.

    python benchmarks/run_all.py                      # writes benchmarks/results/quick.json and quick.md
    python benchmarks/run_all.py --out DIR --only physics,limits
    python benchmarks/run_all.py --readme docs/results.md   # also put the table into docs/results.md

Each benchmark runs in its own process (its own torch threads and memory) with ``--quick --json``; the combined
JSON holds every benchmark's full output under its name, plus the date, the machine and the seconds each took.
The markdown table picks the headline numbers (the keys each benchmark documents as stable). A benchmark that
fails is reported as failed in both files, and the script exits 1 at the end. With ``--readme FILE`` (the kit's
results page is docs/results.md) the table replaces what stands between that file's ``<!-- run_all -->`` and
``<!-- /run_all -->`` markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import write_json
from jepa_lab.checkpoint import atomic_write_text

HERE = Path(__file__).resolve().parent
MARKERS = ("<!-- run_all -->", "<!-- /run_all -->")
# name -> (script arguments, [(key, label, format)] of the headline rows)
BENCHMARKS = {
    "ijepa": (["ijepa.py", "--quick"], [
        ("probe_acc_trained", "I-JEPA tiny: shape probe accuracy, trained", "{:.3f}"),
        ("probe_acc_random_init", "I-JEPA tiny: shape probe accuracy, random init", "{:.3f}"),
        ("probe_acc_pixels", "I-JEPA tiny: shape probe accuracy, raw pixels", "{:.3f}")]),
    "vjepa": (["vjepa.py", "--quick"], [
        ("probe_motion_acc_trained", "V-JEPA tiny: motion probe accuracy, trained", "{:.3f}"),
        ("probe_motion_acc_random_init", "V-JEPA tiny: motion probe accuracy, random init", "{:.3f}"),
        ("probe_motion_acc_image_encoder", "V-JEPA tiny: motion probe accuracy, I-JEPA frame by frame", "{:.3f}"),
        ("future_l1_trained", "V-JEPA tiny: future latent L1, trained", "{:.4f}"),
        ("future_l1_copy_last", "V-JEPA tiny: future latent L1, copy last frame", "{:.4f}")]),
    "planning": (["planning.py", "--quick"], [
        ("two_rooms_success_cem", "Two Rooms success, latent CEM", "{:.0%}"),
        ("two_rooms_success_random", "Two Rooms success, random actions", "{:.0%}"),
        ("two_rooms_success_oracle", "Two Rooms success, oracle", "{:.0%}"),
        ("push_success_cem", "Push success, latent CEM", "{:.0%}"),
        ("ms_per_plan_step_latent", "ms per planning step, latent", "{:.0f}"),
        ("ms_per_plan_step_pixel", "ms per planning step, pixel model", "{:.0f}")]),
    "physics": (["physics.py", "--quick"], [
        ("set_acc_trained_visible", "VoE set accuracy, visible: trained V-JEPA", "{:.0%}"),
        ("set_acc_random_init_visible", "VoE set accuracy, visible: random init", "{:.0%}"),
        ("set_acc_pixel_visible", "VoE set accuracy, visible: pixel predictor", "{:.0%}"),
        ("set_acc_no_physics_visible", "VoE set accuracy, visible: no-physics control", "{:.0%}"),
        ("relative_acc_trained_visible", "VoE pair accuracy, visible: trained V-JEPA", "{:.0%}"),
        ("relative_acc_random_init_visible", "VoE pair accuracy, visible: random init", "{:.0%}")]),
    "permanence": (["physics.py", "--quick", "--model", "vjepa_permanence"], [
        ("set_acc_trained_occluded", "VoE set accuracy, occluded: vjepa_permanence (whole clip)", "{:.0%}"),
        ("set_acc_before_finetune_occluded", "VoE set accuracy, occluded: its start, not fine-tuned", "{:.0%}"),
        ("set_acc_random_init_occluded", "VoE set accuracy, occluded: random init", "{:.0%}"),
        ("set_acc_no_physics_occluded", "VoE set accuracy, occluded: no-physics control", "{:.0%}"),
        ("set_acc_trained_visible", "VoE set accuracy, visible: vjepa_permanence", "{:.0%}")]),
    "limits": (["limits.py", "--quick"], [
        ("success_camera_same", "Two Rooms success, same camera", "{:.0%}"),
        ("success_camera_shift_2px", "Two Rooms success, camera shifted 2 px", "{:.0%}")]),
    "full_scale": (["full_scale_planning.py"], [
        ("seconds_per_action", "V-JEPA 2-AC seconds per action (see settings)", "{:.2f}"),
        ("tflops_achieved", "achieved TFLOP/s", "{:.3f}"),
        ("params_ac_predictor", "AC predictor parameters", "{:,}")]),
}


def run(name: str, out: Path) -> dict:
    """One benchmark in a subprocess; returns {"ok", "seconds", "results" or "error"}."""
    args, _ = BENCHMARKS[name]
    path = out / f"{name}.json"
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, str(HERE / args[0]), *args[1:], "--json", str(path)], cwd=HERE,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    print(proc.stdout, end="")
    if proc.returncode != 0 or not path.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        print(f"{name}: FAILED (exit {proc.returncode})", file=sys.stderr)
        return {"ok": False, "seconds": seconds, "error": " | ".join(tail)}
    return {"ok": True, "seconds": seconds, "results": json.loads(path.read_text())}


def machine() -> str:
    """CPU model, cores, memory, OS, Python and torch versions, and the GPU if torch sees one."""
    import torch

    cpu, mem = platform.processor() or platform.machine(), ""
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    if hasattr(os, "sysconf") and "SC_PHYS_PAGES" in os.sysconf_names:
        mem = f", {os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') / 1024**3:.0f} GB RAM"
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"{cpu}, {os.cpu_count()} CPUs{mem}{gpu}, {platform.system()}, Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def markdown(summary: dict) -> str:
    lines = [f"Quick benchmarks, {summary['date']}, on {summary['machine']}.", "",
             "| benchmark | measure | value |", "|---|---|---|"]
    for name, entry in summary["benchmarks"].items():
        if not entry["ok"]:
            lines.append(f"| {name} | FAILED | {entry['error'][:80]} |")
            continue
        for key, label, fmt in BENCHMARKS[name][1]:
            value = entry["results"].get(key)
            lines.append(f"| {name} | {label} | {fmt.format(value) if value is not None else 'n/a'} |")
        lines.append(f"| {name} | seconds to run (quick) | {entry['seconds']:.0f} |")
    return "\n".join(lines) + "\n"


def put_in_readme(readme: Path, table: str) -> None:
    """Replace the text between the markers of ``readme`` (docs/results.md) by ``table`` (atomically)."""
    text = readme.read_text()
    start, end = (text.find(m) for m in MARKERS)
    if start < 0 or end < start:
        raise SystemExit(f"{readme}: expected the markers {MARKERS[0]} and {MARKERS[1]} around the results table")
    atomic_write_text(readme, text[:start + len(MARKERS[0])] + "\n" + table + text[end:])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=HERE / "results", help="folder for the JSON and markdown")
    ap.add_argument("--only", help=f"comma-separated subset of {', '.join(BENCHMARKS)}")
    ap.add_argument("--readme", type=Path, metavar="FILE",
                    help="also write the table into this markdown file, between its run_all markers (docs/results.md)")
    args = ap.parse_args(argv)
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        ap.error(f"unknown benchmark(s) {unknown}; expected some of {list(BENCHMARKS)}")
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {"date": datetime.date.today().isoformat(), "machine": machine(), "benchmarks": {}}
    for name in names:
        print(f"=== {name}", flush=True)
        summary["benchmarks"][name] = run(name, args.out)
    write_json(args.out / "quick.json", summary)
    table = markdown(summary)
    atomic_write_text(args.out / "quick.md", table)
    print(table)
    if args.readme:
        put_in_readme(args.readme, table)
        print(f"updated {args.readme}")
    return 0 if all(e["ok"] for e in summary["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
