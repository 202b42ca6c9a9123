"""Scale-out (jepa_lab.train.parallel): torchrun with 2 CPU processes equals 1 process with the same global batch -
DDP and FSDP, with and without gradient accumulation, for I-JEPA, V-JEPA and the AC predictor - and a checkpoint
written by 2 FSDP processes resumes in 1 process exactly like one written by 1 process. Plus the pieces:
sharding, accumulation and activation checkpointing in one process, and their errors."""

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest
import torch

from jepa_lab.cli.main import main
from jepa_lab.models.ijepa import IJEPA, IJEPAConfig, OptimConfig
from jepa_lab.masking.multiblock import MaskBatch
from jepa_lab.train.parallel import (LossModule, ParallelConfig, World, accumulate, check_batch,
                                     set_activation_checkpointing, shard)
from jepa_lab.models.ijepa_predictor import PredictorConfig
from jepa_lab.data.shapes import ShapesConfig, make_shapes
from jepa_lab.train.jepa import train
from jepa_lab.models.vit import ViTConfig

TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
IJEPA_RUN = ["train", "ijepa", "--preset", "tiny", "--steps", "3", "--batch-size", "8", "--no-resume"]


def torchrun(args: list[str]) -> str:
    """``torchrun --nproc_per_node 2 -m jepa_lab ARGS`` on 2 CPU processes (gloo); returns its stdout."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}
    proc = subprocess.run([*TORCHRUN, "-m", "jepa_lab", *args], capture_output=True, text=True, env=env,
                          timeout=600)
    assert proc.returncode == 0, f"torchrun failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


def load(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_run(a: dict, b: dict) -> None:
    """Same losses, same weights (target encoder included), same optimiser moments, up to float rounding."""
    torch.testing.assert_close(torch.tensor(a["losses"]), torch.tensor(b["losses"]), rtol=1e-5, atol=1e-6)
    assert a["model"].keys() == b["model"].keys()
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-6, msg=lambda m: f"{k}: {m}")
    assert a["optimizer"]["state"].keys() == b["optimizer"]["state"].keys()
    for k, s in a["optimizer"]["state"].items():
        torch.testing.assert_close(s["exp_avg"], b["optimizer"]["state"][k]["exp_avg"], rtol=1e-4, atol=1e-7)
    assert a["step"] == b["step"]


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    """The reference: the tiny I-JEPA preset, 3 steps of global batch 8, in this one process."""
    out = tmp_path_factory.mktemp("one") / "run"
    assert main([*IJEPA_RUN, "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------------------- torchrun, 2 processes


def test_torchrun_ddp_equals_one_process(one_process, tmp_path):
    printed = torchrun([*IJEPA_RUN, "--out", str(tmp_path)])
    assert "2 processes (ddp, cpu), 4 samples each" in printed
    assert printed.count("trained steps 0 -> 3") == 1  # rank 0 alone reports
    assert_same_run(load(one_process / "last.pt"), load(tmp_path / "last.pt"))
    assert len((tmp_path / "log.csv").read_text().splitlines()) == 1 + 3  # one log, one row per step


def test_torchrun_fsdp_with_accumulation_equals_one_process(one_process, tmp_path):
    printed = torchrun([*IJEPA_RUN, "--out", str(tmp_path), "--strategy", "fsdp", "--grad-accum", "2"])
    assert "(fsdp, cpu)" in printed and "in 2 micro-batch(es)" in printed
    ckpt = load(tmp_path / "last.pt")
    assert not any(type(v).__name__ == "DTensor" for v in ckpt["model"].values())  # full tensors on disk
    assert_same_run(load(one_process / "last.pt"), ckpt)


def test_checkpoints_move_between_fsdp_and_one_process_both_ways(one_process, tmp_path):
    more = ["train", "ijepa", "--preset", "tiny", "--steps", "5", "--batch-size", "8"]
    two = tmp_path / "two"
    torchrun([*IJEPA_RUN, "--out", str(two), "--strategy", "fsdp"])
    one, back = tmp_path / "one", tmp_path / "back"
    shutil.copytree(one_process, one)
    shutil.copytree(one_process, back)
    for run in (one, two):  # resume both in one process for 2 more steps (same schedule change for both)
        assert main([*more, "--out", str(run)]) == 0
    torchrun([*more, "--out", str(back), "--strategy", "fsdp"])  # a 1-process checkpoint resumed by 2 FSDP ranks
    a = load(one / "last.pt")
    assert a["step"] == 5 and len(a["losses"]) == 5
    assert_same_run(a, load(two / "last.pt"))
    assert_same_run(a, load(back / "last.pt"))


def test_torchrun_vjepa_ddp_equals_one_process(tmp_path):
    args = ["train", "vjepa", "--preset", "tiny", "--steps", "2", "--batch-size", "4", "--no-resume"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    torchrun([*args, "--out", str(tmp_path / "two")])
    assert_same_run(load(tmp_path / "one" / "last.pt"), load(tmp_path / "two" / "last.pt"))


def test_torchrun_ac_predictor_ddp_with_accumulation_equals_one_process(tmp_path):
    args = ["train-ac", "--env", "two_rooms", "--episodes", "12", "--steps", "3", "--batch-size", "8", "--no-resume"]
    one, two = tmp_path / "one", tmp_path / "two"
    assert main([*args, "--out", str(one / "wm.pt"), "--run-dir", str(one)]) == 0
    printed = torchrun([*args, "--out", str(two / "wm.pt"), "--run-dir", str(two), "--grad-accum", "2"])
    assert printed.count("wrote") == 1
    a, b = load(one / "last.pt"), load(two / "last.pt")
    for key in ("teacher", "rollout"):
        torch.testing.assert_close(torch.tensor(a["log"][key]), torch.tensor(b["log"][key]), rtol=1e-5, atol=1e-6)
    for k in a["model"]:
        torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-6)
    assert (two / "wm.pt").is_file()


# ------------------------------------------------------------------------------- one process


def small_cfg(steps: int = 3, batch: int = 8) -> IJEPAConfig:
    return dataclasses.replace(
        IJEPAConfig.preset("tiny"), vit=ViTConfig(embed_dim=32, depth=2, num_heads=2),
        predictor=PredictorConfig(embed_dim=32, depth=1, num_heads=2),
        optim=dataclasses.replace(OptimConfig(), steps=steps, batch_size=batch, warmup_steps=2, lr=1e-3))


@pytest.fixture(scope="module")
def images():
    return make_shapes(64, ShapesConfig(size=32), seed=0)[0]


def test_gradient_accumulation_gives_the_same_run(tmp_path, images):
    ref = train(small_cfg(), tmp_path / "k1", progress=False, data=images)
    acc = train(small_cfg(), tmp_path / "k4", progress=False, data=images, parallel=ParallelConfig(grad_accum=4))
    assert_same_run(load(ref.checkpoint), load(acc.checkpoint))


def test_activation_checkpointing_gives_the_same_gradients(images):
    torch.manual_seed(0)
    model = IJEPA(small_cfg())
    from jepa_lab.masking.multiblock import sample_multiblock

    masks = sample_multiblock(model.cfg.vit.grid, 4, model.cfg.masks, generator=torch.Generator().manual_seed(0))
    grads = []
    for on in (False, True):
        assert set_activation_checkpointing(model, on) == 2 + 2 + 1  # encoder, target encoder, predictor blocks
        model.zero_grad()
        model.loss(images[:4], masks).backward()
        grads.append([p.grad.clone() for p in model.encoder.parameters() if p.requires_grad])
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b)


def test_accumulate_sums_tuple_losses_and_averages_micro_batches():
    w = torch.nn.Parameter(torch.tensor(2.0))
    module = LossModule(torch.nn.Module(), lambda m, x: ((w * x).mean(), (w * x).pow(2).mean()))
    x = torch.arange(8.0)
    out = accumulate(module, (x,), World(), ParallelConfig(grad_accum=2))
    torch.testing.assert_close(out, torch.stack([(2 * x).mean(), (2 * x).pow(2).mean()]))
    torch.testing.assert_close(w.grad, x.mean() + (2 * 2 * x.pow(2)).mean())  # d/dw of the global losses


def test_shard_slices_every_tensor_of_a_nested_batch():
    masks = MaskBatch(context=torch.arange(12).reshape(6, 2), targets=torch.arange(24).reshape(6, 2, 2), grid=(4, 4))
    batch = (torch.arange(6), [masks], {"s": torch.zeros(6, 3)})
    part = shard(batch, 1, 3)  # rows 2 and 3
    assert part[0].tolist() == [2, 3]
    assert part[1][0].context.tolist() == [[4, 5], [6, 7]] and part[1][0].grid == (4, 4)
    assert part[2]["s"].shape == (2, 3)
    with pytest.raises(ValueError, match="cannot split a batch of 6 into 4"):
        shard(batch, 0, 4)


@pytest.mark.parametrize("kw, match", [
    ({"strategy": "zero"}, r"strategy: expected one of \('ddp', 'fsdp'\), got 'zero'"),
    ({"precision": "fp16"}, r"precision: expected one of \('fp32', 'bf16'\), got 'fp16'"),
    ({"grad_accum": 0}, r"grad_accum: expected an integer >= 1, got 0"),
])
def test_parallel_config_names_what_it_expected(kw, match):
    with pytest.raises(ValueError, match=match):
        ParallelConfig(**kw)


def test_a_batch_that_does_not_split_is_refused_before_training(tmp_path, images):
    with pytest.raises(ValueError, match=r"batch size 8 does not split into 2 process\(es\) x 3 micro-batch\(es\); "
                                         r"expected a multiple of 6"):
        check_batch(8, World(rank=0, size=2), ParallelConfig(grad_accum=3))
    with pytest.raises(ValueError, match="expected a multiple of 3"):
        train(small_cfg(), tmp_path, progress=False, data=images, parallel=ParallelConfig(grad_accum=3))
    assert not (tmp_path / "last.pt").exists()


def test_bf16_on_a_cpu_warns_and_still_trains(tmp_path, images):
    with pytest.warns(UserWarning, match="bf16 autocast on a CPU is much slower"):
        res = train(small_cfg(steps=1), tmp_path, progress=False, data=images, parallel=ParallelConfig(precision="bf16"))
    assert torch.isfinite(torch.tensor(res.losses)).all()


def test_each_rank_trains_on_its_own_share_of_the_global_batch(monkeypatch, images):
    """The sampler: every rank draws the same global batch; rank r of W keeps the r-th contiguous share."""
    import jepa_lab.train.jepa as train_mod
    from jepa_lab.masking.multiblock import sample_multiblock

    cfg = small_cfg()
    gen = torch.Generator().manual_seed(cfg.seed)  # what every rank draws at step 0
    idx = torch.randint(len(images), (8,), generator=gen)
    masks = sample_multiblock(cfg.vit.grid, 8, cfg.masks, generator=gen)
    seen = {}
    monkeypatch.setattr(train_mod, "accumulate", lambda module, batch, world, par: seen.update(
        {world.rank: batch}) or torch.zeros(1))
    for rank in (0, 1):
        state = train_mod._State(cfg, World(rank=rank, size=2), ParallelConfig())
        state.module, state.opt = LossModule(state.model), train_mod.make_optimizer(state.model, cfg.optim)
        train_mod.train_step(state, images, 0, cfg)
    for rank, rows in ((0, slice(0, 4)), (1, slice(4, 8))):
        batch, got = seen[rank]
        torch.testing.assert_close(batch, images[idx[rows]])
        torch.testing.assert_close(got.context, masks.context[rows])
        torch.testing.assert_close(got.targets, masks.targets[rows])


def test_one_process_trains_on_the_cpu_unless_told_and_a_missing_gpu_is_named():
    from jepa_lab.train.parallel import init_world

    assert init_world().device == "cpu"  # a plain train(...) in a notebook stays beside the notebook's tensors
    if not torch.cuda.is_available():
        expected = r"device 'cuda:0' asked for, but this torch \(.*\) sees no GPU; expected 'cpu'"
        with pytest.raises(ValueError, match=expected):
            init_world("cuda")
