"""Intuitive physics: is a video model surprised when physics breaks? (violation of expectation)

    python benchmarks/physics.py --quick --json out.json   # 64 minimal sets (8 per law x variant), ~1 min
    python benchmarks/physics.py --json out.json           # 400 minimal sets (50 per law x variant)
    python benchmarks/physics.py --model vjepa_permanence  # fine-tuned on 16-frame clips, whole-clip read

Held-out minimal sets (violations.py: two possible clips and their two impossible splices; seed 1000, never used
for training) are written as lossless mp4 files and read back through the kit's video reader. Surprise signals
over the same frames: the trained V-JEPA (`data/vjepa_physics.pt` by default, trained on possible events only),
the same network at random initialisation, a pixel-prediction model (`data/pixel_physics.pt`), and a control that
knows no physics (how much non-background each window shows: what it wins is won without physics). An 8-frame
model is read with 8-frame windows slid along the clip, a model built for the whole 16-frame clip with the whole
clip as context (``--read``). A clip's score is its mean surprise over time (``--score max`` for the maximum,
which set sums no longer balance). Relative accuracy: the impossible clip of a pair scores higher than
its possible twin (chance 50%); set accuracy (IntPhys's relative score): a set's two impossible clips have the
larger summed score (chance 50%; immune to "emptier scenes are easier"); AUROC: impossible vs possible over
single clips (chance 0.5).

Stable keys: relative_acc_{trained,random_init,pixel} (all pairs), relative_acc_{model}_{visible,occluded},
set_acc_{model}, set_acc_{model}_{visible,occluded}, auroc_{trained,random_init,pixel,no_physics}, per_law
({model: {"law/variant": pair accuracy}}), per_law_set (the same for set accuracy), sets, pairs, score, model,
read. A fine-tuned model (its config's ``init``, e.g. ``--model vjepa_permanence``) adds the model
``before_finetune``: the weights it started from, read the same way.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import write_json
from jepa_lab.data.clips import ClipDataset, cached_clips
from jepa_lab.data.violations import LAWS, VARIANTS
from jepa_lab.eval.surprise import (auroc, breakdown, clip_scores, context_surprise, latent_surprise, pixel_surprise,
                                    relative_accuracy, scene_control, scene_control_context, set_accuracy)
from jepa_lab.models.vjepa import VJEPA
from jepa_lab.train.jepa import start_from
from jepa_lab.weights.pretrained import load_pretrained
from jepa_lab.weights.saved import load_model

TEST_SEED = 1000
CONTEXTS = (1, 2, 3, 4, 5, 6)  # token-frames of context for --read context (2..12 of the clip's 16 frames)


def held_out_sets(sets: int, cache_dir: str | None) -> tuple[torch.Tensor, dict]:
    """The held-out sets as float clips [4 x sets, 3, T, H, W], read back from their mp4 files, and factors."""
    folder = cached_clips("violations", 4 * sets, seed=TEST_SEED, cache_dir=cache_dir, progress=False)
    data = ClipDataset(folder)
    items = [data[i] for i in range(len(data))]
    clips = torch.stack([x for x, _ in items])
    factors = {k: torch.stack([f[k] for _, f in items]) for k in items[0][1]}
    return clips, factors


def score_models(clips: torch.Tensor, model: str = "vjepa_physics", read: str = "windows",
                 contexts=CONTEXTS) -> dict[str, torch.Tensor]:
    """Surprise curves [clips, W] of the V-JEPA (a shipped name or a file), the same network at random init, the
    pixel model and the physics-blind control. ``read="windows"``: 8-frame windows slid along the clip (4 frames
    of context each); ``"context"``: the whole clip as one window, read after each context length in
    ``contexts`` token-frames (a RoPE model; the control is read over the same predicted frames; the pixel model
    keeps its windows)."""
    trained = load_model(model) if Path(model).is_file() else load_pretrained(model)
    torch.manual_seed(trained.cfg.seed)
    models = {"trained": trained, "random_init": VJEPA(trained.cfg).eval()}
    if trained.cfg.init:  # a fine-tuned model: also the weights it started from, read the same way
        models["before_finetune"] = VJEPA(trained.cfg)
        start_from(models["before_finetune"], trained.cfg)
        models["before_finetune"].eval()
    if read == "context":
        out = {k: context_surprise(m, clips, contexts) for k, m in models.items()}
        control = scene_control_context(clips, out["trained"][1])
    else:
        out = {k: latent_surprise(m, clips) for k, m in models.items()}
        control = scene_control(clips)
    return {**{k: curve for k, (curve, _) in out.items()},
            "pixel": pixel_surprise(load_pretrained("pixel_physics"), clips)[0], "no_physics": control}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="64 minimal sets instead of 400")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--score", choices=("mean", "max"), default="mean",
                    help="a clip's score: its mean surprise over time (default: set sums then cancel any "
                         "preference for a kind of scene) or its maximum")
    ap.add_argument("--cache-dir", help="where the test clips are written (default: a temporary folder)")
    ap.add_argument("--model", default="vjepa_physics",
                    help="the V-JEPA: a shipped name (default vjepa_physics) or a checkpoint / exported file")
    ap.add_argument("--read", choices=("auto", "windows", "context"), default="auto",
                    help="windows: 8-frame windows slid along the clip; context: the whole 16-frame clip as context, "
                         f"read after {CONTEXTS[0]}..{CONTEXTS[-1]} token-frames (RoPE models or models built for 16 "
                         "frames); auto (default): context for a model built for the whole clip, else windows")
    args = ap.parse_args(argv)
    sets = 64 if args.quick else 400
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        clips, f = held_out_sets(sets, args.cache_dir or tmp)
    read = args.read
    if read == "auto":  # the whole clip for a model built for it (vjepa_permanence), windows otherwise
        trained = load_model(args.model) if Path(args.model).is_file() else load_pretrained(args.model)
        read = "context" if trained.cfg.video.num_frames == clips.shape[2] else "windows"
    curves = score_models(clips, args.model, read)
    results = {"sets": sets, "pairs": 2 * sets, "score": args.score, "per_law": {}, "per_law_set": {},
               "model": args.model, "read": read}
    for name, c in curves.items():
        s = clip_scores(c)[args.score]
        cells = breakdown(s, f, LAWS, VARIANTS)
        results[f"relative_acc_{name}"] = relative_accuracy(s, f["impossible"], f["pair"])
        results[f"relative_acc_{name}_visible"] = cells["visible"]
        results[f"relative_acc_{name}_occluded"] = cells["occluded"]
        results[f"auroc_{name}"] = auroc(s, f["impossible"])
        results["per_law"][name] = {k: v for k, v in cells.items() if "/" in k}
        by_set = breakdown(s, f, LAWS, VARIANTS, by="set")
        results[f"set_acc_{name}"] = set_accuracy(s, f["impossible"], f["set"])
        results[f"set_acc_{name}_visible"] = by_set["visible"]
        results[f"set_acc_{name}_occluded"] = by_set["occluded"]
        results["per_law_set"][name] = {k: v for k, v in by_set.items() if "/" in k}
    results["seconds"] = time.perf_counter() - t0
    print_table(results)
    if args.json:
        write_json(args.json, results)
    return results


def print_table(r: dict) -> None:
    models = [m for m in ("trained", "before_finetune", "random_init", "pixel", "no_physics") if m in r["per_law"]]
    print(f"{r['model']}, read: {r['read']}; {r['sets']} minimal sets ({r['pairs']} pairs), score = {r['score']} "
          "surprise over time")
    print("accuracy, chance 50%: set (IntPhys relative score) | pair (impossible vs its twin)")
    print(f"{'law / variant':<22}" + "".join(f"{m:>19}" for m in models))
    both = lambda m, s_key, p_key: f"{s_key:>10.0%} |{p_key:>5.0%}"
    for variant in VARIANTS:
        for law in LAWS:
            cell = f"{law}/{variant}"
            print(f"{cell:<22}" + "".join(both(m, r["per_law_set"][m][cell], r["per_law"][m][cell]) for m in models))
        print(f"{'all ' + variant:<22}" + "".join(
            both(m, r[f"set_acc_{m}_{variant}"], r[f"relative_acc_{m}_{variant}"]) for m in models))
    print(f"{'all':<22}" + "".join(both(m, r[f"set_acc_{m}"], r[f"relative_acc_{m}"]) for m in models))
    print(f"{'AUROC (single clips)':<22}" + "".join(f"{r[f'auroc_{m}']:>19.2f}" for m in models))


if __name__ == "__main__":
    main()
