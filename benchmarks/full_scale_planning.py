"""Full-scale V-JEPA 2-AC planning: seconds per action with the official CEM settings, and achieved TFLOP/s.

    python benchmarks/full_scale_planning.py --json out.json          # GPU: full size; CPU: reduced, see below
    python benchmarks/full_scale_planning.py --depth 24 --samples 400 --iterations 10   # force full size

One action = encode the current frame with the ViT-g encoder (the goal is encoded once per episode, not
counted) + CEM over (dx, dy, dz, dgripper): ``iterations`` x one batched rollout of ``samples`` candidates,
``rollout`` steps each, through the 1024-wide AC predictor with cached keys/values. Random weights: timing
does not depend on them. On a GPU the models run in bf16 autocast with fused attention.

On a CPU the full model (1.4 PFLOP per action) would take hours, so the default there is the full *width* at
reduced depth and fewer samples/iterations; the JSON then says ``full_size: false`` and adds
``estimated_seconds_per_action_full`` = full-size FLOPs / the FLOP rate achieved here (an estimate).

Stable JSON keys: seconds_per_action, device, tflops_achieved, params_vitl, params_vith, params_vitg,
params_ac_predictor; also flops_per_action, flops_per_action_recompute (without the cache), full_size,
settings, encode_seconds, plan_seconds, estimated_seconds_per_action_full.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from common import write_json
from jepa_lab.fullscale.robot_planner import RobotPlanSettings, autocast_for, latent_energy, plan_robot_action
from jepa_lab.fullscale.sizing import flop_count, format_count
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import count_parameters
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor

CPU_DEFAULTS = {"depth": 2, "encoder_depth": 2, "samples": 24, "iterations": 2}


def exact_counts() -> dict:
    """Trainable parameters of the published models, built on the meta device."""
    with torch.device("meta"):
        counts = {f"params_{k}": count_parameters(VideoViT(VideoViTConfig.preset(p)))
                  for k, p in (("vitl", "vit_l16"), ("vith", "vit_h16"), ("vitg", "vit_g16"))}
        counts["params_ac_predictor"] = count_parameters(VJEPA2ACPredictor(VJEPA2ACConfig.preset("vitg")))
    return counts


def planning_flops(settings: RobotPlanSettings, depth: int, enc_depth: int) -> tuple[int, int, int]:
    """(FLOPs per action with the cache, without it, of the encoder per frame) on the meta device."""
    with torch.device("meta"):
        pred = VJEPA2ACPredictor(replace(VJEPA2ACConfig.preset("vitg"), depth=depth))
        enc = VideoViT(replace(VideoViTConfig.preset("vit_g16"), depth=enc_depth))
        z, pose, s, h = torch.empty(256, 1408), torch.empty(7), settings.samples, settings.rollout
        actions = torch.empty(s, h, 4)
        frame = torch.empty(1, 3, 256, 256)
    cached = flop_count(latent_energy(pred, z, pose, z), actions) * settings.iterations
    # the official wrapper re-runs the whole history at each rollout step: T = 1, 2, ..., h
    with torch.device("meta"):
        recompute = sum(flop_count(pred, torch.empty(s, t, 256, 1408), torch.empty(s, t, 7), torch.empty(s, t, 7))
                        for t in range(1, h + 1)) * settings.iterations
    return cached, recompute, flop_count(enc.encode_frames, frame)


def build(depth: int, enc_depth: int, device: torch.device):
    torch.manual_seed(0)
    enc = VideoViT(replace(VideoViTConfig.preset("vit_g16"), depth=enc_depth)).to(device).eval()
    pred = VJEPA2ACPredictor(replace(VJEPA2ACConfig.preset("vitg"), depth=depth)).to(device).eval()
    return enc, pred


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def one_action(enc, pred, frame, z_goal, settings, device) -> tuple[float, float]:
    """(encode seconds, plan seconds) of one MPC step."""
    sync(device)
    t0 = time.perf_counter()
    with torch.no_grad(), autocast_for(device):
        z0 = F.layer_norm(enc.encode_frames(frame)[0].float(), (1408,))  # [256, 1408]
    sync(device)
    t1 = time.perf_counter()
    plan_robot_action(pred, z0, torch.zeros(7, device=device), z_goal, settings)
    sync(device)
    return t1 - t0, time.perf_counter() - t1


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--device", default="auto", help="auto (cuda if available), cpu or cuda")
    ap.add_argument("--depth", type=int, help="AC predictor depth (24 = full; CPU default 2)")
    ap.add_argument("--encoder-depth", type=int, help="ViT-g encoder depth (40 = full; CPU default 2)")
    ap.add_argument("--samples", type=int, help="CEM samples (official 400; CPU default 24)")
    ap.add_argument("--iterations", type=int, help="CEM iterations (official 10; CPU default 2)")
    ap.add_argument("--repeats", type=int, default=3, help="timed actions after one warm-up (median reported)")
    args = ap.parse_args(argv)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    full = RobotPlanSettings()
    cpu = device.type == "cpu"
    depth = args.depth or (CPU_DEFAULTS["depth"] if cpu else 24)
    enc_depth = args.encoder_depth or (CPU_DEFAULTS["encoder_depth"] if cpu else 40)
    settings = replace(full, samples=args.samples or (CPU_DEFAULTS["samples"] if cpu else full.samples),
                       iterations=args.iterations or (CPU_DEFAULTS["iterations"] if cpu else full.iterations))
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True

    flops, flops_recompute, enc_flops = planning_flops(settings, depth, enc_depth)
    full_flops, full_recompute, full_enc = planning_flops(full, 24, 40)
    enc, pred = build(depth, enc_depth, device)
    g = torch.Generator().manual_seed(1)
    frame = torch.randn(1, 3, 256, 256, generator=g).to(device)
    z_goal = F.layer_norm(torch.randn(256, 1408, generator=g), (1408,)).to(device)
    one_action(enc, pred, frame, z_goal, settings, device)  # warm-up (kernels, allocator)
    times = [one_action(enc, pred, frame, z_goal, settings, device) for _ in range(args.repeats)]
    encode_s = statistics.median(t[0] for t in times)
    plan_s = statistics.median(t[1] for t in times)
    seconds = encode_s + plan_s
    rate = (flops + enc_flops) / seconds
    is_full = depth == 24 and enc_depth == 40 and settings == full
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"
    results = {
        "seconds_per_action": seconds, "device": name, "tflops_achieved": rate / 1e12,
        **exact_counts(),
        "full_size": is_full, "encode_seconds": encode_s, "plan_seconds": plan_s,
        "flops_per_action": flops + enc_flops, "flops_per_action_recompute": flops_recompute + enc_flops,
        "full_size_flops_per_action": full_flops + full_enc,
        "full_size_flops_per_action_recompute": full_recompute + full_enc,
        "estimated_seconds_per_action_full": (full_flops + full_enc) / rate,
        "settings": {"predictor_depth": depth, "encoder_depth": enc_depth, "rollout": settings.rollout,
                     "samples": settings.samples, "elites": settings.elites, "iterations": settings.iterations,
                     "dtype": "bf16 autocast" if device.type == "cuda" else "fp32", "torch": torch.__version__},
    }
    print_table(results)
    if args.json:
        write_json(args.json, results)
    return results


def print_table(r: dict) -> None:
    s = r["settings"]
    rows = [
        ("device", r["device"]),
        ("size", "FULL (ViT-g 40 + AC 24 layers, official CEM)" if r["full_size"] else
         f"reduced: encoder {s['encoder_depth']} / predictor {s['predictor_depth']} layers, "
         f"{s['samples']} samples x {s['iterations']} iterations, rollout {s['rollout']}"),
        ("seconds per action", f"{r['seconds_per_action']:.2f} (encode {r['encode_seconds']:.2f}, "
                               f"plan {r['plan_seconds']:.2f})"),
        ("FLOPs per action", f"{format_count(r['flops_per_action'])} "
                             f"(recomputing the history: {format_count(r['flops_per_action_recompute'])})"),
        ("achieved", f"{r['tflops_achieved']:.3f} TFLOP/s ({s['dtype']})"),
        ("full size, FLOPs per action", f"{format_count(r['full_size_flops_per_action'])} "
                                        f"(recompute: {format_count(r['full_size_flops_per_action_recompute'])})"),
        ("full size, estimated s/action here", f"{r['estimated_seconds_per_action_full']:.1f}"),
        ("params ViT-L / H / g", f"{r['params_vitl']:,} / {r['params_vith']:,} / {r['params_vitg']:,}"),
        ("params AC predictor", f"{r['params_ac_predictor']:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    for k, v in rows:
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
