"""Tests for jepa_lab.viz.env_widgets: the driver is played through its methods and buttons, no browser."""
import ipywidgets as W
import numpy as np
import pytest

from jepa_lab.viz.env_widgets import DIRECTIONS, EnvDriver, env_driver
from jepa_lab.envs.two_rooms import TwoRooms


@pytest.fixture
def driver():
    return EnvDriver(TwoRooms(), seed=3, display_px=96)


def test_builds_and_shows(driver):
    assert isinstance(driver.widget, W.Box) and len(driver.buttons) == 8
    assert bytes(driver.image.value).startswith(b"\x89PNG") and bytes(driver.goal.value).startswith(b"\x89PNG")
    assert driver.step_length.max == driver.env.cfg.max_step
    assert driver.status().startswith("step 0/") and "success: no" in driver.status_line.value
    assert "application/vnd.jupyter.widget-view+json" in driver._repr_mimebundle_()


def test_press_moves_agent_and_updates_status(driver):
    driver.reset(0, options={"start": [12.0, 32.0], "goal": [50.0, 32.0], "door_y": 32.0})
    driver.step_length.value = 4.0
    before = driver.info["state"].copy()
    info = driver.press("right")
    assert np.allclose(info["state"] - before, [4.0, 0.0], atol=1e-5)
    driver.press("down")
    assert np.allclose(driver.info["state"] - before, [4.0, 4.0], atol=1e-5)
    assert driver.steps == 2 and len(driver.path) == 3
    assert driver.status().startswith("step 2/") and "agent (16.0, 36.0)" in driver.status()
    assert "agent (16.0, 36.0)" in driver.status_line.value


def test_button_click_and_act(driver):
    start = driver.info["state"].copy()
    png = bytes(driver.image.value)
    driver.buttons["up-left"].click()
    assert driver.steps == 1 and bytes(driver.image.value) != png
    assert np.linalg.norm(driver.info["state"] - start) <= driver.env.cfg.max_step + 1e-6
    driver.act([100.0, 0.0])  # clipped to max_step by the env
    assert driver.info["clipped"] and "action clipped" in driver.status()


def test_reset_reproduces(driver):
    first = (driver.obs.copy(), driver.info["goal"].copy())
    driver.press("left")
    driver.reset(7)
    assert driver.steps == 0 and driver.seed.value == 7
    driver.seed.value = 3
    driver.reset_button.click()
    assert np.array_equal(driver.obs, first[0]) and np.array_equal(driver.info["goal"], first[1])


def test_bad_direction_names_valid_ones(driver):
    with pytest.raises(ValueError, match="north") as err:
        driver.press("north")
    assert all(d in str(err.value) for d in DIRECTIONS)


def test_push_by_name():
    d = env_driver("push", seed=1, display_px=64)
    assert "object (" in d.status() and d.step_length.max == d.env.cfg.max_step
    with pytest.raises(ValueError, match="arena environment"):
        EnvDriver(object())
