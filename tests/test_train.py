"""Tests for jepa_lab.train.jepa: a tiny real run, exact resume, config checks, export, schedules."""

import csv
import dataclasses
import math

import pytest
import torch

import jepa_lab.train.jepa as train_mod
from jepa_lab.checkpoint import load_checkpoint
from jepa_lab.models.ema import momentum_at
from jepa_lab.models.ijepa import IJEPA, IJEPAConfig, OptimConfig
from jepa_lab.models.ijepa_predictor import PredictorConfig
from jepa_lab.data.shapes import ShapesConfig, make_shapes
from jepa_lab.train.jepa import make_optimizer, train_ijepa
from jepa_lab.train.schedules import cosine, lr_at
from jepa_lab.weights.saved import IJEPA_KIND, export_weights, load_ijepa
from jepa_lab.models.vit import ViTConfig

HEADER = ["step", "loss", "lr", "ema_momentum", "seconds"]


def small_cfg(steps: int, seed: int = 0, warmup: int = 5) -> IJEPAConfig:
    """The tiny preset (32 px, 8x8 grid) with narrower networks and batch 16: ~25 ms a step on one core."""
    return dataclasses.replace(
        IJEPAConfig.preset("tiny"),
        vit=ViTConfig(embed_dim=32, depth=2, num_heads=2),
        predictor=PredictorConfig(embed_dim=32, depth=1, num_heads=2),
        optim=dataclasses.replace(OptimConfig(), steps=steps, batch_size=16, warmup_steps=warmup, lr=1e-3),
        seed=seed,
    )


@pytest.fixture(scope="module")
def images():
    imgs, _ = make_shapes(256, ShapesConfig(size=32), seed=0)
    return imgs


def read_log(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


class Interrupt(Exception):
    pass


def run_until(cfg, out, images, stop_before: int, ckpt_every: int):
    """Run ``train_ijepa`` but die (like a Ctrl-C) just before step ``stop_before``."""
    real_step = train_mod.train_step

    def step_or_die(state, imgs, step, c):
        if step == stop_before:
            raise Interrupt(f"killed before step {step}")
        return real_step(state, imgs, step, c)

    mp = pytest.MonkeyPatch()
    mp.setattr(train_mod, "train_step", step_or_die)
    try:
        with pytest.raises(Interrupt):
            train_ijepa(cfg, out, ckpt_every=ckpt_every, progress=False, images=images)
    finally:
        mp.undo()


def trainable_state(model: IJEPA) -> dict:
    return {k: v for k, v in model.state_dict().items() if not k.endswith("pos_embed")}


# ------------------------------------------------------------------------------------------- learning


def test_tiny_run_learns_and_writes_log_and_checkpoint(tmp_path, images):
    cfg = small_cfg(steps=40)
    res = train_ijepa(cfg, tmp_path, ckpt_every=1000, progress=False, images=images)
    losses = res.losses
    assert len(losses) == 40 and res.steps_run == 40 and all(math.isfinite(x) for x in losses)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    # seeds 0-9 give first ~0.44, last ~0.17-0.19: a wide margin
    assert last < 0.6 * first, (first, last)

    torch.manual_seed(cfg.seed)  # the trainer builds its model right after seeding like this
    init = IJEPA(cfg)
    assert torch.equal(init.target_encoder.blocks[0].attn.qkv.weight,
                       init.encoder.blocks[0].attn.qkv.weight)
    trained, fresh = res.model.target_encoder.state_dict(), init.target_encoder.state_dict()
    changed = [k for k in trained if k != "pos_embed" and not torch.allclose(trained[k], fresh[k])]
    assert len(changed) == len(trained) - 1, "every EMA-tracked target parameter should have moved"
    assert torch.equal(trained["pos_embed"], fresh["pos_embed"])
    # EMA lags: the target encoder is not the online encoder
    assert not torch.allclose(trained["blocks.0.attn.qkv.weight"],
                              res.model.encoder.state_dict()["blocks.0.attn.qkv.weight"])

    rows = read_log(tmp_path / "log.csv")
    assert rows[0] == HEADER and len(rows) == 41
    assert [int(r[0]) for r in rows[1:]] == list(range(40))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(losses, abs=1e-6)
    assert [float(r[2]) for r in rows[1:]] == pytest.approx([lr_at(s, cfg.optim) for s in range(40)], rel=1e-2)
    assert [float(r[3]) for r in rows[1:]] == pytest.approx([momentum_at(s, 40) for s in range(40)], abs=1e-6)

    assert res.checkpoint == tmp_path / "last.pt"
    ckpt = load_checkpoint(tmp_path / "last.pt", IJEPA_KIND)
    assert ckpt["step"] == 40 and ckpt["losses"] == pytest.approx(losses)
    assert IJEPAConfig.from_dict(ckpt["config"]) == cfg
    for k, v in res.model.state_dict().items():
        assert torch.equal(ckpt["model"][k], v), k


# --------------------------------------------------------------------------------------------- resume


def test_resume_is_exact(tmp_path, images):
    cfg = small_cfg(steps=10, warmup=3)
    one_go = train_ijepa(cfg, tmp_path / "a", ckpt_every=5, progress=False, images=images)

    run_until(cfg, tmp_path / "b", images, stop_before=5, ckpt_every=5)  # checkpoint at step 5, then killed
    assert load_checkpoint(tmp_path / "b" / "last.pt", IJEPA_KIND)["step"] == 5
    torch.manual_seed(1234)  # resuming must not depend on the global RNG of the new process
    resumed = train_ijepa(cfg, tmp_path / "b", ckpt_every=5, progress=False, images=images)

    assert resumed.steps_run == 5 and len(resumed.losses) == 10
    assert resumed.losses == pytest.approx(one_go.losses, abs=1e-6, rel=0)
    a, b = one_go.model.state_dict(), resumed.model.state_dict()
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=1e-6, msg=k)
    rows = read_log(tmp_path / "b" / "log.csv")
    assert rows[0] == HEADER and [int(r[0]) for r in rows[1:]] == list(range(10))


def test_resume_after_crash_between_checkpoints_logs_each_step_once(tmp_path, images):
    """Killed at step 7 with a checkpoint at step 5: steps 5 and 6 are redone on resume, and log.csv must
    still hold exactly one row per step (the rows of the lost steps replaced, not duplicated)."""
    cfg = small_cfg(steps=10, warmup=3)
    run_until(cfg, tmp_path, images, stop_before=7, ckpt_every=5)
    assert load_checkpoint(tmp_path / "last.pt", IJEPA_KIND)["step"] == 5
    res = train_ijepa(cfg, tmp_path, ckpt_every=5, progress=False, images=images)
    assert res.steps_run == 5 and len(res.losses) == 10
    rows = read_log(tmp_path / "log.csv")
    assert rows[0] == HEADER
    assert [int(r[0]) for r in rows[1:]] == list(range(10))
    assert [float(r[1]) for r in rows[1:]] == pytest.approx(res.losses, abs=1e-6)


def test_no_resume_starts_a_fresh_log(tmp_path, images):
    """``resume=False`` on a used folder starts over: the new log must not be appended to the old one."""
    cfg = small_cfg(steps=3, warmup=1)
    first = train_ijepa(cfg, tmp_path, ckpt_every=5, progress=False, images=images)
    again = train_ijepa(cfg, tmp_path, resume=False, ckpt_every=5, progress=False, images=images)
    assert again.steps_run == 3 and again.losses == pytest.approx(first.losses, abs=1e-6)
    assert load_checkpoint(tmp_path / "last.pt", IJEPA_KIND)["step"] == 3
    rows = read_log(tmp_path / "log.csv")
    assert rows[0] == HEADER
    assert sum(r == HEADER for r in rows) == 1, f"the old run's log was appended to: {rows}"
    assert [int(r[0]) for r in rows[1:]] == [0, 1, 2]


def test_resume_with_another_batch_size_raises_but_more_steps_resume(tmp_path, images):
    cfg = small_cfg(steps=2, warmup=1)
    train_ijepa(cfg, tmp_path, ckpt_every=5, progress=False, images=images)
    bigger = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, batch_size=cfg.optim.batch_size + 1))
    with pytest.raises(ValueError, match="optim.batch_size"):
        train_ijepa(bigger, tmp_path, ckpt_every=5, progress=False, images=images)
    longer = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, steps=3))
    assert train_ijepa(longer, tmp_path, ckpt_every=5, progress=False, images=images).steps_run == 1


def test_a_corrupt_last_checkpoint_falls_back_to_the_previous_one(tmp_path, images, capsys):
    cfg = small_cfg(steps=4, warmup=1)
    full = train_ijepa(cfg, tmp_path / "a", ckpt_every=2, progress=False, images=images)
    train_ijepa(cfg, tmp_path / "b", ckpt_every=2, progress=False, images=images)
    assert load_checkpoint(tmp_path / "b" / "last.prev.pt", IJEPA_KIND)["step"] == 2
    (tmp_path / "b" / "last.pt").write_bytes(b"truncated")  # a lost disk write
    again = train_ijepa(cfg, tmp_path / "b", ckpt_every=2, progress=False, images=images)
    assert "previous checkpoint" in capsys.readouterr().err
    assert again.steps_run == 2 and again.losses == pytest.approx(full.losses, abs=1e-6)
    assert [int(r[0]) for r in read_log(tmp_path / "b" / "log.csv")[1:]] == [0, 1, 2, 3]


def test_resume_with_different_model_config_raises(tmp_path, images):
    cfg = small_cfg(steps=2, warmup=1)
    train_ijepa(cfg, tmp_path, ckpt_every=5, progress=False, images=images)
    deeper = dataclasses.replace(cfg, vit=dataclasses.replace(cfg.vit, depth=3))
    with pytest.raises(ValueError, match="other settings"):
        train_ijepa(deeper, tmp_path, ckpt_every=5, progress=False, images=images)
    other_seed = dataclasses.replace(cfg, seed=1)
    with pytest.raises(ValueError, match="different"):
        train_ijepa(other_seed, tmp_path, ckpt_every=5, progress=False, images=images)
    assert load_checkpoint(tmp_path / "last.pt", IJEPA_KIND)["step"] == 2, "a refused resume must not touch it"


def test_resume_with_more_steps_continues(tmp_path, images):
    """Only the optimisation settings may change on resume (e.g. more steps)."""
    cfg = small_cfg(steps=2, warmup=1)
    train_ijepa(cfg, tmp_path, ckpt_every=5, progress=False, images=images)
    longer = dataclasses.replace(cfg, optim=dataclasses.replace(cfg.optim, steps=4))
    res = train_ijepa(longer, tmp_path, ckpt_every=5, progress=False, images=images)
    assert res.steps_run == 2 and len(res.losses) == 4
    again = train_ijepa(longer, tmp_path, ckpt_every=5, progress=False, images=images)  # nothing left to do
    assert again.steps_run == 0 and len(again.losses) == 4


# --------------------------------------------------------------------------------------- load / export


def test_load_ijepa_and_export_weights_round_trip(tmp_path, images):
    cfg = small_cfg(steps=3, warmup=1)
    res = train_ijepa(cfg, tmp_path / "run", ckpt_every=5, progress=False, images=images)
    out = export_weights(res.checkpoint, tmp_path / "w" / "tiny.pt", metrics={"probe_acc": 0.5}, command="x y")
    assert out == tmp_path / "w" / "tiny.pt"
    exported = load_checkpoint(out, IJEPA_KIND)
    assert "optimizer" not in exported and "generator" not in exported and "torch_rng" not in exported
    assert exported["step"] == 3 and exported["metrics"] == {"probe_acc": 0.5} and exported["command"] == "x y"
    assert out.stat().st_size < res.checkpoint.stat().st_size  # no AdamW moments

    x = images[:4]
    want = res.model.eval().encode(x)
    for path in (res.checkpoint, out):
        model = load_ijepa(path)
        assert isinstance(model, IJEPA) and not model.training and model.cfg == cfg
        got = model.state_dict()
        for k, v in res.model.state_dict().items():
            assert torch.equal(got[k], v), k
        torch.testing.assert_close(model.encode(x), want, rtol=0, atol=0)


def test_load_ijepa_refuses_other_kinds(tmp_path):
    from jepa_lab.checkpoint import save_checkpoint

    path = save_checkpoint(tmp_path / "p.pt", {"kind": "jepa_lab.eval.probe"})
    with pytest.raises(ValueError, match="'jepa_lab.ijepa'"):
        load_ijepa(path)


# ------------------------------------------------------------------------------------------- schedules


def test_lr_schedule_warmup_and_cosine_endpoints():
    o = OptimConfig(steps=100, warmup_steps=10, lr=1e-3, final_lr=1e-5)
    assert lr_at(0, o) == pytest.approx(1e-4)  # first warmup step: lr / warmup
    assert lr_at(4, o) == pytest.approx(5e-4)
    assert lr_at(9, o) == pytest.approx(1e-3)  # warmup reaches the peak
    assert lr_at(10, o) == pytest.approx(1e-3)  # cosine starts at the peak
    assert lr_at(55, o) == pytest.approx((1e-3 + 1e-5) / 2)  # half way through the cosine
    assert lr_at(100, o) == pytest.approx(1e-5)
    assert lr_at(150, o) == pytest.approx(1e-5)  # clamped after the end
    warm = [lr_at(s, o) for s in range(10)]
    decay = [lr_at(s, o) for s in range(10, 101)]
    assert all(a < b for a, b in zip(warm, warm[1:]))
    assert all(a >= b for a, b in zip(decay, decay[1:]))
    assert min(lr_at(s, o) for s in range(100)) > 1e-5 - 1e-12


def test_lr_without_warmup_and_cosine_helper():
    o = OptimConfig(steps=10, warmup_steps=0, lr=2e-3, final_lr=0.0)
    assert lr_at(0, o) == pytest.approx(2e-3) and lr_at(10, o) == pytest.approx(0.0, abs=1e-15)
    assert cosine(0, 10, 0.04, 0.4) == pytest.approx(0.04)  # weight decay ramps up from 0.04 ...
    assert cosine(10, 10, 0.04, 0.4) == pytest.approx(0.4)  # ... to 0.4
    assert cosine(5, 10, 0.04, 0.4) == pytest.approx(0.22)
    assert cosine(-3, 10, 1.0, 0.0) == pytest.approx(1.0) and cosine(99, 10, 1.0, 0.0) == pytest.approx(0.0)


def test_optimizer_groups():
    """AdamW over encoder + predictor only; no decay on biases / norms / mask token; frozen tables left out."""
    cfg = small_cfg(steps=2)
    model = IJEPA(cfg)
    opt = make_optimizer(model, cfg.optim)
    in_opt = {id(p) for g in opt.param_groups for p in g["params"]}
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(not names[i].startswith("target_encoder") for i in in_opt)
    expected = {id(p) for n, p in model.named_parameters() if p.requires_grad}
    assert in_opt == expected
    assert not any(names[i].endswith("pos_embed") for i in in_opt)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.04 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim >= 2 for p in decay["params"]) and all(p.ndim < 2 for p in no_decay["params"])
