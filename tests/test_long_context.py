"""Longer context for surprise: a future family whose context length varies, and surprise read with the whole
clip as context (``context_surprise``), for RoPE models on clips longer than they were built for."""

from dataclasses import replace

import pytest
import torch

from jepa_lab.eval.surprise import context_surprise, predict_future, surprise_after
from jepa_lab.models.video_vit import VideoViTConfig
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig
from jepa_lab.models.vjepa_predictor import VideoPredictorConfig

CFG = VJEPAConfig(video=VideoViTConfig(img_size=16, patch_size=4, num_frames=8, embed_dim=24, depth=1, num_heads=2),
                  predictor=VideoPredictorConfig(embed_dim=16, depth=1, num_heads=2, num_mask_tokens=3),
                  future_context=1, future_context_max=6)


def test_the_future_context_is_drawn_in_range_and_capped_by_the_grid():
    gen = torch.Generator().manual_seed(0)
    small = {CFG.future_context_at((4, 4, 4), gen) for _ in range(200)}
    large = {CFG.future_context_at((8, 4, 4), gen) for _ in range(200)}
    assert small == {1, 2, 3} and large == {1, 2, 3, 4, 5, 6}
    fixed = replace(CFG, future_context_max=0)
    assert {fixed.future_context_at((8, 4, 4), gen) for _ in range(20)} == {1}
    masks = CFG.sample_masks(2, gen, grid=(8, 4, 4))[2]
    assert masks.context.shape[1] % 16 == 0 and 16 <= masks.context.shape[1] <= 96


@pytest.mark.parametrize("fc, fm", [(2, 2), (2, 1), (0, 3), (1, -1)])
def test_a_bad_range_is_refused(fc, fm):
    with pytest.raises(ValueError, match="future_context_max"):
        replace(CFG, future_context=fc, future_context_max=fm)


def test_context_surprise_reads_each_context_on_the_whole_clip():
    torch.manual_seed(0)
    model = VJEPA(CFG).eval()
    clips = torch.rand(3, 3, 16, 16, 16)  # twice the frames the model was built for
    curves, first = context_surprise(model, clips, contexts=(2, 4, 6))
    assert curves.shape == (3, 3) and first.tolist() == [4, 8, 12] and torch.isfinite(curves).all()
    pred, target = predict_future(model, clips, 4)
    torch.testing.assert_close(curves[:, 1], (pred - target).abs().mean(dim=(1, 2)))
    near, _ = context_surprise(model, clips, contexts=(4,), horizon=1)  # only the next token-frame
    torch.testing.assert_close(near[:, 0], (pred - target)[:, :16].abs().mean(dim=(1, 2)))


def test_the_control_is_read_over_the_same_predicted_frames():
    from jepa_lab.eval.surprise import scene_amount, scene_control_context
    clips = torch.zeros(2, 3, 16, 8, 8)
    clips[0, :, 12:, 2:4, 2:4] = 1.0  # something appears in the last 4 frames of clip 0 only
    control = scene_control_context(clips, [4, 8, 12])
    amount = scene_amount(clips)
    torch.testing.assert_close(control[:, 2], amount[:, 12:].mean(dim=1))
    assert control[0, 2] > control[0, 1] > control[0, 0] > 0 and control[1].abs().max() == 0


def test_surprise_after_is_the_context_reading_frame_by_frame():
    torch.manual_seed(0)
    model = VJEPA(CFG).eval()
    clips = torch.rand(3, 3, 16, 16, 16)
    per_frame = surprise_after(model, clips, context=3)  # 8 token-frames: 5 predicted after 3
    assert per_frame.shape == (3, 5)
    torch.testing.assert_close(per_frame.mean(dim=1), context_surprise(model, clips, contexts=(3,))[0][:, 0])
    torch.testing.assert_close(per_frame[:, :2].mean(dim=1), context_surprise(model, clips, (3,), horizon=2)[0][:, 0])
