"""Bad input to the verbs: one-line typed errors, no numpy tracebacks (no R needed)."""
from __future__ import annotations

import pandas as pd
import pytest

import pyreterms
from pyreterms.errors import DataError, FormulaError, PyretermsError


@pytest.fixture(scope="module")
def fit():
    return pyreterms.lmer("Yield ~ 1 + (1 | Batch)", pyreterms.load_dataset("Dyestuff"))


@pytest.mark.parametrize("call,err", [
    (lambda f: f.predict(newdata="Dyestuff"), DataError),
    (lambda f: f.predict(re_form=3), FormulaError),
    (lambda f: f.predict(re_form="(1 | Batch)"), FormulaError),
    (lambda f: f.predict(type="terms"), DataError),
    (lambda f: f.predict(newdata=pd.DataFrame({"Yield": [1.0]})), DataError),
    (lambda f: f.simulate(nsim=0), DataError),
    (lambda f: f.simulate(nsim=1.5), DataError),
    (lambda f: f.simulate(seed="a"), PyretermsError),
    (lambda f: f.residuals(type="partial"), DataError),
    (lambda f: f.model_matrix(type="randomListRaw"), DataError),
    (lambda f: f.refit([1.0, 2.0]), DataError),
    (lambda f: f.update(subset="x"), DataError),
    (lambda f: f.update(". ~ . + (1 |"), FormulaError),
    (lambda f: f.bootMer(lambda g: g.theta, nsim=1, type="semiparametric"), DataError),
    (lambda f: f.confint_boot(nsim=2, seed=1, boot_type="bca"), DataError),
])
def test_one_line_typed_errors(fit, call, err):
    with pytest.raises(err) as e:
        call(fit)
    assert "\n" not in str(e.value)
