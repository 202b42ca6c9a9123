"""V-JEPA: shapes, gradient flow, the L1 objective over two mask families, EMA, and paper-size builds."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from jepa_lab.data.balls import BallsConfig, make_balls, videos_to_float
from jepa_lab.masking.multiblock3d import future_mask, sample_video_masks
from jepa_lab.models.vjepa_predictor import VideoPredictor, VideoPredictorConfig
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import count_parameters
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig

SMALL = replace(VJEPAConfig.preset("tiny"),
                video=VideoViTConfig(embed_dim=32, depth=2, num_heads=2),
                predictor=VideoPredictorConfig(embed_dim=24, depth=1, num_heads=2, num_mask_tokens=3))


def clips(n: int = 4, seed: int = 0) -> torch.Tensor:
    videos, _ = make_balls(n, BallsConfig(size=32, frames=8), seed=seed, progress=False)
    return videos_to_float(videos)  # [B, C, T, H, W]


def family_masks(cfg: VJEPAConfig, b: int, seed: int = 0):
    return cfg.sample_masks(b, torch.Generator().manual_seed(seed))  # short-range, long-range (, future)


@pytest.mark.parametrize("pos", ["rope", "sincos"])
def test_encoder_and_predictor_shapes(pos):
    cfg = replace(SMALL, video=replace(SMALL.video, pos=pos), predictor=replace(SMALL.predictor, pos=pos))
    torch.manual_seed(0)
    model = VJEPA(cfg)
    x = clips()
    assert model.encode(x).shape == (4, 64, 32)  # grid (4, 4, 4): 8 frames / tubelet 2, 32 px / patch 8
    for k, m in enumerate(family_masks(cfg, 4)):
        pred, tgt = model.predict(x, m, k), model.targets(x, m)
        assert pred.shape == tgt.shape == (4, m.targets.shape[1], 32)


def test_rope_encoder_sees_relative_positions_only():
    torch.manual_seed(0)
    enc = VideoViT(SMALL.video).eval()
    x = clips(2)
    swapped = torch.cat([x[:, :, 2:4], x[:, :, 0:2], x[:, :, 4:]], dim=2)  # tubelet-frames 0 and 1 swapped
    frame0, frame1 = torch.arange(16).expand(2, -1), torch.arange(16, 32).expand(2, -1)
    both = torch.arange(32).expand(2, -1)
    with torch.no_grad():
        # the same tokens moved together by one frame: relative positions unchanged -> same output
        torch.testing.assert_close(enc(x, frame0), enc(swapped, frame1), atol=1e-5, rtol=0)
        # two frames in swapped temporal order: same token contents, different relative positions
        a, b = enc(x, both), enc(swapped, both)
    reordered = torch.cat([b[:, 16:], b[:, :16]], dim=1)  # b's tokens back in a's content order
    # without positions these would be equal (to float error, ~1e-6); at init attention is near uniform, so the
    # effect is small but far above float error
    assert (a - reordered).abs().max() > 1e-4


def test_loss_is_mean_l1_over_families_and_target_gets_no_gradient():
    torch.manual_seed(0)
    model = VJEPA(SMALL)
    x, masks = clips(), family_masks(SMALL, 4)
    loss = model.loss(x, masks)
    by_hand = torch.stack([F.l1_loss(model.predict(x, m, k), model.targets(x, m)) for k, m in enumerate(masks)]).mean()
    torch.testing.assert_close(loss, by_hand)
    loss.backward()
    assert all(p.grad is None for p in model.target_encoder.parameters())
    assert model.encoder.blocks[0].attn.qkv.weight.grad.abs().sum() > 0
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in model.predictor.mask_tokens)


def test_targets_are_layer_normed_and_future_masks_work():
    torch.manual_seed(0)
    model = VJEPA(SMALL)
    m = future_mask(SMALL.video.grid, 3, context_frames=2)
    tgt = model.targets(clips(3), m)
    assert tgt.shape == (3, 32, 32) and not tgt.requires_grad
    torch.testing.assert_close(tgt.mean(-1), torch.zeros(3, 32), atol=1e-5, rtol=0)
    assert model.predict(clips(3), m).shape == (3, 32, 32)


def test_ema_moves_the_target_toward_the_encoder():
    torch.manual_seed(0)
    model = VJEPA(SMALL)
    with torch.no_grad():
        model.encoder.norm.weight.add_(1.0)
    before = model.target_encoder.norm.weight.clone()
    model.update_target(0.9)
    torch.testing.assert_close(model.target_encoder.norm.weight, 0.9 * before + 0.1 * model.encoder.norm.weight)


def test_a_few_steps_reduce_the_loss():
    torch.manual_seed(0)
    model = VJEPA(SMALL)
    opt = torch.optim.AdamW([p for n, p in model.named_parameters() if p.requires_grad], lr=1e-3)
    x, gen, losses = clips(16, seed=1), torch.Generator().manual_seed(0), []
    for _ in range(30):
        masks = [sample_video_masks(SMALL.video.grid, 16, m, generator=gen) for m in SMALL.mask_configs]
        loss = model.loss(x, masks)
        opt.zero_grad()
        loss.backward()
        opt.step()
        model.update_target(0.99)
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5, losses


def test_bad_inputs_name_the_expected_shape():
    model = VJEPA(SMALL)
    with pytest.raises(ValueError, match=r"3 channels, .* got \(2, 8, 3, 32, 32\)"):
        model.encode(torch.rand(2, 8, 3, 32, 32))  # frames and channels swapped
    with pytest.raises(ValueError, match="mask_index"):
        m = family_masks(SMALL, 2)[0]
        model.predictor(torch.zeros(2, m.context.shape[1], 32), m.context, m.targets, mask_index=5)


def test_paper_presets_build_on_meta_with_released_predictor_layout():
    with torch.device("meta"):
        model = VJEPA(VJEPAConfig.preset("vit_g16"))
    assert count_parameters(model.encoder) == 1_012_173_952
    keys = set(model.predictor.state_dict())
    assert {f"mask_tokens.{k}" for k in range(10)} <= keys and "predictor_pos_embed" not in keys
    assert 21e6 < count_parameters(model.predictor) < 23e6  # "about 22M" for the V-JEPA 2 predictor
    assert model.cfg.predictor.rope_layout == model.cfg.video.rope_layout == "repeat"


@pytest.mark.parametrize("name", ["tiny", "vit_l16", "vit_h16", "vit_g16"])
def test_config_round_trip(name):
    cfg = VJEPAConfig.preset(name)
    assert VJEPAConfig.from_dict(cfg.to_dict()) == cfg


def test_video_predictor_rejects_bad_shapes():
    pred = VideoPredictor(32, (4, 4, 4), SMALL.predictor)
    with pytest.raises(ValueError, match=r"\[B, Nc, 32\]"):
        pred(torch.zeros(2, 5, 16), torch.zeros(2, 5, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long))
