"""Exact resume of phase-2 training (jepa_lab.train.ac): a run stopped and resumed from its last checkpoint
gives the same losses and weights as one that never stopped; a checkpoint of another run is refused."""

from dataclasses import replace

import pytest
import torch

import jepa_lab.train.ac as ac_train
from jepa_lab.models.ac_predictor import ACPredictorConfig
from jepa_lab.models.world_model import ACTrainConfig
from jepa_lab.train.ac import RunOptions, train_ac, train_pixel
from jepa_lab.checkpoint import load_checkpoint
from jepa_lab.models.pixel_world_model import PixelModelConfig
from jepa_lab.envs.trajectories import collect
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig

CFG = replace(ACTrainConfig(), episodes=16, episode_steps=6, window=4, steps=6, batch_size=8, warmup_steps=2,
              predictor=ACPredictorConfig(embed_dim=32, depth=1, num_heads=2), pixel=PixelModelConfig(width=8))


class Interrupt(Exception):
    pass


@pytest.fixture(scope="module")
def traj():
    return collect("two_rooms", 16, 6, seed=0, progress=False)


@pytest.fixture(scope="module")
def encoder():
    torch.manual_seed(0)
    return VideoViT(VideoViTConfig())


def trainer(kind, encoder):
    return (lambda traj, cfg, run: train_ac(encoder, traj, cfg, progress=False, run=run)) if kind == "latent" else \
        (lambda traj, cfg, run: train_pixel(traj, cfg, progress=False, run=run))


def weights(model, kind):
    return (model.predictor if kind == "latent" else model).state_dict()


@pytest.mark.parametrize("kind", ["latent", "pixel"])
def test_stopped_and_resumed_equals_uninterrupted(kind, traj, encoder, tmp_path, monkeypatch):
    fit = trainer(kind, encoder)
    full, full_log = fit(traj, CFG, RunOptions(str(tmp_path / "full")))

    real, calls = ac_train.accumulate, []

    def die_before_step_5(*args):
        if len(calls) == 4:
            raise Interrupt("stopped")
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(ac_train, "accumulate", die_before_step_5)
    with pytest.raises(Interrupt):
        fit(traj, CFG, RunOptions(str(tmp_path / "cut"), ckpt_every=3))
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "cut" / "last.pt", ac_train.RUN_KIND)["step"] == 3  # steps 4 is redone

    resumed, log = fit(traj, CFG, RunOptions(str(tmp_path / "cut"), ckpt_every=3))
    assert log["steps_run"] == 3
    assert log["teacher"] == full_log["teacher"] and log["rollout"] == full_log["rollout"]
    for k, v in weights(full, kind).items():
        assert torch.equal(v, weights(resumed, kind)[k]), k


def test_a_checkpoint_of_another_run_is_refused_and_kept(traj, encoder, tmp_path):
    run = RunOptions(str(tmp_path), ckpt_every=2)
    train_ac(encoder, traj, replace(CFG, steps=2), progress=False, run=run)
    before = (tmp_path / "last.pt").read_bytes()
    torch.manual_seed(1)
    with pytest.raises(ValueError, match="was trained on other inputs"):
        train_ac(VideoViT(VideoViTConfig()), traj, CFG, progress=False, run=run)  # another encoder
    with pytest.raises(ValueError, match="with other settings"):
        train_ac(encoder, traj, replace(CFG, lr=1e-4), progress=False, run=run)
    with pytest.raises(ValueError, match="with other settings"):
        train_pixel(traj, CFG, progress=False, run=run)
    assert (tmp_path / "last.pt").read_bytes() == before
    _, log = train_ac(encoder, traj, CFG, progress=False, run=replace(run, resume=False))  # starting over is fine
    assert log["steps_run"] == CFG.steps
