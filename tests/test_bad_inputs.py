"""Wrong uses tried on purpose: each must fail with an error that names what was expected and what was received.

One row per mistake a student is likely to make across the public API (the CLI's are in test_cli.py). Each row
gives the call, the exception type and two fragments the message must contain: the expectation and the value
actually received (or the thing that is missing).
"""

import numpy as np
import pytest
import torch

from jepa_lab.models.world_model import ACTrainConfig
from jepa_lab.planning.cem import CEM, CEMConfig
from jepa_lab.checkpoint import load_checkpoint, save_checkpoint
from jepa_lab.eval.limits import zoom_view
from jepa_lab.masking.multiblock import MultiBlockConfig, sample_multiblock
from jepa_lab.planning.base import ActionBounds
from jepa_lab.fullscale.pose import integrate_pose
from jepa_lab.fullscale.released import choose_entry, spec_for
from jepa_lab.models.rope import apply_rope_3d
from jepa_lab.eval.surprise import window_starts
from jepa_lab.envs.two_rooms import TwoRooms
from jepa_lab.data.video_io import read_video
from jepa_lab.masking.multiblock3d import future_mask
from jepa_lab.models.vjepa_predictor import VideoPredictor
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.data.violations import make_violations
from jepa_lab.models.vit import ViTConfig, VisionTransformer
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor


def _env_step(action):
    env = TwoRooms()
    env.reset(seed=0)
    return env.step(action)


def _step_after_the_end(tmp):
    env = TwoRooms()
    env.reset(seed=0)
    for _ in range(env.cfg.max_steps):
        env.step(np.zeros(2, dtype=np.float32))
    return env.step(np.zeros(2, dtype=np.float32))


def _ckpt_of_other_kind(tmp):
    save_checkpoint(tmp / "ijepa.pt", {"kind": "jepa_lab.ijepa"})
    return load_checkpoint(tmp / "ijepa.pt", "jepa_lab.vjepa")


def _truncated_ckpt(tmp):
    save_checkpoint(tmp / "run.pt", {"kind": "jepa_lab.ijepa", "w": torch.zeros(1000)})
    data = (tmp / "run.pt").read_bytes()
    (tmp / "run.pt").write_bytes(data[: len(data) // 2])
    return load_checkpoint(tmp / "run.pt")


def _corrupt_video(tmp):
    (tmp / "clip.mp4").write_bytes(b"\x00" * 200)
    return read_video(tmp / "clip.mp4")


CASES = [  # (name, call(tmp_path), exception, [fragments the message must contain])
    ("image of the wrong size", lambda t: VisionTransformer(ViTConfig())(torch.zeros(2, 3, 30, 30)),
     ValueError, ["[B, 3, 32, 32]", "(2, 3, 30, 30)"]),
    ("image size not divisible by the patch", lambda t: ViTConfig(img_size=30, patch_size=4),
     ValueError, ["divisible by patch_size", "img_size=30"]),
    ("frames the video encoder cannot cut", lambda t: VideoViT(VideoViTConfig())(torch.zeros(1, 3, 7, 32, 32)),
     ValueError, ["T a multiple of 2", "(1, 3, 7, 32, 32)"]),
    ("frames not divisible by the tubelet", lambda t: VideoViTConfig(num_frames=7),
     ValueError, ["num_frames=7", "tubelet_size=2"]),
    ("integer clip tensor", lambda t: VideoViT(VideoViTConfig())(torch.zeros(1, 3, 8, 32, 32, dtype=torch.uint8)),
     ValueError, ["floating-point", "torch.uint8"]),
    ("min_keep larger than the grid", lambda t: sample_multiblock((4, 4), 2, MultiBlockConfig(min_keep=20)),
     ValueError, ["min_keep <= 16", "min_keep=20"]),
    ("future mask with no frame left to predict", lambda t: future_mask((4, 4, 4), 2, 4),
     ValueError, ["[1, 3]", "received 4"]),
    ("mask token index out of range",
     lambda t: VideoPredictor(96, (4, 4, 4))(torch.zeros(1, 4, 96), torch.zeros(1, 4, dtype=torch.long),
                                              torch.zeros(1, 4, dtype=torch.long), mask_index=5),
     ValueError, ["[0, 2)", "got 5"]),
    ("missing video file", lambda t: read_video(t / "nowhere.mp4"), FileNotFoundError, ["nowhere.mp4"]),
    ("corrupt video file", _corrupt_video, ValueError, ["clip.mp4", "cannot read"]),
    ("checkpoint of another model", _ckpt_of_other_kind, ValueError, ["'jepa_lab.ijepa'", "expected 'jepa_lab.vjepa'"]),
    ("truncated checkpoint", _truncated_ckpt, ValueError, ["run.pt", "truncated"]),
    ("planner bounds of the wrong dimension",
     lambda t: CEM(CEMConfig(), ActionBounds(low=(0, 0, 0), high=(1, 1, 1)), action_dim=2),
     ValueError, ["length A=2", "(0, 0, 0)"]),
    ("low above high", lambda t: ActionBounds(low=1.0, high=0.0), ValueError, ["low < high", "low=1.0"]),
    ("CEM with more elites than samples", lambda t: CEMConfig(samples=10, elites=20),
     ValueError, ["[1, samples=10]", "20"]),
    ("env action of the wrong shape", lambda t: _env_step(np.zeros(3, dtype=np.float32)),
     ValueError, ["shape (2,)", "array([0., 0., 0.]"]),
    ("env step after the episode ended", _step_after_the_end, RuntimeError,
     ["step budget of 40 used", "call reset()"]),
    ("AC training window longer than an episode", lambda t: ACTrainConfig(window=30),
     ValueError, ["2..episode_steps + 1 = 17", "got 30"]),
    ("robot action with 6 numbers", lambda t: integrate_pose(torch.zeros(2, 7), torch.zeros(2, 6)),
     ValueError, ["[..., 7]", "(2, 6)"]),
    ("AC predictor fed 4-D actions",
     lambda t: VJEPA2ACPredictor(VJEPA2ACConfig.preset("tiny"))(torch.zeros(1, 2, 16, 48), torch.zeros(1, 2, 4),
                                                                torch.zeros(1, 2, 7)),
     ValueError, ["[B, T, 7]", "(1, 2, 4)"]),
    ("RoPE on a 3-D tensor", lambda t: apply_rope_3d(torch.zeros(2, 5, 64), (1, 1, 5)),
     ValueError, ["[B, heads, N, d]", "(2, 5, 64)"]),
    ("unknown released file", lambda t: spec_for("vitz.pt"), ValueError, ["vitz.pt", "expected one of"]),
    ("released file without the asked entry", lambda t: choose_entry({"encoder": {}}, "target_encoder"),
     ValueError, ["'target_encoder'", "['encoder']"]),
    ("violation clips not in sets of four", lambda t: make_violations(6), ValueError, ["multiple of 4", "6"]),
    ("clip shorter than the model's window", lambda t: window_starts(6, 8, 2), ValueError, ["6 frames", "8-frame"]),
    ("camera zoom out of range", lambda t: zoom_view(3.0), ValueError, ["[0.5, 2]", "3.0"]),
]


def test_the_table_is_long_enough():
    assert len(CASES) >= 20


@pytest.mark.parametrize("name, call, error, fragments", CASES, ids=[c[0] for c in CASES])
def test_wrong_use_gives_a_readable_error(tmp_path, name, call, error, fragments):
    with pytest.raises(error) as info:
        call(tmp_path)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, f"{name}: {fragment!r} not in {message!r}"
    assert min(message.find(f) for f in fragments) < 250  # the point is made up front, not buried in a dump


def test_a_failed_save_keeps_the_good_checkpoint(tmp_path):
    good = save_checkpoint(tmp_path / "last.pt", {"kind": "jepa_lab.ijepa", "step": 5})
    with pytest.raises(Exception):
        save_checkpoint(good, {"kind": "jepa_lab.ijepa", "bad": lambda: None})  # not serialisable
    assert load_checkpoint(good)["step"] == 5
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]  # no temp file left behind
