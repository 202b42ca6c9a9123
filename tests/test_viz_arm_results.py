"""Tests for jepa_lab.viz.arm_results (notebook 07 beyond Reach): the sub-goal schedule and figures, the zero-shot
scenes' first frames, and the benchmark JSON read into tables and a figure (a made-up JSON: only its layout
matters here, not its numbers)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from jepa_lab.planning.mpc import Episode  # noqa: E402
from jepa_lab.viz.arm_results import (NOT_MEASURED, aimed_goals_figure, benchmark_table,  # noqa: E402
                                      encoder_and_data_figure, plan_step_times, scene_frames, subgoal_schedule,
                                      subgoal_starts, subgoal_strips_figure, success_interval)

pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")
STORED = {  # made-up values in the layout of benchmarks/robot.py --json
    "episodes": 50, "panda_reach_success_cem": 1.0, "panda_reach_success_random_encoder": 0.9,
    "panda_push_success_cem": 0.4, "panda_push_success_random_encoder": None,
    "panda_reach_success_episodes_50": 0.5, "panda_reach_success_episodes_150": None,
    "panda_reach_success_episodes_600": 1.0, "panda_ms_per_plan_step": 150.0, "panda_ms_per_plan_step_pixel": 600.0,
    "rows": {"panda_reach_success_cem": {"success": 1.0, "steps": 4.25, "final_distance": 0.036,
                                         "ms_per_step": 150.0, "seconds": 30.0}}}


def frame(value: int, size: int = 8) -> np.ndarray:
    return np.full((size, size, 3), value, np.uint8)


def test_the_schedule_starts_and_reads_as_text():
    assert subgoal_starts("push") == [0, 6, 11] and subgoal_starts("panda_pick_and_place") == [0, 6, 10, 13]
    assert subgoal_starts("reach") == [0]
    assert subgoal_schedule("push") == ("sub-goal 1: steps 1-6, sub-goal 2: steps 7-11, "
                                        "sub-goal 3 (the goal): from step 12 on")
    assert subgoal_schedule("reach") == "sub-goal 1 (the goal): from step 1 on"
    with pytest.raises(ValueError, match="push"):
        subgoal_starts("fly")


def test_subgoal_strips_put_one_episode_per_row():
    fig = subgoal_strips_figure({"push": (frame(0), [frame(1)] * 3), "pick": (frame(0), [frame(2)] * 4)})
    assert len(fig.axes) == 10 and [ax.get_title() for ax in fig.axes[:5]] == [
        "first observation", "sub-goal 1", "sub-goal 2", "sub-goal 3", "sub-goal 4"]
    assert len(fig.axes[4].images) == 0 and len(fig.axes[9].images) == 1  # push has one sub-goal fewer
    with pytest.raises(ValueError, match="strips is empty"):
        subgoal_strips_figure({})


def episode(T: int) -> Episode:
    return Episode(observations=np.stack([frame(t) for t in range(T + 1)]), states=np.zeros((T + 1, 3)),
                   actions=np.zeros((T, 3), np.float32), rewards=np.zeros(T), distances=np.linspace(0.2, 0.0, T + 1),
                   policy_ms=np.ones(T), success=True, steps=T, ms_per_step=1.0)


def test_aimed_goals_show_each_step_above_the_subgoal_it_aimed_at():
    goals = [frame(100), frame(150), frame(200)]
    fig = aimed_goals_figure(episode(4), [0, 0, 1, 2], goals)
    assert len(fig.axes) == 10  # 5 frames (the start and 4 steps) in 2 rows
    assert [ax.get_title() for ax in fig.axes[:5]] == ["t=0 (g1)\n20 cm", "t=1 (g1)\n15 cm", "t=2 (g2)\n10 cm",
                                                        "t=3 (g3)\n5 cm", "t=4\n0 cm"]
    assert fig.axes[7].images[0].get_array()[0, 0, 0] == 150 and len(fig.axes[9].images) == 0
    fig = aimed_goals_figure(episode(30), [0] * 30, goals, max_columns=6)  # every 7th step and the last
    assert [ax.get_title().split()[0] for ax in fig.axes[:6]] == ["t=0", "t=7", "t=14", "t=21", "t=28", "t=30"]
    with pytest.raises(ValueError, match="one sub-goal per step"):
        aimed_goals_figure(episode(4), [0, 0], goals)


def test_scene_frames_change_the_look_of_the_same_episode():
    frames = scene_frames("reach", seed=10_000, scenes=("table", "camera"), img_size=32)
    assert list(frames) == ["unchanged", "table", "camera"] and frames["table"].shape == (32, 32, 3)
    assert not np.array_equal(frames["table"], frames["unchanged"])
    assert not np.array_equal(frames["camera"], frames["unchanged"])
    with pytest.raises(ValueError, match="table"):
        scene_frames("reach", scenes=("weather",))


def test_success_intervals_are_wilsons():
    lo, hi = success_interval(50, 50)
    assert hi == 1.0 and np.isclose(lo, 0.9287, atol=1e-4)  # 50/50: the failure rate is below about 7%
    lo, hi = success_interval(0, 10)
    assert lo == 0.0 and np.isclose(hi, 0.2775, atol=1e-4)
    lo, hi = success_interval(3, 10)
    assert np.allclose(success_interval(7, 10), (1 - hi, 1 - lo)) and lo < 0.3 < hi
    with pytest.raises(ValueError, match="successes"):
        success_interval(5, 4)


def test_benchmark_table_reads_rows_with_sample_sizes():
    assert benchmark_table(None, {"cem": "panda_reach_success_cem"}) == NOT_MEASURED
    assert "python benchmarks/robot.py --json benchmarks/results/robot.json" in NOT_MEASURED
    text = benchmark_table(STORED, {"cem": "panda_reach_success_cem", "push random encoder":
                                    "panda_push_success_random_encoder", "push cem": "panda_push_success_cem",
                                    "pixel": "panda_reach_success_pixel"})
    lines = [line.split() for line in text.splitlines()]
    assert lines[0] == ["row", "success", "95%", "interval", "steps", "final", "cm", "ms/step"]
    assert lines[1] == ["cem", "50/50", "(100%)", "93%-100%", "4.2", "3.6", "150.0"]  # the full row
    assert lines[2] == ["push", "random", "encoder", "not", "run"]  # null: its model was missing
    assert lines[3] == ["push", "cem", "20/50", "(40%)", "28%-54%"]  # only the success key
    assert lines[4] == ["pixel", "not", "in", "the", "JSON"]


def test_encoder_and_data_figure_draws_what_ran_and_marks_what_did_not():
    fig = encoder_and_data_figure(STORED)
    ax, ax_d = fig.axes
    heights = sorted(round(p.get_height()) for p in ax.patches)
    assert heights == [40, 90, 100]  # Reach pretrained and random-init, Push pretrained
    assert [t.get_text() for t in ax.texts] == ["not run"]  # Push's random-init encoder
    line = ax_d.lines[0]
    assert line.get_xdata().tolist() == [50, 600] and line.get_ydata().tolist() == [50.0, 100.0]
    assert "not run: 150" in ax_d.get_title()


def test_plan_step_times_compare_latent_and_pixel():
    assert plan_step_times(None) == NOT_MEASURED
    assert plan_step_times(STORED) == ("per planning step on Reach: latent CEM 150 ms, pixel CEM 600 ms "
                                       "(pixel / latent = 4.0x)")
    assert "did not run" in plan_step_times({**STORED, "panda_ms_per_plan_step_pixel": None})
