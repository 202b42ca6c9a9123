"""Tests for jepa_lab.viz.video and jepa_lab.viz.video_widgets (headless: matplotlib Agg, no browser)."""
import matplotlib

matplotlib.use("Agg")

import ipywidgets as W  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

from jepa_lab.data.balls import BallsConfig, make_balls, videos_to_float  # noqa: E402
from jepa_lab.masking.multiblock3d import VideoMaskConfig, future_mask, sample_video_masks  # noqa: E402
from jepa_lab.viz.video import (  # noqa: E402
    clip_array,
    mask_fraction_bars,
    token_roles,
    tubelet_figure,
    video_mask_overlay,
    video_mask_strip,
)
from jepa_lab.viz.video_widgets import VideoMaskExplorer, video_mask_explorer  # noqa: E402

GRID = (4, 4, 4)  # 8 frames / tubelet 2, 32 px / patch 8: the 'tiny' video ViT grid


@pytest.fixture(scope="module")
def clips():
    videos, _ = make_balls(3, BallsConfig(size=32, frames=8), seed=0)
    return videos_to_float(videos)  # [3, 3, 8, 32, 32]


@pytest.fixture(scope="module")
def masks():
    return sample_video_masks(GRID, 2, VideoMaskConfig.preset("short_range"), torch.Generator().manual_seed(1))


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


def _token_pixels(roles_frame: np.ndarray, p: int) -> np.ndarray:
    return np.kron(roles_frame, np.ones((p, p), dtype=np.int64))  # [H, W]


@pytest.mark.parametrize("frame", [0, 1, 5, 7])
def test_overlay_changes_target_pixels_only(clips, frame):
    clip = clips[0]
    masks = sample_video_masks(GRID, 1, VideoMaskConfig.preset("short_range"), torch.Generator().manual_seed(1))
    out = video_mask_overlay(clip, masks, 0, frame)
    assert out.shape == (32, 32, 3) and out.dtype == np.float64 and 0 <= out.min() and out.max() <= 1
    roles = _token_pixels(token_roles(masks, 0)[frame // 2], 8)
    original = clip[:, frame].permute(1, 2, 0).numpy()
    changed = np.abs(out - original).max(-1) > 1e-6  # [H, W]
    assert roles.min() >= 0 and (roles == 1).any() and (roles == 0).any()  # batch of 1: nothing dropped
    assert np.array_equal(changed, roles == 1)  # every target pixel tinted, every context pixel untouched


def test_overlay_accepts_uint8_and_numpy(clips, masks):
    clip = clips[1]
    as_uint8 = (clip * 255).round().to(torch.uint8)
    a = video_mask_overlay(as_uint8, masks, 1, 2)
    b = video_mask_overlay(clip.numpy(), masks, 1, 2)
    assert a.shape == b.shape == (32, 32, 3) and np.abs(a - b).max() < 1e-2


def test_dropped_tokens_are_dimmed(clips):
    m = sample_video_masks(GRID, 8, VideoMaskConfig.preset("short_range"), torch.Generator().manual_seed(0))
    roles = token_roles(m, 0)
    assert set(np.unique(roles)) <= {-1, 0, 1} and (roles == 1).any() and (roles == 0).any()
    f = int(np.argmax((roles == -1).reshape(4, -1).sum(1)))
    if (roles[f] == -1).any():
        out = video_mask_overlay(clips[0], m, 0, 2 * f)
        drop = _token_pixels(roles[f], 8) == -1
        orig = clips[0][:, 2 * f].permute(1, 2, 0).numpy()
        assert np.all(out[drop] <= orig[drop] + 1e-9)


def test_future_mask_overlay_tints_whole_later_frames(clips):
    m = future_mask(GRID, 1, context_frames=2)
    clip = clips[0]
    assert np.allclose(video_mask_overlay(clip, m, 0, 3), clip[:, 3].permute(1, 2, 0).numpy())  # context frame
    late = video_mask_overlay(clip, m, 0, 6)
    assert (np.abs(late - clip[:, 6].permute(1, 2, 0).numpy()).max(-1) > 1e-6).all()  # every pixel tinted


def test_bad_clip_shapes_raise_clear_errors(clips, masks):
    with pytest.raises(ValueError, match=r"expected a clip \[3, T, H, W\].*videos_to_float"):
        video_mask_overlay(clips[0].permute(1, 2, 3, 0), masks, 0, 0)  # channel-last
    with pytest.raises(ValueError, match="does not match a 4x4x4 token grid"):
        video_mask_overlay(clips[0][:, :, :30, :30], masks, 0, 0)
    with pytest.raises(ValueError, match=r"frame must lie in \[0, 8\)"):
        video_mask_overlay(clips[0], masks, 0, 8)


def test_tubelet_figure_highlights_one_tubelet_on_its_frames(clips):
    fig = tubelet_figure(clips[0], tubelet_size=2, patch_size=8)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    outlined = [sum(isinstance(a, Rectangle) and a.get_edgecolor()[0] > 0.5 for a in ax.patches) for ax in fig.axes]
    assert outlined == [1, 1, 0, 0]  # tubelet (0, 2, 2) spans frames 0 and 1
    assert "4x4x4 grid, N = 64 tokens" in fig._suptitle.get_text()
    with pytest.raises(ValueError):
        tubelet_figure(clips[0], tubelet_size=3, patch_size=8)


def test_strip_and_bars(clips, masks):
    fig = video_mask_strip(clips[0], masks, 0)
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # one frame per token-frame
    fig = video_mask_strip(clips[0], masks, 1, frames=[0, 7])
    assert len(fig.axes) == 2
    fig = mask_fraction_bars({"short": [0.6, 0.65], "long": [0.8, 0.82]}, reference={"short": 0.62})
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) == 2
    with pytest.raises(ValueError):
        mask_fraction_bars({})


def test_clip_array_rejects_wrong_layout():
    with pytest.raises(ValueError, match="channels first"):
        clip_array(np.zeros((8, 32, 32, 3), dtype=np.uint8))


@pytest.fixture
def ui(clips):
    return video_mask_explorer(clips, patch_size=8, tubelet_size=2, names=["a", "b", "c"])


def test_explorer_builds(ui):
    assert isinstance(ui, VideoMaskExplorer) and isinstance(ui.widget, W.Box)
    assert bytes(ui.image.value).startswith(b"\x89PNG") and ui.error is None
    assert ui.grid == GRID and "grid 4x4x4 (N=64)" in ui.status.value
    assert ui.config() == VideoMaskConfig.preset("short_range")
    assert "application/vnd.jupyter.widget-view+json" in ui._repr_mimebundle_()


@pytest.mark.parametrize("name, value", [("frame", 4), ("family", "long_range"), ("family", "future"),
                                         ("clip", 2), ("seed", 5), ("num_blocks", 2), ("spatial_scale", 0.5)])
def test_changing_a_control_changes_the_picture(ui, name, value):
    before = ui.image.value
    ui.controls[name].value = value
    assert ui.error is None and ui.image.value != before


def test_family_loads_its_preset_and_future_disables_sliders(ui):
    ui.controls["family"].value = "long_range"
    assert ui.controls["num_blocks"].value == 2 and ui.controls["spatial_scale"].value == pytest.approx(0.7)
    assert ui.masks.targets.shape[1] % 4 == 0  # whole-clip tubes: the same footprint in all 4 token-frames
    ui.controls["family"].value = "future"
    assert ui.controls["num_blocks"].disabled and "future" in ui.status.value
    assert ui.masks.context.shape[1] == 32 and ui.masks.targets.shape[1] == 32


def test_resample_button_changes_seed_and_picture(ui):
    before, seed = ui.image.value, ui.controls["seed"].value
    ui.resample.click()
    assert ui.controls["seed"].value == seed + 1 and ui.image.value != before


def test_frame_slider_within_a_tubelet_keeps_the_mask(ui):
    ui.controls["frame"].value = 2
    m = ui.masks
    ui.controls["frame"].value = 3  # same token-frame: picture changes (new pixels), mask does not
    assert torch.equal(ui.masks.targets, m.targets) and "token-frame 1" in ui.status.value


def test_impossible_settings_show_the_error(ui):
    good = ui.image.value
    ui.controls["spatial_scale"].value = 1.0  # one block covers every token: min_keep=10 cannot hold
    assert ui.error is not None and "min_keep" in ui.error and "ValueError" in ui.status.value
    assert ui.image.value == good
    ui.controls["spatial_scale"].value = 0.15
    assert ui.error is None


def test_explorer_rejects_bad_clips(clips):
    videos, _ = make_balls(2, BallsConfig(size=32, frames=8), seed=0)
    with pytest.raises(ValueError, match=r"expected clips \[B, 3, T, H, W\].*videos_to_float"):
        VideoMaskExplorer(videos, patch_size=8, tubelet_size=2)  # channel-last uint8 [B, T, H, W, 3]
    with pytest.raises(ValueError, match="expected clips"):
        VideoMaskExplorer(clips[0], patch_size=8, tubelet_size=2)  # one clip, no batch axis
    with pytest.raises(ValueError, match="patch_size=5"):
        VideoMaskExplorer(clips, patch_size=5, tubelet_size=2)
    with pytest.raises(ValueError, match="family"):
        VideoMaskExplorer(clips, patch_size=8, tubelet_size=2, family="random")
