"""jepa_lab: a teaching kit for Joint-Embedding Predictive Architectures (JEPA).

Shape glossary, used in every docstring and reshape comment of the package:

    B  batch            C  channels (3 for RGB)
    H, W  image height / width in pixels        p  patch size in pixels
    h, w  patch-grid height / width (H//p, W//p)
    N  tokens (patches) per image = h*w         D  encoder width
    Dp predictor width  M  target blocks per image
    Nc context tokens kept per image            Nt tokens per target block
    T  frames           A  action dimension     K  classes
"""

import importlib
import os
import sys

from tqdm import notebook as _tqdm_notebook
from tqdm.auto import tqdm as _tqdm

__version__ = "0.1.0"
FAST_ON = ("1", "true", "yes", "on")
FAST_OFF = ("", "0", "false", "no", "off", "none")


def optional_import(module: str, package: str, extra: str, what: str):
    """Import an optional dependency on first use (a kit installed without it still imports), or say which of the
    kit's extras installs it: ``optional_import("av", "PyAV", "video", "writing and reading mp4 files")``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(f"{what} needs {package}, part of the kit's {extra} extra: "
                                  f"pip install -e \".[{extra}]\"") from err


def fast_mode() -> bool:
    """True when ``JEPA_LAB_FAST=1`` (set by the test command): notebooks use fewer steps and samples."""
    value = os.environ.get("JEPA_LAB_FAST", "").strip().lower()
    if value in FAST_ON:
        return True
    if value in FAST_OFF:
        return False
    raise ValueError(f"JEPA_LAB_FAST: expected one of {FAST_ON} (fast mode) or {FAST_OFF} (full mode), "
                     f"received {os.environ['JEPA_LAB_FAST']!r}")


def progress_bar(iterable=None, *, enabled: bool = True, **kwargs):
    """A tqdm progress bar (a widget in Jupyter) shown only when ``enabled`` and someone can see it: in a notebook
    or on a terminal. Redirected to a file, nothing is drawn (no carriage-return redraws in a log)."""
    visible = enabled and (issubclass(_tqdm, _tqdm_notebook.tqdm) or sys.stderr.isatty())
    return _tqdm(iterable, disable=not visible, **kwargs)
