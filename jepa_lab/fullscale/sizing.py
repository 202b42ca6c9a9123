"""Sizing without memory: parameters, activation memory and FLOPs of full-scale models on a laptop.

The trick is PyTorch's ``meta`` device. A meta tensor has a shape and a dtype but no data: a module built
inside ``with torch.device("meta"):`` allocates no weights (and skips their init), and a forward pass on
meta inputs runs every operator's *shape* logic but no arithmetic. So the 1B-parameter V-JEPA 2 ViT-g,
4 GB of float32 weights, is built and "run" in a second or two. Every operator is still called, so we can
watch the calls and add up what they would cost:

* **Parameters** - elements of ``module.parameters()``; weights take params x bytes per element (4 for
  float32, 2 for bfloat16).
* **FLOPs** - ``torch.utils.flop_counter.FlopCounterMode`` knows each matrix operator's cost (matmul,
  conv, attention) from its shapes. A multiply-add counts as 2 FLOPs: a linear layer on N tokens costs
  2*N*D_in*D_out. Element-wise work (norms, GELU, softmax, RoPE) is cheap and not counted. Training costs
  about 3x the forward: the backward computes two products per forward product, the input's and the
  weight's gradient (``flop_count(..., backward=True)`` counts it).
* **Training activations** - backward needs some forward tensors (a linear layer keeps its input for its
  weight gradient). ``torch.autograd.graph.saved_tensors_hooks`` shows each one as it is saved; their
  sizes (each storage once, weights and inputs excluded) stay alive from forward to backward - usually
  the largest memory cost of training.
* **Inference peak** - without gradients a tensor is freed as soon as nothing refers to it. A
  ``TorchDispatchMode`` sees every tensor an operator creates; we add its bytes at creation, subtract them
  when it is freed (``weakref.finalize``), and keep the maximum.

These are *estimates*, not measurements of a GPU: the allocator rounds sizes up and caches freed blocks,
fused kernels skip intermediates, mixed precision keeps some tensors in float32. Attention matters most.
On the meta device (as on a CPU) ``scaled_dot_product_attention`` takes the plain "math" path: it builds
the N x N score matrix of every head (in float32 even for bfloat16 inputs) and, for training, saves it.
Flash attention on a GPU never stores that matrix, so real activations of long-sequence models can be
several times smaller. FLOPs agree either way (4*N*N*D per attention layer). The other way round: for
*real* CPU tensors, FlopCounterMode has no formula for the CPU flash kernel and counts attention as 0.

Example: ``print(cost_table([video_encoder_cost(p) for p in ("vit_l16", "vit_h16", "vit_g16")]))``
"""

from __future__ import annotations

import dataclasses
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import FlopCounterMode

from ..models.ijepa import IJEPAConfig
from ..models.video_vit import VideoViT, VideoViTConfig
from ..models.vit import VisionTransformer, ViTConfig, count_parameters


def flop_count(fn: Callable[..., Any], *args, backward: bool = False, **kwargs) -> int:
    """FLOPs (multiply-add = 2) of ``fn(*args, **kwargs)`` under ``torch.no_grad()``, also on meta tensors;
    ``backward=True``: forward with gradients + backward of sum(outputs) to all leaves (``.grad`` untouched)."""
    counter = FlopCounterMode(display=False)
    with counter, (torch.enable_grad() if backward else torch.no_grad()):
        out = fn(*args, **kwargs)
        if backward:
            _backward(out)
    return int(counter.get_total_flops())


def _tensors(obj: Any) -> list[torch.Tensor]:  # all tensors in nested tuples / lists / dicts
    return [x for x in tree_flatten(obj)[0] if isinstance(x, torch.Tensor)]


def _graph_leaves(root: torch.Tensor) -> list[torch.Tensor]:
    """The leaf tensors (usually parameters) that the autograd graph of ``root`` accumulates into."""
    leaves, seen, stack = [], set(), [root.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None and node not in seen:
            seen.add(node)
            leaves += [node.variable] if hasattr(node, "variable") else []  # an AccumulateGrad node
            stack.extend(child for child, _ in node.next_functions)
    return leaves


def _backward(out: Any) -> None:
    """Backward of sum(outputs) into the graph's leaves; their ``.grad`` is restored afterwards."""
    outs = [t for t in _tensors(out) if t.requires_grad]
    if not outs:
        raise ValueError("backward=True needs an output that requires grad (are all parameters frozen?)")
    loss = sum(t.sum() for t in outs)
    leaves = _graph_leaves(loss)
    old = [leaf.grad for leaf in leaves]  # backward(inputs=...): autograd.grad trips FlopCounterMode's hooks
    loss.backward(inputs=leaves)
    for leaf, grad in zip(leaves, old):
        leaf.grad = grad


def _storage_key(t: torch.Tensor) -> int:
    """Identity of the memory block behind ``t``, shared by its views (meta tensors have no data pointer)."""
    return t.untyped_storage()._cdata


def _owned_storages(fn: Callable[..., Any], args: tuple, kwargs: dict) -> set[int]:
    """Storages that exist before the forward: the inputs, and the parameters / buffers of ``fn`` when it
    is a module or a module's bound method (``model.encode_frames``)."""
    owner = fn if isinstance(fn, nn.Module) else getattr(fn, "__self__", None)
    tensors = _tensors((args, kwargs))
    if isinstance(owner, nn.Module):
        tensors += list(owner.parameters()) + list(owner.buffers())
    return {_storage_key(t) for t in tensors}


def _is_weight(t: torch.Tensor) -> bool:
    """A parameter, or a view of one (``linear`` saves ``weight.t()``), also when ``fn`` is a lambda."""
    base = t._base if t._base is not None else t
    return isinstance(base, nn.Parameter) or (base.is_leaf and base.requires_grad)


def _saved_bytes(fn: Callable[..., Any], args: tuple, kwargs: dict, exclude: set[int]) -> int:
    """Bytes of the distinct storages that autograd saves for the backward during one forward."""
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        key = _storage_key(t)
        if key not in exclude and not _is_weight(t):
            saved[key] = t.untyped_storage().nbytes()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args, **kwargs)  # noqa: F841 - holds the graph (and the saved storages) while we count
    return sum(saved.values())


class _LiveBytes(TorchDispatchMode):
    """Tracks the bytes of tensors created by operators and still alive; ``peak`` is the maximum."""

    def __init__(self, exclude: set[int]):
        super().__init__()
        self.exclude = set(exclude)
        self.live: dict[int, list[int]] = {}  # storage key -> [bytes, live tensors using it]
        self.now = self.peak = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        # weights met as arguments (fn may be a lambda): their views (weight.t()) are no new memory either
        self.exclude.update(_storage_key(a) for a in _tensors((args, kwargs)) if _is_weight(a))
        out = func(*args, **(kwargs or {}))
        for t in _tensors(out):
            self._track(t)
        return out

    def _track(self, t: torch.Tensor) -> None:
        key = _storage_key(t)
        if key in self.exclude:  # a view of an input or a weight: no new memory
            return
        if key not in self.live:
            self.live[key] = [t.untyped_storage().nbytes(), 0]
            self.now += self.live[key][0]
            self.peak = max(self.peak, self.now)
        self.live[key][1] += 1
        weakref.finalize(t, self._release, key)

    def _release(self, key: int) -> None:
        self.live[key][1] -= 1
        if self.live[key][1] == 0:  # the last tensor on this storage is gone: the memory is free
            self.now -= self.live.pop(key)[0]


def activation_bytes(fn: Callable[..., Any], *args, **kwargs) -> dict[str, int]:
    """Estimated activation memory of ``fn(*args, **kwargs)``, also on meta tensors: ``"train_saved"``, the
    bytes saved for backward by one forward with gradients; ``"inference_peak"``, the peak bytes of live
    intermediates (the output included) in a ``torch.no_grad()`` forward. Inputs (tensors passed as
    arguments) and weights are not counted; each storage counts once. Estimates only: see the module
    docstring for allocator, fused-kernel and attention caveats."""
    exclude = _owned_storages(fn, args, kwargs)
    train = _saved_bytes(fn, args, kwargs, exclude)
    mode = _LiveBytes(exclude)
    with torch.no_grad(), mode:
        out = fn(*args, **kwargs)  # noqa: F841
    return {"train_saved": train, "inference_peak": mode.peak}


@dataclass(frozen=True)
class CostReport:
    """What one forward of ``name`` costs. ``params``: trainable parameters (the published count);
    ``weight_bytes``: all parameters (frozen position tables too) at the report's dtype; ``flops``: one
    forward; ``tokens``: tokens in the whole batch."""

    name: str
    params: int
    weight_bytes: int
    flops: int
    train_activation_bytes: int
    inference_peak_bytes: int
    tokens: int

    @property
    def gflops(self) -> float:
        return self.flops / 1e9

    @property
    def tflops(self) -> float:
        return self.flops / 1e12

    def row(self) -> dict[str, str]:
        """Human-readable columns for ``cost_table``."""
        return {"model": self.name, "params (M)": f"{self.params / 1e6:,.1f}",
                "weights": format_bytes(self.weight_bytes), "tokens": f"{self.tokens:,}",
                "GFLOPs": f"{self.gflops:,.1f}", "train act.": format_bytes(self.train_activation_bytes),
                "infer. peak": format_bytes(self.inference_peak_bytes)}


def _check_meta(module: nn.Module, inputs: tuple) -> None:
    inputs = [(f"input {i}", t) for i, t in enumerate(_tensors(inputs))]
    for name, t in [*module.named_parameters(), *module.named_buffers(), *inputs]:
        if not t.is_meta:
            raise ValueError(f"measure(require_meta=True) expects everything on the meta device, but {name!r} "
                             f"is on {t.device}; build the module and inputs inside `with torch.device('meta'):`")


def measure(name: str, module: nn.Module, *inputs: torch.Tensor, dtype: torch.dtype = torch.float32,
            tokens: int = 0, require_meta: bool = False) -> CostReport:
    """Parameters, weight bytes at ``dtype``, forward FLOPs and activation estimates of ``module(*inputs)``.
    Activations are counted at the dtype the module and inputs actually have (build them at ``dtype``)."""
    if require_meta:
        _check_meta(module, inputs)
    acts = activation_bytes(module, *inputs)
    weight_bytes = sum(p.numel() for p in module.parameters()) * dtype.itemsize
    return CostReport(name, count_parameters(module), weight_bytes, flop_count(module, *inputs),
                      acts["train_saved"], acts["inference_peak"], tokens)


def _measure_on_meta(name: str, model_cls: type[nn.Module], cfg: ViTConfig, shape: tuple[int, ...],
                     dtype: torch.dtype) -> CostReport:
    """Build ``model_cls(cfg)`` and an input batch of ``shape`` on the meta device and measure them."""
    if shape[0] < 1:
        raise ValueError(f"batch must be >= 1, got {shape[0]}")
    with torch.device("meta"):
        model = model_cls(cfg).to(dtype)
        x = torch.empty(shape, dtype=dtype)
    name += f" x{shape[0]}" if shape[0] > 1 else ""
    return measure(name, model, x, dtype=dtype, tokens=shape[0] * cfg.num_patches, require_meta=True)


def video_encoder_cost(preset: str | VideoViTConfig, batch: int = 1, frames: int | None = None,
                       img_size: int | None = None, dtype: torch.dtype = torch.float32) -> CostReport:
    """Cost of one forward of a V-JEPA (2) video encoder on ``batch`` clips, built on the meta device.
    ``preset``: a ``VideoViTConfig.preset`` name or a config; ``frames`` / ``img_size`` override the clip."""
    if isinstance(preset, str):
        cfg, label = VideoViTConfig.preset(preset), preset
    elif isinstance(preset, VideoViTConfig):
        cfg, label = preset, f"video ViT D{preset.embed_dim}x{preset.depth}"
    else:
        raise TypeError(f"preset must be a preset name or a VideoViTConfig, got {type(preset).__name__}")
    overrides = {"num_frames": frames, "img_size": img_size}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None})
    shape = (batch, cfg.in_chans, cfg.num_frames, cfg.img_size, cfg.img_size)
    return _measure_on_meta(f"{label} {cfg.num_frames}x{cfg.img_size}px", VideoViT, cfg, shape, dtype)


def image_encoder_cost(preset: str | IJEPAConfig | ViTConfig, batch: int = 1,
                       dtype: torch.dtype = torch.float32) -> CostReport:
    """Cost of one forward of an I-JEPA image encoder on ``batch`` images, built on the meta device.
    ``preset``: an ``IJEPAConfig.preset`` name, an ``IJEPAConfig`` or an image ``ViTConfig``."""
    preset = preset.vit if isinstance(preset, IJEPAConfig) else preset
    if isinstance(preset, str):
        cfg, label = IJEPAConfig.preset(preset).vit, preset
    elif isinstance(preset, ViTConfig) and not isinstance(preset, VideoViTConfig):
        cfg, label = preset, f"ViT D{preset.embed_dim}x{preset.depth}"
    else:
        raise TypeError(f"preset must be an I-JEPA preset name, IJEPAConfig or image ViTConfig "
                        f"(use video_encoder_cost for video), got {type(preset).__name__}")
    shape = (batch, cfg.in_chans, cfg.img_size, cfg.img_size)
    return _measure_on_meta(f"{label} {cfg.img_size}px", VisionTransformer, cfg, shape, dtype)


def format_count(n: float) -> str:
    """1234 -> '1.2K', 303_900_000 -> '303.9M', 1_012_173_952 -> '1.01B', 5.09e12 -> '5.09T',
    1.34e15 -> '1.34P'."""
    for scale, unit, digits in ((1e15, "P", 2), (1e12, "T", 2), (1e9, "B", 2), (1e6, "M", 1), (1e3, "K", 1)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f}{unit}"
    return f"{n:g}"


def format_bytes(n: float) -> str:
    """Binary units: 512 -> '512 B', 1536 -> '1.5 KiB', 12.3 * 2**30 -> '12.3 GiB'."""
    for power, unit in ((4, "TiB"), (3, "GiB"), (2, "MiB"), (1, "KiB")):
        if abs(n) >= 1024**power:
            return f"{n / 1024**power:.1f} {unit}"
    return f"{int(n)} B"


def cost_table(reports: Iterable[CostReport]) -> str:
    """A plain-text table of reports, one row each: the name left-aligned, the numbers right-aligned."""
    rows = [r.row() for r in reports]
    if not rows:
        raise ValueError("cost_table needs at least one CostReport")
    cells = [list(rows[0])] + [list(row.values()) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]

    def fmt(line: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths)))

    return "\n".join([fmt(cells[0]), "  ".join("-" * w for w in widths)] + [fmt(line) for line in cells[1:]])
