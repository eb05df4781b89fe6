"""R's rbinom / rpois (pyreterms.rmath.discrete) and exp_rand (RRNG.exp_rand) against live R 4.2.2,
bit for bit: many seeds, every branch (rbinom inversion and BTPE, p > 1/2 symmetry, size 0/1,
prob 0/1, recycled vectors that change the cached constants each draw; rpois table method for
mu < 10, the normal/exponential method for mu >= 10, lambda 0), interleaved with runif/rnorm so the
stream position is checked too, plus R's NA + "NAs produced" behaviour."""
from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pytest

from pyreterms.errors import RRandomError, RWarning
from pyreterms.rmath.discrete import rbinom, rpois
from pyreterms.rmath.rng import RRNG

pytestmark = pytest.mark.r

_SIZES = [3, 50, 200, 10000, 1, 0, 61]
_PROBS = [0.1, 0.9, 0.5, 0.02, 0.999, 0.37, 0.0, 1.0]
_LAMBDAS = [0, 2, 12, 30, 0.5, 100, 9.999, 10, 1e7, 1e-8]


def _copy(x: Any, dtype: Any = np.float64) -> np.ndarray:
    """A copy of an R vector's values, taken while its rpy2 object is alive (``np.asarray`` would be
    a view of R memory that R's garbage collector may free and reuse once the rpy2 object is gone)."""
    return np.array(x, dtype=dtype, copy=True)


# rbinom(n, size, prob) / rpois(n, lambda) calls, each R call reproduced by the Python twin below
_R_STREAM = r"""
function(seed) {
  set.seed(seed)
  x <- c(rbinom(60, 10, 0.3), runif(3), rbinom(50, 1000, 0.3), rnorm(2),
         rbinom(50, 1000, 0.8), rbinom(40, 100000, 0.45), rbinom(40, 100000, 0.55),
         rbinom(30, 59, 0.5), rbinom(30, 61, 0.5), rbinom(30, 2000, 0.015), rbinom(30, 2000, 0.985),
         rbinom(10, 0, 0.5), rbinom(20, 1, 0.37), rbinom(10, 5, 0), rbinom(10, 5, 1),
         rbinom(70, c(3, 50, 200, 10000, 1, 0, 61), c(0.1, 0.9, 0.5, 0.02, 0.999, 0.37, 0, 1)),
         runif(1),
         rpois(60, 3.5), rpois(40, 0.01), rpois(40, 9.99), rnorm(1), rpois(40, 10), rpois(80, 15.2),
         rpois(60, 10.5), rpois(40, 1e6), rpois(10, 0),
         rpois(50, c(0, 2, 12, 30, 0.5, 100, 9.999, 10, 1e7, 1e-8)), rexp(30), runif(2))
  list(x, .Random.seed)
}
"""


def _py_stream(seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = RRNG(seed)
    parts = [rbinom(g, 60, 10, 0.3), g.runif(3), rbinom(g, 50, 1000, 0.3), g.rnorm(2),
             rbinom(g, 50, 1000, 0.8), rbinom(g, 40, 100000, 0.45), rbinom(g, 40, 100000, 0.55),
             rbinom(g, 30, 59, 0.5), rbinom(g, 30, 61, 0.5), rbinom(g, 30, 2000, 0.015),
             rbinom(g, 30, 2000, 0.985),
             rbinom(g, 10, 0, 0.5), rbinom(g, 20, 1, 0.37), rbinom(g, 10, 5, 0), rbinom(g, 10, 5, 1),
             rbinom(g, 70, _SIZES, _PROBS), g.runif(1),
             rpois(g, 60, 3.5), rpois(g, 40, 0.01), rpois(g, 40, 9.99), g.rnorm(1), rpois(g, 40, 10),
             rpois(g, 80, 15.2), rpois(g, 60, 10.5), rpois(g, 40, 1e6), rpois(g, 10, 0),
             rpois(g, 50, _LAMBDAS), np.array([g.exp_rand() for _ in range(30)]), g.runif(2)]
    return np.concatenate([np.asarray(p, dtype=np.float64) for p in parts]), g.random_seed


def test_rbinom_rpois_streams_identical_for_many_seeds(R):
    f = R.r_eval(_R_STREAM)
    seeds = [0, 1, 2, 42, -1, 7, 624, 4357, 123456789, -987654321, 2**31 - 1]
    seeds += [int(s) for s in np.random.default_rng(18).integers(-(2**31 - 1), 2**31 - 1, size=40)]
    mism = []
    for seed in seeds:
        want = R.r_call(f, float(seed))
        got, state = _py_stream(seed)
        r = _copy(want[0])
        if not (np.array_equal(got, r) and np.array_equal(state, _copy(want[1], np.int32))):
            mism.append((seed, int(np.sum(got != r)) if got.shape == r.shape else "shape"))
    assert not mism, mism[:10]


@pytest.mark.parametrize("size,prob", [(20, 0.5), (30, 0.999), (45, 0.7), (75, 0.4), (1000, 0.03),
                                       (10**6, 0.5), (10**8, 1e-6), (500, 0.93), (2**31 - 2, 0.5)])
def test_rbinom_long_runs(R, size, prob):
    """Long runs at one (size, prob): inversion (n*p < 30), BTPE (>= 30) with its squeeze and
    Stirling tests, the p > 1/2 mirror; the 624-word refills fall anywhere."""
    for seed in (11, 2026):
        want = _copy(R.r_eval(f"set.seed({seed}); c(rbinom(2000, {size}, {prob!r}), runif(1))"))
        g = RRNG(seed)
        got = np.r_[rbinom(g, 2000, size, prob), g.runif(1)]
        assert np.array_equal(got, want)


@pytest.mark.parametrize("lam", [0.3, 5.0, 9.9999, 10.0, 10.0001, 11.7, 25.0, 60.0, 1234.5, 3e9])
def test_rpois_long_runs(R, lam):
    for seed in (11, 2026):
        want = _copy(R.r_eval(f"set.seed({seed}); c(rpois(2000, {lam!r}), runif(1))"))
        g = RRNG(seed)
        got = np.r_[rpois(g, 2000, lam), g.runif(1)]
        assert np.array_equal(got, want)


def test_vector_lambda_alternating(R):
    """lambda changing on every draw resets rpois's cached table / constants each time."""
    lam = np.random.default_rng(5).uniform(0, 40, 997)
    f = R.r_eval("function(l) { set.seed(99); list(rpois(3000, l), .Random.seed) }")
    want = R.r_call(f, _floats(lam))
    g = RRNG(99)
    assert np.array_equal(rpois(g, 3000, lam), _copy(want[0]))
    assert np.array_equal(g.random_seed, _copy(want[1], np.int32))


def _floats(xs: np.ndarray) -> object:
    from rpy2.robjects import FloatVector

    return FloatVector([float(x) for x in xs])


def test_nas_produced_as_r(R):
    """Invalid parameters give NA (NaN here) without a draw, with R's one warning per call."""
    rcode = ("set.seed(3); x <- suppressWarnings(c("
             "rbinom(7, c(NA, 5.5, -1, 3, 3, Inf, 4), c(0.5, 0.5, 0.5, 1.5, NaN, 0.5, -0.1)), runif(1), "
             "rbinom(3, 5, numeric(0)), rpois(5, c(NA, -1, Inf, 2, NaN)), rpois(2, numeric(0)), "
             "rbinom(0, 3, NA), runif(2))); list(x, .Random.seed)")
    res = R.r_eval(rcode)
    g = RRNG(3)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        got = np.r_[rbinom(g, 7, [math.nan, 5.5, -1, 3, 3, math.inf, 4], [0.5, 0.5, 0.5, 1.5, math.nan, 0.5, -0.1]),
                    g.runif(1), rbinom(g, 3, 5, []), rpois(g, 5, [math.nan, -1, math.inf, 2, math.nan]),
                    rpois(g, 2, []), rbinom(g, 0, 3, math.nan), g.runif(2)]
    assert [str(x.message) for x in w] == ["NAs produced"] * 4 and all(x.category is RWarning for x in w)
    want = _copy(res[0])
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(got[~np.isnan(got)], want[~np.isnan(want)])
    assert np.array_equal(g.random_seed, _copy(res[1], np.int32))


def test_bad_input_is_a_typed_error():
    g = RRNG(1)
    with pytest.raises(RRandomError):
        rbinom(g, 3, "a", 0.5)
    with pytest.raises(RRandomError):
        rpois(g, -1, 2.0)
    with pytest.raises(RRandomError):
        rbinom(g, 1, 2.0**31, 0.5)  # R's qbinom path for size >= INT_MAX is not ported
