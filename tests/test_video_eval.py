"""Video evaluation: future prediction against copy-last, probe plumbing, and the latent colour plots."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from jepa_lab.eval.attentive_probe import ProbeTraining
from jepa_lab.viz.latents import PCAColours, curves_figure, latent_rows_figure, token_grid
from jepa_lab.data.balls import make_balls, videos_to_float
from jepa_lab.eval.video_eval import VideoEvalConfig, future_prediction, motion_and_count_probes, probe_clips
from jepa_lab.models.vjepa_predictor import VideoPredictorConfig
from jepa_lab.models.video_vit import VideoViTConfig
from jepa_lab.models.vjepa import VJEPA, VJEPAConfig
from jepa_lab.train.jepa import balls_config

SMALL = replace(VJEPAConfig.preset("tiny"), video=VideoViTConfig(embed_dim=32, depth=1, num_heads=2),
                predictor=VideoPredictorConfig(embed_dim=24, depth=1, num_heads=2, num_mask_tokens=3),
                future_context=2)


def model(seed: int = 0) -> VJEPA:
    torch.manual_seed(seed)
    return VJEPA(SMALL).eval()


def test_future_prediction_reports_l1_of_predictor_copy_last_and_mean():
    videos, _ = make_balls(6, balls_config(SMALL), seed=0, progress=False)
    out = future_prediction(model(), videos_to_float(videos), context_frames=2, batch_size=4)
    assert set(out) == {"future_l1", "copy_last_l1", "mean_l1"}
    assert all(np.isfinite(v) and v > 0 for v in out.values())


def test_copy_last_and_mean_match_a_direct_computation():
    m = model()
    videos, _ = make_balls(4, balls_config(SMALL), seed=1, progress=False)
    clips = videos_to_float(videos)
    out = future_prediction(m, clips, context_frames=1)
    with torch.no_grad():
        lat = torch.nn.functional.layer_norm(m.encode(clips), (32,)).view(4, 4, 16, 32)  # [B, t, h*w, D]
    future = lat[:, 1:]
    assert out["copy_last_l1"] == pytest.approx((future - lat[:, :1]).abs().mean().item(), rel=1e-5)
    assert out["mean_l1"] == pytest.approx((future - future.mean(0)).abs().mean().item(), rel=1e-5)


def test_probe_clips_are_held_out_and_single_ball_when_asked():
    m = model()
    cfg = VideoEvalConfig(n_train=5, n_test=3)
    (tr, ftr), (te, fte) = probe_clips(m, cfg, single_ball=True)
    assert tr.shape == (5, 3, 8, 32, 32) and te.shape == (3, 3, 8, 32, 32)
    assert (ftr["count"] == 1).all() and not torch.equal(tr[:3], te)


def test_motion_and_count_probes_return_the_contract_keys():
    m = model()
    cfg = VideoEvalConfig(n_train=24, n_test=8, probe=ProbeTraining(epochs=1, batch_size=8))
    out = motion_and_count_probes(m, model(1), None, cfg)
    assert set(out) == {f"probe_{k}_acc_{n}" for k in ("motion", "count") for n in ("trained", "random_init")}
    assert all(0.0 <= v <= 1.0 for v in out.values())


def test_vjepa_future_family_is_validated_and_sampled():
    assert len(SMALL.sample_masks(2)) == 3 and len(VJEPAConfig.preset("vit_l16").sample_masks(1)) == 2
    with pytest.raises(ValueError, match="future_context"):
        replace(SMALL, future_context=4)  # the tiny grid has 4 token-frames: context must leave a target
    with pytest.raises(ValueError, match="num_mask_tokens"):
        replace(SMALL, predictor=replace(SMALL.predictor, num_mask_tokens=2))


def test_pca_colours_and_latent_figures():
    lat = torch.randn(64, 16)
    colours = PCAColours(lat)
    rgb = colours(token_grid(lat, (4, 4, 4)))
    assert rgb.shape == (4, 4, 4, 3) and rgb.min() >= 0 and rgb.max() <= 1
    grid = token_grid(lat, (4, 4, 4))
    gap = grid.clone()
    gap[:2] = float("nan")
    fig = latent_rows_figure(torch.rand(3, 8, 32, 32), {"target": grid, "predicted": gap}, (4, 4, 4), colours, 2)
    assert len(fig.axes) == 3 * 4
    assert len(curves_figure({"a": [1, 2]}, "x", "y").axes) == 1
    with pytest.raises(ValueError, match="N=64"):
        token_grid(torch.randn(63, 16), (4, 4, 4))
    with pytest.raises(ValueError, match="at least 3"):
        PCAColours(torch.randn(2, 16))
