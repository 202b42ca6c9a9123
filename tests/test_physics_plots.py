"""Tests for jepa_lab.viz.physics (headless: matplotlib Agg, no model)."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from jepa_lab.data.balls import videos_to_float  # noqa: E402
from jepa_lab.viz.physics import (BREAK_COLOUR, SurpriseExplorer, accuracy_figure, filmstrip_figure,  # noqa: E402
                                  surprise_figure)
from jepa_lab.data.violations import make_violations  # noqa: E402


pytestmark = pytest.mark.usefixtures("no_pyplot_leaks")  # conftest.py


@pytest.fixture(scope="module")
def one_set():
    videos, factors = make_violations(4, seed=0, progress=False)
    return videos_to_float(videos), int(factors["break_frame"][0])  # [4, 3, 16, 32, 32]


def outlined(ax) -> bool:
    return any(p.get_edgecolor()[:3] == matplotlib.colors.to_rgb(BREAK_COLOUR) for p in ax.patches)


def test_filmstrip_figure(one_set):
    clips, b = one_set
    frames = [0, b - 1, b, 15]
    fig = filmstrip_figure(dict(zip(["P1", "I1", "P2", "I2"], clips)), frames, b, title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 16
    assert [outlined(ax) for ax in fig.axes[:4]] == [False, False, True, True]  # from the break on
    assert fig.axes[2].get_title() == f"frame {b} (break)" and fig.axes[4].get_title() == ""  # titles: first row
    assert fig.axes[0].get_ylabel() == "P1" and fig.axes[4].get_ylabel() == "I1"
    uint8 = filmstrip_figure({"a": (clips[0] * 255).to(torch.uint8)}, [0, 1])  # uint8 clips are fine too
    assert len(uint8.axes) == 2 and not any(outlined(ax) for ax in uint8.axes)
    with pytest.raises(ValueError, match="frames"):
        filmstrip_figure({"a": clips[0]}, [16])
    with pytest.raises(ValueError, match="empty"):
        filmstrip_figure({})
    with pytest.raises(ValueError, match="channels first"):
        filmstrip_figure({"a": clips[0].permute(1, 2, 3, 0)})


def test_surprise_figure(one_set):
    clips, b = one_set
    x = np.arange(7, 16)
    curves = {"possible": np.linspace(0.1, 0.2, 9), "impossible": np.linspace(0.1, 0.3, 9)}
    fig = surprise_figure({"P1": clips[0], "I1": clips[1]}, curves, x, b, frames=[0, b, 15], mark=9)
    assert len(fig.axes) == 7  # 2 rows x 3 frames + the curves
    ax = fig.axes[-1]
    assert len(ax.lines) == 4  # two curves, the break, the mark
    np.testing.assert_allclose(ax.lines[1].get_ydata(), curves["impossible"])
    np.testing.assert_allclose(ax.lines[2].get_xdata(), [b - 0.5, b - 0.5])
    assert ax.get_xlim()[0] <= 0 - 0.5 and ax.get_xlim()[1] >= 15
    with pytest.raises(ValueError, match="windows"):
        surprise_figure({"P1": clips[0]}, {"p": [0.1, 0.2]}, x)


def test_surprise_explorer(one_set):
    clips, b = one_set
    x = np.arange(7, 16)
    ex = SurpriseExplorer({"P1": clips[0], "I1": clips[1]}, {"p": np.ones(9), "i": np.arange(9.0)}, x, b)
    assert ex.slider.max == 15 and ex.image.value[:4] == b"\x89PNG"
    first = ex.image.value
    ex.slider.value = b
    assert ex.image.value != first
    assert len(ex.figure().axes) == 3  # one frame per clip + the curves
    assert "application/vnd.jupyter.widget-view+json" in ex._repr_mimebundle_()


def test_accuracy_figure():
    table = {"trained": {"a": 0.75, "b": 0.5}, "pixel": {"a": 1.0, "b": 0.25}}
    fig = accuracy_figure(table, title="t")
    ax = fig.axes[0]
    assert [p.get_height() for p in ax.patches] == [0.75, 0.5, 1.0, 0.25]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert ax.lines[0].get_ydata()[0] == 0.5  # chance
    with pytest.raises(ValueError, match="empty"):
        accuracy_figure({})
