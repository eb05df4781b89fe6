"""pyreterms.rmath.libm gives the C library's result bit for bit (the reference is Python's ``math``, which
calls the same glibc function) on random values and on the edges where ``math`` refuses a value (there:
the IEEE NaN / +-Inf that C returns, as numpy computes them)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pyreterms.rmath import libm

EDGES = np.array([0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, 1e-320, 5e-324, -5e-324, 1e308, 709.78, 709.79,
                  -745.2, -746.0, 1e-16, -1e-16, 710.0, -710.0, 1e300, -1e300, np.pi / 2, 1e22, -1.0000001])
FUNCS = [("log", math.log, np.log), ("exp", math.exp, np.exp), ("expm1", math.expm1, np.expm1),
         ("log1p", math.log1p, np.log1p), ("atan", math.atan, np.arctan), ("tan", math.tan, np.tan)]


def _reference(fn, npfn, v: np.ndarray) -> np.ndarray:
    out = []
    for x in v.tolist():
        try:
            out.append(fn(x))
        except (ValueError, OverflowError):
            with np.errstate(all="ignore"):
                out.append(float(npfn(np.float64(x))))
    return np.array(out)


@pytest.mark.parametrize(("name", "fn", "npfn"), FUNCS, ids=[f[0] for f in FUNCS])
def test_libm_equals_c_library_bit_for_bit(name: str, fn, npfn) -> None:
    rng = np.random.default_rng(11)
    for scale in (1.0, 30.0, 800.0):
        v = np.concatenate([EDGES, rng.standard_normal(20000) * scale])
        got = getattr(libm, name)(v)
        np.testing.assert_array_equal(got.view(np.uint64), _reference(fn, npfn, v).view(np.uint64))
    m = v[:120].reshape(3, 40)  # shape kept
    assert getattr(libm, name)(m).shape == (3, 40)
    clean = rng.uniform(0.1, 2.0, 500)  # the fast path (no refused value)
    np.testing.assert_array_equal(getattr(libm, name)(clean).view(np.uint64),
                                  _reference(fn, npfn, clean).view(np.uint64))


def test_libm_refused_values_are_ieee() -> None:
    assert np.isneginf(libm.log(np.array([0.0]))[0])
    assert np.isnan(libm.log(np.array([-1.0]))[0])
    assert np.isposinf(libm.exp(np.array([1000.0]))[0])
    assert np.isneginf(libm.log1p(np.array([-1.0]))[0])
