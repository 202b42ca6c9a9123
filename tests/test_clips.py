"""Tests for jepa_lab.data.clips (mp4 clip folders, ClipDataset, the clip cache)."""

import json
import os

import pytest
import torch

from jepa_lab.data.clips import ClipDataset, cached_clips, write_clip_folder
from jepa_lab.data.moving_digits import DigitsConfig, make_digits
from jepa_lab.data.balls import BallsConfig, make_balls, videos_to_float
from jepa_lab.data.video_io import available_backends, write_video

B, T, S = 3, 8, 32
DCFG = DigitsConfig(size=S, frames=T, digit_size=12)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    videos, factors = make_digits(B, DCFG, seed=0, progress=False)
    path = write_clip_folder(tmp_path_factory.mktemp("clips") / "digits", videos, factors, fps=8, progress=False)
    return path, videos, factors


def test_folder_layout(folder):
    path, _, factors = folder
    assert sorted(os.listdir(path)) == ["clip_00000.mp4", "clip_00001.mp4", "clip_00002.mp4", "factors.pt",
                                        "index.json"]  # no temporary files left
    index = json.loads((path / "index.json").read_text())
    assert index == {"num_clips": B, "frames": T, "height": S, "width": S, "fps": 8}
    saved = torch.load(path / "factors.pt", weights_only=True)
    assert saved.keys() == factors.keys()


@pytest.mark.parametrize("backend", [None, *available_backends()])
def test_round_trip(folder, backend):
    path, videos, factors = folder
    ds = ClipDataset(path, backend=backend)
    assert len(ds) == B
    for i in range(B):
        clip, f = ds[i]
        assert clip.shape == (3, T, S, S) and clip.dtype == torch.float32 and 0 <= clip.min() <= clip.max() <= 1
        assert (clip - videos_to_float(videos[i])).abs().mean() < 8 / 255  # lossy H.264, as in test_video_io
        assert f.keys() == factors.keys()
        for k in f:
            assert torch.equal(f[k].nan_to_num(-9), factors[k][i].nan_to_num(-9))


def test_num_frames_stride_and_dataloader(folder):
    path, _, factors = folder
    full = ClipDataset(path)[1][0]
    ds = ClipDataset(path, num_frames=3, stride=3)
    clip, _ = ds[1]
    assert torch.equal(clip, full[:, ::3][:, :3])
    assert torch.equal(ds[-1][0], ds[B - 1][0])
    clips, f = next(iter(torch.utils.data.DataLoader(ds, batch_size=B)))
    assert clips.shape == (B, 3, 3, S, S) and torch.equal(f["label"], factors["label"])


def test_index_out_of_range(folder):
    ds = ClipDataset(folder[0])
    for i in (B, -B - 1, 1.0, "0"):
        with pytest.raises(IndexError, match=f"for {B} clips"):
            ds[i]


def test_missing_folder_and_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="clip folder not found.*nope"):
        ClipDataset(tmp_path / "nope")
    (tmp_path / "clip_00000.mp4").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"missing \['index.json', 'factors.pt'\].*clip_00000.mp4"):
        ClipDataset(tmp_path)


def test_too_short(folder, tmp_path):
    path, videos, factors = folder
    with pytest.raises(ValueError, match=f"too short.*need {T + 1} frames, available {T}"):
        ClipDataset(path, num_frames=T + 1)
    with pytest.raises(ValueError, match=f"need {2 * T + 1} frames, available {T}"):
        ClipDataset(path, num_frames=T // 2 + 1, stride=4)
    with pytest.raises(ValueError, match="stride: expected"):
        ClipDataset(path, stride=0)
    # a clip file shorter than the index says
    short = write_clip_folder(tmp_path / "short", videos, factors, progress=False)
    write_video(short / "clip_00001.mp4", videos[1, :3])
    ds = ClipDataset(short, num_frames=T)
    assert ds[0][0].shape[1] == T
    with pytest.raises(ValueError, match="clip_00001.mp4.*too short.*available 3"):
        ds[1]


def test_missing_and_corrupt_clip(folder, tmp_path):
    path, videos, factors = folder
    broken = write_clip_folder(tmp_path / "broken", videos, factors, progress=False)
    (broken / "clip_00000.mp4").write_bytes(b"\x00garbage" * 100)
    (broken / "clip_00002.mp4").unlink()
    ds = ClipDataset(broken)
    assert ds[1][0].shape == (3, T, S, S)
    with pytest.raises(ValueError, match="clip_00000.mp4"):
        ds[0]
    with pytest.raises(FileNotFoundError, match="clip_00002.mp4"):
        ds[2]


def test_corrupt_factors(folder, tmp_path):
    path, videos, factors = folder
    bad = write_clip_folder(tmp_path / "bad", videos[:1], {"count": factors["count"][:1]}, progress=False)
    (bad / "factors.pt").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="factors.pt.*cannot load"):
        ClipDataset(bad)


def test_write_errors(tmp_path):
    videos = torch.zeros(2, 3, 8, 8, 3, dtype=torch.uint8)
    with pytest.raises(ValueError, match="videos: expected uint8"):
        write_clip_folder(tmp_path / "a", videos.float(), {}, progress=False)
    with pytest.raises(ValueError, match=r"factors\['count'\]: expected a tensor \[B=2"):
        write_clip_folder(tmp_path / "a", videos, {"count": torch.zeros(3)}, progress=False)


def test_cached_clips_reuses_the_folder(tmp_path, monkeypatch):
    cfg = BallsConfig(size=16, frames=4)
    path = cached_clips("balls", 2, cfg, seed=1, cache_dir=tmp_path, progress=False)
    assert path.parent == tmp_path and len(ClipDataset(path)) == 2
    stamps = {p.name: p.stat().st_mtime_ns for p in path.iterdir()}
    assert cached_clips("balls", 2, cfg, seed=1, cache_dir=tmp_path, progress=False) == path
    assert {p.name: p.stat().st_mtime_ns for p in path.iterdir()} == stamps  # nothing rewritten
    videos, factors = make_balls(2, cfg, seed=1, progress=False)
    clip, f = ClipDataset(path)[1]
    assert (clip - videos_to_float(videos[1])).abs().mean() < 8 / 255
    assert torch.equal(f["direction"], factors["direction"][1])
    # other seed / n / kind: other folders; $JEPA_LAB_CACHE is the default root
    assert cached_clips("balls", 2, cfg, seed=2, cache_dir=tmp_path, progress=False) != path
    monkeypatch.setenv("JEPA_LAB_CACHE", str(tmp_path / "env"))
    digits = cached_clips("digits", 1, DigitsConfig(size=16, frames=4, digit_size=8), progress=False)
    assert digits.parent == tmp_path / "env" and digits.name.startswith("digits-")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary folders


def test_cached_clips_rebuilds_an_incomplete_folder(tmp_path):
    cfg = BallsConfig(size=16, frames=4)
    path = cached_clips("balls", 2, cfg, cache_dir=tmp_path, progress=False)
    (path / "clip_00001.mp4").unlink()
    assert cached_clips("balls", 2, cfg, cache_dir=tmp_path, progress=False) == path
    assert len(ClipDataset(path)) == 2 and ClipDataset(path)[1][0].shape == (3, 4, 16, 16)


def test_cached_clips_errors(tmp_path):
    with pytest.raises(ValueError, match="kind: expected one of"):
        cached_clips("cubes", 2, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="cfg: expected a DigitsConfig"):
        cached_clips("digits", 2, BallsConfig(), cache_dir=tmp_path)
