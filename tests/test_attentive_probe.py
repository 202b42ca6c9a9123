"""Attentive probe: shapes, positions, that it learns what the tokens hold (and only that), frame-by-frame."""

import pytest
import torch

from jepa_lab.eval.attentive_probe import (AttentiveProbe, ProbeTraining, attentive_probe, extract_tokens,
                                           fit_attentive_probe, frame_by_frame)

FAST = ProbeTraining(epochs=60, batch_size=64, lr=3e-3)


def planted(n: int, seed: int, num_times: int = 4, per_time: int = 4, dim: int = 16):
    """Noise tokens [n, N, D]; the label (0..3) is written into one random token as a one-hot direction."""
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randn(n, num_times * per_time, dim, generator=gen)
    labels = torch.randint(0, 4, (n,), generator=gen)
    where = torch.randint(0, num_times * per_time, (n,), generator=gen)
    tokens[torch.arange(n), where, :4] += 8.0 * torch.nn.functional.one_hot(labels, 4)
    return tokens, labels


@pytest.mark.parametrize("positions", ["none", "time", "slot"])
def test_probe_shapes_and_attention_sums_to_one(positions):
    probe = AttentiveProbe(16, 8, 5, num_heads=4, positions=positions, num_times=2)
    tokens = torch.randn(3, 8, 16)
    assert probe(tokens).shape == (3, 5)
    pooled, weights = probe.pool(tokens)
    assert pooled.shape == (3, 16) and weights.shape == (3, 8)
    assert torch.allclose(weights.sum(-1), torch.ones(3), atol=1e-5)


def test_probe_finds_the_informative_token_wherever_it_is():
    tr, ytr = planted(512, 0)
    te, yte = planted(256, 1)
    assert attentive_probe(tr, ytr, te, yte, FAST, num_times=4) > 0.9


def test_probe_is_at_chance_on_labels_the_tokens_do_not_hold():
    tr, _ = planted(512, 0)
    te, _ = planted(256, 1)
    gen = torch.Generator().manual_seed(5)
    ytr, yte = torch.randint(0, 4, (512,), generator=gen), torch.randint(0, 4, (256,), generator=gen)
    assert attentive_probe(tr, ytr, te, yte, FAST, num_times=4) < 0.4  # chance 0.25


def test_time_positions_let_the_probe_read_the_order_of_frames():
    # the same token content, but the label is *when* it appears: impossible without time positions
    n, gen = 512, torch.Generator().manual_seed(0)
    when = torch.randint(0, 4, (n,), generator=gen)
    tokens = torch.zeros(n, 16, 8)
    tokens[torch.arange(n), when * 4, 0] = 5.0  # token-frame `when`, first slot
    tokens += 0.01 * torch.randn(tokens.shape, generator=gen)
    none = attentive_probe(tokens[:384], when[:384], tokens[384:], when[384:], ProbeTraining(**{**FAST.__dict__, "positions": "none"}), 4)
    time = attentive_probe(tokens[:384], when[:384], tokens[384:], when[384:], FAST, 4)
    assert time > 0.9 and none < 0.5


def test_fitting_is_seeded():
    tr, ytr = planted(128, 0)
    a = fit_attentive_probe(tr, ytr, ProbeTraining(epochs=2), num_times=4)
    b = fit_attentive_probe(tr, ytr, ProbeTraining(epochs=2), num_times=4)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_frame_by_frame_keeps_frames_in_time_major_order_and_pools():
    def encode_image(images):  # [b, C, H, W] -> [b, 16, 2]: token value = mean brightness, then row index
        b = images.shape[0]
        return torch.stack([images.mean((1, 2, 3))[:, None].expand(b, 16), torch.arange(16.0).expand(b, 16)], -1)

    clips = torch.arange(3.0).view(1, 1, 3, 1, 1).expand(2, 3, 3, 8, 8)  # frame t has brightness t
    tokens = frame_by_frame(encode_image)(clips)
    assert tokens.shape == (2, 48, 2)
    assert torch.equal(tokens[0, :, 0], torch.arange(3.0).repeat_interleave(16))
    pooled = frame_by_frame(encode_image, pool=2)(clips)  # 4x4 -> 2x2 tokens per frame
    assert pooled.shape == (2, 12, 2)
    assert torch.allclose(pooled[0, :4, 1], torch.tensor([2.5, 4.5, 10.5, 12.5]))


def test_extract_tokens_batches_and_bad_inputs_are_named():
    x = torch.randn(10, 3)
    assert torch.equal(extract_tokens(lambda b: b[:, None, :].repeat(1, 2, 1), x, batch_size=3)[:, 0], x)
    probe = AttentiveProbe(16, 8, 3)
    with pytest.raises(ValueError, match=r"expected \[B, 8, D\]"):
        probe(torch.randn(2, 7, 16))
    with pytest.raises(ValueError, match="positions"):
        AttentiveProbe(16, 8, 3, positions="absolute")
    with pytest.raises(ValueError, match="num_times"):
        AttentiveProbe(16, 8, 3, num_times=3)
    with pytest.raises(ValueError, match="labels"):
        fit_attentive_probe(torch.randn(4, 8, 16), torch.zeros(5, dtype=torch.long))


def test_folded_attention_equals_textbook_multi_head_cross_attention():
    torch.manual_seed(0)
    probe = AttentiveProbe(16, 6, 3, num_heads=4, positions="none")
    tokens = torch.randn(2, 6, 16)
    kv = probe.norm(tokens)
    q = probe.query[0, 0].view(4, 4)  # [heads, E]
    k = probe.to_k(kv).view(2, 6, 4, 4).transpose(1, 2)  # [B, heads, N, E]
    v = probe.to_v(kv).view(2, 6, 4, 4).transpose(1, 2)
    attn = (torch.einsum("he,bhne->bhn", q, k) / 2.0).softmax(-1)
    pooled = probe.proj(torch.einsum("bhn,bhne->bhe", attn, v).reshape(2, 16))
    x = probe.query[:, 0] + pooled
    expected = x + probe.mlp(x)
    got, weights = probe.pool(tokens)
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(weights, attn.mean(1), atol=1e-6)
