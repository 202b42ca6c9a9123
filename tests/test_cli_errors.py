"""Every user mistake at the command line ends in one line on stderr and exit status 2: no traceback, no work
started, nothing lost. One row per class of mistake (issue 22's sweep); each row's message must name what was
expected and what came."""

import shutil
from pathlib import Path

import pytest
import torch

from jepa_lab import fast_mode
from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.cli.main import main

DATA = Path(__file__).resolve().parents[1] / "data"


def run_cli(argv, capsys) -> str:
    """Run the CLI expecting a user error; return its single stderr line."""
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("jepa-lab: error:") or "usage:" in err, err
    return err


def _misfit_world_model(tmp: Path) -> Path:
    """The shipped Two Rooms model with one predictor tensor of the wrong shape."""
    payload = load_checkpoint(DATA / "ac_two_rooms.pt")
    key = next(k for k, v in payload["predictor"].items() if v.dim() == 2)
    payload["predictor"][key] = torch.zeros(3, 3)
    return save_checkpoint(tmp / "misfit.pt", payload)


def _no_config(tmp: Path) -> Path:
    payload = load_checkpoint(DATA / "ijepa_tiny.pt")
    del payload["config"]
    out = tmp / "run"
    save_checkpoint(out / "last.pt", payload)
    return out


def _exported_as_last(tmp: Path) -> Path:
    out = tmp / "run"
    out.mkdir()
    shutil.copy(DATA / "ijepa_tiny.pt", out / "last.pt")  # an exported file has no optimiser state
    return out


def _a_file(tmp: Path) -> Path:
    blocker = tmp / "a_file"
    blocker.write_text("not a folder")
    return blocker


CASES = [
    ("plan: a method twice", lambda t: ["plan", "--methods", "random,random"], "more than once"),
    ("plan: an unknown method", lambda t: ["plan", "--methods", "cem,astar"], "expected a comma-separated"),
    ("plan: an unbounded horizon", lambda t: ["plan", "--horizon", "3000"], "--horizon: expected at most 64"),
    ("plan: too many samples", lambda t: ["plan", "--samples", "100000"], "--samples: expected at most"),
    ("plan: a pixel model as --model", lambda t: ["plan", "--model", DATA / "pixel_two_rooms.pt"],
     "expected a latent world model, but the file holds a pixel one"),
    ("plan: a latent model as --pixel-model", lambda t: ["plan", "--methods", "pixel", "--pixel-model",
                                                         DATA / "ac_two_rooms.pt"], "expected a pixel world model"),
    ("plan: another env's model", lambda t: ["plan", "--env", "push", "--model", DATA / "ac_two_rooms.pt"],
     "trained on 'two_rooms', but --env is 'push'"),
    ("plan: a model with a misfitting tensor", lambda t: ["plan", "--model", _misfit_world_model(t)],
     "do not fit"),
    ("plan: a --json that cannot be written", lambda t: ["plan", "--json", _a_file(t) / "x.json"],
     "cannot write"),
    ("plan: a model that is no checkpoint", lambda t: ["plan", "--model", _a_file(t)], "truncated, corrupt"),
    ("train: an unknown device", lambda t: ["train", "ijepa", "--out", t / "r", "--device", "banana"],
     "expected cpu, cuda or cuda:N"),
    ("train: MPS on a machine without it", lambda t: ["train", "ijepa", "--out", t / "r", "--device", "mps"],
     "not available"),
    ("train: --out is a file", lambda t: ["train", "ijepa", "--out", _a_file(t)], "expected a folder"),
    ("train: --export under a file", lambda t: ["train", "ijepa", "--out", t / "r", "--export",
                                               _a_file(t) / "w.pt"], "cannot write"),
    ("train: resuming from an exported file", lambda t: ["train", "ijepa", "--out", _exported_as_last(t)],
     "lacks ['optimizer'"),
    ("train: a checkpoint without its config", lambda t: ["train", "ijepa", "--out", _no_config(t)],
     "lacks ['config'"),
    ("train: a V-JEPA preset for I-JEPA", lambda t: ["train", "ijepa", "--preset", "intuitive_physics"],
     "ijepa has no preset 'intuitive_physics'"),
    ("train-ac: --out under a file", lambda t: ["train-ac", "--out", _a_file(t) / "m.pt"], "cannot write"),
    ("train-pixel-predictor: --out is a folder", lambda t: ["train-pixel-predictor", "--out", t],
     "expected a file path"),
]

if not torch.cuda.is_available():
    CASES.append(("train: CUDA on a CPU machine", lambda t: ["train", "ijepa", "--out", t / "r", "--device", "cuda"],
                  "no CUDA GPU"))


@pytest.mark.parametrize("label,argv,fragment", CASES, ids=[c[0] for c in CASES])
def test_a_user_error_is_one_line_and_exit_2(label, argv, fragment, tmp_path, capsys):
    err = run_cli(argv(tmp_path), capsys)
    assert fragment in err, err


def test_a_refused_no_resume_run_keeps_the_old_log(tmp_path, capsys):
    """--no-resume with a bad --device: the old run's log and checkpoint are untouched."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.csv").write_text("step,loss\n0,1.0\n")
    shutil.copy(DATA / "ijepa_tiny.pt", out / "last.pt")
    run_cli(["train", "ijepa", "--out", out, "--no-resume", "--device", "banana"], capsys)
    assert (out / "log.csv").read_text() == "step,loss\n0,1.0\n"
    assert (out / "last.pt").read_bytes() == (DATA / "ijepa_tiny.pt").read_bytes()


def test_plan_json_records_its_settings(tmp_path, capsys):
    out = tmp_path / "plan.json"
    assert main(["plan", "--methods", "random", "--episodes", "1", "--horizon", "3", "--json", str(out)]) == 0
    import json

    record = json.loads(out.read_text())
    assert record["settings"]["horizon"] == 3 and record["settings"]["samples"] == 64
    assert record["models"] == {"latent": "shipped", "pixel": "shipped"}
    assert "\r" not in capsys.readouterr().err  # no progress-bar redraws when stderr is not a terminal


def test_plan_help_states_the_defaults_it_uses(capsys):
    from jepa_lab.eval.planning import PlanSettings

    with pytest.raises(SystemExit):
        main(["plan", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    s = PlanSettings()
    for flag, value in (("horizon", s.horizon), ("samples", s.samples), ("iterations", s.iterations)):
        assert f"(default: {value})" in text.rsplit(f"--{flag}", 1)[1].split("--", 1)[0], flag


@pytest.mark.parametrize("value,expected", [("1", True), ("yes", True), ("on", True), ("0", False), ("off", False),
                                            ("none", False), ("", False), ("False", False)])
def test_fast_mode_reads_its_switch(value, expected, monkeypatch):
    monkeypatch.setenv("JEPA_LAB_FAST", value)
    assert fast_mode() is expected


def test_fast_mode_refuses_junk(monkeypatch):
    monkeypatch.setenv("JEPA_LAB_FAST", "sometimes")
    with pytest.raises(ValueError, match="JEPA_LAB_FAST: expected one of .* received 'sometimes'"):
        fast_mode()


def test_progress_bars_draw_nothing_into_a_redirected_log(capsys):
    """stderr is captured here (not a terminal, not a notebook): an enabled bar stays silent."""
    from jepa_lab import progress_bar
    from jepa_lab.data.balls import BallsConfig, make_balls

    for _ in progress_bar(range(3), desc="test", enabled=True):
        pass
    make_balls(300, BallsConfig(), seed=0)  # several chunks: its bar would be drawn on a terminal
    assert capsys.readouterr().err == ""
