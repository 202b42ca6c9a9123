"""Tests for jepa_lab.viz.limits (headless: matplotlib Agg, no world model)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from jepa_lab.viz.limits import conditions_figure, first_above, rollout_error_figure  # noqa: E402


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


def fake_error(h: int = 10) -> dict:
    steps = np.arange(1, h + 1)
    return {"horizon": steps, "rollout": 0.02 * steps, "teacher_forcing": np.full(h, 0.03),
            "copy_start": 0.05 + 0.01 * steps}


def test_first_above():
    assert first_above([1, 2, 3, 4], [2, 2, 2, 2]) == 3
    assert first_above([1, 1], [2, 2]) is None
    err = fake_error()
    assert first_above(err["rollout"], err["copy_start"]) == 6  # 0.12 > 0.11


def test_rollout_error_figure():
    fig = rollout_error_figure(fake_error(), trained_steps=7)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and len(ax.patches) == 1  # three curves, the untrained steps shaded
    assert len(ax.texts) == 1  # the crossing annotated
    plain = rollout_error_figure({**fake_error(), "rollout": np.zeros(10)})
    assert len(plain.axes[0].patches) == 0 and len(plain.axes[0].texts) == 0
    with pytest.raises(ValueError, match="copy_start"):
        rollout_error_figure({"horizon": np.arange(3), "rollout": np.zeros(3), "teacher_forcing": np.zeros(3)})


def test_conditions_figure():
    rows = {"same": {"success": 1.0, "final_distance": 2.0}, "moved": {"success": 0.5, "final_distance": 9.0}}
    fig = conditions_figure(rows, title="t")
    ax, ax_d = fig.axes
    assert [b.get_height() for b in ax.patches] == [1.0, 0.5]
    assert [b.get_height() for b in ax_d.patches] == [2.0, 9.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["same", "moved"]
    with pytest.raises(ValueError, match="empty"):
        conditions_figure({})
