"""Small pretrained checkpoints that ship in the repository's ``data/`` folder.

Each was produced by the kit's own training command; ``data/README.md`` gives the exact command and the
metrics it reached. Nothing here downloads anything.
"""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SHIPPED = {"ijepa_tiny": "ijepa_tiny.pt", "vjepa_tiny": "vjepa_tiny.pt"}


def pretrained_path(name: str = "ijepa_tiny") -> Path:
    """Path of a shipped checkpoint; a clear error if the name is unknown or the file is missing."""
    if name not in SHIPPED:
        raise ValueError(f"unknown pretrained checkpoint {name!r}; expected one of {sorted(SHIPPED)}")
    path = DATA_DIR / SHIPPED[name]
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing. It ships with the repository (install with `pip install -e .` from a clone); "
            f"to rebuild it, run the command in {DATA_DIR / 'README.md'}"
        )
    return path


def load_pretrained(name: str = "ijepa_tiny"):
    """The shipped model in eval mode: ``load_pretrained("ijepa_tiny")`` -> ``IJEPA``,
    ``load_pretrained("vjepa_tiny")`` -> ``VJEPA``."""
    from .train import load_model

    return load_model(pretrained_path(name), f"jepa_lab.{name.split('_')[0]}")
