"""The committed notebooks show their figures and results to a reader without a kernel, and stay small.

Outputs are stored by ``.ci/store_notebook_outputs.py`` (a fast-mode run, the student's view). These checks read
the files as committed: a size budget per notebook, at least one figure in every notebook that draws one, no
figure left as its bare text ("<Figure size ...>"), no stored error, no widget state.
"""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".ci"))
from store_notebook_outputs import BUDGET_BYTES, clean_output, clean_text  # noqa: E402

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
DRAWS = ("plots.", "_figure(", "figure(", "plt.")  # a code cell that calls one of these draws a figure


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def drawing_cells(path: Path) -> list[dict]:
    return [c for c in cells(path) if c["cell_type"] == "code" and any(d in "".join(c["source"]) for d in DRAWS)]


def outputs(path: Path):
    for cell in cells(path):
        for out in cell.get("outputs", []):
            yield "".join(cell["source"]), out


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 11


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_under_the_size_budget(path):
    size = path.stat().st_size
    assert size <= BUDGET_BYTES, f"{path.name}: {size:,} bytes, budget {BUDGET_BYTES:,}"


DRAWING = [p for p in NOTEBOOKS if drawing_cells(p)]


def test_every_lesson_draws():
    assert len(DRAWING) >= 10, [p.name for p in DRAWING]


@pytest.mark.parametrize("path", DRAWING, ids=lambda p: p.name)
def test_a_notebook_that_draws_shows_its_figures(path):
    drawing = drawing_cells(path)
    images = [out for _, out in outputs(path) if "image/png" in out.get("data", {})]
    assert images, f"{path.name}: {len(drawing)} cells draw figures, but no PNG is stored (run .ci/store_notebook_outputs.py)"
    for source, out in outputs(path):
        data = out.get("data", {})
        text = "".join(data.get("text/plain", ""))
        assert not (text.startswith("<Figure size") and "image/png" not in data), f"{path.name}: {source[:60]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_error_or_widget_state_is_stored(path):
    assert "widgets" not in json.loads(path.read_text())["metadata"]
    for source, out in outputs(path):
        assert out["output_type"] != "error", f"{path.name}: stored error in {source[:60]!r}"
        assert "application/vnd.jupyter.widget-view+json" not in out.get("data", {})


def test_the_slimming_keeps_what_a_reader_sees():
    assert clean_text("epoch 1\repoch 2\rdone\nnext") == "done\nnext"
    widget = {"output_type": "display_data", "metadata": {},
              "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "IntSlider()"}}
    assert clean_output(widget)["data"] == {"text/plain": "IntSlider()"}
    only_widget = {"output_type": "display_data", "metadata": {},
                   "data": {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}}}
    assert clean_output(only_widget) is None
    assert clean_output({"output_type": "stream", "name": "stderr", "text": "\r  \r"}) is None
