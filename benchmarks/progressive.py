"""Progressive resolution at the kit's scale: what does training on short, small clips first save?

    python benchmarks/progressive.py --json out.json            # 600 steps per run, ~10-15 min on 2 cores
    python benchmarks/progressive.py --steps 60 --json out.json  # a smoke run

V-JEPA 2 pretrains on 16-frame clips at 256 px and only cools down on 64 frames at 384 px; the paper puts the
saving at about 8x the compute of training at the final size throughout. Here the same RoPE model (the kit's
default V-JEPA: 32 px frames, 8 px patches, 2-frame tubelets) is trained twice for the same number of steps on
bouncing balls filmed by a panning camera (the tiny preset's data):

* ``long``        - every step on the final clips: 16 frames at 48 px (8 x 6 x 6 = 288 tokens);
* ``progressive`` - the first steps on 8 frames at 32 px (4 x 4 x 4 = 64 tokens), the last ``--cooldown``
  fraction on the final clips (``VJEPAConfig.cooldown``).

Both are then measured on the same held-out final-size clips: future prediction (the latents of the last 4
token-frames from the first 4, L1 against the target encoder, beside "copy the last frame"), each model in its
own latent space, so compare each with its copy-last baseline. Wall time is measured on this machine in this
process, one run after the other (data generation excluded).

Stable keys: seconds_long, seconds_progressive, time_saving (long / progressive), future_l1_long,
future_l1_progressive, copy_last_l1_long, copy_last_l1_progressive, gain_long, gain_progressive (1 - future /
copy-last), steps, cooldown_steps, tokens_short, tokens_long.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace

import torch

from common import write_json
from jepa_lab.data.balls import make_balls, videos_to_float
from jepa_lab.eval.video_eval import future_prediction
from jepa_lab.models.ijepa import OptimConfig
from jepa_lab.models.vjepa import CooldownConfig, VJEPAConfig
from jepa_lab.train.jepa import balls_config, cooldown_clips, train, training_clips

FINAL_FRAMES, FINAL_SIZE = 16, 48


def configs(steps: int, cooldown: float, clips: int) -> dict[str, VJEPAConfig]:
    """The two runs: RoPE V-JEPA, the tiny preset's data and mask families, ``steps`` steps of batch 32."""
    tiny = VJEPAConfig.preset("tiny")
    base = replace(tiny, video=replace(tiny.video, pos="rope"), predictor=replace(tiny.predictor, pos="rope"),
                   optim=OptimConfig(steps=steps, batch_size=32, warmup_steps=max(1, steps // 10), ema=(0.998, 1.0)),
                   data=replace(tiny.data, num_clips=clips))
    long = replace(base, video=replace(base.video, num_frames=FINAL_FRAMES, img_size=FINAL_SIZE))
    k = max(1, round(cooldown * steps))
    return {"long": long, "progressive": replace(base, cooldown=CooldownConfig(k, FINAL_FRAMES, FINAL_SIZE))}


def run(name: str, cfg: VJEPAConfig) -> tuple[object, float]:
    """Train one config (clips drawn before the clock starts); returns (model, seconds of training)."""
    data, cool = training_clips(cfg), cooldown_clips(cfg)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = train(cfg, out, resume=False, progress=True, data=data, cooldown_data=cool, ckpt_every=10**9)
        seconds = time.perf_counter() - t0
    print(f"{name}: {result.steps_run} steps in {seconds:.0f} s")
    return result.model.eval(), seconds


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--cooldown", type=float, default=0.25, help="fraction of the steps on final-size clips")
    ap.add_argument("--clips", type=int, default=3000, help="training clips per size")
    ap.add_argument("--test", type=int, default=500, help="held-out final-size clips")
    ap.add_argument("--json")
    args = ap.parse_args(argv)
    cfgs = configs(args.steps, args.cooldown, args.clips)
    videos, _ = make_balls(args.test, balls_config(cfgs["long"]), seed=99, progress=False)
    test = videos_to_float(videos)  # [B, C, 16, 48, 48]
    results = {"steps": args.steps, "cooldown_steps": cfgs["progressive"].cooldown.steps,
               "tokens_short": 64, "tokens_long": 8 * 6 * 6}
    for name, cfg in cfgs.items():
        model, seconds = run(name, cfg)
        with torch.no_grad():
            fp = future_prediction(model, test, context_frames=4)
        results |= {f"seconds_{name}": seconds, f"future_l1_{name}": fp["future_l1"],
                    f"copy_last_l1_{name}": fp["copy_last_l1"], f"gain_{name}": 1 - fp["future_l1"] / fp["copy_last_l1"]}
    results["time_saving"] = results["seconds_long"] / results["seconds_progressive"]
    print(f"\n{'run':<13}{'train s':>9}{'future L1':>11}{'copy-last':>11}{'gain':>7}")
    for name in cfgs:
        print(f"{name:<13}{results[f'seconds_{name}']:>9.0f}{results[f'future_l1_{name}']:>11.4f}"
              f"{results[f'copy_last_l1_{name}']:>11.4f}{results[f'gain_{name}']:>7.0%}")
    print(f"time saving: {results['time_saving']:.2f}x for the same {args.steps} steps "
          f"({results['cooldown_steps']} of them on final-size clips)")
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    main()
