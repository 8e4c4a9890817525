"""Validation helpers for the frozen config dataclasses.

Every check raises ``ValueError`` whose message starts with the field name, so a user
who mistypes a value in ``gym.make(..., field=value)`` sees which field is wrong.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

C = TypeVar("C")


def _finite(name: str, value: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {value!r}")
    return v


def check_finite(name: str, value: float) -> None:
    _finite(name, value)


def check_positive(name: str, value: float) -> None:
    if _finite(name, value) <= 0:
        raise ValueError(f"{name}: must be > 0, got {value!r}")


def check_nonnegative(name: str, value: float) -> None:
    if _finite(name, value) < 0:
        raise ValueError(f"{name}: must be >= 0, got {value!r}")


def check_range(name: str, value: float, low: float, high: float) -> None:
    v = _finite(name, value)
    if not low <= v <= high:
        raise ValueError(f"{name}: must be in [{low}, {high}], got {value!r}")


def check_int(name: str, value: Any, minimum: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name}: must be >= {minimum}, got {value!r}")


def check_less(name_a: str, a: float, name_b: str, b: float, *, strict: bool = True) -> None:
    """``a < b`` (or ``a <= b``); the message names both fields."""
    a, b = _finite(name_a, a), _finite(name_b, b)
    if (a >= b) if strict else (a > b):
        op = "<" if strict else "<="
        raise ValueError(f"{name_a}: must be {op} {name_b} ({b!r}), got {a!r}")


def check_choice(name: str, value: Any, choices: Iterable[Any]) -> None:
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: must be one of {choices}, got {value!r}")


def check_array(name: str, values: Any, *, positive: bool = False, nonnegative: bool = False,
                length: int | None = None) -> None:
    """Every element finite (and positive / non-negative); optional exact length."""
    values = list(values)
    if length is not None and len(values) != length:
        raise ValueError(f"{name}: expected {length} values, got {len(values)}")
    for i, v in enumerate(values):
        item = f"{name}[{i}]"
        if positive:
            check_positive(item, v)
        elif nonnegative:
            check_nonnegative(item, v)
        else:
            check_finite(item, v)


def build_config(cls: type[C], config: C | Mapping[str, Any] | None, overrides: Mapping[str, Any]) -> C:
    """Make a config from an instance or mapping plus keyword overrides.

    Unknown keys raise ``ValueError`` naming them and listing the valid fields (a bare
    ``TypeError`` from the dataclass constructor would not say which env it was for).
    """
    fields = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if config is None:
        base: dict[str, Any] = {}
    elif isinstance(config, cls):
        base = {f: getattr(config, f) for f in fields}
    elif isinstance(config, Mapping):
        base = dict(config)
    else:
        raise ValueError(f"config: expected {cls.__name__} or a mapping, got {type(config).__name__}")
    base.update(overrides)
    unknown = sorted(set(base) - fields)
    if unknown:
        raise ValueError(f"{unknown[0]}: not a field of {cls.__name__}; valid fields: {sorted(fields)}")
    return cls(**base)
