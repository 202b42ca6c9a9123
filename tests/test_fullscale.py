"""The paper-size presets (I-JEPA ViT-H/14 and ViT-g/16), built on the meta device: no weights are allocated,
but parameter counts, state-dict key names and shapes must match the official I-JEPA checkpoints."""

import pytest
import torch

from jepa_lab.models.ijepa import IJEPA, IJEPAConfig
from jepa_lab.models.vit import VisionTransformer, count_parameters

BLOCK_KEYS = [
    "norm1.weight", "norm1.bias",
    "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias",
    "norm2.weight", "norm2.bias",
    "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias",
]

# (encoder width, depth, MLP hidden, patch, predictor depth) of the released models
SIZES = {"vit_h14": (1280, 32, 5120, 14, 12), "vit_g16": (1408, 40, 6144, 16, 16)}
PRED_DIM, PRED_MLP = 384, 1536


def block_params(d: int, hidden: int) -> int:
    """One pre-norm block: 2 LayerNorms, qkv (with bias), proj, fc1, fc2."""
    return 2 * (2 * d) + (d * 3 * d + 3 * d) + (d * d + d) + (d * hidden + hidden) + (hidden * d + d)


def encoder_params(d: int, depth: int, hidden: int, patch: int) -> int:
    """Trainable encoder parameters: patch conv + blocks + final norm (the sin-cos pos_embed is frozen)."""
    return (3 * patch * patch * d + d) + depth * block_params(d, hidden) + 2 * d


def predictor_params(d: int, depth: int) -> int:
    """predictor_embed D->384, mask_token, blocks, predictor_norm, predictor_proj 384->D (pos table frozen)."""
    return (d * PRED_DIM + PRED_DIM) + PRED_DIM + depth * block_params(PRED_DIM, PRED_MLP) + 2 * PRED_DIM + (
        PRED_DIM * d + d
    )


@pytest.fixture(scope="module", params=sorted(SIZES))
def meta_model(request):
    cfg = IJEPAConfig.preset(request.param)
    with torch.device("meta"):
        model = IJEPA(cfg)
    return request.param, cfg, model


def test_formula_reproduces_published_vit_h14_count():
    assert encoder_params(1280, 32, 5120, 14) == 630_434_560


def test_built_on_meta_without_allocating(meta_model):
    _, _, model = meta_model
    tensors = list(model.parameters()) + list(model.buffers())
    assert tensors and all(t.is_meta for t in tensors)


def test_encoder_trainable_parameter_count(meta_model):
    name, _, model = meta_model
    d, depth, hidden, patch, _ = SIZES[name]
    expected = encoder_params(d, depth, hidden, patch)
    assert count_parameters(model.encoder) == expected
    if name == "vit_h14":
        assert count_parameters(model.encoder) == 630_434_560
    # the frozen table is the only difference to the full count
    n = (224 // patch) ** 2
    assert count_parameters(model.encoder, trainable_only=False) == expected + n * d
    # the target encoder is the same network, but frozen: nothing of it is trainable
    assert count_parameters(model.target_encoder, trainable_only=False) == expected + n * d
    assert count_parameters(model.target_encoder) == 0


def test_predictor_trainable_parameter_count(meta_model):
    name, _, model = meta_model
    d, _, _, _, pred_depth = SIZES[name]
    assert count_parameters(model.predictor) == predictor_params(d, pred_depth)


def test_vit_g16_count_is_about_a_billion():
    assert encoder_params(1408, 40, 6144, 16) == 1_011_092_608


def test_encoder_state_dict_keys_match_official_layout(meta_model):
    name, _, model = meta_model
    depth = SIZES[name][1]
    expected = {"patch_embed.proj.weight", "patch_embed.proj.bias", "pos_embed", "norm.weight", "norm.bias"}
    expected |= {f"blocks.{i}.{k}" for i in range(depth) for k in BLOCK_KEYS}
    assert set(model.encoder.state_dict()) == expected
    assert set(model.target_encoder.state_dict()) == expected


def test_predictor_state_dict_keys_match_official_layout(meta_model):
    name, _, model = meta_model
    depth = SIZES[name][4]
    expected = {
        "predictor_embed.weight", "predictor_embed.bias", "mask_token", "predictor_pos_embed",
        "predictor_norm.weight", "predictor_norm.bias", "predictor_proj.weight", "predictor_proj.bias",
    }
    expected |= {f"predictor_blocks.{i}.{k}" for i in range(depth) for k in BLOCK_KEYS}
    assert set(model.predictor.state_dict()) == expected


def test_model_state_dict_has_three_networks_and_no_pixel_stats(meta_model):
    _, _, model = meta_model
    prefixes = {k.split(".", 1)[0] for k in model.state_dict()}
    assert prefixes == {"encoder", "target_encoder", "predictor"}


def test_key_shapes(meta_model):
    name, cfg, model = meta_model
    d, depth, hidden, patch, _ = SIZES[name]
    n = (224 // patch) ** 2
    enc, pred = model.encoder.state_dict(), model.predictor.state_dict()
    assert enc["patch_embed.proj.weight"].shape == (d, 3, patch, patch)
    assert enc["pos_embed"].shape == (1, n, d)
    assert enc["blocks.0.attn.qkv.weight"].shape == (3 * d, d)
    assert enc[f"blocks.{depth - 1}.mlp.fc1.weight"].shape == (hidden, d)
    assert enc[f"blocks.{depth - 1}.mlp.fc2.weight"].shape == (d, hidden)
    assert pred["predictor_pos_embed"].shape == (1, n, PRED_DIM)
    assert pred["mask_token"].shape == (1, 1, PRED_DIM)
    assert pred["predictor_embed.weight"].shape == (PRED_DIM, d)
    assert pred["predictor_proj.weight"].shape == (d, PRED_DIM)
    assert pred["predictor_blocks.0.mlp.fc1.weight"].shape == (PRED_MLP, PRED_DIM)
    assert cfg.vit.num_patches == n and cfg.predictor.num_heads == cfg.vit.num_heads == 16


def test_vit_h14_specific_shapes():
    with torch.device("meta"):
        enc = VisionTransformer(IJEPAConfig.preset("vit_h14").vit)
    sd = enc.state_dict()
    assert sd["blocks.0.attn.qkv.weight"].shape == (3 * 1280, 1280)
    assert sd["patch_embed.proj.weight"].shape == (1280, 3, 14, 14)
    assert sd["pos_embed"].shape == (1, 256, 1280)
    assert len(enc.blocks) == 32 and enc.blocks[0].attn.num_heads == 16


def test_meta_forward_shapes(meta_model):
    """A forward pass on meta tensors checks the wiring at full size without any compute."""
    _, cfg, model = meta_model
    with torch.device("meta"):
        x = torch.empty(2, 3, 224, 224)
    out = model.target_encoder(x)
    assert out.shape == (2, cfg.vit.num_patches, cfg.vit.embed_dim) and out.is_meta
