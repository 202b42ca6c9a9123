"""Checkpoints: written atomically, read with ``torch.load(..., weights_only=True)``, checked for their kind.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts - nothing that needs pickle's
arbitrary code execution to load. Every file carries ``kind`` (what wrote it) and ``format_version``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

FORMAT_VERSION = 1


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Write a file atomically: ``write(tmp)`` fills a temp file in the same folder, which then replaces ``path``
    (mode 0644). An interrupted or failing write leaves the previous file untouched and no temp file behind.
    Parent folders are created; returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary shareable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | os.PathLike, payload: dict) -> Path:
    """Write ``payload`` to ``path`` atomically (``atomic_write``), synced to disk before the rename.

    An interrupted save leaves the previous file untouched (never a half-written checkpoint).
    """
    payload = {"format_version": FORMAT_VERSION, **payload}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())

    return atomic_write(path, write)


def load_checkpoint(path: str | os.PathLike, kind: str | None = None) -> dict:
    """Load a jepa_lab checkpoint safely (``weights_only=True``) and check that it is of the expected ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path} (expected a .pt file written by jepa_lab)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt, or needs unsafe unpickling
        raise ValueError(
            f"could not read checkpoint {path}: it is truncated, corrupt or not a weights-only torch file ({err})"
        ) from err
    if not isinstance(payload, dict) or "kind" not in payload:
        raise ValueError(f"{path} is not a jepa_lab checkpoint (expected a dict with a 'kind' entry)")
    if kind is not None and payload["kind"] != kind:
        raise ValueError(f"{path} holds a {payload['kind']!r} checkpoint, expected {kind!r}")
    return payload


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text to ``path`` atomically (``atomic_write``); returns the Path."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
