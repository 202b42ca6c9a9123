"""Issue 22's sweep of bad inputs, one parametrised table per class of entry point: planners, model inputs,
environments, video files, data / checkpoint loaders and the CLI. Every row names the call, the exception type
and fragments of the message (what was expected and what came), so a row fails if its check is removed.
(tests/test_bad_inputs.py holds the earlier rows; this file the classes the sweep added.)"""

import io
from pathlib import Path

import numpy as np
import pytest
import torch

from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.cli.main import main
from jepa_lab.data import video_io
from jepa_lab.envs.push import Push
from jepa_lab.envs.trajectories import load_npz, read_episodes
from jepa_lab.envs.two_rooms import TwoRooms
from jepa_lab.eval.planning import PlanSettings
from jepa_lab.fullscale.released import read_checkpoint
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor
from jepa_lab.models.ac_predictor import ACPredictor, ACPredictorConfig
from jepa_lab.models.ijepa_predictor import Predictor
from jepa_lab.models.pixel_world_model import PixelModelConfig, PixelWorldModel, pixel_loss
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import VisionTransformer, ViTConfig
from jepa_lab.models.vjepa_predictor import VideoPredictor
from jepa_lab.models.world_model import ACTrainConfig
from jepa_lab.planning.base import ActionBounds
from jepa_lab.planning.cem import CEM, CEMConfig
from jepa_lab.planning.energy import goal_l1_energy
from jepa_lab.planning.mppi import MPPIConfig
from jepa_lab.weights.saved import load_world_model

DATA = Path(__file__).resolve().parents[1] / "data"


def check(call, error, fragments, tmp_path):
    with pytest.raises(error) as info:
        call(tmp_path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{fragment!r} not in {message!r}"


# ------------------------------------------------------------------------------------------------ planners
def _energy(goal=None, start=None, state0=(0.0, 0.0)):
    z = torch.zeros(1, 4, 8)
    def rollout(s, actions, state):  # stand-still imagination: [S, ...] -> [S, T, ...]
        return s[:, None].expand(-1, actions.shape[1], -1, -1)

    return goal_l1_energy(rollout, z if start is None else start, np.asarray(state0), z if goal is None else goal)


NAN_Z = torch.full((1, 4, 8), float("nan"))
PLANNERS = [
    ("horizon 0", lambda t: CEM(horizon=0), ["horizon an int >= 1", "received 0"]),
    ("negative horizon", lambda t: CEM(horizon=-2), ["horizon an int >= 1", "received -2"]),
    ("more elites than samples", lambda t: CEMConfig(samples=8, elites=9), ["[1, samples=8]", "received 9"]),
    ("no elites", lambda t: CEMConfig(elites=0), ["CEMConfig.elites", "received 0"]),
    ("no iterations", lambda t: MPPIConfig(iterations=0), ["MPPIConfig.iterations: expected an int >= 1", "0"]),
    ("init_std as text", lambda t: CEMConfig(init_std="1"), ["CEMConfig.init_std: expected a float", "'1'"]),
    ("momentum None", lambda t: MPPIConfig(momentum=None), ["MPPIConfig.momentum: expected a float", "None"]),
    ("energy not callable", lambda t: CEM(horizon=2).plan(None), ["energy: expected a callable", "None"]),
    ("NaN warm start",
     lambda t: CEM(horizon=2).plan(lambda a: a.sum((1, 2)), init_mean=torch.full((2, 2), np.nan)),
     ["init_mean: expected finite", "4 NaN/inf"]),
    ("NaN goal latents", lambda t: _energy(goal=NAN_Z), ["goal: expected finite values", "32 NaN/inf"]),
    ("NaN start latents", lambda t: _energy(start=NAN_Z), ["start: expected finite values", "(1, 4, 8)"]),
    ("NaN state", lambda t: _energy(state0=(np.nan, 0.0)), ["state0: expected finite values", "1 NaN/inf"]),
    ("unknown energy", lambda t: PlanSettings(energy="mean"),
     ["PlanSettings.energy", "('final', 'min')", "'mean'"]),
    ("PlanSettings horizon 0", lambda t: PlanSettings(horizon=0), ["PlanSettings.horizon", "int >= 1", "0"]),
    ("PlanSettings one sample", lambda t: PlanSettings(samples=1), ["PlanSettings.samples", "int >= 2", "1"]),
    ("PlanSettings elites > samples", lambda t: PlanSettings(samples=4, elites=5),
     ["PlanSettings.elites", "[1, samples=4]", "5"]),
    ("PlanSettings negative seed", lambda t: PlanSettings(seed=-1), ["PlanSettings.seed", "int >= 0", "-1"]),
    ("PlanSettings subgoals as text", lambda t: PlanSettings(subgoals="no"),
     ["PlanSettings.subgoals", "True or False", "'no'"]),
    ("PlanSettings repeat 0", lambda t: PlanSettings(action_repeat=0),
     ["PlanSettings.action_repeat", "received 0"]),
]


@pytest.mark.parametrize("name, call, fragments", PLANNERS, ids=[c[0] for c in PLANNERS])
def test_planners_refuse_bad_settings(tmp_path, name, call, fragments):
    check(call, ValueError, fragments, tmp_path)


def test_a_box_bound_plan_still_runs():
    plan = CEM(CEMConfig(samples=8, elites=2, iterations=2), ActionBounds(low=-1.0, high=1.0), horizon=2)
    assert plan.plan(lambda a: a.pow(2).sum((1, 2))).actions.shape == (2, 2)


# ------------------------------------------------------------------------------------------- model inputs
VIT = VisionTransformer(ViTConfig(img_size=16, patch_size=4, embed_dim=24, depth=1, num_heads=2))
VIDEO = VideoViT(VideoViTConfig(img_size=16, patch_size=4, num_frames=4, embed_dim=24, depth=1, num_heads=2))
AC = ACPredictor(8, 4, ACPredictorConfig(embed_dim=16, depth=1, num_heads=2))
ARM = VJEPA2ACPredictor(VJEPA2ACConfig.preset("tiny"))
PIXEL = PixelWorldModel(PixelModelConfig(width=8))
Z, A2 = torch.zeros(1, 2, 4, 8), torch.zeros(1, 2, 2)
IDX = torch.zeros(1, 4, dtype=torch.long)
MODELS = [
    ("image of 1 channel", lambda t: VIT(torch.rand(2, 1, 16, 16)), ["[B, 3, 16, 16]", "(2, 1, 16, 16)"]),
    ("image of 3 dims", lambda t: VIT(torch.rand(3, 16, 16)), ["[B, 3, 16, 16]", "(3, 16, 16)"]),
    ("empty image batch", lambda t: VIT(torch.rand(0, 3, 16, 16)), ["at least one image", "(0, 3, 16, 16)"]),
    ("bool images", lambda t: VIT(torch.zeros(1, 3, 16, 16, dtype=torch.bool)), ["floating-point", "torch.bool"]),
    ("empty clip batch", lambda t: VIDEO(torch.rand(0, 3, 4, 16, 16)), ["at least one clip", "(0, 3, 4, 16, 16)"]),
    ("clip not cut into tubelets", lambda t: VIDEO(torch.rand(1, 3, 4, 18, 18)),
     ["H, W multiples of 4", "(1, 3, 4, 18, 18)"]),
    ("empty frame batch", lambda t: VIDEO.encode_frames(torch.rand(0, 3, 16, 16)),
     ["at least one frame", "(0, 3, 16, 16)"]),
    ("AC latents as uint8", lambda t: AC(Z.byte(), A2, A2),
     ["z: expected a floating-point tensor", "torch.uint8"]),
    ("AC integer actions", lambda t: AC(Z, A2.long(), A2), ["actions: expected a floating-point", "torch.int64"]),
    ("AC bool states", lambda t: AC(Z, A2, A2.bool()), ["states: expected a floating-point", "torch.bool"]),
    ("AC numpy latents", lambda t: AC(Z.numpy(), A2, A2), ["z: expected a tensor [B, T, 4, 8]", "ndarray"]),
    ("AC no steps", lambda t: AC(Z[:, :0], A2[:, :0], A2[:, :0]), ["at least one entry per axis", "(1, 0, 4, 8)"]),
    ("AC empty batch", lambda t: AC(Z[:0], A2[:0], A2[:0]), ["at least one entry per axis", "(0, 2, 4, 8)"]),
    ("AC rollout of no action", lambda t: AC.rollout(Z[:, 0], A2[:, :0], A2[:, 0]), ["actions", "(1, 0, 2)"]),
    ("AC uint8 rollout start", lambda t: AC.rollout(Z[:, 0].byte(), A2, A2[:, 0]), ["floating-point", "uint8"]),
    ("arm predictor uint8 latents", lambda t: ARM(torch.zeros(1, 2, 16, 48, dtype=torch.uint8),
                                                  torch.zeros(1, 2, 7), torch.zeros(1, 2, 7)),
     ["z: expected a floating-point tensor", "torch.uint8"]),
    ("arm predictor no steps",
     lambda t: ARM(torch.zeros(1, 0, 16, 48), torch.zeros(1, 0, 7), torch.zeros(1, 0, 7)),
     ["at least one entry per axis", "(1, 0, 16, 48)"]),
    ("pixel model uint8 frames", lambda t: PIXEL(torch.zeros(1, 3, 32, 32, dtype=torch.uint8), A2[:, 0], A2[:, 0]),
     ["frames: expected a floating-point tensor", "torch.uint8"]),
    ("pixel rollout of no action", lambda t: PIXEL.rollout(torch.zeros(1, 3, 32, 32), A2[:, :0], A2[:, 0]),
     ["actions", "(1, 0, 2)"]),
    ("I-JEPA predictor uint8 context",
     lambda t: Predictor(24, (4, 4))(torch.zeros(1, 4, 24, dtype=torch.uint8), IDX, IDX[:, None]),
     ["z_ctx: expected a floating-point", "uint8"]),
    ("V-JEPA predictor index off the grid", lambda t: VideoPredictor(24, (2, 2, 2))(
        torch.zeros(1, 4, 24), IDX + 99, IDX), ["[0, 8)", "[99, 99]"]),
    ("negative rollout steps", lambda t: ACTrainConfig(rollout_steps=-1), ["rollout_steps", "int >= 0", "-1"]),
]


@pytest.mark.parametrize("name, call, fragments", MODELS, ids=[c[0] for c in MODELS])
def test_models_refuse_bad_inputs_before_torch_does(tmp_path, name, call, fragments):
    check(call, ValueError, fragments, tmp_path)


def test_the_pixel_baseline_trains_without_a_rollout():
    frames, actions = torch.rand(2, 3, 3, 32, 32), torch.zeros(2, 2, 2)
    teacher, rollout = pixel_loss(PIXEL, frames, actions, actions, rollout_steps=0)
    assert float(rollout) == 0.0 and torch.isfinite(teacher)


# ------------------------------------------------------------------------------------------- environments
def _reset(env_cls, **kwargs):
    return env_cls().reset(**kwargs)


ENVS = [(f"{cls.__name__}: {label}", (lambda t, c=cls, k=kwargs: _reset(c, **k)), fragments)
        for cls in (TwoRooms, Push) for label, kwargs, fragments in [
            ("negative seed", {"seed": -1}, ["seed: expected None or an int >= 0", "-1"]),
            ("float seed", {"seed": 1.5}, ["seed: expected None or an int >= 0", "1.5"]),
            ("text seed", {"seed": "3"}, ["seed", "'3'"]),
            ("boolean seed", {"seed": True}, ["seed", "True"]),
            ("options as a list", {"seed": 0, "options": [1]}, ["options: expected None or a dict", "list"]),
        ]]


@pytest.mark.parametrize("name, call, fragments", ENVS, ids=[c[0] for c in ENVS])
def test_envs_refuse_bad_reset_arguments(tmp_path, name, call, fragments):
    check(call, ValueError, fragments, tmp_path)


def test_a_numpy_seed_is_a_seed():
    a, b = TwoRooms().reset(seed=np.int64(3))[0], TwoRooms().reset(seed=3)[0]
    np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------------------------------------- video
def _video(tmp, name="ok.mp4"):
    return video_io.write_video(tmp / name, np.zeros((2, 16, 16, 3), np.uint8))


def _text(tmp, name="notes.mp4"):
    (tmp / name).write_text("not a video\n")
    return tmp / name


VIDEO_ROWS = [
    ("read a folder", lambda v, t: v.read_video(t), ValueError, ["expected a video file", "is a folder"]),
    ("info of a text file", lambda v, t: v.video_info(_text(t)), ValueError, ["cannot read video", "notes.mp4"]),
    ("info of a folder", lambda v, t: v.video_info(t), ValueError, ["is a folder"]),
    ("write over a folder", lambda v, t: (t / "d.mp4").mkdir() or _video(t, "d.mp4"), ValueError,
     ["expected a file path", "is a folder"]),
    ("write into a missing folder", lambda v, t: _video(t, "no/such/x.mp4"), FileNotFoundError,
     ["does not exist"]),
    ("fps as text", lambda v, t: v.write_video(t / "x.mp4", np.zeros((2, 16, 16, 3), np.uint8), fps="8"),
     ValueError, ["fps: expected a finite number > 0", "'8'"]),
    ("unknown codec", lambda v, t: v.write_video(t / "x.mp4", np.zeros((2, 16, 16, 3), np.uint8), codec="nocodec"),
     ValueError, ["codec: expected an encoder", "'nocodec'"]),
]


@pytest.mark.parametrize("name, call, error, fragments", VIDEO_ROWS, ids=[c[0] for c in VIDEO_ROWS])
def test_video_io_refuses_bad_paths_and_settings(tmp_path, name, call, error, fragments):
    pytest.importorskip("av")
    check(lambda t: call(video_io, t), error, fragments, tmp_path)
    assert not list(tmp_path.glob(".*.tmp")), "a failed write left a temp file"


def test_write_video_into_an_unwritable_folder(tmp_path, monkeypatch):
    pytest.importorskip("av")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(video_io, "atomic_write", refuse)
    with pytest.raises(ValueError, match="cannot write .*Permission denied"):
        _video(tmp_path)


# ------------------------------------------------------------------------------------------------ loaders
def _npz(tmp, data: bytes | None = None, **arrays):
    path = tmp / "trajectory.npz"
    if data is None:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        data = buf.getvalue()
    path.write_bytes(data)
    return path


def _npy(tmp):
    np.save(tmp / "a.npy", np.zeros(3))
    return tmp / "a.npy"


def _episodes(tmp, meta: str):
    (tmp / "meta.json").write_text(meta)
    return read_episodes(tmp)


def _torch_file(tmp, data: bytes):
    (tmp / "vitl.pt").write_bytes(data)
    return tmp / "vitl.pt"


KEYS = ("states", "actions")
LOADERS = [
    ("empty npz", lambda t: load_npz(_npz(t, b""), KEYS), ValueError, ["trajectory.npz", "truncated, corrupt"]),
    ("text as npz", lambda t: load_npz(_npz(t, b"hello"), KEYS), ValueError, ["not an .npz file"]),
    ("truncated npz", lambda t: load_npz(_npz(t, _npz(t, states=np.zeros(99)).read_bytes()[:60]), KEYS),
     ValueError, ["truncated, corrupt"]),
    ("npz without a key", lambda t: load_npz(_npz(t, states=np.zeros(3)), KEYS), ValueError,
     ["lacks ['actions']", "found ['states']"]),
    ("one array, not an archive", lambda t: load_npz(_npy(t), KEYS), ValueError,
     ["holds one array", "['states', 'actions']"]),
    ("npz is a folder", lambda t: load_npz(t, KEYS), FileNotFoundError, ["expected an .npz file"]),
    ("episodes meta not JSON", lambda t: _episodes(t, "{oops"), ValueError, ["meta.json is not valid JSON"]),
    ("episodes meta without a count", lambda t: _episodes(t, '{"env": "two_rooms"}'), ValueError,
     ["'episodes' (an int >= 1)", "{'env': 'two_rooms'}"]),
    ("episodes of a missing npz", lambda t: _episodes(t, '{"env": "two_rooms", "episodes": 1}'), FileNotFoundError,
     ["episode_00000/trajectory.npz not found"]),
    ("checkpoint is a folder", lambda t: load_checkpoint(t), FileNotFoundError, ["is a folder", "expected a .pt"]),
    ("world model of an unknown sort", lambda t: _odd_world_model(t), ValueError,
     ["'latent' or 'pixel'", "'weird'"]),
    ("empty released file", lambda t: read_checkpoint(_torch_file(t, b"")), ValueError,
     ["weights-only torch file", "truncated, corrupt", "EOFError"]),
    ("damaged safetensors",
     lambda t: read_checkpoint(_torch_file(t, (50).to_bytes(8, "little") + b"{" + b"x" * 99)),
     ValueError, ["safetensors file", "truncated or corrupt"]),
]


def _odd_world_model(tmp):
    payload = load_checkpoint(DATA / "pixel_two_rooms.pt")
    save_checkpoint(tmp / "m.pt", {**payload, "model": "weird"})
    return load_world_model(tmp / "m.pt")


@pytest.mark.parametrize("name, call, error, fragments", LOADERS, ids=[c[0] for c in LOADERS])
def test_loaders_refuse_damaged_or_incomplete_files(tmp_path, name, call, error, fragments):
    check(call, error, fragments, tmp_path)


# ---------------------------------------------------------------------------------------------------- CLI
def _file(tmp, name, data: bytes):
    (tmp / name).write_bytes(data)
    return tmp / name


CLI = [
    ("released: empty file", lambda t: ["released", _file(t, "vitl.pt", b"")], "truncated, corrupt"),
    ("released: text file", lambda t: ["released", _file(t, "vith.pt", b"text\n")], "weights-only torch file"),
    ("released: a folder", lambda t: ["released", (t / "vitg.pt").mkdir() or t / "vitg.pt"], "no checkpoint at"),
    ("released: a missing file", lambda t: ["released", t / "vitl.pt"], "never downloads"),
    ("released: a name it does not know", lambda t: ["released", t / "mine.pt"], "unknown released checkpoint"),
    ("train-ac: --encoder is a folder", lambda t: ["train-ac", "--out", t / "m.pt", "--encoder", t],
     "is a folder"),
    ("train-ac: --encoder of another kind", lambda t: ["train-ac", "--out", t / "m.pt", "--encoder",
                                                       DATA / "ijepa_tiny.pt"], "expected 'jepa_lab.vjepa'"),
    ("plan: --pixel-model is text", lambda t: ["plan", "--methods", "pixel", "--pixel-model",
                                              _file(t, "p.pt", b"text")], "truncated, corrupt"),
]


@pytest.mark.parametrize("name, argv, fragment", CLI, ids=[c[0] for c in CLI])
def test_cli_bad_arguments_exit_2_with_one_line(tmp_path, capsys, name, argv, fragment):
    with pytest.raises(SystemExit) as exc:
        main([str(a) for a in argv(tmp_path)])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert exc.value.code == 2 and "Traceback" not in err, err
    assert len(lines) == 1 and lines[0].startswith("jepa-lab: error:"), err
    assert fragment in lines[0], err
