"""Tests for jepa_lab.viz.planning (headless: matplotlib Agg, no browser, no world model)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from jepa_lab.planning.base import ActionBounds
from jepa_lab.planning.cem import CEM, CEMConfig  # noqa: E402
from jepa_lab.planning.mpc import Episode  # noqa: E402
from jepa_lab.planning.mppi import MPPI, MPPIConfig  # noqa: E402
from jepa_lab.viz.planning import (CEMIterationExplorer, EpisodeReplay, arena_map_figure,  # noqa: E402
                                   cem_energies_figure, cem_iterations_figure, energy_heatmap_figure,
                                   energy_landscape, episode_figure, first_action_energy, grid_argmin, plan_paths,
                                   success_table_figure)

TARGET = torch.tensor([3.0, -2.0])
BOUNDS = ActionBounds(max_norm=6.0)


def quadratic(actions: torch.Tensor) -> torch.Tensor:
    """Energy of sequences [S, H, 2]: squared distance of the summed displacement to TARGET."""
    return ((actions.sum(dim=1) - TARGET) ** 2).sum(-1)


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


@pytest.fixture(scope="module")
def history():
    planner = CEM(CEMConfig(samples=16, elites=4, iterations=3), BOUNDS, 2, 3)
    return planner.plan(quadratic, generator=torch.Generator().manual_seed(0), record=True).history


@pytest.fixture(scope="module")
def episode():
    T = 4
    states = np.cumsum(np.full((T + 1, 2), 2.0), axis=0) + 10
    obs = np.zeros((T + 1, 64, 64, 3), np.uint8)
    obs[np.arange(T + 1), 10 + 2 * np.arange(T + 1), 10 + 2 * np.arange(T + 1)] = 255
    return Episode(observations=obs, states=states, actions=np.full((T, 2), 2.0, np.float32), rewards=np.zeros(T),
                   distances=np.linspace(20, 4, T + 1), policy_ms=np.ones(T), success=True, steps=T, ms_per_step=1.0)


def test_plan_paths_start_then_cumulative_sums():
    paths = plan_paths([1.0, 2.0], torch.ones(5, 3, 2))
    assert paths.shape == (5, 4, 2)
    np.testing.assert_allclose(paths[0], [[1, 2], [2, 3], [3, 4], [4, 5]])


def test_energy_landscape_disk_and_argmin():
    grid, energies = energy_landscape(first_action_energy(quadratic), 6.0, n=21)
    assert grid.shape == (21, 21, 2) and energies.shape == (21, 21)
    inside = np.linalg.norm(grid, axis=-1) <= 6.0
    assert np.isnan(energies[~inside]).all() and np.isfinite(energies[inside]).all()
    np.testing.assert_allclose(grid_argmin(grid, energies), TARGET.numpy(), atol=0.6)
    # with a fixed rest after the first action, the best first action moves by minus the rest's sum
    rest = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    grid, energies = energy_landscape(first_action_energy(quadratic, rest), 6.0, n=21)
    np.testing.assert_allclose(grid_argmin(grid, energies), [1.0, -2.0], atol=0.6)
    with pytest.raises(ValueError, match="n an int >= 3"):
        energy_landscape(first_action_energy(quadratic), 6.0, n=2)


def test_energy_heatmap_one_or_two_panels():
    grid, energies = energy_landscape(first_action_energy(quadratic), 6.0, n=11)
    fig = energy_heatmap_figure(grid, energies, true_best=[3, -2])
    assert isinstance(fig, Figure) and len(fig.axes) == 2  # heatmap + colorbar
    fig = energy_heatmap_figure(grid, energies, true_best=[3, -2], true_values=energies * 2)
    assert len(fig.axes) == 4
    assert len(fig.axes[0].images) == 1 and len(fig.axes[0].collections) == 2  # model argmin + true best
    with pytest.raises(ValueError, match="shape"):
        energy_heatmap_figure(grid, energies, true_values=energies[:3])


def test_arena_map_figure():
    xs = ys = np.linspace(4, 60, 8)
    values = np.random.default_rng(0).random((8, 8))
    values[:, 4] = np.nan
    fig = arena_map_figure(np.zeros((64, 64, 3), np.uint8), xs, ys, values, start=[10, 10], goal=[50, 50])
    assert len(fig.axes) == 2 and len(fig.axes[0].images) == 2
    with pytest.raises(ValueError, match="rows = ys"):
        arena_map_figure(np.zeros((64, 64, 3), np.uint8), xs, ys, values.T[:3])


def test_cem_iterations_figure(history):
    fig = cem_iterations_figure(history, 1, [20.0, 20.0], obs=np.zeros((64, 64, 3), np.uint8), goal_xy=[23, 18])
    ax, ax_e = fig.axes
    lines = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert [len(c.get_segments()) for c in lines] == [12, 4]  # 16 samples: 12 others, 4 elites
    assert len(ax.lines) == 1 and len(ax.images) == 1  # the mean path over the observation
    assert len(ax_e.collections) == 3 and len(ax_e.lines) == 3  # dots per iteration, mean, best, marker
    mppi = MPPI(MPPIConfig(samples=10, iterations=2), BOUNDS, 2, 2).plan(quadratic, record=True).history
    assert len(cem_iterations_figure(mppi, 0, [20.0, 20.0]).axes) == 2


def test_cem_energies_figure_alone(history):
    ax = cem_energies_figure(history, title="first step").axes[0]
    assert len(ax.collections) == 3 and len(ax.lines) == 2  # dots per iteration, mean, best; nothing marked
    assert list(ax.lines[1].get_ydata()) == [h.best_energy for h in history] and ax.get_title() == "first step"
    with pytest.raises(ValueError, match="history is empty"):
        cem_energies_figure([])


def test_cem_iterations_bad_inputs(history):
    with pytest.raises(ValueError, match="history is empty"):
        cem_iterations_figure([], 0, [0, 0])
    with pytest.raises(ValueError, match=r"\[0, 2\]"):
        cem_iterations_figure(history, 3, [0, 0])
    with pytest.raises(ValueError, match="history is empty"):
        CEMIterationExplorer([], None, [0, 0])


def test_cem_explorer_updates_on_slider(history):
    ex = CEMIterationExplorer(history, np.zeros((64, 64, 3), np.uint8), [20.0, 20.0])
    first = ex.image.value
    assert ex.current == 0 and first[:4] == b"\x89PNG" and ex.slider.max == 2
    ex.slider.value = 2
    assert ex.current == 2 and ex.image.value != first
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_episode_figure(episode):
    plan = np.ones((3, 2))
    fig = episode_figure(episode, 2, planned=plan, goal_xy=[20, 20])
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 2
    np.testing.assert_allclose(fig.axes[0].lines[1].get_xydata()[-1], episode.states[2] + 3)
    assert len(episode_figure(episode, 4, energies=np.linspace(1, 0, 4)).axes) == 3  # + energy twin axis
    with pytest.raises(ValueError, match=r"step must be an int in \[0, 4\]"):
        episode_figure(episode, 5)


def test_episode_replay_updates_on_slider(episode):
    plans = [np.ones((3, 2))] * episode.steps
    replay = EpisodeReplay(episode, plans, energies=np.linspace(1, 0, 4))
    first = replay.image.value
    assert replay.slider.max == episode.steps
    replay.slider.value = episode.steps  # the last frame has no plan
    assert replay.current == episode.steps and replay.image.value != first
    with pytest.raises(ValueError, match="one per step"):
        EpisodeReplay(episode, plans[:2])


def test_success_table_figure():
    rows = {"cem": {"success": 0.5, "ms_per_step": 200.0}, "random": {"success": 0.0, "ms_per_step": 0.01},
            "pixel": {"success": 0.25, "ms_per_step": 900.0}}
    fig = success_table_figure(rows, speed=("cem", "pixel"))
    ax, ax_t = fig.axes
    assert len(ax.patches) == 3 and len(ax_t.patches) == 2
    assert len(success_table_figure(rows).axes[1].patches) == 3
    with pytest.raises(ValueError, match="rows is empty"):
        success_table_figure({})
