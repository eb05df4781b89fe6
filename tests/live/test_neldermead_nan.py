"""The port of lme4's Nelder_Mead (pyreterms.lmm.neldermead) against live ``lme4::Nelder_Mead`` on objectives
that return NaN in part of the space (a GLMM deviance does where PIRLS fails): R records every point its
objective is called with, and the port must call the same R objective (through rpy2) with the same points in
the same order, bit for bit.  lme4's C++ picks the simplex's best and worst vertices with Eigen's
``minCoeff``/``maxCoeff``, which never select a NaN after element 0; ``np.argmin``/``np.argmax`` select the first
NaN, which sent the port elsewhere (a Gamma(inverse) nAGQ = 12 campaign design stopped after 94 evaluations,
0.35 above lme4's optimum, where lme4 took 476).  And the shrink step's coincidence test compares with its
``c`` argument (the best vertex), as lme4 1.1-31's ``reflectpt`` does, not with the centroid."""
from __future__ import annotations

import numpy as np
import pytest

from pyreterms.lmm.neldermead import nelder_mead

pytestmark = pytest.mark.r

REC = """
function(fn, par, lower, upper, control) {
  X <- list(); f2 <- function(x) { X[[length(X) + 1L]] <<- as.double(x); fn(x) }
  r <- lme4::Nelder_Mead(f2, par, lower, upper, control)
  list(X = do.call(rbind, X), par = r$par, fval = r$fval, feval = r$feval, code = r$NM.result)
}
"""

# name: (R objective, par, lower, control)
CASES = {
    "nan-beside-start": ("function(x) if (x[1] > 1.05) NaN else sum((x - c(1, 2, 0.5))^2)", [1.0, 1.0, 1.0],
                         [0.0, -np.inf, -np.inf], {"xst": [0.1, 0.1, 0.1]}),
    "nan-region-late": ("function(x) if (sum(x) > 3.2) NaN else (x[1] - 2)^2 + (x[2] - 1.5)^2", [0.5, 0.5],
                        [-np.inf, -np.inf], {}),
    # NaN at vertex 0: Eigen's minCoeff and maxCoeff both stay at it
    "nan-at-start-vertex": ("function(x) if (x[1] < 1.05 && x[2] < 1.05) NaN else sum((x - 1.2)^2)",
                            [1.0, 1.0], [-np.inf, -np.inf], {"xst": [0.1, 0.1]}),
    "nan-band-bounded": ("function(x) if (abs(x[2] - 0.7) < 0.05) NaN else "
                         "(x[1] - 0.3)^2 + 2 * (x[2] - 0.9)^2 + x[1] * x[2]", [0.1, 0.2], [0.0, 0.0],
                         {"xst": [0.05, 0.3]}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_nelder_mead_points_equal_lme4s_with_nan_objective(R, name) -> None:
    from rpy2.robjects import FloatVector, ListVector

    src, par, lower, control = CASES[name]
    fn = R.r_eval(src)
    rctrl = ListVector({k: FloatVector(v) for k, v in control.items()})
    r = R.r_eval(REC)(fn, FloatVector(par), FloatVector(lower), FloatVector([np.inf] * len(par)), rctrl)
    rX = np.array(r.rx2("X"), dtype=np.float64)
    seen: list[np.ndarray] = []

    def f(x: np.ndarray) -> float:
        seen.append(np.array(x, dtype=np.float64))
        return float(fn(FloatVector(x))[0])

    ours = nelder_mead(f, np.array(par), np.array(lower), None, {k: np.array(v) for k, v in control.items()})
    X = np.vstack(seen)
    assert X.shape == rX.shape
    assert np.array_equal(X, rX)
    assert np.isnan(np.array([f(x) for x in X])).any()  # the case reaches its NaN region
    assert ours["feval"] == int(r.rx2("feval")[0])
    assert np.array_equal(ours["par"], np.array(r.rx2("par"), dtype=np.float64))
