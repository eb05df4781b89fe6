"""GLMMs whose vector term has many levels, fitted in component-major elimination order
(pyreterms.glmm.pirls.component_major), agree with lme4 component by component through the harness."""
from __future__ import annotations

import pytest
from helpers.vector_glmm import vector_glmm_data

from parity import components
from parity.compare.glmm_check import check_glmm
from parity.compare.verdicts import Verdict
from pyreterms.glmm.devfun import GlmerDevfun
from pyreterms.glmm.family import binomial, poisson
from pyreterms.glmm.glformula import glformula

pytestmark = pytest.mark.r


@pytest.mark.parametrize(("formula", "family", "fam"), [
    ("y ~ Days + (Days | Subject)", "binomial", binomial()),
    ("cnt ~ Days + (1 + Days | Subject) + (1 | g)", "poisson", poisson()),
])
def test_many_level_vector_term_agrees_with_lme4(R, formula: str, family: str, fam) -> None:
    df = vector_glmm_data(120)
    assert GlmerDevfun(glformula(formula, df, fam)).pp.perm is not None  # the order under test is used
    rep = check_glmm(formula, df, family=family)
    assert rep.verdict is Verdict.AGREE, [(c.name, c.detail) for c in rep.components if not c.ok]
    assert set(components.names("glmer")) <= {c.name for c in rep.components}
