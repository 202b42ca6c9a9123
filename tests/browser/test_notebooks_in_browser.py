"""Every notebook run in JupyterLab in headless Chromium (JEPA_LAB_FAST=1), as a student would open it:
all cells run without an error, and every widget the kernel displays is drawn (no "Error displaying widget",
a visible view). Then the main widgets are used: a control is changed and what is drawn must change with it -
the mask image, the embedding map's hover image and colours, the CEM iteration view, the episode replay, the
arm's camera image when a drive button is pressed, and the goal picker's goal and episode frames.
Screenshots of those widgets are written on the way (JEPA_LAB_SCREENSHOTS=DIR keeps them)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jlab import NOTEBOOK_TIMEOUT_S, NotebookPage

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
KEEP_OPEN = {"01_masking.ipynb", "02_ijepa.ipynb", "06_cem_planning.ipynb", "07_robot_arm.ipynb"}  # used again by the interaction tests


@pytest.fixture(scope="module")
def notebooks(browser, lab):
    """name -> NotebookPage after running all its cells (each notebook is run once per session)."""
    pages: dict[str, NotebookPage] = {}

    def run(name: str) -> NotebookPage:
        if name not in pages:
            nb = NotebookPage(browser, lab, name)
            nb.run_all(timeout_s=NOTEBOOK_TIMEOUT_S)
            pages[name] = nb
        return pages[name]

    yield run
    for nb in pages.values():
        nb.close()


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_in_jupyterlab_and_draws_its_widgets(name, notebooks):
    nb = notebooks(name)
    assert nb.errors() == [], f"{name}: cells raised errors in JupyterLab"
    expected = nb.widget_outputs_in_model()
    rendered = nb.rendered_widgets()
    assert len(rendered) == expected, f"{name}: {expected} widget outputs, {len(rendered)} drawn"
    for i, w in enumerate(rendered):
        assert not w["error"], f"{name}: widget {i} shows 'Error displaying widget'"
        assert w["view"] and w["width"] > 50 and w["height"] > 20, f"{name}: widget {i} has no visible view: {w}"
    if name not in KEEP_OPEN:  # free the kernel's memory
        nb.close()


def test_mask_explorer_redraws_when_a_slider_moves(notebooks, screenshots):
    nb = notebooks("01_masking.ipynb")
    area = nb.explorer("num_targets (M)")
    nb.screenshot(area, screenshots, "mask_explorer.png")
    before = nb.image_digest(area)
    nb.set_slider(area, "seed", 7)
    after_seed = nb.wait_for_new_image(area, before)
    assert after_seed != before, "changing the seed slider did not redraw the mask"
    status = area.inner_text()
    nb.set_slider(area, "num_targets (M)", 1)
    assert nb.wait_for_new_image(area, after_seed) != after_seed, "changing num_targets did not redraw the mask"
    assert area.inner_text() != status  # the status line describes the new masks


def test_embedding_explorer_shows_the_hovered_image_and_recolours(notebooks, screenshots):
    nb = notebooks("02_ijepa.ipynb")
    area = nb.explorer("colour by")
    plot = area.locator(".js-plotly-plot").first
    plot.wait_for(state="visible")
    before_image, before_data = nb.image_digest(area), nb.plot_data(area)
    points = area.locator(".scatterlayer .trace").first.locator("path.point")
    assert points.count() > 10
    for k in range(1, min(points.count(), 40), 7):  # hover a few points until one differs from the shown image
        points.nth(k).hover(force=True)
        shown = nb.wait_for_new_image(area, before_image, timeout_s=5)
        if shown != before_image:
            break
    assert shown != before_image, "hovering points did not change the image beside the map"
    ring = nb.plot_data(area)[1]
    assert ring["x"] and ring["x"] != before_data[1]["x"], "the selection ring did not move to the hovered point"
    options = area.locator("select").first.locator("option").all_inner_texts()
    assert len(options) >= 2
    nb.select(area, "colour by", options[1])
    area.page.wait_for_function(
        "([el, old]) => JSON.stringify(Array.from(el.data[0].marker.color)) !== old",
        arg=[plot.element_handle(), json.dumps(before_data[0]["color"])], timeout=30_000)
    nb.screenshot(area, screenshots, "embedding_explorer.png")


@pytest.mark.parametrize("description, filename", [("iteration", "cem_iterations.png"),
                                                   ("step", "episode_replay.png")])
def test_planning_viewers_step_through_iterations_and_episodes(description, filename, notebooks, screenshots):
    nb = notebooks("06_cem_planning.ipynb")
    area = nb.explorer(description)
    before = nb.image_digest(area)
    nb.set_slider(area, description, 2)
    assert nb.wait_for_new_image(area, before) != before, f"moving the {description!r} slider did not redraw"
    nb.screenshot(area, screenshots, filename)


def test_arm_driver_moves_the_arm_when_a_button_is_pressed(notebooks, screenshots):
    nb = notebooks("07_robot_arm.ipynb")
    area = nb.explorer("step")
    before, status = nb.image_digest(area), area.inner_text()
    nb.press(area, "+x")
    assert nb.wait_for_new_image(area, before) != before, "pressing +x did not redraw the camera image"
    area.page.wait_for_function("([el, old]) => el.innerText !== old", arg=[area.element_handle(), status],
                                timeout=30_000)  # the status line reports the new position
    nb.screenshot(area, screenshots, "arm_driver.png")


def test_goal_picker_shows_the_chosen_goal_and_plans_toward_it(notebooks, screenshots):
    nb = notebooks("07_robot_arm.ipynb")
    area = nb.explorer("goal")  # images: 0 start, 1 goal, 2 the episode's frames
    goal, frames = nb.image_digest(area, 1), nb.image_digest(area, 2)
    select = area.locator("select").first
    current = select.evaluate("s => s.options[s.selectedIndex].text")
    other = [o for o in select.locator("option").all_inner_texts() if o != current][-1]  # the last: far away
    nb.select(area, "goal", other)
    assert nb.wait_for_new_image(area, goal, index=1) != goal, f"choosing {other!r} did not show its goal image"
    assert nb.wait_for_new_image(area, frames, index=2) != frames, "choosing a goal did not clear the last episode"
    chosen = nb.image_digest(area, 2)
    nb.press(area, "plan")
    assert nb.wait_for_new_image(area, chosen, index=2, timeout_s=120) != chosen, "plan did not show an episode"
    assert "ms per step" in area.inner_text()  # the status line describes the episode
    nb.screenshot(area, screenshots, "goal_picker.png")
