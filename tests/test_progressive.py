"""Progressive resolution: short, small clips for most steps, a cool-down on longer, larger clips at the end.

The claims: the schedule switches grids exactly at ``steps - cooldown.steps``; a run trains through the switch
(masks drawn on the cool-down grid, the cool-down clips fed to the same RoPE weights) and resumes across it; a
sin-cos model cannot cool down at another size; bad settings are refused by name. (The measured saving:
benchmarks/progressive.py.)
"""

from dataclasses import replace

import pytest
import torch

from jepa_lab.data.balls import BallsConfig, make_balls
from jepa_lab.models.ijepa import OptimConfig
from jepa_lab.models.video_vit import VideoViTConfig
from jepa_lab.models.vjepa import CooldownConfig, VJEPAConfig
from jepa_lab.models.vjepa_predictor import VideoPredictorConfig
from jepa_lab.train.jepa import cooldown_clips, train

BASE = VJEPAConfig(video=VideoViTConfig(img_size=16, patch_size=4, num_frames=4, embed_dim=24, depth=1, num_heads=2),
                   predictor=VideoPredictorConfig(embed_dim=16, depth=1, num_heads=2),
                   optim=OptimConfig(steps=6, batch_size=4, warmup_steps=1))
COOL = replace(BASE, cooldown=CooldownConfig(steps=2, num_frames=8, img_size=24))


def clips(frames, size, n=8):
    videos, _ = make_balls(n, BallsConfig(size=size, frames=frames), seed=0, progress=False)
    return videos.movedim(-1, 1)  # uint8 [N, 3, T, H, W]


def test_the_grid_switches_for_the_last_steps():
    assert [COOL.grid_at(s) for s in range(6)] == [(2, 4, 4)] * 4 + [(4, 6, 6)] * 2
    assert all(BASE.grid_at(s) == (2, 4, 4) for s in range(6))
    masks = COOL.sample_masks(3, torch.Generator().manual_seed(0), grid=COOL.grid_at(5))
    assert all(m.grid == (4, 6, 6) for m in masks)


def test_a_run_trains_through_the_cooldown_and_resumes_across_it(tmp_path):
    short, long = clips(4, 16), clips(8, 24)
    whole = train(COOL, tmp_path / "a", progress=False, data=short, cooldown_data=long)
    assert whole.steps_run == 6 and all(torch.isfinite(torch.tensor(whole.losses)))
    first = train(replace(COOL, optim=replace(COOL.optim, steps=5)), tmp_path / "b", progress=False, data=short,
                  cooldown_data=long)
    assert first.steps_run == 5
    with pytest.raises(ValueError, match="other settings"):  # the cool-down is part of the run's settings
        train(BASE, tmp_path / "b", progress=False, data=short)


def test_without_cooldown_data_the_config_draws_the_longer_clips():
    cfg = replace(COOL, data=replace(COOL.data, num_clips=4))
    long = cooldown_clips(cfg)
    assert tuple(long.shape) == (4, 3, 8, 24, 24) and long.dtype == torch.uint8
    assert cooldown_clips(BASE) is None
    assert cooldown_clips(replace(BASE, cooldown=CooldownConfig(steps=2))) is None  # same size: same clips


@pytest.mark.parametrize("cooldown, fragment", [
    (CooldownConfig(steps=7), r"steps in \[0, optim.steps=6\]"),
    (CooldownConfig(steps=2, num_frames=5), "num_frames a multiple of 2"),
    (CooldownConfig(steps=2, img_size=18), "img_size of 4"),
    (CooldownConfig(steps=-1), "cooldown: expected"),
])
def test_bad_cooldowns_are_refused(cooldown, fragment):
    with pytest.raises(ValueError, match=fragment):
        replace(BASE, cooldown=cooldown)


def test_a_sincos_model_cannot_cool_down_at_another_size():
    sincos = replace(BASE, video=replace(BASE.video, pos="sincos"))
    with pytest.raises(ValueError, match="need RoPE positions"):
        replace(sincos, cooldown=CooldownConfig(steps=2, num_frames=8))
    replace(sincos, cooldown=CooldownConfig(steps=2))  # the same size is fine
