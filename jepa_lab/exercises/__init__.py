"""Exercises: the student writes a piece of JEPA, ``check`` grades it against the kit's own function.

In a notebook::

    from jepa_lab.exercises import check

    def block_causal_mask(steps, tokens_per_step):
        ...                                     # your code
    check("block_causal_mask", block_causal_mask)

- ``grader.py``: cases, comparisons, the report, and the instructor key (``JEPA_LAB_KEY``) for untouched stubs.
- ``checks.py``: the seven exercises, their cases and the kit functions they are graded against.
"""

from .checks import EXERCISES
from .grader import KEY_ENV, Report, check_with


def check(name: str, fn, quiet: bool = False) -> Report:
    """Grade your function ``fn`` for exercise ``name`` (one of ``EXERCISES``); prints and returns the report."""
    return check_with(EXERCISES, name, fn, quiet=quiet)


__all__ = ["EXERCISES", "KEY_ENV", "Report", "check"]
