"""Checkpoints: written atomically, read with ``torch.load(..., weights_only=True)``, checked for their kind.

A checkpoint is a plain dict of tensors, numbers, strings, lists and dicts - nothing that needs pickle's
arbitrary code execution to load. Every file carries ``kind`` (what wrote it) and ``format_version``.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch

FORMAT_VERSION = 1


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Write a file atomically: ``write(tmp)`` fills a temp file in the same folder, which then replaces ``path``
    (mode 0644) and the folder is synced, so the rename survives a power cut. An interrupted or failing write leaves
    the previous file untouched and no temp file behind; a killed process's leftover temp file (its name carries
    the writer's pid) is removed by the next write of the same file. Parent folders are created; returns the Path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are ordinary shareable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_folder(path.parent)
    return path


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so that a rename inside it is on disk (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete ``.NAME.PID.*.tmp`` files next to ``path`` whose writer process no longer runs; return them."""
    stale = []
    for tmp in path.parent.glob(f".{path.name}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            stale.append(tmp)
    return stale


def previous_path(path: str | os.PathLike) -> Path:
    """Where ``save_checkpoint(..., keep_previous=True)`` keeps the file it replaces: last.pt -> last.prev.pt."""
    path = Path(path)
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def _keep_previous(path: Path) -> None:
    """Hard-link (or copy) ``path`` to ``previous_path(path)`` atomically; ``path`` itself never goes missing."""
    if not path.is_file():
        return
    prev = previous_path(path)

    def link(tmp: str) -> None:
        os.unlink(tmp)
        try:
            os.link(path, tmp)
        except OSError:  # a file system without hard links
            shutil.copyfile(path, tmp)

    atomic_write(prev, link)


def save_checkpoint(path: str | os.PathLike, payload: dict, keep_previous: bool = False) -> Path:
    """Write ``payload`` to ``path`` atomically (``atomic_write``), synced to disk before the rename.

    An interrupted save leaves the previous file untouched (never a half-written checkpoint). With
    ``keep_previous`` the file being replaced stays as ``previous_path(path)``: a fallback if the new one is lost.
    """
    payload = {"format_version": FORMAT_VERSION, **payload}

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())

    if keep_previous:
        _keep_previous(Path(path))
    return atomic_write(path, write)


def unreadable_reason(err: Exception) -> str:
    """Why torch could not load a file safely, in words (torch's own hint to load unsafely is left out)."""
    text = str(err)
    if "Unsupported global" in text:  # a well-formed pickle that names classes/functions to import
        return "it holds Python objects that only unsafe unpickling could rebuild, and the kit never loads those"
    detail = text.split("WeightsUnpickler error:", 1)[-1].strip().splitlines()
    return f"it is truncated, corrupt or not a torch file ({(detail[0] if detail else type(err).__name__)[:120]})"


def load_checkpoint(path: str | os.PathLike, kind: str | None = None, require: tuple[str, ...] = ()) -> dict:
    """Load a jepa_lab checkpoint safely (``weights_only=True``), check that it is of the expected ``kind`` and
    holds the ``require``d entries."""
    path = Path(path)
    if not path.is_file():
        found = f"{path} is a folder" if path.is_dir() else f"no checkpoint at {path}"
        raise FileNotFoundError(f"{found} (expected a .pt file written by jepa_lab)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated, corrupt, or needs unsafe unpickling
        raise ValueError(f"could not read checkpoint {path}: {unreadable_reason(err)}") from None
    if not isinstance(payload, dict) or "kind" not in payload:
        raise ValueError(f"{path} is not a jepa_lab checkpoint (expected a dict with a 'kind' entry)")
    if kind is not None and payload["kind"] != kind:
        raise ValueError(f"{path} holds a {payload['kind']!r} checkpoint, expected {kind!r}")
    missing = [key for key in require if key not in payload]
    if missing:
        raise ValueError(f"{path} lacks {missing}: expected a checkpoint with {list(require)} "
                         f"(a {payload['kind']!r} file of another sort, e.g. exported weights where a training "
                         f"checkpoint is needed?)")
    return payload


def load_resumable(path: str | os.PathLike, kind: str, require: tuple[str, ...] = ()) -> dict:
    """A training run's checkpoint; if it is unreadable and ``previous_path(path)`` exists, that one, with a
    warning on stderr (the steps after it are trained again)."""
    try:
        return load_checkpoint(path, kind, require)
    except ValueError as err:
        prev = previous_path(path)
        if not prev.is_file():
            raise
        payload = load_checkpoint(prev, kind, require)
        print(f"warning: {err}; resuming from the previous checkpoint {prev} (step {payload.get('step')})",
              file=sys.stderr)
        return payload


def load_weights(module: torch.nn.Module, state: dict, path, what: str) -> None:
    """``module.load_state_dict(state)`` (strict), with an error that names the file and the mismatch."""
    try:
        module.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()][1:4] or [str(err)[:200]]
        raise ValueError(f"{path}: its {what} weights do not fit the model its config describes: "
                         f"{'; '.join(lines)}") from None


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write text to ``path`` atomically (``atomic_write``); returns the Path."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))
