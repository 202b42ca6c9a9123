"""JupyterLab in a real browser: a local server with a one-off token, headless Chromium driven by Playwright.

The suite needs Debian's ``chromium`` (or any Chromium: ``JEPA_LAB_CHROMIUM=/path/to/chrome``) and the
``playwright`` Python package (installed with the kit's ``dev`` extra; Playwright's own browser download is
not used). Without them the browser tests are skipped with a message saying what is missing - except on CI
(``CI`` set, or ``JEPA_LAB_BROWSER_TESTS=required`` as ``.ci/run`` sets it), where a missing browser fails.

``JEPA_LAB_SCREENSHOTS=DIR`` also writes the widget screenshots the README shows into DIR.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


def _chromium() -> str | None:
    return os.environ.get("JEPA_LAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


def _missing(reason: str):
    if os.environ.get("CI") or os.environ.get("JEPA_LAB_BROWSER_TESTS") == "required":
        pytest.fail(f"the browser tests must run on CI, but {reason}", pytrace=False)
    pytest.skip(f"browser tests skipped: {reason} (install Debian's chromium package and `pip install playwright`, "
                "or point JEPA_LAB_CHROMIUM at a Chromium)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab on a copy of notebooks/ (so autosave never touches the repository)."""

    def __init__(self, workdir: Path, log: Path):
        self.port, self.token = _free_port(), secrets.token_hex(16)
        self.base = f"http://127.0.0.1:{self.port}"
        settings = workdir / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps({"fetchNews": "false"}))
        shutil.copytree(ROOT / "notebooks", workdir / "notebooks", ignore=shutil.ignore_patterns("screenshots"))
        env = {**os.environ, "JEPA_LAB_FAST": os.environ.get("JEPA_LAB_FAST", "1"),
               "JUPYTERLAB_SETTINGS_DIR": str(workdir / "settings"), "JUPYTER_CONFIG_DIR": str(workdir / "config")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={self.port}", f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={workdir}",
             "--LabApp.expose_app_in_browser=True"],
            stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
        self._wait_until_up(log)

    def _wait_until_up(self, log: Path, timeout: float = 90) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}:\n{log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"{self.base}/api/status?token={self.token}", timeout=2)
                return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError(f"JupyterLab did not answer on {self.base} within {timeout} s:\n{log.read_text()[-2000:]}")

    def url(self, notebook: str) -> str:
        """The notebook alone in a fresh workspace of its own (JupyterLab would otherwise restore the tabs of
        the previous page, and the shell's current widget might be another notebook)."""
        workspace = Path(notebook).stem
        return f"{self.base}/lab/workspaces/{workspace}/tree/notebooks/{notebook}?reset&token={self.token}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def browser():
    chromium = _chromium()
    if chromium is None:
        _missing("no Chromium was found")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def lab(browser, tmp_path_factory):
    work = tmp_path_factory.mktemp("lab")
    server = Lab(work, work / "jupyterlab.log")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> list[Path]:
    """Folders a widget screenshot goes to: always a temporary one, plus JEPA_LAB_SCREENSHOTS when set."""
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("JEPA_LAB_SCREENSHOTS"):
        folders.append(Path(os.environ["JEPA_LAB_SCREENSHOTS"]).resolve())
        folders[-1].mkdir(parents=True, exist_ok=True)
    return folders
