"""Tests for jepa_lab.viz.fullscale (headless: matplotlib Agg; reports made by hand, no model built)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from jepa_lab.viz.fullscale import first_move_landscape, landscape_figure, move_grid, scale_figure  # noqa: E402
from jepa_lab.fullscale.sizing import CostReport  # noqa: E402

TARGET = torch.tensor([0.02, -0.03])


def report(name, params, flops):
    return CostReport(name, params, 4 * params, flops, 0, 0, 1)


def bowl(actions: torch.Tensor) -> torch.Tensor:
    """Energy of plans [S, H, 4]: squared distance of the summed (dx, dy) to TARGET, plus |dz| and |grip|."""
    return ((actions[..., :2].sum(dim=1) - TARGET) ** 2).sum(-1) + actions[..., 2:].abs().sum(dim=(1, 2))


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


def test_scale_figure_is_log_log_with_every_point_labelled():
    groups = {"video": [report("tiny", 5e5, 1e8), report("ViT-g", 1e9, 5e12)], "AC": [report("AC", 3e8, 1.6e11)]}
    fig = scale_figure(groups)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert {t.get_text() for t in ax.texts} >= {"tiny", "ViT-g", "AC"}
    assert [line.get_label() for line in ax.get_lines()] == ["video", "AC"]


@pytest.mark.parametrize("groups", [{}, {"a": []}, {"a": [report("zero", 0, 10)]}])
def test_scale_figure_rejects_empty_or_non_positive(groups):
    with pytest.raises(ValueError):
        scale_figure(groups)


def test_move_grid_covers_the_box():
    g = move_grid(5, 0.05)
    assert g.shape == (5, 5, 2)
    np.testing.assert_allclose(g[0, 0], [-0.05, -0.05])
    np.testing.assert_allclose(g[-1, 0], [-0.05, 0.05])  # rows are dy
    np.testing.assert_allclose(g[2, 2], [0.0, 0.0], atol=1e-12)
    with pytest.raises(ValueError):
        move_grid(1, 0.05)
    with pytest.raises(ValueError):
        move_grid(5, 0.0)


@pytest.mark.parametrize("horizon", [1, 2])
def test_landscape_finds_the_best_first_move_in_one_call(horizon):
    calls = []

    def energy(actions):
        calls.append(actions.shape)
        assert (actions[:, 0, 2:] == 0).all() and (actions[:, 1:] == 0).all()  # only dx, dy of the first move
        return bowl(actions)

    grid, e = first_move_landscape(energy, 11, 0.05, horizon=horizon)
    assert calls == [(121, horizon, 4)] and e.shape == (11, 11) and e.dtype == np.float64
    best = grid.reshape(-1, 2)[np.argmin(e)]
    np.testing.assert_allclose(best, [0.02, -0.03], atol=1e-6)


def test_landscape_checks_the_energy_shape_and_horizon():
    with pytest.raises(ValueError, match=r"expected energies \[9\]"):
        first_move_landscape(lambda a: torch.zeros(3), 3, 0.05)
    with pytest.raises(ValueError, match="horizon"):
        first_move_landscape(bowl, 3, 0.05, horizon=0)


def test_landscape_figure_marks_the_minimum():
    grid, e = first_move_landscape(bowl, 9, 0.05)
    fig = landscape_figure(grid, e, title="bowl")
    ax = fig.axes[0]
    assert ax.get_title() == "bowl" and ax.get_xlabel() == "dx (cm)"
    assert f"{np.min(e):.5g}" in fig.axes[1].get_ylabel()  # the colour bar names the lowest energy
    x, y = ax.collections[0].get_offsets()[0]
    np.testing.assert_allclose([x, y], 100 * grid.reshape(-1, 2)[np.argmin(e)])
    with pytest.raises(ValueError):
        landscape_figure(grid, e[:-1])
