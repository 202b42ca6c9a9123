"""V-JEPA: predict the embeddings of masked space-time regions of a clip from the visible rest.

The I-JEPA recipe (ijepa.py) moved to video (Bardes et al., 2024; V-JEPA 2, 2025): a context encoder sees the
tubelets outside the 3D masks, an EMA target encoder sees the whole clip, and a predictor fills in the masked
tubelets' embeddings. The loss is L1 (not smooth-L1) against layer-normed target tokens. Two mask families are
trained side by side in every step - short-range (8 small blocks) and long-range (2 large blocks), each block
spanning the whole clip in time - each with its own mask token.

Shapes: B batch, C channels, T frames, H=W pixels, N tokens, Nc context tokens, Nt target tokens, D width.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ..config import DictRoundTrip, is_int
from ..masking.multiblock import gather_tokens
from ..masking.multiblock3d import VideoMaskBatch, VideoMaskConfig, future_mask, sample_video_masks
from .ijepa import OptimConfig
from .jepa import JEPA
from .video_vit import VideoViT, VideoViTConfig
from .vjepa_predictor import VideoPredictor, VideoPredictorConfig

FAMILIES = ("short_range", "long_range", "future")  # the mask families, in the order of their mask tokens


@dataclass(frozen=True)
class VideoDataConfig:
    """Training clips, generated from a seed: ``balls`` (jepa_lab.data.balls: bouncing balls with known motion),
    ``planning_envs`` (action-free video of Two Rooms and Push, jepa_lab.envs.trajectories), ``panda_arm``
    (action-free video of the Franka arm reaching and pushing, jepa_lab.envs.panda_data) or ``possible_events``
    (jepa_lab.data.violations); the ball settings are used by ``balls`` only."""

    name: str = "balls"
    num_clips: int = 2000
    seed: int = 0
    num_balls: tuple[int, int] = (1, 3)
    occluder: float = 0.0
    speed_range: tuple[float, float] = (0.75, 2.0)
    noise: float = 0.0
    texture: float = 0.0
    pan: int = 0


@dataclass(frozen=True)
class CooldownConfig:
    """Progressive resolution (V-JEPA 2): the last ``steps`` training steps use clips of ``num_frames`` frames at
    ``img_size`` px (0 = the model's own), the steps before them the model's configured, cheaper clips. V-JEPA 2
    pretrains on 16 frames at 256 px and cools down on 64 frames at 384 px; RoPE encoders take both sizes with
    the same weights. ``steps=0``: no cool-down."""

    steps: int = 0
    num_frames: int = 0
    img_size: int = 0


@dataclass(frozen=True)
class VJEPAConfig(DictRoundTrip):
    """Everything that defines a V-JEPA run. Presets: ``VJEPAConfig.preset(name)``."""

    video: VideoViTConfig = VideoViTConfig()
    predictor: VideoPredictorConfig = VideoPredictorConfig()
    short_range: VideoMaskConfig = VideoMaskConfig(num_blocks=8, spatial_scale=(0.15, 0.15), min_keep=4)
    long_range: VideoMaskConfig = VideoMaskConfig(num_blocks=2, spatial_scale=(0.7, 0.7), min_keep=4)
    optim: OptimConfig = OptimConfig(ema=(0.998, 1.0))
    data: VideoDataConfig = VideoDataConfig()
    future_context: int = 0
    seed: int = 0
    cooldown: CooldownConfig = CooldownConfig()
    # > future_context: each step draws the future family's context from future_context..future_context_max
    # token-frames (capped at the clip's t - 1), so the predictor learns to look ahead from any moment
    future_context_max: int = 0
    # fine-tuning: a shipped model's name (load_pretrained) or a saved model file whose weights start a fresh run
    # instead of a random initialisation, resized to this config's clips (VJEPA.resized); "" = from scratch
    init: str = ""
    # the mask families each step trains (family k keeps mask token k, its place in FAMILIES); fine-tuning for
    # long-range prediction may train the causal future family alone
    families: tuple[str, ...] = FAMILIES

    def __post_init__(self) -> None:
        if not isinstance(self.init, str):
            raise ValueError(f"init: expected a shipped model's name or a model file (a str; '' = from scratch), "
                             f"received {self.init!r}")
        fam = self.families
        if (not isinstance(fam, tuple) or len(set(fam)) != len(fam) or not set(fam) <= set(FAMILIES)
                or not set(fam) - ({"future"} if not self.future_context else set())):
            raise ValueError(f"families: expected distinct names from {FAMILIES}, at least one trained ('future' "
                             f"only with future_context >= 1), received {fam!r} with future_context="
                             f"{self.future_context}")
        t = self.video.grid[0]
        fc = self.future_context
        if isinstance(fc, bool) or not isinstance(fc, int) or not 0 <= fc < t:
            raise ValueError(f"future_context: expected an int in [0, {t - 1}] (0 = off; token-frames of context "
                             f"for the causal future family, grid has {t}), received {fc!r}")
        fm = self.future_context_max
        if not is_int(fm, 0) or (fm and (not fc or fm <= fc)):
            raise ValueError(f"future_context_max: expected 0 (a fixed context) or an int > future_context={fc} "
                             f"(which must be >= 1), received {fm!r}")
        self._check_cooldown()
        families = 2 + (fc > 0)
        if self.predictor.num_mask_tokens < families:
            raise ValueError(f"predictor.num_mask_tokens: expected >= {families} (one per mask family), "
                             f"received {self.predictor.num_mask_tokens}")

    def _check_cooldown(self) -> None:
        c, v = self.cooldown, self.video
        if not (is_int(c.steps, 0, self.optim.steps) and is_int(c.num_frames, 0) and is_int(c.img_size, 0)):
            raise ValueError(f"cooldown: expected steps in [0, optim.steps={self.optim.steps}] and num_frames, "
                             f"img_size ints >= 0 (0 = the model's own), received {c}")
        if c.num_frames % v.tubelet_size or c.img_size % v.patch_size:
            raise ValueError(f"cooldown: expected num_frames a multiple of {v.tubelet_size} and img_size of "
                             f"{v.patch_size}, received {c}")
        if c.steps and (self.cooldown_video.num_frames, self.cooldown_video.img_size) != (v.num_frames, v.img_size):
            if "sincos" in (v.pos, self.predictor.pos):
                raise ValueError("cooldown: clips of another size need RoPE positions (video.pos and predictor.pos "
                                 "'rope'); a sin-cos table is fixed to one size")

    @property
    def cooldown_video(self) -> VideoViTConfig:
        """The clip size of the cool-down steps (frames and pixels; the architecture is the model's)."""
        c, v = self.cooldown, self.video
        return replace(v, num_frames=c.num_frames or v.num_frames, img_size=c.img_size or v.img_size)

    def grid_at(self, step: int) -> tuple[int, int, int]:
        """The token grid of the clips trained on at ``step`` (0-based): the cool-down's for the last steps."""
        cooling = self.cooldown.steps and step >= self.optim.steps - self.cooldown.steps
        return self.cooldown_video.grid if cooling else self.video.grid

    @property
    def mask_configs(self) -> tuple[VideoMaskConfig, VideoMaskConfig]:
        return (self.short_range, self.long_range)

    def sample_masks(self, batch_size: int, generator: torch.Generator | None = None,
                     grid: tuple[int, int, int] | None = None) -> list[VideoMaskBatch]:
        """The masks of one training step on a token grid (default: the configured clip size's): short-range,
        long-range and (if ``future_context``) the causal future mask (context = the first ``future_context``
        token-frames, targets = the rest); None in the place of a family left out of ``families``."""
        grid = tuple(grid or self.video.grid)
        masks = [sample_video_masks(grid, batch_size, m, generator=generator) if name in self.families else None
                 for name, m in zip(FAMILIES, self.mask_configs)]  # None: a family this config does not train
        if self.future_context:
            masks.append(future_mask(grid, batch_size, self.future_context_at(grid, generator))
                         if "future" in self.families else None)
        return masks

    def future_context_at(self, grid, generator: torch.Generator | None = None) -> int:
        """Token-frames of context of this step's future family: ``future_context``, or one drawn uniformly up
        to ``future_context_max`` (capped at the grid's t - 1)."""
        top = min(self.future_context_max, grid[0] - 1)
        if top <= self.future_context:
            return self.future_context
        return int(torch.randint(self.future_context, top + 1, (1,), generator=generator))

    @staticmethod
    def preset(name: str) -> "VJEPAConfig":
        if name not in VJEPA_PRESETS:
            raise ValueError(f"unknown V-JEPA preset {name!r}; expected one of {sorted(VJEPA_PRESETS)}")
        return VJEPA_PRESETS[name]



def _tiny() -> VJEPAConfig:
    """CPU preset: 8 frames of 32 px, a 4x4x4 token grid, fixed 3D sin-cos positions (V-JEPA 1; the tiny
    predictor placed masked tubes better with them than with RoPE's few rotated dims per head), the causal
    future family on top of short- and long-range masks, and 10,000 ball clips filmed by a panning camera: a
    random texture (amplitude 0.6) scrolls 1 px per frame behind the balls. On plain or noisy backgrounds a
    2-frame tubelet's pixels already hold a ball's displacement linearly, so a random-init encoder read motion
    as well as a trained one; with the moving texture the future is not the last frame and motion must be
    learned (docs/results.md, V-JEPA)."""
    base = VJEPAConfig()
    return replace(base, video=replace(base.video, pos="sincos"),
                   predictor=replace(base.predictor, pos="sincos", num_mask_tokens=3),
                   data=replace(base.data, num_clips=10000, texture=0.6, pan=1), future_context=2)


def _planning_envs() -> VJEPAConfig:
    """The encoder of the planning stage: the tiny architecture (32 px frames, 4x4 patches of 8 px), trained
    on 6,000 action-free clips of the planning environments (no pixel noise, no future family)."""
    base = VJEPAConfig()
    return replace(base, data=replace(base.data, name="planning_envs", num_clips=6000))


def _panda_arm() -> VJEPAConfig:
    """Phase 1 of V-JEPA 2-AC for the simulated Franka arm: the planning encoder's architecture (32 px frames,
    4x4 patches of 8 px, 3D RoPE), trained on 3,000 action-free clips of the arm at play, half reaching and half
    pushing (rendered at 64 px, averaged down to 32 px; no labels kept)."""
    base = VJEPAConfig()
    return replace(base, data=replace(base.data, name="panda_arm", num_clips=3000))


def _intuitive_physics() -> VJEPAConfig:
    """The violation-of-expectation model (violations.py, surprise.py): the tiny architecture and mask
    families, trained on 6,000 clips of *possible* events of the test world (one ball crossing the frame,
    bouncing off walls, passing behind occluders; no pixel noise), with a RoPE predictor, for 6,000 steps.
    With the tiny preset's sin-cos predictor the future predictions hardly depended on the context (on a plain
    background *where* a token is predicts almost all of its latent) and the violation test stayed near chance;
    with rotary positions they follow what the context shows - a quarter of it at 1,500 steps, most of it at
    3,000, nearly all at 6,000 - and the visible violations are caught (docs/results.md)."""
    tiny = _tiny()
    return replace(tiny, predictor=replace(tiny.predictor, pos="rope"), optim=replace(tiny.optim, steps=6000),
                   data=replace(tiny.data, name="possible_events", num_clips=6000, noise=0.0, texture=0.0, pan=0))


def _permanence() -> VJEPAConfig:
    """Object permanence: the intuitive-physics model fine-tuned on whole 16-frame events - a ball going in behind
    the occluder *and* coming out - to predict far ahead. It starts from the shipped ``vjepa_physics`` weights
    (``init``; its sin-cos table extended from 4 to 8 token-frames: VJEPA.resized) and trains the causal future
    family alone, its context drawn from 1 to 6 token-frames (2-12 frames), so every step asks for the latents
    of 4-28 frames ahead from some moment of an event: 3,000 steps of batch 32, at half the learning rate, on
    3,000 16-frame clips of the same possible events. Read with the whole clip as context
    (surprise.context_surprise; docs/results.md)."""
    phys = _intuitive_physics()
    return replace(phys, video=replace(phys.video, num_frames=16), future_context=1, future_context_max=6,
                   families=("future",), init="vjepa_physics", data=replace(phys.data, num_clips=3000),
                   optim=replace(phys.optim, steps=3000, batch_size=32, lr=2.5e-4, warmup_steps=50))


def _paper(video: str) -> VJEPAConfig:
    """A paper-size preset: V-JEPA 2 encoder, 384-wide 12-deep 12-head RoPE predictor, 10 mask tokens."""
    masks = VideoMaskConfig.preset
    return VJEPAConfig(video=VideoViTConfig.preset(video),
                       predictor=VideoPredictorConfig(embed_dim=384, depth=12, num_heads=12, num_mask_tokens=10,
                                                                rope_layout="repeat"),
                       short_range=masks("short_range"), long_range=masks("long_range"),
                       optim=replace(OptimConfig(), batch_size=3072, ema=(0.99925, 0.99925), weight_decay=(0.04, 0.04)))


VJEPA_PRESETS: dict[str, VJEPAConfig] = {
    "tiny": _tiny(),
    "planning_envs": _planning_envs(),
    "panda_arm": _panda_arm(),
    "intuitive_physics": _intuitive_physics(),
    "permanence": _permanence(),
    "vit_l16": _paper("vit_l16"),
    "vit_h16": _paper("vit_h16"),
    "vit_g16": _paper("vit_g16"),
}


class VJEPA(JEPA):
    """Video context encoder + EMA target encoder + predictor (jepa.py) on clips [B, 3, T, H, W] in [0, 1].
    Verbs: ``encode``, ``targets``, ``predict``, ``loss``."""

    def __init__(self, cfg: VJEPAConfig = VJEPAConfig()):
        super().__init__(VideoViT(cfg.video), VideoPredictor(cfg.video.embed_dim, cfg.video.grid, cfg.predictor))
        self.cfg = cfg

    def resized(self, num_frames: int | None = None, img_size: int | None = None) -> "VJEPA":
        """The same weights in a model configured for clips of ``num_frames`` frames at ``img_size`` px (None:
        unchanged). A RoPE model needs none of this (it takes any clip size as it is); a sin-cos model's tables
        are recomputed for the new grid. Each row of a table is a formula of its integer (t, h, w) position, so
        the positions the model knew keep their values and new ones are added: an extension, not an
        interpolation - what the new positions mean to the network, training on the new clips teaches it."""
        v = self.cfg.video
        video = replace(v, num_frames=num_frames or v.num_frames, img_size=img_size or v.img_size)
        out = VJEPA(replace(self.cfg, video=video))
        fixed = [k for k in self.state_dict() if k.endswith("pos_embed")]  # recomputed tables, not weights
        missing, _ = out.load_state_dict({k: t for k, t in self.state_dict().items() if k not in fixed},
                                         strict=False)
        assert sorted(missing) == sorted(fixed), f"weights not carried over: {sorted(set(missing) - set(fixed))}"
        return out.train(self.training)

    @torch.no_grad()
    def targets(self, clips: torch.Tensor, masks: VideoMaskBatch) -> torch.Tensor:
        """Layer-normed target-encoder tokens at the masked positions -> [B, Nt, D] (no gradient)."""
        return gather_tokens(self.target_tokens(clips), masks.targets)  # [B, Nt, D]

    def predict(self, clips: torch.Tensor, masks: VideoMaskBatch, mask_index: int = 0) -> torch.Tensor:
        """Encode the visible tubelets, predict the masked ones' embeddings -> [B, Nt, D]."""
        z_ctx = self.encoder(self.normalize(clips), keep=masks.context)  # [B, Nc, D]
        return self.predictor(z_ctx, masks.context, masks.targets, mask_index, grid=masks.grid)

    def loss(self, clips: torch.Tensor, masks: list[VideoMaskBatch] | tuple[VideoMaskBatch, ...]) -> torch.Tensor:
        """Mean over mask families (family k uses mask token k; None: a family not trained) of the L1 between
        predictions and targets."""
        if isinstance(masks, VideoMaskBatch):
            masks = (masks,)
        losses = [F.l1_loss(self.predict(clips, m, k), self.targets(clips, m)) for k, m in enumerate(masks)
                  if m is not None]
        return torch.stack(losses).mean()
