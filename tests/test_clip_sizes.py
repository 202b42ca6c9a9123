"""Any clip size through RoPE: one encoder and one predictor, the positions of the grid actually given.

The claims: a RoPE encoder run on a clip of another size equals the same weights in an encoder *configured*
for that size (so nothing about the configured size leaks in); the predictor follows the grid it is told; a
sin-cos model keeps its size and says so; sizes that cannot be cut into tubelets are refused by name.
(Parity with Meta's encoder and predictor at other sizes: benchmarks/official_parity.py.)
"""

from dataclasses import replace

import pytest
import torch

from jepa_lab.masking.multiblock3d import sample_video_masks
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig
from jepa_lab.models.vjepa_predictor import VideoPredictor, VideoPredictorConfig

CFG = VideoViTConfig(img_size=32, patch_size=8, num_frames=8, embed_dim=48, depth=2, num_heads=4)


def at_size(cfg, frames, size):
    return replace(cfg, num_frames=frames, img_size=size)


@pytest.mark.parametrize("frames, height, width", [(16, 32, 32), (4, 48, 48), (8, 24, 40), (2, 8, 8)])
def test_a_rope_encoder_takes_any_clip_size(frames, height, width):
    torch.manual_seed(0)
    enc = VideoViT(CFG).eval()
    x = torch.rand(2, 3, frames, height, width)
    out = enc(x)
    assert out.shape == (2, frames // 2 * height // 8 * width // 8, 48)
    if height == width:  # the same weights in an encoder configured for this size give the same tokens
        sized = VideoViT(at_size(CFG, frames, height)).eval()
        sized.load_state_dict(enc.state_dict())
        torch.testing.assert_close(out, sized(x))


def test_masked_encoding_at_another_size_matches_the_sized_encoder():
    torch.manual_seed(0)
    enc = VideoViT(CFG).eval()
    sized = VideoViT(at_size(CFG, 12, 40)).eval()
    sized.load_state_dict(enc.state_dict())
    x = torch.rand(2, 3, 12, 40, 40)
    keep = torch.stack([torch.randperm(6 * 25)[:40] for _ in range(2)])
    torch.testing.assert_close(enc(x, keep=keep), sized(x, keep=keep))


def test_frames_of_another_size_are_encoded_like_the_sized_encoder():
    torch.manual_seed(0)
    enc = VideoViT(CFG).eval()
    sized = VideoViT(at_size(CFG, 8, 48)).eval()
    sized.load_state_dict(enc.state_dict())
    frames = torch.rand(3, 3, 48, 48)
    torch.testing.assert_close(enc.encode_frames(frames), sized.encode_frames(frames))


@pytest.mark.parametrize("shape, fragment", [((1, 3, 7, 32, 32), "T a multiple of 2"),
                                             ((1, 3, 8, 30, 32), "H, W multiples of 8"),
                                             ((1, 3, 0, 32, 32), "T a multiple of 2"),
                                             ((1, 1, 8, 32, 32), "3 channels")])
def test_sizes_that_cannot_be_cut_into_tubelets_are_refused(shape, fragment):
    with pytest.raises(ValueError, match=fragment):
        VideoViT(CFG)(torch.rand(*shape))


def test_a_sincos_encoder_keeps_its_size_and_says_so():
    enc = VideoViT(replace(CFG, pos="sincos"))
    assert enc(torch.rand(1, 3, 8, 32, 32)).shape == (1, 64, 48)
    with pytest.raises(ValueError, match="sin-cos table is fixed"):
        enc(torch.rand(1, 3, 16, 32, 32))
    with pytest.raises(ValueError, match="frames"):
        enc.encode_frames(torch.rand(1, 3, 48, 48))


def test_the_predictor_follows_the_grid_it_is_told():
    torch.manual_seed(0)
    pcfg = VideoPredictorConfig(embed_dim=32, depth=2, num_heads=4)
    pred = VideoPredictor(48, (4, 4, 4), pcfg).eval()
    sized = VideoPredictor(48, (6, 5, 5), pcfg).eval()
    sized.load_state_dict(pred.state_dict())
    z = torch.randn(2, 30, 48)
    ctx = torch.stack([torch.randperm(150)[:30] for _ in range(2)])
    tgt = torch.stack([torch.randperm(150)[:20] for _ in range(2)])
    out = pred(z, ctx, tgt, grid=(6, 5, 5))
    torch.testing.assert_close(out, sized(z, ctx, tgt))
    assert (out - pred(z, ctx % 64, tgt % 64)).abs().max() > 1e-5  # the grid matters
    with pytest.raises(ValueError, match=r"idx values must lie in \[0, 64\)"):
        pred(z, ctx, tgt)  # indices of the larger grid read on the configured one


def test_a_sincos_predictor_refuses_another_grid():
    pred = VideoPredictor(48, (4, 4, 4), VideoPredictorConfig(embed_dim=32, depth=1, num_heads=4, pos="sincos"))
    with pytest.raises(ValueError, match="sin-cos table is fixed to the grid"):
        pred(torch.randn(1, 4, 48), torch.arange(4)[None], torch.arange(4, 8)[None], grid=(8, 4, 4))


def test_vjepa_trains_on_clips_of_another_size():
    """The whole loss - masks sampled on the clip's grid, encoder, predictor, targets - on 16-frame 48-px clips
    with a model configured for 8 frames at 32 px; gradients reach the encoder and predictor."""
    torch.manual_seed(0)
    cfg = VJEPAConfig(video=CFG, predictor=VideoPredictorConfig(embed_dim=32, depth=1, num_heads=4,
                                                                num_mask_tokens=3), future_context=2)
    model = VJEPA(cfg)
    clips = torch.rand(2, 3, 16, 48, 48)
    grid = model.encoder.grid_of(clips.shape)
    masks = cfg.sample_masks(2, torch.Generator().manual_seed(0), grid=grid)
    assert grid == (8, 6, 6) and all(m.grid == grid for m in masks)
    loss = model.loss(clips, masks)
    loss.backward()
    assert torch.isfinite(loss)
    assert model.encoder.patch_embed.proj.weight.grad.abs().sum() > 0
    assert model.predictor.predictor_proj.weight.grad.abs().sum() > 0
    assert int(masks[2].context.max()) < 2 * 36  # the future family's context: the first 2 token-frames


def test_masks_follow_the_grid():
    masks = sample_video_masks((8, 6, 6), 3, VJEPAConfig().long_range, generator=torch.Generator().manual_seed(0))
    assert masks.grid == (8, 6, 6) and int(masks.targets.max()) < 288
