"""Loading Meta's released I-JEPA, V-JEPA 2 and V-JEPA 2-AC checkpoints from a local file (no downloads here).

Get the files yourself (the official READMEs link them), then e.g.::

    model = load_released("~/weights/vitl.pt")          # V-JEPA 2 ViT-L encoder + predictor
    print(model.report)                                  # which entry was taken, what was ignored
    z = model.encoder(clips)                             # [B, N, 1024]

A released file is a dict with ``encoder`` / ``target_encoder`` / ``predictor`` entries (plus optimiser state)
whose keys carry the training wrapper's prefixes (``module.``, ``module.backbone.``). The loader reads it with
``torch.load(..., weights_only=True)``, strips the prefixes, picks the encoder entry (default: the target
encoder when the file has one, as the official evaluations do; else ``encoder``), builds the matching jepa_lab
module on the meta device, and loads *strictly*: any missing, unexpected or mis-shaped key raises a ValueError
with a readable report. A RoPE model's unused sin-cos ``pos_embed`` (the hub loader drops it too) is reported
as ignored. Hugging Face ``facebook/vjepa2-*`` weights (query/key/value split) are converted on the way in.

Shapes: D encoder width, Dp predictor width, K mask tokens.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from safetensors.torch import load_file as load_safetensors
from torch import nn

from ..checkpoint import unreadable_reason
from ..models.ijepa import IJEPAConfig
from ..models.ijepa_predictor import Predictor
from ..models.rope import grid_positions
from ..models.video_vit import VideoViT, VideoViTConfig
from ..models.vit import VisionTransformer
from ..models.vjepa import VJEPAConfig
from ..models.vjepa_predictor import VideoPredictor
from .vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor

ENTRIES = ("auto", "target_encoder", "encoder")


@dataclass(frozen=True)
class ReleasedSpec:
    """What a released file holds: its family and the jepa_lab configs of its encoder and predictor."""

    family: str  # "ijepa" | "vjepa2" | "vjepa2_ac"
    encoder: object  # ViTConfig (I-JEPA) or VideoViTConfig
    predictor: object  # PredictorConfig, VideoPredictorConfig or VJEPA2ACConfig

    def with_depth(self, encoder_depth: int, predictor_depth: int) -> "ReleasedSpec":
        """The same widths at reduced depth (for tests and quick checks)."""
        return replace(self, encoder=replace(self.encoder, depth=encoder_depth),
                       predictor=replace(self.predictor, depth=predictor_depth))


def _vjepa2(preset: str, img_size: int = 256) -> ReleasedSpec:
    cfg = VJEPAConfig.preset(preset)
    return ReleasedSpec("vjepa2", replace(cfg.video, img_size=img_size), cfg.predictor)


def _ijepa(preset: str, **vit) -> ReleasedSpec:
    cfg = IJEPAConfig.preset(preset)
    return ReleasedSpec("ijepa", replace(cfg.vit, **vit), cfg.predictor)


RELEASED: dict[str, ReleasedSpec] = {
    "vitl.pt": _vjepa2("vit_l16"),
    "vith.pt": _vjepa2("vit_h16"),
    "vitg.pt": _vjepa2("vit_g16"),
    "vitg-384.pt": _vjepa2("vit_g16", img_size=384),
    "vjepa2-ac-vitg.pt": ReleasedSpec("vjepa2_ac", VideoViTConfig.preset("vit_g16"), VJEPA2ACConfig.preset("vitg")),
    "IN1K-vit.h.14-300e.pth.tar": _ijepa("vit_h14"),
    "IN22K-vit.h.14-900e.pth.tar": _ijepa("vit_h14"),
    "IN1K-vit.h.16-448px-300e.pth.tar": _ijepa("vit_h14", patch_size=16, img_size=448),
    "IN22K-vit.g.16-600e.pth.tar": _ijepa("vit_g16"),
}


def spec_for(path: str | os.PathLike) -> ReleasedSpec:
    """The spec of a released file, by its file name."""
    name = Path(path).name
    if name not in RELEASED:
        raise ValueError(f"unknown released checkpoint {name!r}; expected one of {sorted(RELEASED)} "
                         f"(or pass spec=... for a renamed file)")
    return RELEASED[name]


# encoder width -> V-JEPA 2 preset of a Hugging Face download (whose file name, model.safetensors, says nothing)
HF_WIDTHS = {1024: "vit_l16", 1280: "vit_h16", 1408: "vit_g16"}


def spec_from_hf(parts: dict, folder: Path) -> ReleasedSpec:
    """The spec of converted Hugging Face V-JEPA 2 weights, read from their content: the encoder's width picks
    the preset, the block indices give the depths, and ``config.json`` beside the file (when present) the
    crop size (default 256 px)."""
    width = parts["encoder"]["patch_embed.proj.weight"].shape[0]
    if width not in HF_WIDTHS:
        raise ValueError(f"Hugging Face encoder {width} wide: expected one of {sorted(HF_WIDTHS)} (ViT-L/H/g)")
    depth = lambda sd, prefix: 1 + max(int(k.split(".")[1]) for k in sd if k.startswith(prefix))  # noqa: E731
    config = folder / "config.json"
    img_size = json.loads(config.read_text()).get("crop_size", 256) if config.is_file() else 256
    return _vjepa2(HF_WIDTHS[width], img_size).with_depth(depth(parts["encoder"], "blocks."),
                                                           depth(parts["predictor"], "predictor_blocks."))


def is_safetensors(path: Path) -> bool:
    """True when the file's content is a safetensors file (an 8-byte header length, then a JSON header)."""
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{" and 0 < int.from_bytes(head[:8], "little") < path.stat().st_size


# ------------------------------------------------------------------------------------------------ reading
def read_checkpoint(path: str | os.PathLike) -> dict:
    """A released file as a dict, read safely (``weights_only=True``; a safetensors file, recognised by its
    content whatever its name, through the safetensors package)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}: download the released weights first (see "
                                f"docs/fullscale.md); this kit never downloads them")
    if is_safetensors(path):
        try:
            return load_safetensors(str(path))
        except Exception as err:  # safetensors' own error type: a damaged header or a truncated file
            raise ValueError(f"could not read {path} as a safetensors file: it is truncated or corrupt "
                             f"({str(err)[:120]})") from None
    try:  # memory-mapped: a multi-GB file is paged in as its tensors are used, not read up front
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError as err:
        if "mmap" not in str(err):  # only the legacy (pre-zip) format cannot be mapped
            raise _unreadable(path, err) from None
        ckpt = _load_unmapped(path)
    except Exception as err:
        raise _unreadable(path, err) from None
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path} holds a {type(ckpt).__name__}, expected a dict of state dicts")
    return ckpt


def _unreadable(path: Path, err: Exception) -> ValueError:
    return ValueError(f"could not read {path} as a weights-only torch file: {unreadable_reason(err)}")


def _load_unmapped(path: Path):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise _unreadable(path, err) from None


def strip_prefixes(state: dict, prefixes=("module.", "backbone.")) -> tuple[dict, list[str]]:
    """Remove the training wrappers' leading prefixes from every key; returns (new dict, prefixes removed)."""
    out, removed = {}, []
    for key, value in state.items():
        while match := next((p for p in prefixes if key.startswith(p)), None):
            key = key[len(match):]
            if match not in removed:
                removed.append(match)
        out[key] = value
    return out, removed


def choose_entry(ckpt: dict, entry: str = "auto") -> str:
    """Which encoder entry to load: ``auto`` = ``target_encoder`` if present (the evaluations' choice), else
    ``encoder``."""
    if entry not in ENTRIES:
        raise ValueError(f"entry must be one of {ENTRIES}, got {entry!r}")
    present = [k for k in ("target_encoder", "encoder") if isinstance(ckpt.get(k), dict)]
    if not present:
        raise ValueError(f"no encoder in this checkpoint: expected an 'encoder' or 'target_encoder' entry, "
                         f"found {sorted(ckpt)[:12]}")
    if entry == "auto":
        return present[0]
    if entry not in present:
        raise ValueError(f"this checkpoint has no {entry!r} entry; it has {present}")
    return entry


# ------------------------------------------------------------------------------------------------ HF layout
_HF_RENAMES = [
    (r"^embeddings\.patch_embeddings\.proj\.", "patch_embed.proj."),
    (r"^embeddings\.predictor_embeddings\.", "predictor_embed."),
    (r"^layernorm\.", "norm."),
    (r"\.attention\.proj\.", ".attn.proj."),
]


def from_hf(state: dict) -> dict:
    """Hugging Face ``VJEPA2Model`` weights -> {"encoder": ..., "predictor": ...} in the official layout:
    ``layer.{i}`` -> ``blocks.{i}`` / ``predictor_blocks.{i}``, query/key/value fused into ``qkv``, stacked
    ``mask_tokens`` [K, 1, 1, Dp] split into ``mask_tokens.{k}``."""
    parts = {"encoder": {}, "predictor": {}}
    for key, value in state.items():
        key = key.removeprefix("vjepa2.")
        part, _, rest = key.partition(".")
        if part not in parts:
            continue
        for pattern, new in _HF_RENAMES:
            rest = re.sub(pattern, new, rest)
        blocks = "blocks." if part == "encoder" else "predictor_blocks."
        rest = re.sub(r"^layer\.", blocks, rest)
        if part == "predictor":
            rest = {"norm.weight": "predictor_norm.weight", "norm.bias": "predictor_norm.bias",
                    "proj.weight": "predictor_proj.weight", "proj.bias": "predictor_proj.bias"}.get(rest, rest)
        if rest == "embeddings.mask_tokens":
            parts[part].update({f"mask_tokens.{k}": t for k, t in enumerate(value)})  # each [1, 1, Dp]
            continue
        parts[part][rest] = value
    for sd in parts.values():
        for key in [k for k in sd if ".attention.query." in k]:
            base, kind = key.split(".attention.query.")
            qkv = [sd.pop(f"{base}.attention.{n}.{kind}") for n in ("query", "key", "value")]
            sd[f"{base}.attn.qkv.{kind}"] = torch.cat(qkv)
    if not parts["encoder"]:
        raise ValueError("no 'encoder.' keys found: not a Hugging Face VJEPA2Model state dict")
    return parts


def is_hf(ckpt: dict) -> bool:
    return any(k.removeprefix("vjepa2.").startswith("encoder.layer.") for k in ckpt)


# ------------------------------------------------------------------------------------------------ loading
@dataclass
class LoadReport:
    """What happened to the keys of one module: all lists empty except ``ignored`` means an exact load."""

    module: str
    entry: str
    prefixes_removed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)  # "key: checkpoint (..) vs model (..)"
    ignored: list[str] = field(default_factory=list)
    found: int = 0  # tensors in the file's entry
    loaded: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.unexpected or self.mismatched)

    def __str__(self) -> str:
        head = (f"{self.module}: {self.loaded} tensors from entry {self.entry!r}" if self.ok else
                f"{self.module}: entry {self.entry!r} ({self.found} tensors) does not match")
        if self.prefixes_removed:
            head += f" (prefixes removed: {', '.join(self.prefixes_removed)})"
        lines = [head]
        for name in ("missing", "unexpected", "mismatched", "ignored"):
            items = getattr(self, name)
            if items:
                shown = ", ".join(items[:8]) + (f", ... ({len(items) - 8} more)" if len(items) > 8 else "")
                lines.append(f"  {name} ({len(items)}): {shown}")
        return "\n".join(lines)


def _compare(module: nn.Module, state: dict, report: LoadReport, rope: bool) -> dict:
    """Fill the report's key lists; returns the state dict to assign (ignorable keys removed)."""
    own = module.state_dict()
    state = dict(state)
    for key in [k for k in state if rope and k in ("pos_embed", "predictor_pos_embed") and k not in own]:
        state.pop(key)
        report.ignored.append(f"{key} (sin-cos table; this model uses RoPE)")
    report.missing = sorted(set(own) - set(state))
    report.unexpected = sorted(set(state) - set(own))
    report.mismatched = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                         for k in sorted(set(own) & set(state)) if tuple(state[k].shape) != tuple(own[k].shape)]
    return state


def check_strict(module: nn.Module, state: dict, report: LoadReport, rope: bool = False) -> dict:
    """Compare a state dict with a module's keys and shapes (nothing loaded); raise a ValueError carrying the
    report if anything is missing, unexpected or mis-shaped. Returns the state dict to load."""
    report.found = len(state)
    state = _compare(module, state, report, rope)
    if not report.ok:
        raise ValueError(f"checkpoint does not match the {report.module} architecture:\n{report}")
    return state


def load_strict(module: nn.Module, state: dict, report: LoadReport, rope: bool = False) -> nn.Module:
    """Load ``state`` into a module built on the meta device (weights assigned, no double allocation),
    after ``check_strict``."""
    state = check_strict(module, state, report, rope)
    module.to_empty(device="cpu")
    module.load_state_dict({k: v.float() for k, v in state.items()}, assign=True)
    for sub in module.modules():  # non-persistent position buffers are not in the file: rebuild them
        if isinstance(sub, (VideoViT, VideoPredictor)):
            sub.positions = grid_positions(sub.cfg.grid if isinstance(sub, VideoViT) else sub.grid)
    for name, p in module.named_parameters():
        p.requires_grad_(not name.endswith("pos_embed"))
    report.loaded = len(state)
    return module.eval()


def build_modules(spec: ReleasedSpec) -> tuple[nn.Module, nn.Module]:
    """The encoder and predictor of a spec, on the meta device (no memory, no init)."""
    with torch.device("meta"):
        if spec.family == "ijepa":
            enc = VisionTransformer(spec.encoder)
            return enc, Predictor(spec.encoder.embed_dim, spec.encoder.grid, spec.predictor)
        enc = VideoViT(spec.encoder)
        if spec.family == "vjepa2_ac":
            return enc, VJEPA2ACPredictor(replace(spec.predictor, encoder_dim=spec.encoder.embed_dim))
        return enc, VideoPredictor(spec.encoder.embed_dim, spec.encoder.grid, spec.predictor)


@dataclass
class ReleasedModel:
    """A loaded released model: ``encoder``, ``predictor`` (None if not loaded), their reports, the spec."""

    encoder: nn.Module
    predictor: nn.Module | None
    spec: ReleasedSpec
    reports: list[LoadReport]

    @property
    def report(self) -> str:
        return "\n".join(str(r) for r in self.reports)

    def to(self, *args, **kwargs) -> "ReleasedModel":
        """Move (or cast) encoder and predictor together, like ``nn.Module.to``; returns self."""
        self.encoder.to(*args, **kwargs)
        if self.predictor is not None:
            self.predictor.to(*args, **kwargs)
        return self


def load_released(path: str | os.PathLike, entry: str = "auto", spec: ReleasedSpec | None = None,
                  predictor: bool = True, verbose: bool = True) -> ReleasedModel:
    """Load a released checkpoint (file names in ``RELEASED``, or a Hugging Face V-JEPA 2 download such as
    ``model.safetensors``, recognised by its content; pass ``spec`` for a renamed file or a reduced depth). ``entry``: ``auto`` | ``target_encoder`` | ``encoder``. Prints the report when ``verbose``."""
    file = Path(path).expanduser()
    if spec is None and (file.name in RELEASED or not file.is_file()):
        spec = spec_for(path)  # by the file's name (an unknown name that is no file fails here, clearly)
    ckpt = read_checkpoint(path)
    hf = is_hf(ckpt)
    ckpt = from_hf(ckpt) if hf else ckpt
    if spec is None:  # a Hugging Face download (model.safetensors) is recognised by its content
        spec = spec_from_hf(ckpt, file.parent) if hf else spec_for(path)
    chosen = "encoder" if hf else choose_entry(ckpt, entry)
    enc, pred = build_modules(spec)
    rope = getattr(spec.encoder, "pos", "sincos") == "rope"
    if predictor and not isinstance(ckpt.get("predictor"), dict):
        raise ValueError(f"no 'predictor' entry in {path}; load with predictor=False for the encoder only")
    jobs = [(enc, chosen + (" (Hugging Face layout)" if hf else ""), ckpt[chosen])]
    if predictor:
        jobs.append((pred, "predictor", ckpt["predictor"]))
    reports, states = [], []
    for module, label, entry in jobs:  # check every entry before loading any (fail before using memory)
        state, removed = strip_prefixes(entry)
        reports.append(LoadReport(type(module).__name__, label, removed))
        states.append(check_strict(module, state, reports[-1], rope))
    for (module, _, _), state, report in zip(jobs, states, reports):
        load_strict(module, state, report, rope)
    model = ReleasedModel(enc, pred if predictor else None, spec, reports)
    if verbose:
        print(model.report)
    return model
