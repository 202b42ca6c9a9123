"""Small pretrained checkpoints that ship in the repository's ``data/`` folder.

Each was produced by the kit's own training command; ``data/README.md`` gives the exact command and the
metrics it reached. Nothing here downloads anything.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
# name -> (file, kind of model it holds)
SHIPPED = {
    "ijepa_tiny": ("ijepa_tiny.pt", "jepa_lab.ijepa"),
    "vjepa_tiny": ("vjepa_tiny.pt", "jepa_lab.vjepa"),
    "vjepa_envs": ("vjepa_envs.pt", "jepa_lab.vjepa"),  # the planning environments' video encoder
    "ac_two_rooms": ("ac_two_rooms.pt", "jepa_lab.ac"),
    "ac_push": ("ac_push.pt", "jepa_lab.ac"),
    "pixel_two_rooms": ("pixel_two_rooms.pt", "jepa_lab.ac"),
    "vjepa_physics": ("vjepa_physics.pt", "jepa_lab.vjepa"),  # violation-of-expectation model
    "pixel_physics": ("pixel_physics.pt", "jepa_lab.pixel_predictor"),
}


def pretrained_path(name: str = "ijepa_tiny") -> Path:
    """Path of a shipped checkpoint; a clear error if the name is unknown or the file is missing."""
    if name not in SHIPPED:
        raise ValueError(f"unknown pretrained checkpoint {name!r}; expected one of {sorted(SHIPPED)}")
    path = DATA_DIR / SHIPPED[name][0]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. It ships with the repository (install with `pip install -e .` from a clone); "
            f"to rebuild it, run the command in {DATA_DIR / 'README.md'}"
        )
    return path


def load_pretrained(name: str = "ijepa_tiny"):
    """The shipped model in eval mode: ``"ijepa_tiny"`` -> ``IJEPA``; ``"vjepa_tiny"``, ``"vjepa_envs"`` ->
    ``VJEPA``; ``"ac_two_rooms"``, ``"ac_push"`` -> ``LatentWorldModel``; ``"pixel_two_rooms"`` ->
    ``PixelWorldModel``; ``"vjepa_physics"`` -> ``VJEPA``; ``"pixel_physics"`` -> ``PixelPredictor``."""
    path = pretrained_path(name)
    kind = SHIPPED[name][1]
    if kind == "jepa_lab.pixel_predictor":
        from ..models.pixel_video_predictor import load_pixel_predictor

        return load_pixel_predictor(path)
    if kind == "jepa_lab.ac":
        from ..train.ac import load_world_model

        return load_world_model(path)[0]
    from ..train.jepa import load_model

    return load_model(path, kind)
