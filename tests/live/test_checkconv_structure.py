"""lme4's ``checkConv`` on the same derivatives as ours: message texts and the value's R structure (a
character vector, or a list once ``checkHess`` adds a "Model is nearly unidentifiable" message), as the
parity adapters report ``optinfo$conv$lme4$messages`` for lmer and glmer fits."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from parity.adapter.rbuild import conv_messages
from parity.compare.check import compare_components
from parity.r.convert import r_to_value
from pyreterms.lmm.control import LmerControl
from pyreterms.lmm.optimize import Derivs, check_conv

pytestmark = pytest.mark.r

CASES = [  # (gradient, Hessian, coefs, lower): theta-only (lmer) and theta + beta (glmer)
    ([1e-5, 1e-5], [[1e7, 0.0], [0.0, 1.0]], [1.0, 1.0], [0.0, 0.0]),  # very large eigenvalue
    ([1e-5, 1e-5], [[1e3, 0.0], [0.0, 1e-5]], [1.0, 1.0], [0.0, 0.0]),  # large eigenvalue ratio
    ([1e-5, 1e-5], [[2e6, 0.0], [0.0, 1e-3]], [1.0, 1.0], [0.0, 0.0]),  # both
    ([1e-5, 1e-5], [[1.0, 0.0], [0.0, -1.0]], [1.0, 1.0], [0.0, 0.0]),  # negative eigenvalue: a vector
    ([0.5, 1e-5], [[2.0, 0.1], [0.1, 1.0]], [1.0, 1.0], [0.0, 0.0]),  # max|grad|: a vector
    ([1e-5, 1e-5], [[2.0, 0.1], [0.1, 1.0]], [1.0, 1.0], [0.0, 0.0]),  # no message: NULL
    ([1e-5, 1e-5, 1e-5], [[1.0, 0, 0], [0, 1e7, 0], [0, 0, 1.0]], [1.0, 0.5, 2.0],
     [0.0, -np.inf, -np.inf]),  # fixed-effect and whole Hessian both very large
]


@pytest.mark.parametrize(("grad", "hess", "coefs", "lower"), CASES)
def test_checkconv_messages_structure_as_lme4(R, grad, hess, coefs, lower) -> None:
    from rpy2.robjects import FloatVector, r

    H = np.array(hess, dtype=np.float64)
    rH = r["matrix"](FloatVector(H.ravel(order="F")), nrow=H.shape[0])
    rderivs = r["list"](gradient=FloatVector(grad), Hessian=rH)
    rres = R.r_eval("function(d, co, lb) suppressWarnings(suppressMessages(lme4:::checkConv(d, co, "
                    "lmerControl()$checkConv, lbound = lb)))")(rderivs, FloatVector(coefs), FloatVector(lower))
    rmsgs = r_to_value(R.r_eval("function(x) x$messages")(rres), strict=False)
    with warnings.catch_warnings():  # ours warns as lme4 does; the texts are compared below
        warnings.simplefilter("ignore")
        ours = check_conv(Derivs(np.array(grad), H), np.array(coefs), np.array(lower), LmerControl())
    (res,) = compare_components({"m": conv_messages(list(ours.messages))}, {"m": rmsgs})
    assert res.ok, res.detail
