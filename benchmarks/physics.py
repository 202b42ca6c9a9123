"""Intuitive physics: is a video model surprised when physics breaks? (violation of expectation)

    python benchmarks/physics.py --quick --json out.json   # 64 pairs (8 per law x variant), ~1 min
    python benchmarks/physics.py --json out.json           # 400 pairs (50 per law x variant)

Held-out possible/impossible pairs (violations.py; seed 1000, never used for training) are written as lossless
mp4 files and read back through the kit's video reader. Three surprise signals over the same sliding windows:
the trained V-JEPA (`data/vjepa_physics.pt`, trained on possible events only), the same network at random
initialisation, and a pixel-prediction model (`data/pixel_physics.pt`). A clip's score is its maximum surprise
over time (``--score mean`` for the mean). Relative accuracy: the impossible clip of a pair scores higher than
its possible twin (chance 50%); AUROC: impossible vs possible over single clips (chance 0.5).

Stable keys: relative_acc_{trained,random_init,pixel} (all pairs), relative_acc_{model}_{visible,occluded},
auroc_{trained,random_init,pixel}, per_law ({model: {"law/variant": accuracy}}), pairs, score.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from common import write_json
from jepa_lab.clips import ClipDataset, cached_clips
from jepa_lab.pixel_predictor import pixel_surprise
from jepa_lab.pretrained import load_pretrained
from jepa_lab.surprise import auroc, breakdown, clip_scores, latent_surprise, relative_accuracy
from jepa_lab.violations import LAWS, VARIANTS
from jepa_lab.vjepa import VJEPA

TEST_SEED = 1000


def test_pairs(pairs: int, cache_dir: str | None) -> tuple[torch.Tensor, dict]:
    """The held-out pairs as float clips [2P, 3, T, H, W], read back from their mp4 files, and factors."""
    folder = cached_clips("violations", 2 * pairs, seed=TEST_SEED, cache_dir=cache_dir, progress=False)
    data = ClipDataset(folder)
    items = [data[i] for i in range(len(data))]
    clips = torch.stack([x for x, _ in items])
    factors = {k: torch.stack([f[k] for _, f in items]) for k in items[0][1]}
    return clips, factors


def score_models(clips: torch.Tensor) -> dict[str, torch.Tensor]:
    """Surprise curves [2P, W] of the three models."""
    trained = load_pretrained("vjepa_physics")
    torch.manual_seed(trained.cfg.seed)
    random_init = VJEPA(trained.cfg).eval()
    return {"trained": latent_surprise(trained, clips)[0], "random_init": latent_surprise(random_init, clips)[0],
            "pixel": pixel_surprise(load_pretrained("pixel_physics"), clips)[0]}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="64 pairs instead of 400")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--score", choices=("max", "mean"), default="max")
    ap.add_argument("--cache-dir", help="where the test clips are written (default: a temporary folder)")
    args = ap.parse_args(argv)
    pairs = 64 if args.quick else 400
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        clips, f = test_pairs(pairs, args.cache_dir or tmp)
    curves = score_models(clips)
    results = {"pairs": pairs, "score": args.score, "per_law": {}}
    for name, c in curves.items():
        s = clip_scores(c)[args.score]
        cells = breakdown(s, f, LAWS, VARIANTS)
        results[f"relative_acc_{name}"] = relative_accuracy(s, f["impossible"], f["pair"])
        results[f"relative_acc_{name}_visible"] = cells["visible"]
        results[f"relative_acc_{name}_occluded"] = cells["occluded"]
        results[f"auroc_{name}"] = auroc(s, f["impossible"])
        results["per_law"][name] = {k: v for k, v in cells.items() if "/" in k}
    results["seconds"] = time.perf_counter() - t0
    print_table(results)
    if args.json:
        write_json(args.json, results)
    return results


def print_table(r: dict) -> None:
    models = ("trained", "random_init", "pixel")
    print(f"{r['pairs']} pairs, score = {r['score']} surprise over time; relative accuracy (chance 50%)")
    print(f"{'law / variant':<22}" + "".join(f"{m:>13}" for m in models))
    for variant in VARIANTS:
        for law in LAWS:
            cell = f"{law}/{variant}"
            print(f"{cell:<22}" + "".join(f"{r['per_law'][m][cell]:>13.0%}" for m in models))
        print(f"{'all ' + variant:<22}" + "".join(f"{r[f'relative_acc_{m}_{variant}']:>13.0%}" for m in models))
    print(f"{'all pairs':<22}" + "".join(f"{r[f'relative_acc_{m}']:>13.0%}" for m in models))
    print(f"{'AUROC (single clips)':<22}" + "".join(f"{r[f'auroc_{m}']:>13.2f}" for m in models))


if __name__ == "__main__":
    main()
