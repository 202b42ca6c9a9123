"""The ``jepa-lab`` command line: a real tiny training run, resuming, exporting, ``info``, and bad input."""

import csv
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from jepa_lab.checkpoint import load_checkpoint
from jepa_lab.cli.planning import _encoder
from jepa_lab.cli.main import main
from jepa_lab.weights.pretrained import load_pretrained
from jepa_lab.weights.saved import load_ijepa

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m jepa_lab ARGS`` in a fresh interpreter, exactly as a user runs it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the checkout under test, even without `pip install -e`
    return subprocess.run([sys.executable, "-m", "jepa_lab", *args], cwd=cwd or ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def logged_steps(log: Path) -> list[int]:
    with open(log, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["step", "loss", "lr", "ema_momentum", "seconds"], "log.csv must have exactly one header"
    return [int(r[0]) for r in rows[1:]]


def test_train_resume_and_export(tmp_path, capsys):
    out = tmp_path / "run"
    # 1) a real run through the command, in its own process: 3 steps of batch 8.
    proc = run_cli("train", "ijepa", "--preset", "tiny", "--steps", "3", "--batch-size", "8",
                   "--out", str(out), "--ckpt-every", "2")
    assert proc.returncode == 0, proc.stderr
    assert str(out / "log.csv") in proc.stdout and str(out / "last.pt") in proc.stdout
    assert "trained steps 0 -> 3" in proc.stdout
    assert logged_steps(out / "log.csv") == [0, 1, 2]
    assert load_checkpoint(out / "last.pt")["step"] == 3

    # 2) the same command with more steps resumes at step 3 (in-process, through main()) and exports.
    weights = tmp_path / "weights" / "tiny.pt"
    argv = ["train", "ijepa", "--preset", "tiny", "--steps", "5", "--batch-size", "8", "--out", str(out),
            "--export", str(weights)]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "resuming" in stdout and "trained steps 3 -> 5 (2 this run)" in stdout
    assert logged_steps(out / "log.csv") == [0, 1, 2, 3, 4]
    ckpt = load_checkpoint(out / "last.pt")
    assert ckpt["step"] == 5 and len(ckpt["losses"]) == 5
    assert ckpt["config"]["optim"]["steps"] == 5 and ckpt["config"]["optim"]["batch_size"] == 8

    exported = load_checkpoint(weights)
    assert "optimizer" not in exported and exported["step"] == 5
    assert exported["command"] == shlex.join(["jepa-lab", *argv])
    model = load_ijepa(weights)
    assert not model.training
    assert model.cfg.optim.steps == 5


def test_info_counts_vit_h14_without_allocating():
    proc = run_cli("info", "--preset", "vit_h14")
    assert proc.returncode == 0, proc.stderr
    assert "630,434,560" in proc.stdout  # I-JEPA ViT-H/14 encoder, without the fixed pos-embed table


def test_info_lists_presets(capsys):
    assert main(["info"]) == 0
    stdout = capsys.readouterr().out
    for name in ("tiny", "vit_h14", "vit_g16"):
        assert name in stdout


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], "expected a command: train, info, released, train-ac, plan, train-pixel-predictor"),
        (["fly"], "invalid choice: 'fly'"),
        (["train"], "the following arguments are required: model"),
        (["train", "vjepa", "--preset", "vit_h14"], "vjepa has no preset 'vit_h14'"),
        (["info", "--model", "ijepa", "--preset", "vit_l16"], "ijepa has no preset 'vit_l16'"),
        (["train", "ijepa", "--preset", "huge"], "'tiny'"),
        (["train", "ijepa", "--steps", "0"], "--steps: expected an integer >= 1, got 0"),
        (["train", "ijepa", "--steps", "ten"], "--steps: expected an integer >= 1, got 'ten'"),
        (["train", "ijepa", "--batch-size", "-4"], "--batch-size: expected an integer >= 1, got -4"),
        (["train", "ijepa", "--ckpt-every", "0"], "--ckpt-every: expected an integer >= 1"),
        (["info", "--preset", "vit_x"], "'vit_h14'"),
    ],
)
def test_bad_arguments_exit_2_with_a_message(argv, expected, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "usage: jepa-lab" in err and expected in err


def test_bad_arguments_print_no_traceback():
    proc = run_cli("train", "ijepa", "--preset", "nope")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "invalid choice: 'nope' (choose from" in proc.stderr and "tiny" in proc.stderr


def test_resuming_a_run_of_another_config_is_a_clean_error(tmp_path, capsys):
    # A checkpoint of a different model config in --out: exit 2 with the trainer's message, not a traceback.
    from jepa_lab.checkpoint import save_checkpoint
    from jepa_lab.models.ijepa import IJEPAConfig
    from jepa_lab.train.jepa import IJEPA_KIND
    from jepa_lab.models.vit import ViTConfig

    other = IJEPAConfig(vit=ViTConfig(embed_dim=48, num_heads=4))
    save_checkpoint(tmp_path / "last.pt", {"kind": IJEPA_KIND, "config": other.to_dict(), "model": {},
                                           "optimizer": {}, "step": 0, "losses": [], "generator": None,
                                           "torch_rng": None})
    with pytest.raises(SystemExit) as exc:
        main(["train", "ijepa", "--steps", "1", "--batch-size", "2", "--out", str(tmp_path)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "other settings" in err and "vit.embed_dim: 48 -> " in err


def test_train_vjepa_runs_and_exports_a_loadable_model(tmp_path):
    from jepa_lab.weights.saved import load_model
    from jepa_lab.models.vjepa import VJEPA

    out, export = tmp_path / "run", tmp_path / "vjepa.pt"
    assert main(["train", "vjepa", "--steps", "2", "--batch-size", "4", "--out", str(out), "--export", str(export)]) == 0
    assert (out / "last.pt").exists() and len((out / "log.csv").read_text().splitlines()) == 3  # header + 2 steps
    model = load_model(export)
    assert isinstance(model, VJEPA) and not model.training


def test_info_counts_the_vjepa_encoder_exactly(capsys):
    assert main(["info", "--model", "vjepa", "--preset", "vit_l16"]) == 0
    assert "303,885,312" in capsys.readouterr().out


def test_train_ac_then_plan_with_the_trained_model(tmp_path, capsys):
    out = tmp_path / "ac.pt"
    assert main(["train-ac", "--env", "two_rooms", "--episodes", "12", "--steps", "3", "--out", str(out),
                 "--run-dir", str(tmp_path / "run")]) == 0
    assert (tmp_path / "run" / "last.pt").is_file()
    assert "wrote" in capsys.readouterr().out
    ckpt = load_checkpoint(out, "jepa_lab.ac")
    assert ckpt["model"] == "latent" and ckpt["metrics"]["episodes"] == 12
    assert ckpt["command"].startswith("jepa-lab train-ac")
    table = tmp_path / "table.json"
    assert main(["plan", "--env", "two_rooms", "--episodes", "1", "--methods", "random,cem", "--model", str(out),
                 "--horizon", "2", "--samples", "8", "--iterations", "1", "--json", str(table)]) == 0
    printed = capsys.readouterr().out
    assert "random" in printed and "cem" in printed and "success" in printed
    import json

    rows = json.loads(table.read_text())["rows"]
    assert set(rows) == {"random", "cem"} and 0.0 <= rows["cem"]["success"] <= 1.0



def test_train_ac_on_the_random_init_encoder_freezes_the_same_untrained_weights(tmp_path):
    out = tmp_path / "ac.pt"
    assert main(["train-ac", "--env", "two_rooms", "--encoder", "random-init", "--episodes", "12", "--steps", "2",
                 "--out", str(out), "--run-dir", str(tmp_path / "run")]) == 0
    encoder = load_checkpoint(out, "jepa_lab.ac")["encoder"]
    trained = load_pretrained("vjepa_envs").target_encoder.state_dict()
    again = _encoder("random-init", "two_rooms").state_dict()
    assert encoder.keys() == trained.keys()
    assert all(torch.equal(encoder[k], again[k]) for k in encoder)  # the same seed: the same weights
    assert not torch.equal(encoder["patch_embed.proj.weight"], trained["patch_embed.proj.weight"])

def test_plan_rejects_unknown_methods(capsys):
    with pytest.raises(SystemExit) as err:
        main(["plan", "--methods", "cem,teleport"])
    assert err.value.code == 2
    assert "teleport" in capsys.readouterr().err


def test_info_reports_encoder_flops_and_memory(capsys):
    assert main(["info", "--model", "vjepa", "--preset", "vit_g16"]) == 0
    out = capsys.readouterr().out
    assert "encoder cost for a 16-frame clip (2,048 tokens" in out and "5.09TFLOP forward" in out
    assert main(["info", "--model", "ijepa", "--preset", "tiny"]) == 0
    assert "encoder cost for an image" in capsys.readouterr().out


def test_released_command_loads_and_reports(tmp_path, capsys, monkeypatch):
    from jepa_lab.fullscale import released
    from test_released import write_official

    write_official(tmp_path, "vith.pt")
    small = dict(released.RELEASED, **{"vith.pt": released.RELEASED["vith.pt"].with_depth(1, 1)})
    monkeypatch.setattr(released, "RELEASED", small)  # full depth would be 2.5 GB of random weights
    assert main(["released", str(tmp_path / "vith.pt"), "--entry", "encoder"]) == 0
    out = capsys.readouterr().out
    assert "VideoViT: 16 tensors from entry 'encoder'" in out and "predictor: VideoPredictor" in out


def test_released_command_errors_are_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as err:
        main(["released", str(tmp_path / "vitl.pt")])
    assert err.value.code == 2 and "never downloads" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["released", str(tmp_path / "mystery.pt")])
    assert "unknown released checkpoint 'mystery.pt'" in capsys.readouterr().err
