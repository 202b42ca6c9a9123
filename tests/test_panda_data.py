"""The arm's data: play episodes, the same whichever number of processes renders them, cached on disk."""

import numpy as np
import pytest
import torch

from jepa_lab.envs.panda_data import cached_panda, collect_panda, panda_clips, play_actions


def test_play_actions_stay_in_the_box_and_travel():
    a = play_actions(np.random.default_rng(0), 200, 3)
    assert a.shape == (200, 3) and a.dtype == np.float32 and np.abs(a).max() <= 1.0
    lag1 = np.mean([np.corrcoef(a[:-1, i], a[1:, i])[0, 1] for i in range(3)])
    assert lag1 > 0.5  # smooth: each action mostly repeats the last


def test_episodes_are_the_same_with_one_or_two_workers_and_heading_for_the_target_gets_closer():
    one = collect_panda("reach", 8, 6, seed=3, toward=0.5, workers=1, progress=False)
    two = collect_panda("reach", 8, 6, seed=3, toward=0.5, workers=2, progress=False)
    assert one.frames.shape == (8, 7, 64, 64, 3) and one.actions.shape == (8, 6, 3) and one.states.shape == (8, 7, 3)
    for a, b in [(one.frames, two.frames), (one.states, two.states), (one.actions, two.actions)]:
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(one.states * 0.05, one.sim_states[:, :, :3], atol=1e-5)  # reach: ee = achieved
    gap = np.linalg.norm(one.sim_states[:, :, :3] - one.sim_states[:, :, 3:], axis=-1)  # [E, T + 1]
    heads = np.random.default_rng(3).uniform(size=8) < 0.5
    assert heads.any() and (~heads).any()
    assert (gap[heads, -1] < gap[heads, 0]).all()  # the episodes that head for the target get there


def test_the_cache_returns_what_was_collected(tmp_path):
    first = cached_panda("push", 2, 3, seed=1, cache=tmp_path, progress=False)
    assert len(list(tmp_path.glob("*.npz"))) == 1
    again = cached_panda("push", 2, 3, seed=1, cache=tmp_path, progress=False)
    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.actions, again.actions)
    clips = panda_clips("push", 2, 4, 32, seed=1, cache=tmp_path, progress=False)  # the same episodes, as video
    assert clips.shape == (2, 3, 4, 32, 32) and clips.dtype == torch.uint8
    assert len(list(tmp_path.glob("*.npz"))) == 1


def test_bad_settings_fail_clearly():
    with pytest.raises(ValueError, match="task: expected one of"):
        collect_panda("stack", 1, 1)
    with pytest.raises(ValueError, match="toward in"):
        collect_panda("reach", 1, 1, toward=2.0)
