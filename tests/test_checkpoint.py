"""Tests for jepa_lab.checkpoint: atomic saves, weights-only loads, and clear errors for bad files."""

import os
import subprocess

import pytest
import torch

from jepa_lab.checkpoint import (FORMAT_VERSION, atomic_write, atomic_write_text, load_checkpoint, load_resumable,
                                 load_weights, previous_path, save_checkpoint)

KIND = "jepa_lab.test"


def payload(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "kind": KIND,
        "model": {"w": torch.randn(4, 3, generator=g), "b": torch.zeros(3, dtype=torch.float64)},
        "step": 7,
        "losses": [0.5, 0.25],
        "config": {"vit": {"embed_dim": 32, "scale": (0.15, 0.2)}, "name": "tiny"},
        "rng": torch.get_rng_state(),
    }


def assert_payload_equal(got: dict, want: dict) -> None:
    assert got["kind"] == want["kind"] and got["step"] == want["step"] and got["losses"] == want["losses"]
    assert got["config"] == want["config"]
    for k in want["model"]:
        assert torch.equal(got["model"][k], want["model"][k]) and got["model"][k].dtype == want["model"][k].dtype
    assert torch.equal(got["rng"], want["rng"])


def test_round_trip(tmp_path):
    p = payload()
    path = save_checkpoint(tmp_path / "sub" / "dir" / "ck.pt", p)  # parent folders are created
    assert path == tmp_path / "sub" / "dir" / "ck.pt" and path.is_file()
    got = load_checkpoint(path, KIND)
    assert got["format_version"] == FORMAT_VERSION
    assert_payload_equal(got, p)
    assert_payload_equal(load_checkpoint(str(path)), p)  # str paths and no kind check work too
    assert sorted(os.listdir(path.parent)) == ["ck.pt"], "no temp files left behind"


def test_file_loads_with_plain_weights_only_torch_load(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", payload())
    raw = torch.load(path, weights_only=True)
    assert raw["kind"] == KIND and torch.equal(raw["model"]["w"], payload()["model"]["w"])


def test_overwrite_replaces_previous(tmp_path):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, payload(0))
    save_checkpoint(path, payload(1))
    assert_payload_equal(load_checkpoint(path, KIND), payload(1))
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]


class Boom(RuntimeError):
    pass


@pytest.mark.parametrize("error", [Boom, KeyboardInterrupt])
def test_failed_save_keeps_previous_file_and_leaves_no_temp(tmp_path, monkeypatch, error):
    path = tmp_path / "ck.pt"
    save_checkpoint(path, payload(0))
    good_bytes = path.read_bytes()
    real_save = torch.save

    def failing_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)  # write a whole file's worth of bytes ...
        f.write(b"half a tensor")
        raise error("disk full")  # ... then die before the save completes

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(error):
        save_checkpoint(path, payload(1))
    monkeypatch.undo()
    assert path.read_bytes() == good_bytes
    assert_payload_equal(load_checkpoint(path, KIND), payload(0))
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"], "the temp file must be removed"


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def failing_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 partial")
        raise Boom("interrupted")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(Boom):
        save_checkpoint(tmp_path / "ck.pt", payload())
    assert os.listdir(tmp_path) == []


def test_atomic_write_text_and_a_failing_writer(tmp_path):
    """The one helper behind every file the kit writes (checkpoints, clip folders, videos, JSON, the README table):
    an ordinary 0644 file, parent folders created, and a writer that fails half-way changes nothing."""
    path = atomic_write_text(tmp_path / "a" / "notes.json", '{"ok": 1}')
    assert path.read_text() == '{"ok": 1}' and (path.stat().st_mode & 0o777) == 0o644

    def half(tmp: str) -> None:
        with open(tmp, "w") as f:
            f.write('{"o')
        raise Boom("interrupted")

    with pytest.raises(Boom):
        atomic_write(path, half)
    assert path.read_text() == '{"ok": 1}' and os.listdir(path.parent) == ["notes.json"]


@pytest.mark.parametrize("keep_fraction", [0.0, 0.1, 0.5, 0.95])
def test_truncated_file_raises_valueerror(tmp_path, keep_fraction):
    path = save_checkpoint(tmp_path / "ck.pt", payload())
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep_fraction)])
    with pytest.raises(ValueError, match="truncated|corrupt") as err:
        load_checkpoint(path, KIND)
    assert str(path) in str(err.value)


def test_garbage_file_raises_valueerror(tmp_path):
    path = tmp_path / "ck.pt"
    path.write_bytes(b"this is not a torch file at all" * 10)
    with pytest.raises(ValueError, match="corrupt"):
        load_checkpoint(path)


def test_bare_tensor_file_is_not_a_jepa_lab_checkpoint(tmp_path):
    path = tmp_path / "t.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ValueError, match="not a jepa_lab checkpoint"):
        load_checkpoint(path)


def test_dict_without_kind_is_not_a_jepa_lab_checkpoint(tmp_path):
    path = tmp_path / "sd.pt"
    torch.save({"weight": torch.zeros(3)}, path)  # e.g. a bare state dict
    with pytest.raises(ValueError, match="'kind'"):
        load_checkpoint(path, KIND)


class Custom:
    def __init__(self):
        self.x = 1


def test_pickled_objects_are_refused(tmp_path):
    """Loading is weights-only: a file that needs arbitrary unpickling is an error, not executed."""
    path = tmp_path / "evil.pt"
    torch.save({"kind": KIND, "obj": Custom()}, path)
    with pytest.raises(ValueError, match="unsafe unpickling") as err:
        load_checkpoint(path, KIND)
    assert "weights_only=False" not in str(err.value)  # never suggest loading unsafely


def test_wrong_kind_names_both_kinds(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", {**payload(), "kind": "jepa_lab.vjepa"})
    with pytest.raises(ValueError) as err:
        load_checkpoint(path, "jepa_lab.ijepa")
    assert "'jepa_lab.vjepa'" in str(err.value) and "'jepa_lab.ijepa'" in str(err.value)


def test_missing_path_raises_filenotfound(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        load_checkpoint(tmp_path / "nope.pt")
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path)  # a folder is not a checkpoint either


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    path = tmp_path / "ck.pt"
    dead = _dead_pid()
    stale = tmp_path / f".ck.pt.{dead}.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    live = tmp_path / f".ck.pt.{os.getppid()}.def456.tmp"  # a running writer's file stays
    live.write_bytes(b"being written")
    save_checkpoint(path, payload())
    assert not stale.exists() and live.exists()
    assert load_checkpoint(path, KIND)["kind"] == KIND


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid  # exited and reaped: no such process now


def test_keep_previous_keeps_the_replaced_checkpoint(tmp_path):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {**payload(), "step": 1}, keep_previous=True)
    assert not previous_path(path).exists()  # nothing to keep yet
    save_checkpoint(path, {**payload(), "step": 2}, keep_previous=True)
    assert load_checkpoint(previous_path(path), KIND)["step"] == 1
    assert load_checkpoint(path, KIND)["step"] == 2


def test_a_corrupt_checkpoint_without_a_previous_one_is_an_error(tmp_path):
    path = tmp_path / "last.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="truncated, corrupt"):
        load_resumable(path, KIND)


def test_missing_entries_and_misfitting_weights_are_named(tmp_path):
    path = save_checkpoint(tmp_path / "ck.pt", payload())
    with pytest.raises(ValueError, match=r"lacks \['optimizer'\]"):
        load_checkpoint(path, KIND, require=("optimizer",))
    module = torch.nn.Linear(3, 2)
    bad = {"weight": torch.zeros(2, 4), "bias": torch.zeros(2)}
    with pytest.raises(ValueError, match=r"ck.pt: its model weights do not fit.*size mismatch for weight"):
        load_weights(module, bad, path, "model")
