"""Sizing without memory: FLOPs, parameters and activation estimates of models built on the meta device,
checked against hand-written formulas and against each other (ordering, batch scaling, dtype)."""

import dataclasses
import resource
import time

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from jepa_lab.models.ijepa import IJEPAConfig
from jepa_lab.fullscale.sizing import (CostReport, activation_bytes, cost_table, flop_count, format_bytes,
                                       format_count, image_encoder_cost, measure, video_encoder_cost)
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import ViTConfig

GiB = 2**30


def vit_flops(n: int, d: int, depth: int, hidden: int, patch_in: int) -> int:
    """Forward FLOPs of a ViT on n tokens, a multiply-add = 2: per block the qkv, attention (q k^T and
    probs @ v), output projection and MLP products; plus the patch-embedding conv (patch_in = C*t*p*p
    inputs per token). Norms, GELU, softmax, RoPE and bias adds are element-wise and not counted."""
    block = 2 * n * d * 3 * d + 2 * 2 * n * n * d + 2 * n * d * d + 2 * 2 * n * d * hidden
    return depth * block + 2 * n * d * patch_in


def video_flops(cfg: VideoViTConfig, batch: int = 1) -> int:
    patch_in = cfg.in_chans * cfg.tubelet_size * cfg.patch_size**2
    return batch * vit_flops(cfg.num_patches, cfg.embed_dim, cfg.depth, cfg.mlp_hidden, patch_in)


def meta(*shape, **kw) -> torch.Tensor:
    return torch.empty(*shape, device="meta", **kw)


@pytest.fixture(scope="module")
def paper_reports():
    """The three V-JEPA 2 encoders at 16 frames x 256 px, batch 1, with the time and peak RSS growth of each."""
    out = {}
    for name in ("vit_l16", "vit_h16", "vit_g16"):
        rss0, t0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
        report = video_encoder_cost(name)
        seconds = time.perf_counter() - t0
        rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0  # Linux: KiB
        out[name] = (report, seconds, rss_kib * 1024)
    return out


# ------------------------------------------------------------------------------------------------- FLOPs
def test_linear_flops_forward_and_backward():
    lin = nn.Linear(64, 32, device="meta")
    x = meta(10, 64)
    assert flop_count(lin, x) == 2 * 10 * 64 * 32
    # backward: only the weight gradient (the input needs none) - then also the input gradient: 3x forward
    assert flop_count(lin, x, backward=True) == 2 * (2 * 10 * 64 * 32)
    assert flop_count(lin, meta(10, 64, requires_grad=True), backward=True) == 3 * (2 * 10 * 64 * 32)
    assert lin.weight.grad is None  # gradients are returned, not accumulated


def test_attention_is_counted_on_meta():
    """SDPA on meta takes the math path (two bmm's), which FlopCounterMode counts: 2 * 2*B*h*N*N*d."""
    q = meta(2, 3, 50, 16)
    assert flop_count(F.scaled_dot_product_attention, q, q, q) == 2 * 2 * 2 * 3 * 50 * 50 * 16


def test_tiny_video_vit_flops_match_formula_exactly():
    cfg = VideoViTConfig.preset("tiny")
    with torch.device("meta"):
        model = VideoViT(cfg)
    x = meta(3, 3, cfg.num_frames, cfg.img_size, cfg.img_size)
    assert flop_count(model, x) == video_flops(cfg, batch=3)
    # a training step: about 3x, a bit less since the pixels need no gradient
    ratio = flop_count(model, x, backward=True) / video_flops(cfg, batch=3)
    assert 2.9 < ratio <= 3.0


def test_vit_g16_params_and_flops(paper_reports):
    report = paper_reports["vit_g16"][0]
    assert report.params == 1_012_173_952
    assert report.weight_bytes == 4 * 1_012_173_952  # float32, RoPE: no position table
    assert report.tokens == 8 * 16 * 16
    assert report.flops == pytest.approx(video_flops(VideoViTConfig.preset("vit_g16")), rel=0.01)
    assert 5.0 < report.tflops < 5.2 and report.gflops == pytest.approx(1000 * report.tflops)


def test_bigger_models_cost_more(paper_reports):
    l, h, g = (paper_reports[n][0] for n in ("vit_l16", "vit_h16", "vit_g16"))
    for field in ("params", "flops", "train_activation_bytes", "inference_peak_bytes"):
        assert getattr(l, field) < getattr(h, field) < getattr(g, field), field
    assert l.params == 303_885_312 and h.params == 631_648_000


def test_vit_g16_is_sized_without_allocating(paper_reports):
    report, seconds, rss_growth = paper_reports["vit_g16"]
    assert seconds < 20  # typically ~2 s: shape logic only, no arithmetic
    # 4 GB of weights and ~20 GB of activations were never allocated
    assert rss_growth < 1 * GiB
    assert report.train_activation_bytes > 10 * GiB


# ------------------------------------------------------------------------------------------------ memory
def test_saved_tensors_count_each_storage_once():
    x = meta(10, 64, requires_grad=True)
    nbytes = 10 * 64 * 4
    # exp saves its output y; sin saves its input y (again, or a view of it): one storage
    for fn in (lambda x: x.exp().sin(), lambda x: x.exp().t().sin()):
        acts = activation_bytes(fn, x)
        assert acts["train_saved"] == nbytes
        assert acts["inference_peak"] == 2 * nbytes  # y and sin(y) alive together


def test_weights_and_inputs_are_not_activations():
    lin = nn.Linear(64, 32, device="meta")
    x = meta(10, 64)
    for fn in (lin, lambda t: lin(t)):  # parameters found from the module, or recognised as leaves
        acts = activation_bytes(fn, x)
        assert acts["train_saved"] == 0  # linear keeps only x and the weight
        assert acts["inference_peak"] == 10 * 32 * 4  # just the output


def test_tiny_training_saves_more_than_inference_peak():
    report = video_encoder_cost("tiny")
    assert report.train_activation_bytes > report.inference_peak_bytes > 0


def test_activation_bytes_double_with_batch():
    """Batch 8 -> 16 (at batch 1, views keep whole qkv buffers alive and batch-free RoPE tables weigh more,
    so small batches scale slightly less than linearly)."""
    small, big = video_encoder_cost("tiny", batch=8), video_encoder_cost("tiny", batch=16)
    assert big.train_activation_bytes / small.train_activation_bytes == pytest.approx(2, rel=0.05)
    assert big.inference_peak_bytes / small.inference_peak_bytes == pytest.approx(2, rel=0.05)
    assert big.flops == 2 * small.flops and big.tokens == 2 * small.tokens


def test_bfloat16_halves_weights_not_flops():
    f32, bf16 = video_encoder_cost("tiny"), video_encoder_cost("tiny", dtype=torch.bfloat16)
    assert bf16.weight_bytes * 2 == f32.weight_bytes and bf16.params == f32.params
    assert bf16.flops == f32.flops
    # smaller, though not half: math attention upcasts bfloat16 to float32 internally
    assert bf16.train_activation_bytes < f32.train_activation_bytes


def test_bound_method_of_meta_model():
    with torch.device("meta"):
        model = VideoViT(VideoViTConfig.preset("tiny"))
    acts = activation_bytes(model.encode_frames, meta(2, 3, 32, 32))
    assert acts["train_saved"] > acts["inference_peak"] > 0


# ---------------------------------------------------------------------------------------- presets, errors
def test_image_encoder_cost_vit_h14():
    report = image_encoder_cost("vit_h14")
    assert report.params == 630_434_560  # the published count: the frozen sin-cos table is not trained
    assert report.weight_bytes == 4 * (630_434_560 + 256 * 1280)  # ...but it takes memory
    assert report.flops == vit_flops(256, 1280, 32, 5120, 3 * 14 * 14)
    assert image_encoder_cost(IJEPAConfig.preset("tiny")).flops == image_encoder_cost(ViTConfig()).flops


def test_video_overrides():
    base = video_encoder_cost("tiny")
    longer = video_encoder_cost("tiny", frames=16, img_size=64)
    cfg = dataclasses.replace(VideoViTConfig.preset("tiny"), num_frames=16, img_size=64)
    assert longer.tokens == 8 * base.tokens and longer.flops == video_flops(cfg)
    assert "16x64px" in longer.name
    with pytest.raises(ValueError, match="tubelet_size"):
        video_encoder_cost("tiny", frames=3)


def test_unknown_presets_name_the_choices():
    with pytest.raises(ValueError, match="vit_g16"):
        video_encoder_cost("vit_x16")
    with pytest.raises(ValueError, match="vit_h14"):
        image_encoder_cost("vit_l16")  # a video preset, not an I-JEPA one
    with pytest.raises(TypeError):
        image_encoder_cost(VideoViTConfig.preset("tiny"))
    with pytest.raises(ValueError, match="batch"):
        video_encoder_cost("tiny", batch=0)


def test_require_meta_rejects_real_modules():
    model = VideoViT(VideoViTConfig.preset("tiny"))  # real CPU weights
    with torch.device("meta"):
        x = torch.empty(1, 3, 8, 32, 32)
    with pytest.raises(ValueError, match="meta"):
        measure("cpu", model, x, require_meta=True)
    real = measure("cpu", model, torch.rand(1, 3, 8, 32, 32))  # allowed by default: it really computes
    assert real.params == video_encoder_cost("tiny").params and real.flops > 0


# -------------------------------------------------------------------------------------------- formatting
def test_format_helpers():
    assert format_count(303_885_312) == "303.9M"
    assert format_count(1_012_173_952) == "1.01B"
    assert format_count(1.337e15) == "1.34P"
    assert format_count(5_087_657_197_568) == "5.09T"
    assert format_count(999) == "999" and format_count(1234) == "1.2K"
    assert format_bytes(512) == "512 B" and format_bytes(1536) == "1.5 KiB"
    assert format_bytes(12.3 * GiB) == "12.3 GiB" and format_bytes(3 * 2**20) == "3.0 MiB"


def test_report_is_frozen_and_table_is_aligned(paper_reports):
    reports = [paper_reports[n][0] for n in ("vit_l16", "vit_h16", "vit_g16")]
    with pytest.raises(dataclasses.FrozenInstanceError):
        reports[0].flops = 0
    row = reports[2].row()
    assert row["params (M)"] == "1,012.2" and row["weights"] == "3.8 GiB" and row["GFLOPs"] == "5,087.7"
    lines = cost_table(reports).splitlines()
    assert len(lines) == 2 + 3 and len({len(line) for line in lines}) == 1  # header, rule, 3 equal-width rows
    assert lines[0].startswith("model") and lines[-1].startswith("vit_g16")
    with pytest.raises(ValueError):
        cost_table([])
    assert isinstance(reports[0], CostReport)
