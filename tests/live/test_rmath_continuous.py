"""R's rgamma and statmod's rinvgauss (pyreterms.rmath.continuous) against live R 4.2.2 / statmod 1.5.0, bit for
bit: many seeds, both algorithms of rgamma (GS below shape 1; GD with its three constant regimes at shapes up
to 3.686, 13.022 and beyond, its immediate, squeeze, quotient and double-exponential acceptances), recycled
shape and rate vectors, interleaved with runif/rnorm so the stream position is checked too, R's invalid
arguments (0, negative, NaN, infinite: 0, NaN with "NAs produced", Inf); rinvgauss at small and large
``phi mu`` (the bigphi branch)."""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from pyreterms.errors import RWarning
from pyreterms.rmath.continuous import rgamma, rinvgauss
from pyreterms.rmath.rng import RRNG

pytestmark = pytest.mark.r

_SHAPES = [0.3, 0.9999, 1.0, 1.5, 3.686, 3.7, 10.0, 13.022, 13.5, 100.0, 0.05]
_RATES = [1.0, 0.5, 3.0, 1e-3, 250.0]


def _copy(x: Any, dtype: Any = np.float64) -> np.ndarray:
    return np.array(x, dtype=dtype, copy=True)


_R_STREAM = r"""
function(seed) {
  set.seed(seed)
  x <- c(rgamma(80, 0.3), runif(2), rgamma(80, 0.9999, 2), rgamma(80, 1), rnorm(1), rgamma(80, 1.5, 0.5),
         rgamma(80, 3.686), rgamma(80, 3.7, 3), rgamma(60, 10), rgamma(60, 13.022), rgamma(60, 13.5, 1e-3),
         rgamma(60, 100), rgamma(40, 0.05), runif(1),
         rgamma(110, c(0.3, 0.9999, 1, 1.5, 3.686, 3.7, 10, 13.022, 13.5, 100, 0.05), c(1, 0.5, 3, 1e-3, 250)),
         rexp(3))
  list(x, .Random.seed)
}
"""


def _py_stream(seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = RRNG(seed)
    parts = [rgamma(g, 80, 0.3), g.runif(2), rgamma(g, 80, 0.9999, 2), rgamma(g, 80, 1.0), g.rnorm(1),
             rgamma(g, 80, 1.5, 0.5), rgamma(g, 80, 3.686), rgamma(g, 80, 3.7, 3), rgamma(g, 60, 10.0),
             rgamma(g, 60, 13.022), rgamma(g, 60, 13.5, 1e-3), rgamma(g, 60, 100.0), rgamma(g, 40, 0.05),
             g.runif(1), rgamma(g, 110, _SHAPES, _RATES), np.array([g.exp_rand() for _ in range(3)])]
    return np.concatenate(parts), g.random_seed


@pytest.mark.parametrize("seed", [1, 42, 2026, -5, 123456789, 7])
def test_rgamma_is_r_draw_for_draw(R, seed: int) -> None:
    out = R.r_call(R.r_eval(_R_STREAM), seed)
    want, state = _copy(out[0]), _copy(out[1], np.int32)
    got, gstate = _py_stream(seed)
    assert got.shape == want.shape
    assert np.array_equal(got, want), int(np.flatnonzero(got != want)[0])
    assert np.array_equal(gstate, state)  # the same number of uniforms consumed


def test_rgamma_invalid_arguments_as_r(R) -> None:
    f = R.r_eval("function() { set.seed(3); w <- NULL; x <- withCallingHandlers(c(rgamma(6, c(0, -1, NaN, Inf, 2, 2),"
                 " c(1, 1, 1, 1, 0, Inf)), runif(1)), warning = function(c) { w <<- c(w, conditionMessage(c)); "
                 "invokeRestart('muffleWarning') }); list(x, w) }")
    out = f()
    want = _copy(out[0])
    g = RRNG(3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = np.concatenate([rgamma(g, 6, [0.0, -1.0, np.nan, np.inf, 2.0, 2.0], [1, 1, 1, 1, 0, np.inf]),
                              g.runif(1)])
    assert np.array_equal(got, want, equal_nan=True)
    assert [str(x.message) for x in w if issubclass(x.category, RWarning)] == list(out[1])


@pytest.mark.parametrize("seed", [1, 99])
def test_rinvgauss_is_statmods(R, seed: int) -> None:
    mean = np.array([0.5, 2.0, 10.0, 1e3, 3.0])
    shape = np.array([1.0, 0.01, 4.0, 1e-4, 2.0])  # phi * mu from 0.5 to 1e7: both branches of X1
    from rpy2.robjects import FloatVector

    out = R.r_call(R.r_eval("function(seed, m, s) { set.seed(seed); list(statmod::rinvgauss(200, mean = m, "
                            "shape = s), runif(1)) }"), seed, FloatVector(mean.tolist()), FloatVector(shape.tolist()))
    g = RRNG(seed)
    got = np.concatenate([rinvgauss(g, 200, mean, shape), g.runif(1)])
    assert np.array_equal(got, np.concatenate([_copy(out[0]), _copy(out[1])]))
