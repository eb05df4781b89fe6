"""pyreterms.formula.terms -- R's ``terms.formula``: variables, term labels (keep.order = FALSE),
intercept, offsets and the ``factors`` coding matrix (1 = contrasts, 2 = indicators), against R 4.2.2
(no R at test time).

The expected values were produced once with Rscript (R 4.2.2)::

    tt <- terms(as.formula(f))
    sapply(as.list(attr(tt, "variables"))[-1], deparse1); attr(tt, "term.labels"); attr(tt, "intercept")
    attr(tt, "offset") - 1   # 0-based here
    attr(tt, "factors")      # columns below, one per term; rows are the variables
"""
from __future__ import annotations

import pytest

from pyreterms.errors import FormulaError
from pyreterms.formula.parser import parse
from pyreterms.formula.terms import make_terms

#: (formula, variables, term.labels, intercept, offset (0-based), factors by column) -- R 4.2.2
R_TERMS = [
    ("y ~ a*b + offset(o) + c:a - 1", ("y", "a", "b", "offset(o)", "c"), ("a", "b", "a:b", "a:c"), 0, (3,),
     ((0, 1, 0, 0, 0), (0, 0, 1, 0, 0), (0, 1, 1, 0, 0), (0, 2, 0, 0, 1))),
    ("y ~ a + b %in% a", ("y", "a", "b"), ("a", "a:b"), 1, (), ((0, 1, 0), (0, 2, 1))),
    ("log(y) ~ (a + b + c)^2 - a:b", ("log(y)", "a", "b", "c"), ("a", "b", "c", "a:c", "b:c"), 1, (),
     ((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1), (0, 1, 0, 1), (0, 0, 1, 1))),
    ("~ a:b + a", ("a", "b"), ("a", "a:b"), 1, (), ((1, 0), (2, 1))),
    ("y ~ 0 + a + a:b:c", ("y", "a", "b", "c"), ("a", "a:b:c"), 0, (), ((0, 1, 0, 0), (0, 2, 2, 2))),
    ("y ~ poly(x, 2) + a/b", ("y", "poly(x, 2)", "a", "b"), ("poly(x, 2)", "a", "a:b"), 1, (),
     ((0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 2, 1))),
]


@pytest.mark.parametrize("text,variables,labels,intercept,offsets,factors", R_TERMS, ids=[c[0] for c in R_TERMS])
def test_terms_attributes_are_rs(text: str, variables: tuple[str, ...], labels: tuple[str, ...], intercept: int,
                                 offsets: tuple[int, ...], factors: tuple[tuple[int, ...], ...]) -> None:
    t = make_terms(parse(text))
    assert t.varnames == variables
    assert t.term_labels == labels
    assert t.intercept == bool(intercept)
    assert t.offsets == offsets
    assert t.has_response == (not text.startswith("~"))
    got = tuple(tuple(codes.get(v, 0) for v in range(len(variables))) for codes in t.codes)
    assert got == factors


def test_not_a_formula_is_a_formula_error() -> None:
    with pytest.raises(FormulaError, match="not a formula"):
        make_terms(parse("a + b"))
