"""The grader behind every notebook exercise: run a student's function on fixed cases, compare with the kit.

A notebook exercise is a stub the student fills in, followed by ``check("name", their_function)``. The grader
calls the function on each of the exercise's cases (random inputs and edge cases, fixed seeds), compares the
result with the kit's own function, and prints one line per failed case saying *what* is wrong (a shape, a
dtype, how far the values are off, which case) but never the expected values themselves.

A stub that still raises ``NotImplementedError`` is "not attempted". If the environment variable
``JEPA_LAB_KEY`` names an instructor key (a Python file with one reference solution per exercise name, see
``instructor/key.py``), the key's solution is graded in its place and the report says so: that is how the
notebooks run end to end under nbval and in CI, and how an instructor checks that every grader passes.
"""

from __future__ import annotations

import copy
import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

KEY_ENV = "JEPA_LAB_KEY"
KIT_ROOT = Path(__file__).resolve().parents[2]  # the checkout that holds jepa_lab/ and instructor/


@dataclass(frozen=True)
class Case:
    """One graded call: ``fn(*args)``, named so that a failure says which case it was."""

    name: str
    args: tuple


@dataclass(frozen=True)
class Exercise:
    """An exercise: the notebook it lives in, its cases, the kit's answer to a case, and how to compare.

    ``compare(expected, got)`` returns None when ``got`` is right, else a sentence saying what is wrong.
    ``run(fn, case)`` calls the function (an exercise whose function works in place overrides it)."""

    name: str
    notebook: str
    summary: str
    cases: Callable[[], list[Case]]
    reference: Callable
    compare: Callable
    run: Callable | None = None


@dataclass
class Report:
    """What ``check`` found: passed / total cases, a line per failure, and whose function was graded."""

    exercise: str
    passed: int
    total: int
    failures: list[str] = field(default_factory=list)
    graded: str = "yours"  # "yours", "the instructor key's" or "nothing (not attempted)"

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.graded.startswith("nothing"):
            return (f"[ ] {self.exercise}: not attempted yet - the function above still raises NotImplementedError. "
                    f"Fill it in, run its cell, then run this cell again.")
        mark = "[x]" if self.ok else "[!]"
        whose = "" if self.graded == "yours" else f" (graded {self.graded} solution: {KEY_ENV} is set)"
        lines = [f"{mark} {self.exercise}: {self.passed}/{self.total} cases pass{whose}"]
        lines += [f"    - {line}" for line in self.failures]
        if self.ok:
            lines.append("    Well done: your function agrees with the kit's on every case.")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


def _call(exercise: Exercise, fn: Callable, case: Case):
    args = copy.deepcopy(case.args)  # a function that writes into its inputs cannot spoil the next case
    return exercise.run(fn, *args) if exercise.run else fn(*args)


def grade(exercise: Exercise, fn: Callable, graded: str = "yours") -> Report:
    """Run ``fn`` on every case of ``exercise``; raise NotImplementedError if the stub is still a stub."""
    cases = exercise.cases()
    report = Report(exercise.name, 0, len(cases), graded=graded)
    for case in cases:
        expected = _call(exercise, exercise.reference, case)
        try:
            got = _call(exercise, fn, case)
        except NotImplementedError:
            raise
        except Exception as err:  # a student's bug is a finding, not a crash of the grader
            report.failures.append(f"case '{case.name}': your function raised {type(err).__name__}: {err}")
            continue
        problem = exercise.compare(expected, got)
        if problem is None:
            report.passed += 1
        else:
            report.failures.append(f"case '{case.name}': {problem}")
    return report


def key_file(path: str | os.PathLike) -> Path:
    """The key's file: an absolute path as given; a relative one from the working folder or else from the kit's
    checkout (a notebook's kernel runs in ``notebooks/``, where ``instructor/key.py`` would not be found)."""
    path = Path(path).expanduser()
    tried = [path] if path.is_absolute() else [Path.cwd() / path, KIT_ROOT / path]
    for candidate in tried:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{KEY_ENV}={str(path)!r}: expected the path of an instructor key (e.g. "
                            f"instructor/key.py), but there is no such file (looked at {', '.join(map(str, tried))})")


def load_key(path: str | os.PathLike) -> dict[str, Callable]:
    """The instructor key's functions by exercise name, read from a Python file."""
    path = key_file(path)
    spec = importlib.util.spec_from_file_location("jepa_lab_instructor_key", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {name: obj for name, obj in vars(module).items() if callable(obj) and not name.startswith("_")}


def check_with(exercises: dict[str, Exercise], name: str, fn: Callable, quiet: bool = False) -> Report:
    """Grade ``fn`` for exercise ``name``; a stub falls back to the instructor key when ``JEPA_LAB_KEY`` is set."""
    if name not in exercises:
        raise ValueError(f"unknown exercise {name!r}: expected one of {sorted(exercises)}")
    if not callable(fn):
        raise TypeError(f"check({name!r}, fn): expected your function as fn, received {type(fn).__name__}")
    exercise = exercises[name]
    try:
        report = grade(exercise, fn)
    except NotImplementedError:
        key_path = os.environ.get(KEY_ENV, "").strip()
        if not key_path:
            report = Report(name, 0, len(exercise.cases()), graded="nothing (not attempted)")
        else:
            key = load_key(key_path)
            if name not in key:
                raise ValueError(f"the instructor key {key_path} has no function named {name!r}")
            report = grade(exercise, key[name], graded="the instructor key's")
    if not quiet:
        print(report)
    return report


# ---- comparisons shared by the exercises ---------------------------------------------------------------------

def compare_tensors(expected: torch.Tensor, got, what: str = "result", atol: float = 1e-5) -> str | None:
    """None if ``got`` is a tensor of the expected shape, dtype kind and values; else what differs."""
    if not isinstance(got, torch.Tensor):
        return f"the {what} should be a torch.Tensor, received {type(got).__name__}"
    if tuple(got.shape) != tuple(expected.shape):
        return f"the {what} has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
    if expected.dtype == torch.bool:
        if got.dtype != torch.bool:
            return f"the {what} should be a boolean tensor (True/False), received dtype {got.dtype}"
        wrong = int((got != expected).sum())
        return None if wrong == 0 else f"{wrong} of {expected.numel()} entries of the {what} are wrong"
    if not expected.is_floating_point():
        if got.is_floating_point() or got.dtype == torch.bool:
            return f"the {what} should hold integer indices, received dtype {got.dtype}"
        if not torch.equal(got.long(), expected.long()):
            wrong = int((got.long() != expected.long()).sum())
            return f"{wrong} of {expected.numel()} indices of the {what} are wrong"
        return None
    err = float((got.double() - expected.double()).abs().max()) if got.numel() else 0.0
    if not err <= atol:  # also catches NaN
        return f"values of the {what} are off (largest error {err:.3g}, tolerance {atol:g})"
    return None


def random_tensor(seed: int, *shape: int) -> torch.Tensor:
    """Standard-normal values from a fixed seed (cases are the same on every run)."""
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
