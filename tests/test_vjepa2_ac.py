"""The full-size V-JEPA 2-AC predictor: exact parameters and keys on the meta device; at tiny size, cached
rollout == teacher forcing, block causality, and attention equal to a literal re-derivation of the official
per-token rotation (conditioning tokens rotated in time only)."""

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from jepa_lab.fullscale.pose import integrate_pose
from jepa_lab.models.rope import apply_rope_3d
from jepa_lab.models.vit import count_parameters
from jepa_lab.fullscale.vjepa2_ac import VJEPA2ACConfig, VJEPA2ACPredictor, step_positions

BLOCK_KEYS = ["norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias", "attn.proj.weight",
              "attn.proj.bias", "norm2.weight", "norm2.bias", "mlp.fc1.weight", "mlp.fc1.bias",
              "mlp.fc2.weight", "mlp.fc2.bias"]
TINY = VJEPA2ACConfig.preset("tiny")


@pytest.fixture(scope="module")
def full():
    with torch.device("meta"):
        return VJEPA2ACPredictor(VJEPA2ACConfig.preset("vitg"))


def test_full_size_parameter_count_is_the_published_one(full):
    assert count_parameters(full) == 305_220_992
    # by hand: embed 1408->1024, three 7/7/6->1024 encoders, 24 blocks, norm, proj 1024->1408
    d, h = 1024, 4096
    block = 4 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d)
    by_hand = (1408 * d + d) + 2 * (7 * d + d) + (6 * d + d) + 24 * block + 2 * d + (d * 1408 + 1408)
    assert by_hand == 305_220_992


def test_full_size_state_dict_keys_and_shapes(full):
    sd = full.state_dict()
    expected = {f"{m}.{p}" for m in ("predictor_embed", "action_encoder", "state_encoder", "extrinsics_encoder",
                                     "predictor_norm", "predictor_proj") for p in ("weight", "bias")}
    expected |= {f"predictor_blocks.{i}.{k}" for i in range(24) for k in BLOCK_KEYS}
    assert set(sd) == expected
    assert sd["action_encoder.weight"].shape == (1024, 7)
    assert sd["extrinsics_encoder.weight"].shape == (1024, 6)
    assert sd["predictor_embed.weight"].shape == (1024, 1408)
    assert sd["predictor_blocks.23.attn.qkv.weight"].shape == (3072, 1024)
    assert full.tokens_per_step == 258


def test_meta_forward_at_full_size(full):
    with torch.device("meta"):
        z, a = torch.empty(2, 2, 256, 1408), torch.empty(2, 2, 7)
    out = full(z, a, a)
    assert out.shape == (2, 2, 256, 1408) and out.is_meta


def test_step_positions_put_conditioning_tokens_at_row_col_zero():
    pos = step_positions(2, (2, 3), 2, t0=5)  # [2 * (2 + 6), 3]
    assert pos.shape == (16, 3)
    assert pos[:2].tolist() == [[5, 0, 0], [5, 0, 0]]
    assert pos[2:8].tolist() == [[5, r, c] for r in range(2) for c in range(3)]
    assert (pos[8:, 0] == 6).all()


def _inputs(b=2, t=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = F.layer_norm(torch.randn(b, t, TINY.num_patches, TINY.encoder_dim, generator=g), (TINY.encoder_dim,))
    return z, 0.05 * torch.randn(b, t, 7, generator=g), 0.3 * torch.randn(b, t, 7, generator=g)


def test_cached_rollout_equals_teacher_forcing_on_its_own_predictions():
    torch.manual_seed(0)
    model = VJEPA2ACPredictor(TINY).eval()
    z, actions, pose = _inputs()
    imagined = model.rollout(z[:, 0], actions, pose[:, 0])  # [B, 3, N, D], layer-normed
    poses = [pose[:, 0]]
    for t in range(2):
        poses.append(integrate_pose(poses[-1], actions[:, t]))
    fed = torch.cat([z[:, :1], imagined[:, :2]], dim=1)
    with torch.no_grad():
        teacher = model(fed, actions, torch.stack(poses, dim=1))
    torch.testing.assert_close(F.layer_norm(teacher, (TINY.encoder_dim,)), imagined, atol=1e-5, rtol=1e-4)


def test_block_causal_later_steps_do_not_change_earlier_outputs():
    torch.manual_seed(1)
    model = VJEPA2ACPredictor(TINY).eval()
    z, actions, states = _inputs()
    changed = actions.clone()
    changed[:, 2] += 1.0
    with torch.no_grad():
        a, b = model(z, actions, states), model(z, changed, states)
    torch.testing.assert_close(a[:, :2], b[:, :2])
    assert (a[:, 2] - b[:, 2]).abs().max() > 1e-3


def _official_style_rotate(x, pos):
    """The released code's rotation of one chunk x [B, heads, N, n] by positions [N]: tables .repeat(2)."""
    n = x.shape[-1]
    omega = 1.0 / 10000 ** (torch.arange(n // 2, dtype=x.dtype) / (n / 2))
    freq = pos.to(x.dtype)[:, None] * omega  # [N, n/2]
    sin, cos = freq.sin().repeat(1, 2), freq.cos().repeat(1, 2)
    y = x.unflatten(-1, (-1, 2))
    partner = torch.stack((-y[..., 1], y[..., 0]), dim=-1).flatten(-2)
    return x * cos + partner * sin


def test_rotation_matches_the_official_split_of_action_and_frame_tokens():
    """Official: conditioning tokens rotate only their first chunk by t; frame tokens rotate the three
    chunks by (t, row, col). Our single apply_rope_3d call with positions (t, 0, 0) must do the same."""
    torch.manual_seed(2)
    t, h, w, k, heads, d = 2, 2, 3, 2, 2, 16
    n = 2 * ((d // 3) // 2)
    x = torch.randn(1, heads, t * (k + h * w), d)
    ours = apply_rope_3d(x, step_positions(t, (h, w), k), layout="repeat")
    x5 = x.view(1, heads, t, k + h * w, d)
    cond, frames = x5[:, :, :, :k].reshape(1, heads, t * k, d), x5[:, :, :, k:].reshape(1, heads, t * h * w, d)
    steps = torch.arange(t).repeat_interleave(k)
    cond_rot = torch.cat([_official_style_rotate(cond[..., :n], steps), cond[..., n:]], dim=-1)
    ids = torch.arange(t * h * w)
    ft, fr, fc = ids // (h * w), (ids % (h * w)) // w, ids % w
    parts = [_official_style_rotate(frames[..., i * n:(i + 1) * n], p) for i, p in enumerate((ft, fr, fc))]
    frames_rot = torch.cat(parts + [frames[..., 3 * n:]], dim=-1)
    merged = torch.cat([cond_rot.view(1, heads, t, k, d), frames_rot.view(1, heads, t, h * w, d)], dim=3)
    torch.testing.assert_close(ours, merged.flatten(2, 3))


def test_extrinsics_token_when_enabled():
    cfg = replace(TINY, use_extrinsics=True)
    model = VJEPA2ACPredictor(cfg).eval()
    z, actions, states = _inputs()
    assert model.tokens_per_step == 3 + cfg.num_patches
    with torch.no_grad():
        out = model(z, actions, states, torch.zeros(2, 3, 6))
    assert out.shape == z.shape
    with pytest.raises(ValueError, match=r"extrinsics: expected \[B, T, 6\]"):
        model(z, actions, states)


@pytest.mark.parametrize("bad, match", [
    (dict(z=torch.zeros(2, 3, 5, 48)), r"z: expected latents \[B, T, 16, 48\]"),
    (dict(actions=torch.zeros(2, 3, 4)), r"actions: expected \[B, T, 7\]"),
    (dict(states=torch.zeros(2, 2, 7)), r"states: expected \[B, T, 7\]"),
])
def test_bad_shapes_name_what_was_expected(bad, match):
    model = VJEPA2ACPredictor(TINY)
    z, actions, states = _inputs()
    args = dict(z=z, actions=actions, states=states) | bad
    with pytest.raises(ValueError, match=match):
        model(**args)


def test_too_many_steps_and_unknown_preset():
    model = VJEPA2ACPredictor(TINY)
    z, actions, states = _inputs(t=9)
    with pytest.raises(ValueError, match="max_steps=8"):
        model(z, actions, states)
    with pytest.raises(ValueError, match="expected one of"):
        VJEPA2ACConfig.preset("vit_huge")
