"""I-JEPA: predict the *embeddings* of masked image blocks from a visible context block.

Three networks (Assran et al., 2023):
- the context ``encoder`` sees only the context patches and is trained by gradients;
- the ``target_encoder`` sees the whole image, gets no gradients, and follows the encoder by EMA;
- the ``predictor`` maps context embeddings + target positions to predicted target embeddings.

Loss: smooth-L1 between predictions and the layer-normed (no affine) target-encoder outputs at the target
positions. Nothing is ever decoded back to pixels. The skeleton that V-JEPA shares (encoder, EMA target encoder,
predictor, input normalisation) is in jepa.py.

Shapes: B batch, C channels, H=W pixels, N tokens, Nc context tokens, M target blocks, Nt tokens per block,
D encoder width.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..config import DictRoundTrip
from ..masking.multiblock import MaskBatch, MultiBlockConfig, gather_tokens
from .ijepa_predictor import Predictor, PredictorConfig
from .jepa import JEPA
from .vit import VisionTransformer, ViTConfig


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation settings: AdamW with warmup + cosine lr, cosine weight decay, linear EMA ramp."""

    steps: int = 1500
    batch_size: int = 64
    lr: float = 5e-4
    final_lr: float = 1e-5
    warmup_steps: int = 100
    weight_decay: tuple[float, float] = (0.04, 0.4)
    ema: tuple[float, float] = (0.996, 1.0)
    grad_clip: float = 1.0


@dataclass(frozen=True)
class DataConfig:
    """Which images to train on: ``shapes`` (procedural, see jepa_lab.data.shapes) at ``img_size`` pixels."""

    name: str = "shapes"
    num_images: int = 20000
    seed: int = 0
    # Large shapes (half to 90% of the image side): at 32 px with 4 px patches, a shape then spans several
    # patches, so predicting hidden parts of it requires knowing what it is - the signal I-JEPA learns from.
    scale_range: tuple[float, float] = (0.5, 0.9)
    # Half the images in reversed contrast (dark shape, light ground): the shape is the same, but a linear
    # read-out of raw pixels can no longer pretend to recognise it by where the bright pixels are.
    light_background_prob: float = 0.5


@dataclass(frozen=True)
class IJEPAConfig(DictRoundTrip):
    """Everything that defines an I-JEPA run. Presets: ``IJEPAConfig.preset("tiny" | "vit_h14" | "vit_g16")``."""

    vit: ViTConfig = ViTConfig()
    predictor: PredictorConfig = PredictorConfig()
    masks: MultiBlockConfig = MultiBlockConfig(min_keep=4)
    optim: OptimConfig = OptimConfig()
    data: DataConfig = DataConfig()
    seed: int = 0

    @staticmethod
    def preset(name: str) -> "IJEPAConfig":
        if name not in IJEPA_PRESETS:
            raise ValueError(f"unknown I-JEPA preset {name!r}; expected one of {sorted(IJEPA_PRESETS)}")
        return IJEPA_PRESETS[name]




IJEPA_PRESETS: dict[str, IJEPAConfig] = {
    "tiny": IJEPAConfig(),
    # The paper's sizes (224 px, 16x16 or 14x14 grids): predictor 384 wide, 12 / 16 deep, heads as the encoder.
    "vit_h14": IJEPAConfig(
        vit=ViTConfig.preset("vit_h14"),
        predictor=PredictorConfig(embed_dim=384, depth=12, num_heads=16),
        masks=MultiBlockConfig(),
        optim=OptimConfig(steps=300 * 625, batch_size=2048, lr=1e-3, final_lr=1e-6, warmup_steps=40 * 625),
    ),
    "vit_g16": IJEPAConfig(
        vit=ViTConfig.preset("vit_g16"),
        predictor=PredictorConfig(embed_dim=384, depth=16, num_heads=16),
        masks=MultiBlockConfig(),
        optim=OptimConfig(steps=600 * 625, batch_size=2048, lr=1e-3, final_lr=1e-6, warmup_steps=40 * 625),
    ),
}


class IJEPA(JEPA):
    """Context encoder + EMA target encoder + predictor (jepa.py) on images [B, 3, H, W] in [0, 1].
    Verbs: ``encode``, ``targets``, ``predict``, ``loss``."""

    def __init__(self, cfg: IJEPAConfig = IJEPAConfig()):
        super().__init__(VisionTransformer(cfg.vit), Predictor(cfg.vit.embed_dim, cfg.vit.grid, cfg.predictor))
        self.cfg = cfg

    @torch.no_grad()
    def targets(self, images: torch.Tensor, masks: MaskBatch) -> torch.Tensor:
        """Layer-normed target-encoder outputs at the target positions -> [B, M, Nt, D] (no gradient)."""
        return target_blocks(self.target_tokens(images), masks.targets)

    def predict(self, images: torch.Tensor, masks: MaskBatch) -> torch.Tensor:
        """Encode the context patches, then predict every target block's embeddings -> [B, M, Nt, D]."""
        z_ctx = self.encoder(self.normalize(images), keep=masks.context)  # [B, Nc, D]
        return self.predictor(z_ctx, masks.context, masks.targets)

    def loss(self, images: torch.Tensor, masks: MaskBatch) -> torch.Tensor:
        """Smooth-L1 between predicted and target embeddings, averaged over blocks, tokens and dims."""
        return F.smooth_l1_loss(self.predict(images, masks), self.targets(images, masks))


def target_blocks(tokens: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Pick every target block's tokens: tokens [B, N, D], targets Long [B, M, Nt] -> [B, M, Nt, D]."""
    b, m, nt = targets.shape
    return gather_tokens(tokens, targets.reshape(b, m * nt)).reshape(b, m, nt, -1)  # [B, M*Nt, D] -> [B, M, Nt, D]


def embedding_loss(predicted: torch.Tensor, target_outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """I-JEPA's loss from raw target-encoder outputs: predicted [B, M, Nt, D], target_outputs [B, N, D] (every
    position), targets Long [B, M, Nt] -> scalar smooth-L1 against the layer-normed (no affine) outputs at the
    target positions. ``IJEPA.loss`` is this with the target encoder's outputs (normalised in ``target_tokens``)."""
    normed = F.layer_norm(target_outputs, target_outputs.shape[-1:])  # normalise each token over D
    return F.smooth_l1_loss(predicted, target_blocks(normed, targets))
