"""Training the action-conditioned world models on action-labelled trajectories (V-JEPA 2-AC's second phase).

The video encoder is frozen, so every frame is encoded once up front and the predictor trains on cached
latents: the encoder is not in the optimizer and costs nothing per step. ``train_ac`` trains the latent
predictor (models/ac_predictor.py); ``train_pixel`` trains the pixel-space baseline (models/pixel_world_model.py)
on the same episodes. ``weights.saved.save_world_model`` / ``load_world_model`` keep a trained model with its
encoder; ``ACTrainConfig`` (models/world_model.py) holds the settings.

Shapes: E episodes, T steps, W window (frames per training sample), N tokens, D encoder width, P pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from .. import progress_bar
from ..checkpoint import load_resumable, load_weights, previous_path, save_checkpoint
from ..envs.trajectories import Trajectories, downsample
from ..models.ac_predictor import ACPredictor, ac_loss
from ..models.pixel_world_model import PixelWorldModel, pixel_loss
from ..models.world_model import ACTrainConfig, LatentWorldModel, encode_episodes
from .parallel import (ParallelConfig, accumulate, barrier, check_batch, init_world, load_optimizer, prepare,
                       shard, state_dicts)
from .schedules import cosine

RUN_KIND = "jepa_lab.ac_run"  # a resumable phase-2 training checkpoint (save_world_model writes the result)
RESUME_KEYS = ("model_kind", "identity", "ac_config", "model", "optimizer", "step", "generator", "torch_rng", "log")


def windows(num_episodes: int, steps: int, window: int, batch: int, gen: torch.Generator):
    """Random (episode, start) pairs for a batch of windows of ``window`` frames: two [batch] index tensors."""
    ep = torch.randint(num_episodes, (batch,), generator=gen)
    start = torch.randint(steps + 2 - window, (batch,), generator=gen)
    return ep, start


def _gather(x: torch.Tensor, ep: torch.Tensor, start: torch.Tensor, length: int) -> torch.Tensor:
    """x [E, T', ...] -> the windows x[ep, start:start + length] stacked: [B, length, ...]."""
    idx = start[:, None] + torch.arange(length)  # [B, length]
    return x[ep[:, None], idx]




@dataclass(frozen=True)
class RunOptions:
    """Where and how a phase-2 run trains: ``run_dir`` holds ``last.pt`` (written every ``ckpt_every`` steps;
    running again resumes from it unless ``resume`` is False); ``parallel`` is the scale-out (parallel.py)."""

    run_dir: str | None = None
    ckpt_every: int = 500
    resume: bool = True
    parallel: ParallelConfig = ParallelConfig()


def _optimise(model: nn.Module, loss_fn, gather, episodes: tuple[int, int], cfg: ACTrainConfig, desc: str,
              progress: bool, run: RunOptions, identity: dict | None = None) -> dict:
    """AdamW with warm-up + cosine decay over cfg.steps. Each step draws a global batch of windows (ep, start),
    keeps this process's share, ``gather(ep, start)`` -> the batch tensors, ``loss_fn(model, *batch)`` ->
    (teacher, rollout) losses; ``episodes`` = (E, T) of the data. Checkpoints to ``run.run_dir/last.pt`` and
    resumes from it when its config and ``identity`` (e.g. which frozen encoder) match."""
    world = init_world(run.parallel.device)
    check_batch(cfg.batch_size, world, run.parallel)
    if world.distributed and run.parallel.strategy != "ddp":
        raise ValueError(f"the phase-2 trainer runs with strategy 'ddp' only, got {run.parallel.strategy!r} (its "
                         "predictor is small; FSDP is meant for the full-size encoders of `jepa-lab train`)")
    path = Path(run.run_dir) / "last.pt" if run.run_dir else None
    ckpt = load_resumable(path, RUN_KIND, RESUME_KEYS) if path and run.resume and path.exists() else None
    if path and not run.resume and world.is_main:
        previous_path(path).unlink(missing_ok=True)  # starting over: the old run's fallback goes too
    keep = ckpt is not None  # last.pt belongs to this run: worth keeping as last.prev.pt when replaced
    if ckpt is not None:
        _check_resumable(ckpt, cfg, desc, identity or {}, path)
        load_weights(model, ckpt["model"], path, "model")
    module = prepare(model, world, run.parallel, loss_fn)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(cfg.seed)
    log, step0 = {"teacher": [], "rollout": []}, 0
    if ckpt is not None:
        load_optimizer(model, opt, ckpt["optimizer"])
        gen.set_state(ckpt["generator"])
        torch.set_rng_state(ckpt["torch_rng"])
        log, step0 = {k: list(ckpt["log"][k]) for k in log}, ckpt["step"]
    start = time.perf_counter()
    bar = progress_bar(range(step0, cfg.steps), initial=step0, total=cfg.steps, desc=desc,
                       enabled=progress and world.is_main)
    for step in bar:
        for group in opt.param_groups:
            group["lr"] = cfg.lr * min(1.0, (step + 1) / max(1, cfg.warmup_steps)) * cosine(step, cfg.steps, 1.0, 0.05)
        ep, first = windows(*episodes, cfg.window, cfg.batch_size, gen)  # the global batch
        ep, first = shard((ep, first), world.rank, world.size)  # this process's share
        opt.zero_grad(set_to_none=True)
        teacher, rollout = accumulate(module, gather(ep, first), world, run.parallel).tolist()
        opt.step()
        log["teacher"].append(teacher)
        log["rollout"].append(rollout)
        if step % 50 == 0:
            bar.set_postfix(teacher=f"{teacher:.3f}", rollout=f"{rollout:.3f}")
        if path and ((step + 1) % run.ckpt_every == 0 or step + 1 == cfg.steps):
            _save_run(path, model, opt, gen, step + 1, log, cfg, (desc, identity or {}), world, keep)
            keep = True
    log["train_seconds"] = time.perf_counter() - start
    log["steps_run"] = cfg.steps - step0
    model.to("cpu")  # back beside the frozen encoder and the saved files
    return log


def _save_run(path: Path, model, opt, gen, step: int, log: dict, cfg: ACTrainConfig, what: tuple, world,
              keep_previous: bool) -> None:
    model_sd, opt_sd = state_dicts(model, opt)  # collective under FSDP
    if world.is_main:
        payload = {"kind": RUN_KIND, "model_kind": what[0], "identity": what[1], "ac_config": cfg.to_dict(),
                   "model": model_sd, "optimizer": opt_sd, "step": step, "generator": gen.get_state(),
                   "torch_rng": torch.get_rng_state(), "log": log}
        save_checkpoint(path, payload, keep_previous=keep_previous)  # last.prev.pt: a fallback if last.pt is lost
    barrier(world)


def _check_resumable(ckpt: dict, cfg: ACTrainConfig, desc: str, identity: dict, path: Path) -> None:
    saved = ACTrainConfig.from_dict(ckpt["ac_config"])
    if ckpt["model_kind"] != desc or replace(saved, steps=cfg.steps) != cfg:
        raise ValueError(f"{path} is a {ckpt['model_kind']!r} run with other settings than this {desc!r} run; "
                         "use another run folder or start over (resume=False / --no-resume)")
    if ckpt["identity"] != identity:
        raise ValueError(f"{path} was trained on other inputs ({ckpt['identity']}) than this run ({identity}); "
                         "use another run folder or start over (resume=False / --no-resume)")
    if ckpt["step"] > cfg.steps:
        raise ValueError(f"{path} is already at step {ckpt['step']}, beyond steps={cfg.steps}")


def train_ac(encoder, traj: Trajectories, cfg: ACTrainConfig = ACTrainConfig(), progress: bool = True,
             run: RunOptions = RunOptions()):
    """Phase 2: a fresh AC predictor on top of a frozen encoder (a VideoViT). Returns (LatentWorldModel, log);
    log has per-step losses, ``encode_seconds`` and ``train_seconds`` (of this call, when resumed)."""
    torch.manual_seed(cfg.seed)
    t0 = time.perf_counter()
    n = encoder.cfg.grid[1] * encoder.cfg.grid[2]
    model = LatentWorldModel(encoder, ACPredictor(encoder.cfg.embed_dim, n, cfg.predictor), cfg.window - 1)
    z = encode_episodes(model, traj, progress=progress)  # [E, T + 1, N, D]
    encode_seconds = time.perf_counter() - t0
    states, actions = torch.from_numpy(traj.states), torch.from_numpy(traj.actions)
    w = cfg.window

    def gather(ep, start):
        return _gather(z, ep, start, w), _gather(actions, ep, start, w - 1), _gather(states, ep, start, w - 1)

    def loss_fn(predictor, z_win, a_win, s_win):
        return ac_loss(predictor, z_win, a_win, s_win, cfg.rollout_steps, cfg.integrate_states)

    model.train()
    identity = {"encoder_checksum": float(f"{sum(p.double().sum().item() for p in encoder.parameters()):.6g}")}
    log = _optimise(model.predictor, loss_fn, gather, traj.actions.shape[:2], cfg, "AC predictor", progress, run,
                    identity)
    log["encode_seconds"] = encode_seconds
    return model.eval(), log


def train_pixel(traj: Trajectories, cfg: ACTrainConfig = ACTrainConfig(), progress: bool = True,
                run: RunOptions = RunOptions()):
    """The pixel-space baseline on the same episodes (frames at cfg.pixel.img_size). Returns (model, log)."""
    torch.manual_seed(cfg.seed)
    model = PixelWorldModel(cfg.pixel)
    small = downsample(traj.frames, cfg.pixel.img_size)  # [E, T + 1, P, P, 3]
    frames = torch.from_numpy(small).permute(0, 1, 4, 2, 3).float() / 255  # [E, T + 1, 3, P, P]
    states, actions = torch.from_numpy(traj.states), torch.from_numpy(traj.actions)
    w = cfg.window

    def gather(ep, start):
        return _gather(frames, ep, start, w), _gather(actions, ep, start, w - 1), _gather(states, ep, start, w - 1)

    def loss_fn(m, f_win, a_win, s_win):
        return pixel_loss(m, f_win, a_win, s_win, cfg.rollout_steps)

    model.train()
    log = _optimise(model, loss_fn, gather, traj.actions.shape[:2], cfg, "pixel model", progress, run)
    return model.eval(), log

