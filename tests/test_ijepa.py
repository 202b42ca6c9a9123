"""Tests for jepa_lab.models.ijepa (the I-JEPA model), jepa_lab.models.ema and the config round trip."""

import copy
import dataclasses
import json

import pytest
import torch

from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.models.ema import ema_update_, momentum_at
from jepa_lab.models.ijepa import IJEPA, IJEPA_PRESETS, IJEPAConfig
from jepa_lab.models.normalize import IMAGENET_MEAN, IMAGENET_STD
from jepa_lab.masking.multiblock import gather_tokens, sample_multiblock
from jepa_lab.models.ijepa_predictor import PredictorConfig
from jepa_lab.models.vit import ViTConfig

# The tiny preset (32 px, 8x8 grid, tiny masks) with narrower, shallower networks.
CFG = dataclasses.replace(
    IJEPAConfig.preset("tiny"),
    vit=ViTConfig(embed_dim=32, depth=2, num_heads=4),
    predictor=PredictorConfig(embed_dim=32, depth=1, num_heads=4),
)
B = 4


def make_model(seed: int = 0) -> IJEPA:
    torch.manual_seed(seed)
    return IJEPA(CFG)


def batch(seed: int = 1):
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(B, 3, 32, 32, generator=g)
    masks = sample_multiblock(CFG.vit.grid, B, CFG.masks, generator=g)
    return images, masks


def perturb_encoder_(model: IJEPA, seed: int = 2) -> None:
    """Make the online encoder differ from its EMA copy (as after some optimiser steps)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.encoder.parameters():
            if p.requires_grad:
                p.add_(0.05 * torch.randn(p.shape, generator=g))


# ------------------------------------------------------------------------------------------ gradients


def test_gradients_reach_encoder_and_predictor_never_target():
    model = make_model()
    images, masks = batch()
    model.loss(images, masks).backward()
    for name, p in model.target_encoder.named_parameters():
        assert not p.requires_grad, name
        assert p.grad is None, f"target_encoder.{name} received a gradient"
    for prefix, module in (("encoder", model.encoder), ("predictor", model.predictor)):
        for name, p in module.named_parameters():
            if name in ("pos_embed", "predictor_pos_embed"):  # frozen sin-cos tables
                assert p.grad is None, f"{prefix}.{name}"
                continue
            assert p.grad is not None, f"{prefix}.{name} got no gradient"
    assert model.encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert model.predictor.mask_token.grad.abs().sum() > 0


def test_target_encoder_starts_as_copy_of_encoder():
    model = make_model()
    t, o = model.target_encoder.state_dict(), model.encoder.state_dict()
    assert t.keys() == o.keys()
    for k in t:
        assert torch.equal(t[k], o[k]), k
        assert t[k].data_ptr() != o[k].data_ptr(), f"{k} is shared, not copied"


# --------------------------------------------------------------------------------------------- targets


def test_targets_are_layer_normed_and_without_grad():
    model = make_model()
    images, masks = batch()
    with torch.enable_grad():
        tgt = model.targets(images, masks)
    b, m, nt = masks.targets.shape
    assert tgt.shape == (b, m, nt, CFG.vit.embed_dim)
    assert not tgt.requires_grad and tgt.grad_fn is None
    torch.testing.assert_close(tgt.mean(-1), torch.zeros(b, m, nt), atol=1e-5, rtol=0)
    torch.testing.assert_close(tgt.var(-1, unbiased=False), torch.ones(b, m, nt), atol=1e-3, rtol=0)
    # they are the target encoder's tokens at the target positions, normalised
    h = model.target_encoder(model.normalize(images)).detach()
    h = (h - h.mean(-1, keepdim=True)) / torch.sqrt(h.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(tgt, gather_tokens(h, masks.targets), atol=1e-5, rtol=1e-5)


def test_targets_come_from_target_encoder_not_encoder():
    model = make_model()
    images, masks = batch()
    before = model.targets(images, masks)
    perturb_encoder_(model)
    torch.testing.assert_close(model.targets(images, masks), before, rtol=0, atol=0)
    model.update_target(0.0)  # copy the perturbed encoder
    assert not torch.allclose(model.targets(images, masks), before, atol=1e-4)


# ------------------------------------------------------------------------------------------------ loss


def test_loss_is_smooth_l1_of_predict_vs_targets():
    model = make_model()
    images, masks = batch()
    p, t = model.predict(images, masks), model.targets(images, masks)
    assert p.shape == t.shape
    d = (p - t).abs()
    by_hand = torch.where(d < 1.0, 0.5 * d**2, d - 0.5).mean()  # smooth-L1, beta = 1
    loss = model.loss(images, masks)
    assert loss.ndim == 0
    torch.testing.assert_close(loss, by_hand, rtol=1e-5, atol=1e-7)
    assert (d >= 1.0).any() and (d < 1.0).any(), "both branches of smooth-L1 should be exercised"


def test_predict_uses_only_context_pixels():
    model = make_model()
    images, masks = batch()
    ctx = masks.context  # [B, Nc]
    out = model.predict(images, masks)
    # repaint every patch that is not in any image's context
    keep = torch.zeros(64, dtype=torch.bool)
    keep[ctx.unique()] = True
    repaint = (~keep).view(8, 8).repeat_interleave(4, 0).repeat_interleave(4, 1)  # [32, 32] pixels
    changed = images.clone()
    changed[:, :, repaint] = torch.rand_like(changed[:, :, repaint])
    torch.testing.assert_close(model.predict(changed, masks), out)


# --------------------------------------------------------------------------------------------- EMA


def test_update_target_is_exact_ema():
    model = make_model()
    perturb_encoder_(model)
    t0 = {k: v.clone() for k, v in model.target_encoder.state_dict().items()}
    o = model.encoder.state_dict()
    m = 0.9
    model.update_target(m)
    t1 = model.target_encoder.state_dict()
    moved = 0
    for k in t0:
        torch.testing.assert_close(t1[k], m * t0[k] + (1 - m) * o[k], rtol=1e-6, atol=1e-7, msg=k)  # float32 ulps
        moved += int(not torch.equal(t1[k], t0[k]))
    assert moved > 0
    assert torch.equal(t1["pos_embed"], t0["pos_embed"])
    assert all(not p.requires_grad for p in model.target_encoder.parameters())


def test_update_target_momentum_one_is_identity_and_zero_copies():
    model = make_model()
    perturb_encoder_(model)
    before = copy.deepcopy(model.target_encoder.state_dict())
    model.update_target(1.0)
    after = model.target_encoder.state_dict()
    assert all(torch.equal(after[k], before[k]) for k in before)
    model.update_target(0.0)
    online = model.encoder.state_dict()
    for k, v in model.target_encoder.state_dict().items():
        torch.testing.assert_close(v, online[k], rtol=1e-6, atol=1e-7)


def test_update_target_leaves_encoder_alone():
    model = make_model()
    perturb_encoder_(model)
    online = copy.deepcopy(model.encoder.state_dict())
    model.update_target(0.5)
    assert all(torch.equal(v, online[k]) for k, v in model.encoder.state_dict().items())


@pytest.mark.parametrize("m", [-0.1, 1.5])
def test_ema_rejects_bad_momentum(m):
    model = make_model()
    with pytest.raises(ValueError, match="momentum"):
        model.update_target(m)


def test_ema_rejects_mismatched_modules():
    with pytest.raises(ValueError, match="parameter names"):
        ema_update_(torch.nn.Linear(2, 2), torch.nn.Sequential(torch.nn.Linear(2, 2)), 0.9)


def test_momentum_ramps_linearly_from_0996_to_1():
    assert momentum_at(0, 100) == pytest.approx(0.996, abs=1e-12)
    assert momentum_at(25, 100) == pytest.approx(0.997, abs=1e-12)
    assert momentum_at(50, 100) == pytest.approx(0.998, abs=1e-12)
    assert momentum_at(100, 100) == pytest.approx(1.0, abs=1e-12)
    assert momentum_at(150, 100) == pytest.approx(1.0, abs=1e-12)  # clamped
    vals = [momentum_at(s, 10) for s in range(11)]
    steps = [b - a for a, b in zip(vals, vals[1:])]
    assert all(s == pytest.approx(0.0004, abs=1e-12) for s in steps)
    assert momentum_at(5, 10, start=0.99, end=0.999) == pytest.approx(0.9945, abs=1e-12)
    with pytest.raises(ValueError, match="total_steps"):
        momentum_at(0, 0)


# ------------------------------------------------------------------------------------------ normalize


def test_normalize_standardises_unit_range_images():
    model = make_model()
    images, _ = batch()
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(model.normalize(images), (images - mean) / std)
    grey = mean.expand(2, 3, 32, 32).clone()  # the ImageNet mean colour, in [0, 1] units
    torch.testing.assert_close(model.normalize(grey), torch.zeros(2, 3, 32, 32), atol=1e-6, rtol=0)
    white = model.normalize(torch.ones(1, 3, 32, 32))[0, :, 0, 0]
    torch.testing.assert_close(white, (1 - mean.flatten()) / std.flatten())


def test_encode_is_target_encoder_on_normalized_images():
    model = make_model()
    perturb_encoder_(model)  # so encoder and target encoder differ
    images, _ = batch()
    z = model.encode(images)
    assert z.shape == (B, 64, 32)
    torch.testing.assert_close(z, model.target_encoder(model.normalize(images)))
    assert not torch.allclose(z, model.encoder(model.normalize(images)), atol=1e-4)


def test_normalize_rejects_integer_and_misshaped_images():
    model = make_model()
    with pytest.raises(ValueError, match="floating-point"):
        model.normalize(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[B, 3, 32, 32\]"):
        model.normalize(torch.zeros(2, 3, 64, 64))


# ---------------------------------------------------------------------------------------------- config


@pytest.mark.parametrize("name", sorted(IJEPA_PRESETS))
def test_config_round_trip_every_preset(name, tmp_path):
    cfg = IJEPAConfig.preset(name)
    d = cfg.to_dict()
    assert IJEPAConfig.from_dict(d) == cfg
    assert IJEPAConfig.from_dict(json.loads(json.dumps(d))) == cfg  # lists come back as tuples
    path = save_checkpoint(tmp_path / "c.pt", {"kind": "test", "config": d})  # through a weights-only file
    assert IJEPAConfig.from_dict(load_checkpoint(path)["config"]) == cfg


def test_presets_are_what_they_say():
    assert IJEPAConfig.preset("tiny") == IJEPAConfig()
    h, g = IJEPAConfig.preset("vit_h14"), IJEPAConfig.preset("vit_g16")
    assert (h.vit.embed_dim, h.vit.depth, h.vit.patch_size, h.predictor.depth) == (1280, 32, 14, 12)
    assert (g.vit.embed_dim, g.vit.depth, g.vit.patch_size, g.predictor.depth) == (1408, 40, 16, 16)


def test_unknown_preset_error():
    with pytest.raises(ValueError, match="unknown I-JEPA preset 'vit_b16'") as err:
        IJEPAConfig.preset("vit_b16")
    for name in IJEPA_PRESETS:
        assert name in str(err.value)


def test_from_dict_rejects_unknown_fields():
    d = IJEPAConfig().to_dict()
    d["vit"]["depthh"] = 3
    with pytest.raises(ValueError, match="depthh"):
        IJEPAConfig.from_dict(d)
