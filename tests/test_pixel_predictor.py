"""The pixel-space surprise baseline: shapes, learning on a tiny run, save/load, surprise windows."""

import pytest
import torch

from jepa_lab.models.pixel_video_predictor import PixelPredictor, PixelPredictorConfig
from jepa_lab.weights.saved import load_pixel_predictor, save_pixel_predictor
from jepa_lab.eval.surprise import pixel_surprise
from jepa_lab.train.pixel_video_predictor import train_pixel_predictor
from jepa_lab.data.violations import possible_events

SMALL = PixelPredictorConfig(width=8, steps=60, batch_size=16, lr=3e-3)


@pytest.fixture(scope="module")
def trained():
    videos = possible_events(64, 8, seed=0, progress=False)
    return train_pixel_predictor(videos, SMALL, progress=False), videos


def test_shapes_and_bad_input():
    model = PixelPredictor(SMALL)
    out = model(torch.rand(2, 3, 4, 32, 32))
    assert out.shape == (2, 3, 4, 32, 32) and out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match=r"context: expected \[B, 3, 4, H, W\]"):
        model(torch.rand(2, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="T >= 8"):
        train_pixel_predictor(torch.zeros(4, 6, 32, 32, 3, dtype=torch.uint8), SMALL)


def test_training_lowers_the_loss(trained):
    (model, log), _ = trained
    first, last = sum(log["loss"][:10]) / 10, sum(log["loss"][-10:]) / 10
    assert last < 0.7 * first and not model.training


def test_predicts_held_out_clips_better_than_untrained(trained):
    (model, _), _ = trained
    held_out = possible_events(32, 8, seed=99, progress=False).movedim(-1, 1).float() / 255  # [B, 3, 8, H, W]
    torch.manual_seed(0)
    untrained = PixelPredictor(SMALL).eval()
    with torch.no_grad():
        err = {name: (m(held_out[:, :, :4]) - held_out[:, :, 4:]).abs().mean() for name, m in
               (("trained", model), ("untrained", untrained))}
    assert err["trained"] < 0.5 * err["untrained"]


def test_save_load_and_surprise(trained, tmp_path):
    (model, _), videos = trained
    save_pixel_predictor(tmp_path / "p.pt", model, {"train_seconds": 1.0}, "cmd")
    again = load_pixel_predictor(tmp_path / "p.pt")
    clips = torch.rand(2, 3, 12, 32, 32)
    a, first = pixel_surprise(model, clips)
    b, _ = pixel_surprise(again, clips)
    assert a.shape == (2, 3) and first.tolist() == [4, 6, 8]
    torch.testing.assert_close(a, b)
