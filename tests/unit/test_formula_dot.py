"""pyreterms.formula.dot -- ``.`` in a formula with data: R's ``terms.formula(data =)`` replaces it by the
data's columns less the response's symbols; checked through the terms it gives, against R 4.2.2 (no R at
test time).

The expected values were produced once with Rscript (R 4.2.2)::

    d <- data.frame(y = 1, x = 1, z = 1, w = 1, g = 1)
    tt <- terms(as.formula(f), data = d)
    sapply(as.list(attr(tt, "variables"))[-1], deparse1); attr(tt, "term.labels")
"""
from __future__ import annotations

import pytest

from pyreterms.formula.dot import expand_dot, has_dot
from pyreterms.formula.nodes import Call
from pyreterms.formula.parser import parse
from pyreterms.formula.terms import make_terms

COLUMNS = ("y", "x", "z", "w", "g")

#: (formula, variables, term.labels) of ``terms(formula, data = d)`` -- R 4.2.2 (the Rscript call above)
R_DOT = [
    ("y ~ .", ("y", "x", "z", "w", "g"), ("x", "z", "w", "g")),
    ("log(y) ~ . + x:z", ("log(y)", "x", "z", "w", "g"), ("x", "z", "w", "g", "x:z")),
    ("y ~ . - w", ("y", "x", "z", "w", "g"), ("x", "z", "g")),
    ("cbind(y, w) ~ .", ("cbind(y, w)", "x", "z", "g"), ("x", "z", "g")),
    ("~ .", ("y", "x", "z", "w", "g"), ("y", "x", "z", "w", "g")),
    ("y ~ (.)^2", ("y", "x", "z", "w", "g"), ("x", "z", "w", "g", "x:z", "x:w", "x:g", "z:w", "z:g", "w:g")),
    ("y ~ x", ("y", "x"), ("x",)),
]


@pytest.mark.parametrize("text,variables,labels", R_DOT, ids=[c[0] for c in R_DOT])
def test_dot_expands_as_terms_formula_with_data(text: str, variables: tuple[str, ...],
                                                labels: tuple[str, ...]) -> None:
    f = parse(text)
    assert isinstance(f, Call)
    expanded = expand_dot(f, COLUMNS)
    assert not has_dot(expanded.argv[-1])
    t = make_terms(expanded)
    assert t.varnames == variables
    assert t.term_labels == labels


def test_unchanged_without_a_dot() -> None:
    f = parse("y ~ x + z")
    assert isinstance(f, Call) and expand_dot(f, COLUMNS) is f


def test_nothing_left_to_expand_is_an_error() -> None:
    f = parse("y ~ .")
    assert isinstance(f, Call)
    with pytest.raises(ValueError, match="no columns left"):
        expand_dot(f, ["y"])
