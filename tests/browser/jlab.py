"""Driving one notebook in JupyterLab from Playwright: open, run all cells, read errors and widgets, change
controls, and fingerprint what is drawn (image bytes, plotly figure data) to tell whether a change redrew it.

JupyterLab runs with ``expose_app_in_browser``, so ``window.jupyterapp`` gives the notebook model: commands
are executed through it and cells are read from it rather than from fragile CSS layouts.
"""

from __future__ import annotations

import re

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Longest a notebook may take to run all its cells. With JEPA_LAB_FAST=1 the slowest takes ~50 s on an idle
# 2-core machine; a loaded machine (another job on the cores) slows torch far more than 2x.
NOTEBOOK_TIMEOUT_S = 1200
CURRENT = "window.jupyterapp.shell.currentWidget"

# Resolves when the kernel is idle again and every code cell has an execution count - or one cell shows an
# error (run-all stops there; the test then reports the error instead of waiting for a timeout).
ALL_RUN = f"""() => {{
  const panel = {CURRENT};
  if (!panel || !panel.content || !panel.sessionContext.session) return false;
  const kernel = panel.sessionContext.session.kernel;
  const cells = panel.content.widgets.filter(c => c.model.type === 'code');
  const done = cells.every(c => c.model.executionCount !== null && c.model.executionCount !== undefined);
  const failed = cells.some(c => Array.from({{length: c.model.outputs.length}},
                                            (_, i) => c.model.outputs.get(i).type).includes('error'));
  return (done || failed) && kernel && kernel.status === 'idle';
}}"""

# SHA-256 of the bytes behind an <img> (a blob: URL for ipywidgets.Image), hex.
IMAGE_DIGEST = """async img => {
  const buf = await (await fetch(img.src)).arrayBuffer();
  const hash = await crypto.subtle.digest('SHA-256', buf);
  return Array.from(new Uint8Array(hash)).map(b => b.toString(16).padStart(2, '0')).join('');
}"""


class NotebookPage:
    """One open notebook in its own browser page (and kernel)."""

    def __init__(self, browser, lab, name: str):
        self.name = name
        self.page = browser.new_page(viewport={"width": 1500, "height": 1100})
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        self.page.goto(lab.url(name))
        self.page.wait_for_function(f"""name => {{ try {{ return {CURRENT}.context.path.endsWith(name) &&
                                    {CURRENT}.sessionContext.session.kernel.status === 'idle'; }}
                                    catch (e) {{ return false; }} }}""", arg=name, timeout=120_000)

    def run_all(self, timeout_s: float) -> None:
        self.page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
        self.page.wait_for_function(ALL_RUN, timeout=timeout_s * 1000, polling=1000)

    def errors(self) -> list[str]:
        """Text of every error output (a traceback) the notebook shows."""
        return self.page.evaluate(f"""() => {CURRENT}.content.widgets.flatMap(c => c.model.type !== 'code' ? [] :
            Array.from({{length: c.model.outputs.length}}, (_, i) => c.model.outputs.get(i).toJSON())
                 .filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue))""")

    def widget_outputs_in_model(self) -> int:
        """How many widget views the kernel asked to display."""
        return self.page.evaluate(f"""() => {CURRENT}.content.widgets.reduce((n, c) => n + (c.model.type !== 'code'
            ? 0 : Array.from({{length: c.model.outputs.length}}, (_, i) => c.model.outputs.get(i).toJSON())
                 .filter(o => o.data && o.data['{WIDGET_MIME}']).length), 0)""")

    def widget_areas(self):
        """Locator of the output areas that hold widget views as rendered in the page (the widget renderer, unlike
        the others, sets no data-mime-type on its output area)."""
        return self.page.locator(".jp-OutputArea-output:not([data-mime-type])")

    def rendered_widgets(self) -> list[dict]:
        """For every widget output area: whether a widget view is inside, its size, and any error text."""
        areas = self.widget_areas()
        out = []
        for i in range(areas.count()):
            area = areas.nth(i)
            area.scroll_into_view_if_needed()
            box = area.bounding_box() or {"width": 0, "height": 0}
            out.append({"view": area.locator(".jupyter-widgets, .widget-box, .widget-inline-hbox").count() > 0,
                        "width": box["width"], "height": box["height"],
                        "error": "Error displaying widget" in area.inner_text()})
        return out

    def _label(self, description: str):
        return self.page.locator("label", has_text=re.compile(f"^{re.escape(description)}$"))

    def explorer(self, description: str):
        """The first widget output area with a control labelled exactly ``description`` (e.g. "seed")."""
        area = self.widget_areas().filter(has=self._label(description)).first
        area.scroll_into_view_if_needed()
        return area

    def set_slider(self, area, description: str, value) -> None:
        """Type ``value`` into the readout of the slider labelled ``description`` (like a student would)."""
        slider = area.locator(".widget-slider").filter(has=self._label(description)).first
        readout = slider.locator(".widget-readout")
        readout.click()
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(str(value))
        self.page.keyboard.press("Enter")

    def select(self, area, description: str, option: str) -> None:
        dropdown = area.locator(".widget-dropdown").filter(has=self._label(description))
        dropdown.locator("select").select_option(label=option)

    def press(self, area, description: str) -> None:
        """Click the button whose text is exactly ``description`` (e.g. "+x", "plan")."""
        area.locator("button", has_text=re.compile(f"^{re.escape(description)}$")).first.click()

    def image_digest(self, area, index: int = 0) -> str:
        img = area.locator("img").nth(index)
        img.wait_for(state="visible")
        return img.evaluate(IMAGE_DIGEST)

    def wait_for_new_image(self, area, before: str, index: int = 0, timeout_s: float = 30) -> str:
        """Wait until the image differs from the ``before`` digest (the kernel redrew it); returns the new one."""
        end = self.page.evaluate("Date.now()") + timeout_s * 1000
        while self.page.evaluate("Date.now()") < end:
            now = self.image_digest(area, index)
            if now != before:
                return now
            self.page.wait_for_timeout(250)
        return before

    def plot_data(self, area) -> list:
        """The data of the first plotly figure in ``area`` (as plotly.js holds it)."""
        return area.locator(".js-plotly-plot").first.evaluate(
            "gd => gd.data.map(t => ({x: Array.from(t.x || []), y: Array.from(t.y || []), "
            "color: t.marker && t.marker.color ? Array.from(t.marker.color) : null}))")

    def screenshot(self, area, folders, filename: str) -> None:
        for folder in folders:
            area.screenshot(path=str(folder / filename))

    def close(self) -> None:
        """Shut the kernel down and close the page (twice is harmless)."""
        if self.page.is_closed():
            return
        try:
            self.page.evaluate(f"() => {CURRENT}.sessionContext.shutdown()")
        finally:
            self.page.close()
