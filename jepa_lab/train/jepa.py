"""Training a JEPA: the loop, its schedules, the loss log and resumable checkpoints.

One loop serves every method; a ``Recipe`` says what differs (model class, training data, how masks are
drawn). ``train(cfg, out_dir)`` is what ``jepa-lab train ijepa|vjepa --preset tiny`` runs. It writes
``out_dir/log.csv`` (one line per step) and ``out_dir/last.pt`` (model, EMA target, optimiser, step, RNG
state and config) every ``ckpt_every`` steps and at the end; running it again on the same ``out_dir``
resumes from ``last.pt``. Under ``torchrun`` the same loop runs data-parallel (parallel.py): each process
computes its share of every global batch, rank 0 writes the log and the checkpoints, and the checkpoint files
are the same whatever the number of processes or the strategy (DDP or FSDP).
"""

from __future__ import annotations

import csv
import io
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

import torch

from .. import progress_bar
from ..checkpoint import atomic_write_text, load_resumable, load_weights, previous_path, save_checkpoint
from ..config import config_changes
from ..data.balls import BallsConfig, make_balls
from ..data.shapes import ShapesConfig, make_shapes
from ..data.violations import possible_events
from ..envs.panda_data import panda_clips
from ..envs.trajectories import ENV_NAMES, action_free_clips
from ..masking.multiblock import sample_multiblock
from ..models.ema import momentum_at
from ..models.ijepa import IJEPA, IJEPAConfig
from ..models.vjepa import VJEPA, VJEPAConfig
from ..weights.pretrained import load_pretrained
from ..weights.saved import IJEPA_KIND, VJEPA_KIND, load_model
from .parallel import (ParallelConfig, World, accumulate, barrier, check_batch, init_world, load_optimizer,
                       prepare, shard, state_dicts)
from .schedules import cosine, lr_at

LOG_HEADER = ["step", "loss", "lr", "ema_momentum", "seconds"]
RESUME_KEYS = ("config", "model", "optimizer", "step", "losses", "generator", "torch_rng")  # what last.pt holds


def make_optimizer(model, cfg) -> torch.optim.AdamW:
    """AdamW over encoder + predictor (never the target encoder); no weight decay on biases and norms."""
    params = [p for name, p in model.named_parameters() if p.requires_grad and not name.startswith("target_encoder")]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay[0]}, {"params": no_decay, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.999))


def shapes_config(cfg: IJEPAConfig) -> ShapesConfig:
    """The ``ShapesConfig`` of an I-JEPA config's training images (probes draw held-out images from the same one)."""
    return ShapesConfig(size=cfg.vit.img_size, scale_range=cfg.data.scale_range,
                        light_background_prob=cfg.data.light_background_prob)


def balls_config(cfg: VJEPAConfig) -> BallsConfig:
    """The ``BallsConfig`` of a V-JEPA config's training clips (probes draw held-out clips from the same one)."""
    return BallsConfig(size=cfg.video.img_size, frames=cfg.video.num_frames, num_balls=cfg.data.num_balls,
                       occluder=cfg.data.occluder, speed_range=cfg.data.speed_range, noise=cfg.data.noise,
                       texture=cfg.data.texture, pan=cfg.data.pan)


def training_images(cfg: IJEPAConfig) -> torch.Tensor:
    """The training set of the config: [num_images, 3, H, W] procedural shapes, deterministic from its seed."""
    if cfg.data.name != "shapes":
        raise ValueError(f"unknown training data {cfg.data.name!r}; expected 'shapes'")
    images, _ = make_shapes(cfg.data.num_images, shapes_config(cfg), seed=cfg.data.seed)
    return images


def training_clips(cfg: VJEPAConfig) -> torch.Tensor:
    """The training clips of the config: uint8 [num_clips, 3, T, H, W] (a quarter of the memory of floats;
    ``train_step`` scales each batch to [0, 1]), deterministic from its seed."""
    if cfg.data.name == "planning_envs":  # action-free video of the planning environments, half each
        n, v = cfg.data.num_clips, cfg.video
        parts = [action_free_clips(env, n // 2 + (i < n % 2), v.num_frames, v.img_size, seed=cfg.data.seed + i)
                 for i, env in enumerate(ENV_NAMES)]
        return torch.cat(parts)[torch.randperm(n, generator=torch.Generator().manual_seed(cfg.data.seed))]
    if cfg.data.name == "panda_arm":  # action-free video of the Franka arm, half reaching, half pushing
        n, v, workers = cfg.data.num_clips, cfg.video, min(4, os.cpu_count() or 1)
        parts = [panda_clips(task, n // 2 + (i < n % 2), v.num_frames, v.img_size, seed=cfg.data.seed + i,
                             workers=workers) for i, task in enumerate(("reach", "push"))]
        return torch.cat(parts)[torch.randperm(n, generator=torch.Generator().manual_seed(cfg.data.seed))]
    if cfg.data.name == "possible_events":  # the violation-of-expectation world, without violations
        return possible_events(cfg.data.num_clips, cfg.video.num_frames, seed=cfg.data.seed).movedim(-1, 1)
    if cfg.data.name != "balls":
        raise ValueError(f"unknown training data {cfg.data.name!r}; expected 'balls', 'planning_envs', "
                         f"'panda_arm' or 'possible_events'")
    videos, _ = make_balls(cfg.data.num_clips, balls_config(cfg), seed=cfg.data.seed)
    return videos.movedim(-1, 1)  # [N, T, H, W, 3] -> [N, 3, T, H, W]


@dataclass(frozen=True)
class Recipe:
    """What differs between the methods the trainer runs."""

    name: str  # progress-bar label
    kind: str  # checkpoint kind
    config: type  # frozen config class with from_dict / to_dict
    model: type  # nn.Module with .loss(inputs, masks) and .update_target(momentum)
    data: Callable  # cfg -> all training inputs [num, ...]
    masks: Callable  # (cfg, batch_size, generator, step) -> the masks model.loss takes at that step


RECIPES: dict[str, Recipe] = {
    "ijepa": Recipe("I-JEPA", IJEPA_KIND, IJEPAConfig, IJEPA, training_images,
                    lambda cfg, b, gen, step: sample_multiblock(cfg.vit.grid, b, cfg.masks, generator=gen)),
    "vjepa": Recipe("V-JEPA", VJEPA_KIND, VJEPAConfig, VJEPA, training_clips,
                    lambda cfg, b, gen, step: cfg.sample_masks(b, gen, grid=cfg.grid_at(step))),
}


def cooldown_clips(cfg, data: torch.Tensor | None = None) -> torch.Tensor | None:
    """The clips of a V-JEPA config's cool-down steps (progressive resolution): ``data`` if given, else the
    config's training set drawn at the cool-down's frames and size; None when there is no cool-down or its
    clips are the model's own size."""
    c = getattr(cfg, "cooldown", None)
    if c is None or not c.steps:
        return None
    if data is not None:
        return data
    if cfg.cooldown_video.grid == cfg.video.grid:
        return None
    return training_clips(replace(cfg, video=cfg.cooldown_video))


def start_from(model: torch.nn.Module, cfg) -> None:
    """Fine-tuning: a fresh run of a config with ``init`` (a shipped model's name or a saved model file) starts
    from that model's weights - resized to the config's clips (``VJEPA.resized``) - instead of a random draw."""
    name = getattr(cfg, "init", "")
    if not name:
        return
    source = load_model(name) if Path(name).is_file() else load_pretrained(name)
    if not isinstance(source, type(model)):
        raise ValueError(f"init={name!r} holds a {type(source).__name__}; expected a {type(model).__name__} to "
                         f"fine-tune")
    try:
        model.load_state_dict(source.resized(cfg.video.num_frames, cfg.video.img_size).state_dict())
    except (RuntimeError, ValueError) as err:
        detail = " ".join(str(err).split())[:300]
        raise ValueError(f"init={name!r}: its weights do not fit this config's architecture (expected the same "
                         f"widths, depths and heads; {detail})") from None


def recipe_for(cfg) -> Recipe:
    """The recipe of a config object (by its class)."""
    for recipe in RECIPES.values():
        if isinstance(cfg, recipe.config):
            return recipe
    raise ValueError(f"no training recipe for {type(cfg).__name__}; expected one of "
                     f"{[r.config.__name__ for r in RECIPES.values()]}")


@dataclass
class TrainResult:
    model: torch.nn.Module
    losses: list[float]
    seconds: float
    steps_run: int
    checkpoint: Path

    @property
    def steps_per_second(self) -> float:
        return self.steps_run / self.seconds if self.seconds > 0 else float("nan")


class _State:
    """Everything that changes during training and must survive a resume."""

    def __init__(self, cfg, world: World, par: ParallelConfig):
        self.recipe, self.world, self.par = recipe_for(cfg), world, par
        torch.manual_seed(cfg.seed)
        self.model = self.recipe.model(cfg)
        self.gen = torch.Generator().manual_seed(cfg.seed)
        self.step = 0
        self.losses: list[float] = []
        self.resumed_or_saved = False  # last.pt belongs to this run: worth keeping as last.prev.pt

    def start(self, cfg, ckpt: dict | None = None, path: Path | None = None) -> None:
        """Load the checkpoint's weights (if any), wrap the model for this world, build the optimiser."""
        if ckpt is not None:
            saved = self.recipe.config.from_dict(ckpt["config"])
            wanted = replace(cfg, optim=replace(cfg.optim, steps=saved.optim.steps))  # only --steps may change
            changes = config_changes(saved.to_dict(), wanted.to_dict())
            if changes:
                raise ValueError(f"{path} was written by a run with other settings ({'; '.join(changes[:4])}); "
                                 "resume with the same settings, train into a new --out folder, or pass "
                                 "--no-resume to start over")
            load_weights(self.model, ckpt["model"], path, "model")
            self.resumed_or_saved = True
        else:
            start_from(self.model, cfg)
        self.module = prepare(self.model, self.world, self.par)
        self.opt = make_optimizer(self.model, cfg.optim)
        if ckpt is not None:
            load_optimizer(self.model, self.opt, ckpt["optimizer"])
            self.step, self.losses = ckpt["step"], list(ckpt["losses"])
            self.gen.set_state(ckpt["generator"])
            torch.set_rng_state(ckpt["torch_rng"])

    def payload(self, cfg) -> dict:
        """The checkpoint (collective under FSDP: every rank calls it, rank 0 writes it)."""
        model_sd, opt_sd = state_dicts(self.model, self.opt)
        return {"kind": self.recipe.kind, "config": cfg.to_dict(), "model": model_sd, "optimizer": opt_sd,
                "step": self.step, "losses": list(self.losses), "generator": self.gen.get_state(),
                "torch_rng": torch.get_rng_state()}

    def save(self, cfg, path: Path) -> None:
        payload = self.payload(cfg)
        if self.world.is_main:
            # last.prev.pt: a fallback if last.pt is lost (not the file of a run started over with resume=False)
            save_checkpoint(path, payload, keep_previous=self.resumed_or_saved)
        self.resumed_or_saved = True
        barrier(self.world)  # nobody runs ahead of (or reads) a checkpoint that is being written


def train(cfg, out_dir: str | Path, resume: bool = True, ckpt_every: int = 500, progress: bool = True,
          data: torch.Tensor | None = None, parallel: ParallelConfig = ParallelConfig(),
          cooldown_data: torch.Tensor | None = None) -> TrainResult:
    """Train (or resume training) the method of ``cfg`` (an IJEPAConfig or VJEPAConfig); returns the model,
    per-step losses and timing. ``data`` replaces the config's training set (e.g. a few images in tests),
    ``cooldown_data`` the clips of a V-JEPA config's cool-down steps (``cfg.cooldown``: progressive resolution).

    Under ``torchrun`` every process runs this; they share each global batch of ``cfg.optim.batch_size``
    (parallel.py) and rank 0 alone writes the log and checkpoints. ``parallel`` picks DDP or FSDP, gradient
    accumulation, bf16 autocast and activation checkpointing.
    """
    out_dir = Path(out_dir)
    ckpt_path = out_dir / "last.pt"
    world = init_world(parallel.device)
    check_batch(cfg.optim.batch_size, world, parallel)
    state = _State(cfg, world, parallel)
    ckpt = load_resumable(ckpt_path, state.recipe.kind, RESUME_KEYS) if resume and ckpt_path.exists() else None
    state.start(cfg, ckpt, ckpt_path)
    if not resume and world.is_main:
        previous_path(ckpt_path).unlink(missing_ok=True)  # starting over: the old run's fallback goes too
    images = state.recipe.data(cfg) if data is None else data
    cool = cooldown_clips(cfg, cooldown_data)  # None: every step trains on `images`
    start_step, t0 = state.step, time.perf_counter()
    log = _LossLog(out_dir / "log.csv", start_step) if world.is_main else None
    bar = progress_bar(range(start_step, cfg.optim.steps), initial=start_step, total=cfg.optim.steps,
                       desc=state.recipe.name, enabled=progress and world.is_main)
    try:
        for step in bar:
            cooling = cool is not None and step >= cfg.optim.steps - cfg.cooldown.steps
            loss, lr, mom = train_step(state, cool if cooling else images, step, cfg)
            if log:
                log.write([step, f"{loss:.6f}", f"{lr:.3g}", f"{mom:.6f}", f"{time.perf_counter() - t0:.2f}"])
            bar.set_postfix(loss=f"{loss:.4f}")
            if state.step % ckpt_every == 0 or state.step == cfg.optim.steps:
                state.save(cfg, ckpt_path)
    finally:
        if log:
            log.close()
    if state.step == start_step:  # nothing to do: still leave a checkpoint behind
        state.save(cfg, ckpt_path)
    seconds = time.perf_counter() - t0
    return TrainResult(state.model, state.losses, seconds, state.step - start_step, ckpt_path)


class _LossLog:
    """out_dir/log.csv: rows the checkpoint covers are kept, later ones (to be redone) dropped. The kept rows are
    rewritten atomically (a failed write leaves the old log whole), then new rows are appended."""

    def __init__(self, path: Path, start_step: int):
        kept = _log_rows_before(path, start_step)
        buf = io.StringIO()
        csv.writer(buf).writerows([LOG_HEADER, *kept])
        atomic_write_text(path, buf.getvalue())
        self.file = open(path, "a", newline="")
        self.writer = csv.writer(self.file)

    def write(self, row: list) -> None:
        self.writer.writerow(row)

    def close(self) -> None:
        self.file.close()


def _log_rows_before(path: Path, step: int) -> list[list[str]]:
    """Rows of an existing loss log with step < ``step`` (empty for a fresh run)."""
    if step == 0 or not path.exists():
        return []
    with open(path, newline="") as f:
        return [r for r in list(csv.reader(f))[1:] if r and r[0].isdigit() and int(r[0]) < step]


def train_ijepa(cfg: IJEPAConfig, out_dir: str | Path, resume: bool = True, ckpt_every: int = 500,
                progress: bool = True, images: torch.Tensor | None = None) -> TrainResult:
    """``train`` for an I-JEPA config (``images`` replaces its training set)."""
    return train(cfg, out_dir, resume, ckpt_every, progress, data=images)


def train_step(state: _State, images: torch.Tensor, step: int, cfg) -> tuple[float, float, float]:
    """One optimiser step + EMA update on one global batch; returns (loss, lr, ema momentum)."""
    o = cfg.optim
    lr, wd = lr_at(step, o), cosine(step, o.steps, *o.weight_decay)
    mom = momentum_at(step, o.steps, *o.ema)
    for i, group in enumerate(state.opt.param_groups):
        group["lr"] = lr
        if i == 0:
            group["weight_decay"] = wd
    idx = torch.randint(len(images), (o.batch_size,), generator=state.gen)  # the global batch, on every rank
    masks = state.recipe.masks(cfg, o.batch_size, state.gen, step)
    idx, masks = shard((idx, masks), state.world.rank, state.world.size)  # this rank's share
    batch = images[idx]
    if batch.dtype == torch.uint8:  # stored compactly; the models take floats in [0, 1]
        batch = batch.float().div(255.0)
    state.opt.zero_grad(set_to_none=True)
    loss = accumulate(state.module, (batch, masks), state.world, state.par)[0]
    if o.grad_clip:
        torch.nn.utils.clip_grad_norm_([p for g in state.opt.param_groups for p in g["params"]], o.grad_clip)
    state.opt.step()
    state.model.update_target(mom)
    state.step += 1
    state.losses.append(loss.item())
    return state.losses[-1], lr, mom

