"""Calling a numba-compiled function without numba's type dispatch."""

from __future__ import annotations

from typing import Any

import numba


def entry_point(dispatcher: Any, *args: Any) -> Any:
    """``dispatcher`` (an ``@njit`` function) compiled, or loaded from its cache, for the
    types of ``args``, as a function called without numba's dispatch. The dispatcher types
    some arguments on a slow Python path: an ``experimental.structref`` (0.69 µs a call,
    against 0.17 µs without it, on this machine) or a ``numpy.random.Generator`` (~4 µs).
    The caller must then pass arguments of exactly these types: nothing checks them, and a
    wrong array type is read as the compiled one."""
    sig = tuple(numba.typeof(a) for a in args)
    dispatcher.compile(sig)
    return dispatcher.get_overload(sig)
