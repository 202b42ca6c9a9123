"""Small pretrained checkpoints that ship with the kit (the repository's ``data/`` folder).

Each was produced by the kit's own training command; ``data/README.md`` gives the exact command and the
metrics it reached. Nothing here downloads anything. The files are found in the repository next to the package
(a clone, or an editable install) or, after a regular ``pip install``, in the environment's
``share/jepa-lab/data`` folder, where pyproject.toml's ``data-files`` put them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .saved import IJEPA_KIND, PIXEL_PREDICTOR_KIND, VJEPA_KIND, WORLD_MODEL_KIND, load

# Where the shipped files may be: the repository's data/ (a clone), then the installed data files.
DATA_DIRS = (Path(__file__).resolve().parents[2] / "data", Path(sys.prefix) / "share" / "jepa-lab" / "data")
# name -> (file, kind of model it holds)
SHIPPED = {
    "ijepa_tiny": ("ijepa_tiny.pt", IJEPA_KIND),
    "vjepa_tiny": ("vjepa_tiny.pt", VJEPA_KIND),
    "vjepa_envs": ("vjepa_envs.pt", VJEPA_KIND),  # the planning environments' video encoder
    "ac_two_rooms": ("ac_two_rooms.pt", WORLD_MODEL_KIND),
    "ac_push": ("ac_push.pt", WORLD_MODEL_KIND),
    "pixel_two_rooms": ("pixel_two_rooms.pt", WORLD_MODEL_KIND),
    "vjepa_physics": ("vjepa_physics.pt", VJEPA_KIND),  # violation-of-expectation model
    "vjepa_permanence": ("vjepa_permanence.pt", VJEPA_KIND),  # ... fine-tuned on 16-frame clips (occluded events)
    "pixel_physics": ("pixel_physics.pt", PIXEL_PREDICTOR_KIND),
    "vjepa_panda": ("vjepa_panda.pt", VJEPA_KIND),  # the Franka arm's video encoder (action-free arm video)
    "ac_panda_reach": ("ac_panda_reach.pt", WORLD_MODEL_KIND),  # its world model for Reach
    "ac_panda_push": ("ac_panda_push.pt", WORLD_MODEL_KIND),  # ... for Push
    "ac_panda_pick_and_place": ("ac_panda_pick_and_place.pt", WORLD_MODEL_KIND),  # ... for pick-and-place
    "pixel_panda_reach": ("pixel_panda_reach.pt", WORLD_MODEL_KIND),  # the pixel-space baseline on Reach
}


def pretrained_path(name: str = "ijepa_tiny") -> Path:
    """Path of a shipped checkpoint; a clear error if the name is unknown or the file is missing."""
    if name not in SHIPPED:
        raise ValueError(f"unknown pretrained checkpoint {name!r}; expected one of {sorted(SHIPPED)}")
    candidates = [folder / SHIPPED[name][0] for folder in DATA_DIRS]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"{SHIPPED[name][0]} is missing: looked in {', '.join(str(p.parent) for p in candidates)}. It ships with "
        f"the kit (`pip install -e .` from a clone, or `pip install .`); to rebuild it, run the command in "
        f"data/README.md"
    )


def load_pretrained(name: str = "ijepa_tiny"):
    """The shipped model in eval mode: ``"ijepa_tiny"`` -> ``IJEPA``; ``"vjepa_tiny"``, ``"vjepa_envs"``,
    ``"vjepa_physics"``, ``"vjepa_permanence"``, ``"vjepa_panda"`` -> ``VJEPA``; ``"ac_two_rooms"``, ``"ac_push"``,
    ``"ac_panda_reach"`` (the Franka arm) -> ``LatentWorldModel``; ``"pixel_two_rooms"`` -> ``PixelWorldModel``;
    ``"pixel_physics"`` -> ``PixelPredictor``."""
    return load(pretrained_path(name), SHIPPED[name][1])
