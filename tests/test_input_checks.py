"""Inputs of the wrong range or dtype are refused with a message (or converted where the meaning is certain),
never silently misread: issue 22's 'silent wrong result' class, one row per kind of input."""

import numpy as np
import pytest
import torch

from jepa_lab.envs.two_rooms import TwoRooms
from jepa_lab.models.ijepa import IJEPA, IJEPAConfig
from jepa_lab.models.normalize import observations_to_tensor
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import VisionTransformer, ViTConfig
from jepa_lab.weights.pretrained import load_pretrained

FRAME = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)


@pytest.mark.parametrize("label,obs,fragment", [
    ("floats in 0..255", FRAME.astype(np.float32), "divide by 255"),
    ("int64 frames", FRAME.astype(np.int64), "expected uint8 frames"),
    ("bool frames", FRAME > 128, "expected uint8 frames"),
    ("NaN pixels", np.full((64, 64, 3), np.nan, np.float32), "expected values in [0, 1]"),
])
def test_observations_of_another_range_or_dtype_are_refused(label, obs, fragment):
    with pytest.raises(ValueError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        observations_to_tensor(obs, 64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_observations_in_unit_range_mean_the_same_as_uint8(dtype):
    as_uint8 = observations_to_tensor(FRAME, 64)
    as_float = observations_to_tensor(FRAME.astype(dtype) / 255.0, 64)
    assert as_float.dtype == torch.float32
    torch.testing.assert_close(as_float, as_uint8)


def test_a_world_model_refuses_0_255_floats():
    model = load_pretrained("ac_two_rooms")
    with pytest.raises(ValueError, match="divide by 255"):
        model.encode(FRAME.astype(np.float32))


def test_a_jepa_refuses_0_255_images_and_accepts_float64():
    torch.manual_seed(0)
    model = IJEPA(IJEPAConfig.preset("tiny")).eval()
    size = model.cfg.vit.img_size
    images = torch.rand(2, 3, size, size)
    with pytest.raises(ValueError, match=r"images: expected values in \[0, 1\].*divide by 255"):
        model.encode(images * 255)
    torch.testing.assert_close(model.encode(images.double()), model.encode(images))


def test_encoders_compute_float64_inputs_in_their_own_dtype():
    torch.manual_seed(0)
    vit = VisionTransformer(ViTConfig(img_size=16, patch_size=4, embed_dim=24, depth=1, num_heads=2)).eval()
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(vit(x.double()), vit(x))
    video = VideoViT(VideoViTConfig(img_size=16, patch_size=4, num_frames=4, embed_dim=24, depth=1,
                                    num_heads=2)).eval()
    clip = torch.rand(1, 3, 4, 16, 16)
    torch.testing.assert_close(video(clip.double()), video(clip))
    with pytest.raises(ValueError, match="floating-point frames"):
        video.encode_frames(torch.zeros(1, 3, 16, 16, dtype=torch.uint8))


@pytest.mark.parametrize("action", [np.array([True, False]), [True, True], np.array([1.0, np.nan])])
def test_an_env_refuses_boolean_and_non_finite_actions(action):
    env = TwoRooms()
    env.reset(seed=0)
    before = env.full_state().copy()
    with pytest.raises(ValueError, match="action: expected a finite float array"):
        env.step(action)
    np.testing.assert_array_equal(env.full_state(), before)  # nothing moved
