"""The notebook exercises' graders: the instructor key passes every one, typical wrong answers fail each, and a
failure says what is wrong without printing the expected values."""

from pathlib import Path

import einops
import pytest
import torch
import torch.nn.functional as F

from jepa_lab.exercises import EXERCISES, KEY_ENV, check
from jepa_lab.exercises.grader import load_key
from jepa_lab.models.video_vit import TubeletEmbed, tubelets

KEY = Path(__file__).resolve().parents[1] / "instructor" / "key.py"


@pytest.fixture(scope="module")
def key():
    return load_key(KEY)


def stub(*args):
    raise NotImplementedError


def test_there_are_at_least_six_exercises_each_in_the_key(key):
    assert len(EXERCISES) >= 6
    assert set(EXERCISES) <= set(key)


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_the_key_passes_every_case(key, name, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    report = check(name, key[name], quiet=True)
    assert report.ok, str(report)
    assert report.graded == "yours" and report.total >= 4


@pytest.mark.parametrize("name", sorted(EXERCISES))
def test_a_stub_is_not_attempted_without_the_key_and_graded_by_the_key_with_it(name, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    report = check(name, stub, quiet=True)
    assert not report and "not attempted" in str(report)
    monkeypatch.setenv(KEY_ENV, str(KEY))
    report = check(name, stub, quiet=True)
    assert report.ok and "instructor key" in str(report)


def _sorted_elites(s, e, k, descending=False):
    return s[torch.argsort(e, descending=descending)[:k]]


def _ema_swapped(target, online, m):
    with torch.no_grad():
        for a, b in zip(target.parameters(), online.parameters()):
            a.mul_(1 - m).add_(b, alpha=m)


def _ema_not_in_place(target, online, m):
    return [m * a + (1 - m) * b for a, b in zip(target.parameters(), online.parameters())]


def _ema_moves_online(target, online, m):
    with torch.no_grad():
        for a, b in zip(target.parameters(), online.parameters()):
            a.mul_(m).add_(b, alpha=1 - m)
            b.zero_()


def _mask_keeps_targets(key):
    def fn(grid, tc, ts, cc, cs):
        _, targets = key["multiblock_mask"](grid, tc, ts, cc, cs)
        h, w = grid
        top, left = cc.tolist()
        rows, cols = torch.meshgrid(torch.arange(top, top + cs[0]), torch.arange(left, left + cs[1]), indexing="ij")
        return (rows * w + cols).flatten().sort().values, targets  # forgot to remove the targets
    return fn


def _mask_swapped_axes(key):
    def fn(grid, tc, ts, cc, cs):  # uses h where w belongs: right only on square grids
        h, w = grid
        return key["multiblock_mask"]((w, h), tc, ts, cc, cs)
    return fn


WRONG = {
    "cem_refit": [
        ("Bessel's correction", lambda s, e, k: (_sorted_elites(s, e, k).mean(0), _sorted_elites(s, e, k).std(0)),
         "Bessel"),
        ("highest energies kept", lambda s, e, k: (_sorted_elites(s, e, k, True).mean(0),
                                                   _sorted_elites(s, e, k, True).std(0, unbiased=False)), "mean"),
        ("all samples", lambda s, e, k: (s.mean(0), s.std(0, unbiased=False)), "mean"),
    ],
    "goal_energy": [
        ("every step averaged", lambda im, g: (im - g[:, None]).abs().flatten(2).mean(2).mean(1), "final"),
        ("squared error", lambda im, g: (im[:, -1] - g).pow(2).flatten(1).mean(1), "values"),
        ("per step, not reduced", lambda im, g: (im - g[:, None]).abs().flatten(2).mean(2), "shape"),
    ],
    "block_causal_mask": [
        ("token causal", lambda s, t: torch.ones(s * t, s * t, dtype=torch.bool).tril(), "same time step"),
        ("transposed", lambda s, t: EXERCISES["block_causal_mask"].reference(s, t).T, "transposed"),
        ("float mask", lambda s, t: EXERCISES["block_causal_mask"].reference(s, t).float(), "boolean"),
    ],
    "ijepa_loss": [
        ("no layer norm", lambda p, o, i: F.smooth_l1_loss(p, torch.stack([o[b][i[b]] for b in range(len(i))])),
         "values"),
        ("MSE", lambda p, o, i: F.mse_loss(p, torch.stack([F.layer_norm(o, o.shape[-1:])[b][i[b]]
                                                            for b in range(len(i))])), "values"),
        ("detached", lambda p, o, i: F.smooth_l1_loss(p.detach(), torch.stack(
            [F.layer_norm(o, o.shape[-1:])[b][i[b]] for b in range(len(i))])), "gradient"),
    ],
    "ema_update": [
        ("momentum swapped", _ema_swapped, "parameter"),
        ("not in place", _ema_not_in_place, "did not change"),
        ("online changed", _ema_moves_online, "online"),
    ],
    "tubelets": [
        ("channels last in a tubelet", lambda v, tt, p: einops.rearrange(
            v, "b c (t dt) (h dy) (w dx) -> b (t h w) (dt dy dx c)", dt=tt, dy=p, dx=p), "wrong order"),
        ("frame-major tokens", lambda v, tt, p: einops.rearrange(
            v, "b c (t dt) (h dy) (w dx) -> b (h w t) (c dt dy dx)", dt=tt, dy=p, dx=p), "tokens"),
        ("plain reshape", lambda v, tt, p: v.reshape(v.shape[0], -1, v.shape[1] * tt * p * p), "tokens"),
    ],
}


@pytest.mark.parametrize("name,label,fn,hint", [(n, lab, fn, hint) for n, rows in WRONG.items()
                                                 for lab, fn, hint in rows])
def test_a_wrong_answer_fails_and_says_what_is_wrong(name, label, fn, hint, monkeypatch):
    monkeypatch.setenv(KEY_ENV, str(KEY))  # the key must not stand in for a function that runs
    report = check(name, fn, quiet=True)
    assert not report.ok and report.graded == "yours", label
    text = str(report)
    assert hint in text, text
    assert "tensor(" not in text  # never prints the expected values


@pytest.mark.parametrize("make", [_mask_keeps_targets, _mask_swapped_axes])
def test_wrong_multiblock_masks_fail(key, make):
    report = check("multiblock_mask", make(key), quiet=True)
    assert not report.ok
    assert "case '" in str(report)


def test_a_crashing_function_is_reported_not_raised():
    report = check("goal_energy", lambda im, g: im.nonexistent, quiet=True)
    assert not report.ok and "AttributeError" in str(report)


def test_check_names_what_it_expected():
    with pytest.raises(ValueError, match="unknown exercise 'cem'.*cem_refit"):
        check("cem", stub)
    with pytest.raises(TypeError, match="expected your function"):
        check("cem_refit", 3)


def test_a_missing_key_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "nope.py"))
    with pytest.raises(FileNotFoundError, match="nope.py"):
        check("cem_refit", stub)


def test_tubelets_are_what_the_conv_embeds():
    """The kit's reference for the tubelet exercise is the Conv3d patch embedding written as a reshape."""
    embed = TubeletEmbed(2, 4, 3, 16)
    x = torch.randn(2, 3, 4, 8, 12)
    linear = tubelets(x, 2, 4) @ embed.proj.weight.flatten(1).T + embed.proj.bias
    torch.testing.assert_close(linear, embed(x), atol=1e-5, rtol=1e-5)


def test_a_relative_key_path_is_found_from_a_notebook_folder(monkeypatch, tmp_path):
    """JupyterLab runs a notebook's kernel in notebooks/: `JEPA_LAB_KEY=instructor/key.py` must still work there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(KEY_ENV, "instructor/key.py")
    report = check("cem_refit", stub, quiet=True)
    assert report.ok and "key" in report.graded
    monkeypatch.setenv(KEY_ENV, "instructor/nope.py")
    with pytest.raises(FileNotFoundError, match=f"looked at {tmp_path}"):
        check("cem_refit", stub)
