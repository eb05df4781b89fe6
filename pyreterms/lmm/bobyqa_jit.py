"""numba compilation of the BOBYQA port (no R equivalent: minqa runs compiled Fortran). :func:`jit` is
``numba.njit(cache=True, error_model="numpy")``: no fastmath (so no reassociation or FMA contraction:
every operation rounds as the Fortran's), and numpy's error model (a float division by zero gives
Inf/NaN as in Fortran and as numpy scalars do, instead of raising). The pure-Python code stays
reachable: each kernel's ``.py_func``, or the whole port uncompiled with ``NUMBA_DISABLE_JIT=1`` in the
environment (tests/unit/test_bobyqa_jit_same_points.py checks that both evaluate the same points).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

F = TypeVar("F", bound=Callable[..., Any])


def jit(fn: F) -> F:
    """Compile ``fn`` with numba in nopython mode, cached on disk (``.py_func`` is the original)."""
    return cast(F, numba.njit(cache=True, error_model="numpy")(fn))
