"""Saving and loading every kind of checkpoint the kit writes, in one table.

A checkpoint is a plain dict written by ``checkpoint.save_checkpoint`` (atomic) and read back with
``weights_only=True``; its ``kind`` says what it holds and which loader rebuilds it:

    kind                       holds                                         written by            loaded by
    -------------------------  --------------------------------------------  --------------------  -----------------
    jepa_lab.ijepa             I-JEPA (encoder, EMA target, predictor)       train / export_weights load_model
    jepa_lab.vjepa             V-JEPA (the same three, for video)            train / export_weights load_model
    jepa_lab.ac                a world model: frozen encoder + AC predictor,  save_world_model      load_world_model
                               or the pixel-space world model
    jepa_lab.pixel_predictor   the pixel-space video predictor (surprise)    save_pixel_predictor  load_pixel_predictor

Training runs also write resumable ``last.pt`` files (optimiser, RNG state): the I-JEPA/V-JEPA ones carry the
model's kind above (``load_model`` reads them too); the phase-2 ones (``jepa_lab.ac_run``) belong to the trainer
only. ``load(path)`` reads any file of the table by its kind.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from ..checkpoint import load_checkpoint, load_weights, save_checkpoint
from ..config import config_from_dict
from ..models.ac_predictor import ACPredictor
from ..models.ijepa import IJEPA, IJEPAConfig
from ..models.pixel_video_predictor import PixelPredictor, PixelPredictorConfig
from ..models.pixel_world_model import PixelWorldModel
from ..models.video_vit import VideoViT, VideoViTConfig
from ..models.vjepa import VJEPA, VJEPAConfig
from ..models.world_model import ACTrainConfig, LatentWorldModel

IJEPA_KIND = "jepa_lab.ijepa"
VJEPA_KIND = "jepa_lab.vjepa"
WORLD_MODEL_KIND = "jepa_lab.ac"
PIXEL_PREDICTOR_KIND = "jepa_lab.pixel_predictor"
# kind -> (config class, model class) of the self-supervised models (checkpoints with "config" and "model")
JEPA_MODELS = {IJEPA_KIND: (IJEPAConfig, IJEPA), VJEPA_KIND: (VJEPAConfig, VJEPA)}


def load_model(path: str | Path, kind: str | None = None):
    """Load a trained I-JEPA or V-JEPA (a training ``last.pt`` or an exported weights file) in eval mode."""
    ckpt = load_checkpoint(path, kind)
    if ckpt["kind"] not in JEPA_MODELS:
        raise ValueError(f"{path} holds a {ckpt['kind']!r} checkpoint, which is not a JEPA model; expected one "
                         f"of {sorted(JEPA_MODELS)}")
    check_entries(ckpt, path, ("config", "model"))
    config_cls, model_cls = JEPA_MODELS[ckpt["kind"]]
    model = model_cls(config_from(config_cls, ckpt["config"], path))
    load_weights(model, ckpt["model"], path, "model")
    return model.eval()


def check_entries(ckpt: dict, path, keys: tuple[str, ...]) -> None:
    """A clear error when a checkpoint of the right kind lacks an entry its loader needs."""
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise ValueError(f"{path} lacks {missing}: expected a {ckpt['kind']!r} checkpoint with {list(keys)}")


def config_from(cls, d, path):
    """The checkpoint's config as ``cls``, or a clear error naming the file when its fields do not fit."""
    try:
        return config_from_dict(cls, d)
    except (TypeError, ValueError, KeyError, AttributeError) as err:
        raise ValueError(f"{path}: its config does not describe a {cls.__name__} ({err})") from None


def load_ijepa(path: str | Path) -> IJEPA:
    """Load a trained I-JEPA in eval mode (a clear error for any other kind of checkpoint)."""
    return load_model(path, IJEPA_KIND)


def export_weights(checkpoint: str | Path, out: str | Path, metrics: dict | None = None, command: str = "") -> Path:
    """Strip a training checkpoint to what inference needs (config, model weights, step, metrics)."""
    ckpt = load_checkpoint(checkpoint)
    keep = {"kind": ckpt["kind"], "config": ckpt["config"], "model": ckpt["model"], "step": ckpt["step"],
            "losses": ckpt["losses"], "metrics": dict(metrics or {}), "command": command}
    return save_checkpoint(out, keep)


def save_world_model(path: str | Path, model, cfg: ACTrainConfig, metrics: dict | None = None,
                     command: str = "") -> Path:
    """Write a trained latent (LatentWorldModel, with its frozen encoder) or pixel model, atomically."""
    payload = {"kind": WORLD_MODEL_KIND, "ac_config": cfg.to_dict(), "metrics": metrics or {}, "command": command}
    if isinstance(model, LatentWorldModel):
        payload.update(model="latent", encoder_config=asdict(model.encoder.cfg),
                       encoder=model.encoder.state_dict(), predictor=model.predictor.state_dict())
    elif isinstance(model, PixelWorldModel):
        payload.update(model="pixel", predictor=model.state_dict())
    else:
        raise ValueError(f"expected a LatentWorldModel or PixelWorldModel, got {type(model).__name__}")
    return save_checkpoint(path, payload)


def load_world_model(path: str | Path):
    """-> (model in eval mode, ACTrainConfig, metrics dict)."""
    ckpt = load_checkpoint(path, kind=WORLD_MODEL_KIND, require=("model", "ac_config", "predictor", "metrics"))
    cfg = config_from(ACTrainConfig, ckpt["ac_config"], path)
    if ckpt["model"] not in ("latent", "pixel"):
        raise ValueError(f"{path}: expected a 'latent' or 'pixel' world model, the file says {ckpt['model']!r}")
    if ckpt["model"] == "pixel":
        model = PixelWorldModel(cfg.pixel)
    else:
        check_entries(ckpt, path, ("encoder_config", "encoder"))
        encoder = VideoViT(config_from(VideoViTConfig, ckpt["encoder_config"], path))
        load_weights(encoder, ckpt["encoder"], path, "encoder")
        n = encoder.cfg.grid[1] * encoder.cfg.grid[2]
        model = LatentWorldModel(encoder, ACPredictor(encoder.cfg.embed_dim, n, cfg.predictor), cfg.window - 1)
    target = model if ckpt["model"] == "pixel" else model.predictor
    load_weights(target, ckpt["predictor"], path, "predictor")
    return model.eval(), cfg, ckpt["metrics"]


def save_pixel_predictor(path, model: PixelPredictor, metrics: dict | None = None, command: str = "") -> Path:
    """Config + weights + metrics (+ the command that made it), written atomically."""
    return save_checkpoint(path, {"kind": PIXEL_PREDICTOR_KIND, "config": model.cfg.to_dict(),
                                  "model": model.state_dict(), "metrics": metrics or {}, "command": command})


def load_pixel_predictor(path) -> PixelPredictor:
    """A saved pixel predictor in eval mode (read with ``weights_only=True``)."""
    ckpt = load_checkpoint(path, PIXEL_PREDICTOR_KIND, require=("config", "model"))
    model = PixelPredictor(config_from(PixelPredictorConfig, ckpt["config"], path))
    load_weights(model, ckpt["model"], path, "model")
    return model.eval()


def load(path: str | Path, kind: str | None = None):
    """Any model file of the table above, by its kind, in eval mode (world models without their config)."""
    found = load_checkpoint(path, kind)["kind"]
    if found == WORLD_MODEL_KIND:
        return load_world_model(path)[0]
    if found == PIXEL_PREDICTOR_KIND:
        return load_pixel_predictor(path)
    return load_model(path, found)
