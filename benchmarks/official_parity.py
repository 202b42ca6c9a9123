"""Parity with Meta's reference code: same weights through facebookresearch/vjepa2's modules and jepa_lab's.

    git clone https://github.com/facebookresearch/vjepa2 ~/vjepa2        # their code, not part of this kit
    git clone https://github.com/facebookresearch/ijepa ~/ijepa          # optional: I-JEPA too
    python benchmarks/official_parity.py --vjepa2 ~/vjepa2 [--ijepa ~/ijepa] [--json out.json]

Builds the official V-JEPA 2 encoder (ViT-L width, RoPE), predictor (384 wide, 10 mask tokens) and AC
predictor (1024 wide) at depth 2 with random weights, saves their state dicts in the released files' layout
(``module.backbone.`` / ``module.`` prefixes), loads them with ``jepa_lab.fullscale.released.load_released`` and
compares the outputs on the same inputs - at the configured clip size (16 frames at 256 px) and, for the RoPE
encoder and predictor, at other sizes too (8 frames at 192 x 128 px, a masked clip, and a predictor rebuilt
by Meta's code for 8 frames at 192 px: RoPE models carry no size-dependent weight). With ``--ijepa``, the same for I-JEPA's ViT-H/14 and its predictor. Prints the largest absolute differences; exits 1 above --tol.
Needs einops and numpy (timm's drop_path, unused at inference, is stubbed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from dataclasses import replace
from functools import partial
from pathlib import Path

import torch
import torch.nn.functional as F

from common import write_json
from jepa_lab.fullscale.released import ReleasedSpec, load_released, spec_for
from jepa_lab.models.video_vit import VideoViTConfig
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig

KW = dict(patch_size=16, img_size=(256, 256), tubelet_size=2, uniform_power=False, use_rope=True)


def _import_src(root: Path, marker: str, names: list[str]):
    """Import ``src.models.<name>`` from a checkout; both official repos call their package ``src``, so any
    previously imported ``src`` is forgotten first."""
    if not (root / "src" / "models" / marker).is_file():
        raise SystemExit(f"{root} is not the expected checkout (no src/models/{marker})")
    for mod in [m for m in sys.modules if m == "src" or m.startswith("src.")]:
        del sys.modules[mod]
    sys.path.insert(0, str(root))
    try:
        return [__import__(f"src.models.{n}", fromlist=[n]) for n in names]
    finally:
        sys.path.remove(str(root))


def import_official(root: Path):
    """The reference modules from a vjepa2 checkout (timm stubbed: drop_path is the identity at eval)."""
    layers = types.ModuleType("timm.models.layers")
    layers.drop_path = lambda x, p=0.0, training=False: x
    sys.modules.setdefault("timm", types.ModuleType("timm"))
    sys.modules.setdefault("timm.models", types.ModuleType("timm.models"))
    sys.modules.setdefault("timm.models.layers", layers)
    return _import_src(root, "ac_predictor.py", ["vision_transformer", "predictor", "ac_predictor"])


def ijepa_pairs(root: Path, tmp: Path) -> dict:
    """I-JEPA ViT-H/14 (depth 2) and its predictor: official vs jepa_lab outputs on the same weights."""
    (vit,) = _import_src(root, "vision_transformer.py", ["vision_transformer"])
    norm = partial(torch.nn.LayerNorm, eps=1e-6)
    enc = vit.VisionTransformer(img_size=[224], patch_size=14, embed_dim=1280, depth=2, num_heads=16,
                                mlp_ratio=4, qkv_bias=True, norm_layer=norm).eval()
    pred = vit.vit_predictor(num_patches=256, embed_dim=1280, predictor_embed_dim=384, depth=2,
                             num_heads=16).eval()
    with torch.no_grad():
        for m in (enc, pred):
            for name, w in m.named_parameters():
                if "pos_embed" not in name:
                    w.add_(0.02 * torch.randn_like(w))
    prefixed = lambda m: {"module." + k: v for k, v in m.state_dict().items()}
    name = "IN1K-vit.h.14-300e.pth.tar"
    torch.save({"encoder": prefixed(enc), "target_encoder": prefixed(enc), "predictor": prefixed(pred)}, tmp / name)
    ours = load_released(tmp / name, spec=spec_for(name).with_depth(2, 2))
    x = torch.randn(2, 3, 224, 224)
    ctx, tgt = torch.arange(0, 256, 2).expand(2, -1), torch.arange(1, 80, 2).expand(2, -1)
    with torch.no_grad():
        h = enc(x)
        return {"ijepa_encoder": (h, ours.encoder(x)),
                "ijepa_predictor": (pred(h[:, ::2], [ctx], [tgt]), ours.predictor(h[:, ::2], ctx, tgt[:, None])[:, 0])}


def official_models(vit, pred, ac):
    enc = vit.VisionTransformer(embed_dim=1024, depth=2, num_heads=16, mlp_ratio=4, qkv_bias=True, num_frames=16,
                                norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), use_sdpa=True, **KW)
    p = pred.vit_predictor(embed_dim=1024, predictor_embed_dim=384, depth=2, num_heads=12, num_frames=16,
                           use_mask_tokens=True, num_mask_tokens=10, use_sdpa=True, **KW)
    a = ac.vit_ac_predictor(img_size=(256, 256), patch_size=16, num_frames=64, tubelet_size=2, embed_dim=1024,
                            depth=2)
    with torch.no_grad():  # move every weight off its init so norms and biases matter
        for m in (enc, p, a):
            for w in m.parameters():
                w.add_(0.02 * torch.randn_like(w))
    return enc.eval(), p.eval(), a.eval()


def other_size_pairs(pred_module, enc, pred, ours) -> dict:
    """RoPE models at clip sizes other than the configured 16 x 256 x 256: the official encoder reads the grid of
    the clip it is given; the official predictor is rebuilt for 8 frames at 192 px with the same weights."""
    x = torch.randn(1, 3, 8, 192, 128)  # grid (4, 12, 8): fewer frames, non-square
    keep = torch.arange(0, 4 * 12 * 8, 3)[None]  # every third token
    small = pred_module.vit_predictor(embed_dim=1024, predictor_embed_dim=384, depth=2, num_heads=12, num_frames=8,
                                      use_mask_tokens=True, num_mask_tokens=10, use_sdpa=True,
                                      **{**KW, "img_size": (192, 192)}).eval()
    small.load_state_dict(pred.state_dict())
    grid = (4, 12, 12)
    ctx, tgt = torch.arange(0, 576, 2)[None], torch.arange(1, 576, 4)[None]
    h = enc(torch.randn(1, 3, 8, 192, 192))
    return {"encoder_8x192x128": (enc(x), ours.encoder(x)),
            "encoder_8x192x128_masked": (enc(x, masks=[keep]), ours.encoder(x, keep=keep)),
            "predictor_8x192x192": (small(h[:, ::2], [ctx], [tgt], mask_index=1),
                                    ours.predictor(h[:, ::2], ctx, tgt, 1, grid=grid))}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vjepa2", type=Path, required=True, help="path of a facebookresearch/vjepa2 checkout")
    ap.add_argument("--ijepa", type=Path, help="path of a facebookresearch/ijepa checkout (optional)")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tol", type=float, default=1e-4)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    modules = import_official(args.vjepa2.expanduser())
    enc, pred, acp = official_models(*modules)
    tmp = Path(tempfile.mkdtemp())
    prefixed = lambda m, p: {p + k: v for k, v in m.state_dict().items()}
    torch.save({"encoder": prefixed(enc, "module.backbone."), "predictor": prefixed(pred, "module.backbone.")},
               tmp / "vitl.pt")
    torch.save({"encoder": prefixed(enc, "module."), "predictor": prefixed(acp, "module.")}, tmp / "ac.pt")
    ours = load_released(tmp / "vitl.pt", spec=spec_for("vitl.pt").with_depth(2, 2))
    ac_spec = ReleasedSpec("vjepa2_ac", replace(VideoViTConfig.preset("vit_l16"), depth=2),
                           replace(VJEPA2ACConfig.preset("vitg"), encoder_dim=1024, depth=2))
    ours_ac = load_released(tmp / "ac.pt", spec=ac_spec)
    x = torch.randn(2, 3, 16, 256, 256)
    ctx, tgt = torch.arange(512).expand(2, -1), torch.arange(512, 768).expand(2, -1)
    z = F.layer_norm(torch.randn(2, 3, 256, 1024), (1024,))  # [B, T, N, D]
    act, st = 0.05 * torch.randn(2, 3, 7), torch.randn(2, 3, 7)
    with torch.no_grad():
        h = enc(x)
        pairs = {
            "encoder": (h, ours.encoder(x)),
            "predictor": (pred(h[:, :512], [ctx], [tgt], mask_index=1), ours.predictor(h[:, :512], ctx, tgt, 1)),
            "ac_predictor": (acp(z.flatten(1, 2), act, st).view(2, 3, 256, 1024), ours_ac.predictor(z, act, st)),
        }
        pairs |= other_size_pairs(modules[1], enc, pred, ours)
    if args.ijepa:
        pairs |= ijepa_pairs(args.ijepa.expanduser(), tmp)
    results = {f"max_abs_diff_{k}": float((a - b).abs().max()) for k, (a, b) in pairs.items()}
    results |= {f"mean_abs_{k}": float(a.abs().mean()) for k, (a, _) in pairs.items()}
    for k in pairs:
        print(f"{k:<26} max |official - jepa_lab| = {results[f'max_abs_diff_{k}']:.2e}   "
              f"(mean |output| {results[f'mean_abs_{k}']:.3f})")
    if args.json:
        write_json(args.json, results)
    if max(results[f"max_abs_diff_{k}"] for k in pairs) > args.tol:
        raise SystemExit(f"parity FAILED: a difference above --tol {args.tol}")
    return results


if __name__ == "__main__":
    main()
