"""The component registry (parity.components) against lme4: r_scripts/reference.R produces exactly the
registered names (live R; the pyreterms adapter side is tests/unit/test_components_registry_consistency.py)."""
from __future__ import annotations

import pytest

from parity import components

pytestmark = pytest.mark.r


FORMULA = "Reaction ~ Days + (Days | Subject)"


@pytest.mark.parametrize("level", ["lformula", "fit"])
def test_reference_r_produces_exactly_the_registry(R, sleepstudy, level: str) -> None:
    from parity.r import oracle

    res = oracle.reference(FORMULA, sleepstudy, level=level, thetas=[[1.0, 0.0, 1.0]], noisy_seeds=[1])
    got = [k for k, _ in res.items]
    fixed = {k for k in got if not components.is_rule_input(k)}
    want = set(components.names(level, None)) - {"error"}
    if level == "lformula":
        want -= {"harness: weights(fit)"}
    assert fixed == want, (sorted(want - fixed), sorted(fixed - want))
    families = {k for k in got if components.is_rule_input(k)}
    assert bool(families) == (level == "fit")
    assert all(any(p.match(k) for p, _ in components.FAMILIES) for k in families)


def test_a_refusal_is_the_registered_error(R, sleepstudy) -> None:
    from parity.r import oracle

    res = oracle.reference("Reaction ~ Days + (1 | Days)", sleepstudy.iloc[:3])
    assert "error" in dict(res.items) and components.COMPONENTS["error"].kind == "error"


def test_reference_r_dev_fun_only(R, sleepstudy) -> None:
    """reference.R with devFunOnly = TRUE: the registry's names plus DEVFUN_ONLY; its values are
    lme4's devfun at the four points (checked against a devfun made here)."""
    import numpy as np

    from parity.r import oracle
    from parity.r.rcall import active, parse_lmer_call

    with active(parse_lmer_call(f"lmer({FORMULA}, data = d, devFunOnly = TRUE)")):
        res = dict(oracle.reference(FORMULA, sleepstudy, level="fit").items)
    fixed = {k for k in res if not components.is_rule_input(k)}
    assert fixed == set(components.names("fit", None, ["devFunOnly"])) - {"error"}
    R.r_eval("suppressMessages(library(lme4)); ..f <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy); "
             "..d <- lmer(Reaction ~ Days + (Days | Subject), sleepstudy, devFunOnly = TRUE); "
             "..t <- getME(..f, 'theta'); ..v <- c(..d(..t), ..d(..t/2), ..d(2*..t), ..d(c(1, 0, 1)))")
    np.testing.assert_allclose(res[components.DEVFUN_ONLY].x, np.array(R.r_eval("..v")), rtol=1e-12)
