"""Hypothesis strategies shared by the environments' property tests."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import strategies as st


def configs(config_cls: type, **field_strategies: st.SearchStrategy) -> st.SearchStrategy:
    """Valid configurations: the given fields drawn, the others at their defaults.

    Combinations the config rejects (``ValueError`` in ``__post_init__``) are filtered,
    so the strategy only yields configs an env accepts.
    """
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = set(field_strategies) - names
    if unknown:
        raise ValueError(f"{sorted(unknown)}: not fields of {config_cls.__name__}")

    def build(values: dict[str, Any]):
        try:
            return config_cls(**values)
        except ValueError:
            return None

    return st.fixed_dictionaries(field_strategies).map(build).filter(lambda c: c is not None)


def action_seeds() -> st.SearchStrategy[int]:
    """Seeds for ``random_valid_action`` sequences (the action sequence is the seed's)."""
    return st.integers(min_value=0, max_value=2**31 - 1)
