"""Folders of short mp4 clips with their ground-truth factors, and a torch Dataset that reads them.

A clip folder holds ``clip_00000.mp4``, ``clip_00001.mp4``, ... (written by ``jepa_lab.data.video_io.write_video``),
``factors.pt`` (``torch.save`` of a dict of tensors whose first axis is the clip index) and ``index.json``
(number of clips, frames, size, fps). Every file is written atomically (temporary name + ``os.replace``) and
``index.json`` comes last, so a folder with an ``index.json`` is complete.

``ClipDataset`` decodes a clip on each ``__getitem__`` through ``jepa_lab.data.video_io.read_video`` (decord if
installed, else PyAV). ``cached_clips`` generates synthetic videos (balls or digits) once and reuses the
folder, keyed by a hash of (kind, n, cfg, seed, fps).

Shape glossary: B clips, T frames, H, W pixels, C = 3 RGB channels.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import operator
import os
import shutil
import tempfile
from pathlib import Path

import torch

from .. import progress_bar
from ..checkpoint import atomic_write, atomic_write_text
from ..config import is_int
from .balls import BallsConfig, make_balls, videos_to_float
from .moving_digits import DigitsConfig, make_digits
from .video_io import read_video, write_video
from .violations import ViolationConfig, make_violations

INDEX, FACTORS = "index.json", "factors.pt"
KINDS = {"balls": (BallsConfig, make_balls), "digits": (DigitsConfig, make_digits),
         "violations": (ViolationConfig, make_violations)}
LOSSLESS = {"violations"}  # pairs must decode identically up to their break frame: H.264 with crf 0


def clip_name(i: int) -> str:
    """File name of clip i in a clip folder."""
    return f"clip_{i:05d}.mp4"


def write_clip_folder(folder, videos, factors: dict, fps: int | float = 8, progress: bool = True,
                      meta: dict | None = None, crf: int = 12) -> Path:
    """Write videos uint8 [B, T, H, W, 3] as clip_*.mp4 files plus factors.pt and index.json into folder
    (created if needed); returns the folder as a Path.

    factors: {name: tensor (or array) [B, ...]}, saved as tensors. meta: extra JSON-able entries for index.json.
    crf: H.264 quality of the files (0 = lossless).
    """
    videos = torch.as_tensor(videos)
    if videos.dtype != torch.uint8 or videos.ndim != 5 or videos.shape[-1] != 3:
        raise ValueError(f"videos: expected uint8 [B, T, H, W, 3], received {videos.dtype} {tuple(videos.shape)}")
    B, T, H, W, _ = videos.shape
    factors = {str(k): torch.as_tensor(v) for k, v in factors.items()}
    for k, v in factors.items():
        if v.ndim == 0 or v.shape[0] != B:
            raise ValueError(f"factors[{k!r}]: expected a tensor [B={B}, ...], received shape {tuple(v.shape)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for i in progress_bar(range(B), desc="clips", unit="clip", enabled=progress):
        write_video(folder / clip_name(i), videos[i], fps=fps, crf=crf)
    atomic_write(folder / FACTORS, lambda tmp: torch.save(factors, tmp))
    index = {"num_clips": B, "frames": T, "height": H, "width": W, "fps": fps, **(meta or {})}
    atomic_write_text(folder / INDEX, json.dumps(index, indent=1))
    return folder


def _load_index(folder: Path) -> tuple[dict, dict[str, torch.Tensor]]:
    """(index dict, factors dict) of a clip folder, with errors naming what is expected and found."""
    if not folder.is_dir():
        raise FileNotFoundError(f"clip folder not found: {str(folder)!r}")
    missing = [name for name in (INDEX, FACTORS) if not (folder / name).is_file()]
    if missing:
        found = sorted(p.name for p in folder.iterdir())
        shown = found[:5] + ([f"... ({len(found)} entries)"] if len(found) > 5 else [])
        raise FileNotFoundError(f"{str(folder)!r}: expected a clip folder with {INDEX} and {FACTORS} "
                                f"(see write_clip_folder), missing {missing}; found {shown}")
    try:
        index = json.loads((folder / INDEX).read_text())
        num = int(index["num_clips"])
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{str(folder / INDEX)!r}: expected JSON with 'num_clips', 'frames', ...: {e}") from None
    try:
        factors = torch.load(folder / FACTORS, weights_only=True)
    except Exception as e:
        raise ValueError(f"{str(folder / FACTORS)!r}: cannot load the factors (torch.load): {e}") from None
    if not isinstance(factors, dict) or not all(isinstance(v, torch.Tensor) for v in factors.values()):
        raise ValueError(f"{str(folder / FACTORS)!r}: expected a dict of tensors, received {type(factors).__name__}")
    bad = {k: tuple(v.shape) for k, v in factors.items() if v.ndim == 0 or v.shape[0] != num}
    if bad:
        raise ValueError(f"{str(folder / FACTORS)!r}: expected tensors [num_clips={num}, ...], received {bad}")
    return index, factors


class ClipDataset(torch.utils.data.Dataset):
    """The clips of a folder written by ``write_clip_folder``.

    Item i: (clip float32 [C, T', H, W] in [0, 1], {factor name: factors[name][i]}), where the clip holds
    frames 0, stride, 2 * stride, ... (T' = num_frames, or all of them for None). backend: as in ``read_video``.
    Missing / unreadable clip files raise FileNotFoundError / ValueError naming the file when read.
    """

    def __init__(self, folder, num_frames: int | None = None, stride: int = 1, backend: str | None = None):
        self.folder = Path(folder)
        self.index, self.factors = _load_index(self.folder)
        self.num_frames, self.stride, self.backend = num_frames, stride, backend
        if not is_int(stride, 1):
            raise ValueError(f"stride: expected an int >= 1, received {stride!r}")
        if num_frames is not None:
            if not is_int(num_frames, 1):
                raise ValueError(f"num_frames: expected an int >= 1 or None, received {num_frames!r}")
            needed, available = (num_frames - 1) * stride + 1, int(self.index.get("frames", 0))
            if needed > available:
                raise ValueError(f"clips in {str(self.folder)!r} too short: num_frames={num_frames}, "
                                 f"stride={stride} need {needed} frames, available {available}")

    def __len__(self) -> int:
        return int(self.index["num_clips"])

    def path(self, i: int) -> Path:
        """Path of clip i."""
        return self.folder / clip_name(i)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        n = len(self)
        try:
            j = operator.index(i)
        except TypeError:
            j = None
        if j is None or isinstance(i, bool) or not -n <= j < n:
            raise IndexError(f"index: expected an int in [-{n}, {n}) for {n} clips, received {i!r}")
        i = j % n
        frames = read_video(self.path(i), num_frames=self.num_frames, stride=self.stride, backend=self.backend)
        return videos_to_float(frames), {k: v[i] for k, v in self.factors.items()}


def cache_root(cache_dir=None) -> Path:
    """cache_dir, else $JEPA_LAB_CACHE, else ~/.cache/jepa_lab/clips."""
    root = cache_dir or os.environ.get("JEPA_LAB_CACHE") or Path.home() / ".cache" / "jepa_lab" / "clips"
    return Path(root).expanduser()


def cache_key(kind: str, n: int, cfg, seed: int, fps: int | float = 8) -> str:
    """16 hex digits of the sha256 of (kind, n, cfg fields, seed, fps)."""
    spec = {"kind": kind, "n": int(n), "cfg": dataclasses.asdict(cfg), "seed": int(seed), "fps": fps}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def _complete(folder: Path, n: int) -> bool:
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, ValueError):
        return False
    return (index.get("num_clips") == n and (folder / FACTORS).is_file()
            and all((folder / clip_name(i)).is_file() for i in range(n)))


def cached_clips(kind: str = "balls", n: int = 64, cfg=None, seed: int = 0, cache_dir=None,
                 fps: int | float = 8, progress: bool = True) -> Path:
    """Folder of n synthetic clips (kind 'balls', 'digits' or 'violations'; cfg None = the kind's default config),
    generated and written on the first call and reused afterwards; returns its Path (for ``ClipDataset``).

    The folder is <cache root>/<kind>-<cache_key(...)>; it is built in a temporary folder and renamed into
    place, so an interrupted run never leaves a folder that looks complete.
    """
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {sorted(KINDS)}, received {kind!r}")
    cfg_type, make = KINDS[kind]
    cfg = cfg_type() if cfg is None else cfg
    if not isinstance(cfg, cfg_type):
        raise ValueError(f"cfg: expected a {cfg_type.__name__} for kind {kind!r}, received {type(cfg).__name__}")
    root = cache_root(cache_dir)
    folder = root / f"{kind}-{cache_key(kind, n, cfg, seed, fps)}"
    if _complete(folder, n):
        return folder
    root.mkdir(parents=True, exist_ok=True)
    videos, factors = make(n, cfg, seed=seed, progress=progress)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=root))
    try:
        meta = {"kind": kind, "seed": seed, "config": dataclasses.asdict(cfg)}
        write_clip_folder(tmp, videos, factors, fps=fps, progress=progress, meta=meta,
                          crf=0 if kind in LOSSLESS else 12)
        if folder.exists() and not _complete(folder, n):
            shutil.rmtree(folder)  # leftovers of an older, incomplete layout
        try:
            os.replace(tmp, folder)
        except OSError:
            if not _complete(folder, n):  # not a race lost to another writer
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)  # lost a race to another writer: keep theirs
    return folder
