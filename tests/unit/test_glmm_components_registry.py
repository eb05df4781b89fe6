"""The GLMM levels of the component registry (parity.components "glformula", "glmer") against the
pyreterms GLMM adapter (no R; tests/live/test_glmm_parity.py checks glmm_reference.R)."""
from __future__ import annotations

import pytest

from parity import components
from parity.adapter.pyreterms_glmm import glmm_family, pyreterms_glmm_impl
from parity.compare.tolerances import TOLERANCE_OF_CLASS, tolerance_for
from pyreterms.datasets import load_dataset
from pyreterms.errors import DataError

CBPP = "cbind(incidence, size - incidence) ~ period + (1 | herd)"


def test_glmm_levels_include_only_their_own_components() -> None:
    g = set(components.names("glmer", None))
    assert set(components.names("glformula", None)) < g
    assert not g & set(components.names("fit", None))
    assert components.required("glformula") < components.required("glmer")
    assert all(components.COMPONENTS[n].level == "glformula" for n in components.required("glformula"))
    assert tolerance_for("vcov(gfit)") is TOLERANCE_OF_CLASS["hessian"]
    assert tolerance_for("ranef(gfit)") is TOLERANCE_OF_CLASS["at_lme4_pars"]
    assert components.is_rule_input("gdevfun(pars[[1]])") and components.is_rule_input("gdevfun(pars[[2]]); resp$resDev()")


@pytest.mark.parametrize("level", ["glformula", "glmer"])
def test_glmm_adapter_produces_every_registered_value(level: str) -> None:
    py = pyreterms_glmm_impl(CBPP, load_dataset("cbpp"), family="binomial", level=level)
    want = set(components.names(level, "value")) | set(components.names(level, "condition"))
    assert set(py) == want, (sorted(want - set(py)), sorted(set(py) - want))


def test_unknown_family_is_a_one_line_error() -> None:
    with pytest.raises(DataError, match="family 'quasi' not supported"):
        glmm_family("quasi")
