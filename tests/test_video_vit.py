"""The video ViT: exact V-JEPA 2 parameter counts and key names on the meta device; config errors."""

from dataclasses import replace

import pytest
import torch

from jepa_lab.models.rope import grid_positions
from jepa_lab.models.video_vit import VideoViT, VideoViTConfig
from jepa_lab.models.vit import count_parameters

# Trainable parameters of the released V-JEPA 2 encoders (RoPE, no pos_embed), from the official modules.
OFFICIAL_COUNTS = {"vit_l16": 303_885_312, "vit_h16": 631_648_000, "vit_g16": 1_012_173_952}


@pytest.mark.parametrize("name", sorted(OFFICIAL_COUNTS))
def test_full_scale_parameter_counts_match_the_released_encoders(name):
    with torch.device("meta"):
        enc = VideoViT(VideoViTConfig.preset(name))
    assert count_parameters(enc) == OFFICIAL_COUNTS[name]
    assert enc.blocks[0].attn.qkv.weight.is_meta  # nothing was allocated


def test_state_dict_keys_follow_the_released_layout():
    with torch.device("meta"):
        enc = VideoViT(VideoViTConfig.preset("vit_g16"))
    keys = set(enc.state_dict())
    block = {f"blocks.{i}.{part}.{wb}" for i in range(40) for part in
             ("norm1", "attn.qkv", "attn.proj", "norm2", "mlp.fc1", "mlp.fc2") for wb in ("weight", "bias")}
    assert keys == block | {"patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight", "norm.bias"}
    sd = enc.state_dict()
    assert tuple(sd["patch_embed.proj.weight"].shape) == (1408, 3, 2, 16, 16)
    assert tuple(sd["blocks.0.mlp.fc1.weight"].shape) == (6144, 1408)
    assert enc.cfg.head_dim == 64 and enc.cfg.grid == (8, 16, 16)


def test_sincos_variant_has_a_frozen_pos_embed_and_rope_variant_none():
    with torch.device("meta"):
        sincos = VideoViT(replace(VideoViTConfig.preset("vit_l16"), pos="sincos"))
        rope = VideoViT(VideoViTConfig.preset("vit_l16"))
    assert "pos_embed" in sincos.state_dict() and not sincos.pos_embed.requires_grad
    assert tuple(sincos.pos_embed.shape) == (1, 8 * 16 * 16, 1024)
    assert "pos_embed" not in rope.state_dict()
    assert count_parameters(sincos) == count_parameters(rope)  # the table is not trained


def test_grid_positions_are_row_major_over_frame_row_column():
    pos = grid_positions((2, 3, 4))
    assert pos.shape == (24, 3)
    assert pos[0].tolist() == [0, 0, 0] and pos[1].tolist() == [0, 0, 1] and pos[4].tolist() == [0, 1, 0]
    assert pos[12].tolist() == [1, 0, 0] and pos[-1].tolist() == [1, 2, 3]


@pytest.mark.parametrize("kwargs, match", [
    (dict(img_size=30, patch_size=8), "divisible by patch_size"),
    (dict(num_frames=7, tubelet_size=2), "divisible by tubelet_size"),
    (dict(embed_dim=100, num_heads=3), "divisible by num_heads"),
    (dict(pos="learned"), "pos must be one of"),
])
def test_bad_configs_say_what_was_expected(kwargs, match):
    with pytest.raises(ValueError, match=match):
        VideoViTConfig(**kwargs)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match="vit_l16"):
        VideoViTConfig.preset("vit_x")
