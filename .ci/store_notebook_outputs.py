"""Run notebooks in fast mode and keep their outputs (figures as PNG, tables, printed results) in the files.

A reader on GitHub, nbviewer or a course platform then sees the figures and numbers without a kernel. The run is
the student's view: ``JEPA_LAB_FAST=1`` (fast mode, which the notebooks say where it matters) and no instructor
key, so graded exercises show "not attempted yet". What would bloat the files or mean nothing without a kernel is
dropped or shrunk: widget state (sliders, progress bars: their text stays), plotly's embedded JavaScript, timing
metadata, progress bars' carriage-return redraws (the last state of each line stays); large PNGs are re-encoded
with a 256-colour palette.

    .venv/bin/python .ci/store_notebook_outputs.py                      # every notebooks/*.ipynb
    .venv/bin/python .ci/store_notebook_outputs.py notebooks/06_cem_planning.ipynb
    .venv/bin/python .ci/store_notebook_outputs.py --out /tmp/nb notebooks/01_masking.ipynb   # elsewhere

tests/test_notebook_outputs.py holds every notebook to BUDGET_BYTES and to showing its figures.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
BUDGET_BYTES = 1_000_000
DROPPED_MIME = ("application/vnd.jupyter.widget-view+json", "application/vnd.plotly.v1+json")
MAX_HTML_CHARS = 50_000  # larger text/html outputs are embedded JavaScript (plotly), not a table
QUANTIZE_ABOVE = 60_000  # PNG bytes: larger figures (photos, frame strips) are stored with a 256-colour palette


def smaller_png(b64: str, colors: int = 256) -> str:
    """A large PNG figure re-encoded with a ``colors``-colour palette, when that is smaller (photos: ~4x)."""
    raw = base64.b64decode(b64)
    if len(raw) <= QUANTIZE_ABOVE:
        return b64
    image = Image.open(io.BytesIO(raw)).convert("RGB").quantize(colors=colors, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return base64.b64encode(buf.getvalue()).decode() if buf.tell() < len(raw) else b64


def clean_text(text: str) -> str:
    """Keep what a terminal would show: on each line, the text after its last carriage return."""
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def clean_output(out: dict, colors: int = 256) -> dict | None:
    """One output, slimmed; None when nothing readable is left."""
    if out.get("output_type") == "stream":
        out["text"] = clean_text(out["text"])
        return out if out["text"].strip() else None
    data = out.get("data")
    if data is None:
        return out
    for mime in DROPPED_MIME:
        data.pop(mime, None)
    if len(data.get("text/html", "")) > MAX_HTML_CHARS:
        data.pop("text/html")
    if "image/png" in data:
        data["image/png"] = smaller_png(data["image/png"], colors)
    out.get("metadata", {}).pop("application/vnd.jupyter.widget-view+json", None)
    return out if data else None


def slim(nb, colors: int = 256) -> None:
    """Drop widget state and timing metadata; clean every output in place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = [o for o in (clean_output(out, colors) for out in cell.outputs) if o is not None]


def store(path: Path, out_dir: Path | None, timeout: int) -> tuple[float, int]:
    """Execute one notebook in its own folder, slim it, write it atomically; return (seconds, bytes)."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=timeout, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    slim(nb)
    if len(nbformat.writes(nb)) > BUDGET_BYTES:  # over budget: large figures with a 64-colour palette instead
        slim(nb, colors=64)
    target = (out_dir / path.name) if out_dir else path
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".ipynb.tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            nbformat.write(nb, f)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return seconds, target.stat().st_size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, help="write the executed copies here instead of in place")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell (default 1200)")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"error: expected notebook files, these do not exist: {', '.join(missing)}", file=sys.stderr)
        return 2
    os.environ["JEPA_LAB_FAST"] = "1"
    os.environ.pop("JEPA_LAB_KEY", None)  # the student's view: stubs are "not attempted"
    over = []
    for path in paths:
        seconds, size = store(path.resolve(), args.out, args.timeout)
        flag = "  OVER BUDGET" if size > BUDGET_BYTES else ""
        print(f"{path.name:45s} {seconds:6.1f} s  {size / 1e3:7.1f} kB{flag}", flush=True)
        if flag:
            over.append(path.name)
    if over:
        print(f"error: over the {BUDGET_BYTES / 1e6:.0f} MB budget: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
