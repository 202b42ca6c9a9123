"""Helpers shared by the frozen-dataclass configs: round-trip through plain dicts (for checkpoints)."""

from __future__ import annotations

from dataclasses import asdict, fields, is_dataclass
from numbers import Integral
from typing import TypeVar, get_type_hints

T = TypeVar("T")


def config_from_dict(cls: type[T], d: dict) -> T:
    """Rebuild a (nested) frozen dataclass from ``dataclasses.asdict`` output; lists become tuples again.

    Unknown keys raise, so a checkpoint written by another kind of model fails loudly instead of silently.
    """
    if not isinstance(d, dict):
        raise ValueError(f"expected a dict to build {cls.__name__}, got {type(d).__name__}")
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields {unknown}; expected a subset of {sorted(names)}")
    hints = get_type_hints(cls)
    kwargs = {}
    for name, value in d.items():
        if is_dataclass(hints[name]):
            value = config_from_dict(hints[name], value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[name] = value
    return cls(**kwargs)


class DictRoundTrip:
    """Mixin for frozen config dataclasses: ``to_dict`` for checkpoints, ``from_dict`` to rebuild."""

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        return config_from_dict(cls, d)


def is_int(value, low: int | None = None, high: int | None = None) -> bool:
    """True for a real int (Python or numpy; not a bool, which Python counts as one) in ``low..high`` (either bound optional).

    The one check behind every "expected an int >= ..." error of the kit; each caller words its own message."""
    if isinstance(value, bool) or not isinstance(value, Integral):  # numpy ints count, True/False do not
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def config_changes(saved: dict, wanted: dict, prefix: str = "") -> list[str]:
    """The settings two config dicts disagree on, as 'name: saved -> wanted' (nested dicts by dotted name)."""
    changes = []
    for key in sorted(set(saved) | set(wanted)):
        a, b = saved.get(key), wanted.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            changes += config_changes(a, b, f"{prefix}{key}.")
        elif a != b:
            changes.append(f"{prefix}{key}: {a!r} -> {b!r}")
    return changes
