"""pyreterms.formula.bars -- lme4's ``findbars``, ``nobars``, ``subbars`` (``||`` and ``/`` expanded)
against lme4 1.1-31's own answers (no R at test time).

The expected values were produced once with Rscript (R 4.2.2, lme4 1.1-31)::

    fo <- as.formula(f)
    sapply(lme4::findbars(fo), deparse1); deparse1(lme4::nobars(fo)); deparse1(lme4::subbars(fo))
"""
from __future__ import annotations

import pytest

from pyreterms.formula.bars import any_bars, findbars, fixed_formula, is_bar, nobars, subbars
from pyreterms.formula.deparse import deparse
from pyreterms.formula.nodes import Call
from pyreterms.formula.parser import parse

#: (formula, findbars, nobars(formula), subbars(formula)) -- lme4 1.1-31 (the Rscript call above)
LME4 = [
    ("y ~ x + (x || g) + (1 | a/b) + (1 | c:d)", ("1 | g", "0 + x | g", "1 | b:a", "1 | a", "1 | c:d"), "y ~ x",
     "y ~ x + (x + g) + (1 + a/b) + (1 + c:d)"),
    ("y ~ (1 | g) + (0 + x | g) + z", ("1 | g", "0 + x | g"), "y ~ z", "y ~ (1 + g) + (0 + x + g) + z"),
    ("y ~ x * z + (x + z | g:h) + (1 | h)", ("x + z | g:h", "1 | h"), "y ~ x * z",
     "y ~ x * z + (x + z + g:h) + (1 + h)"),
    ("y ~ (x + z || g)", ("1 | g", "0 + x | g", "0 + z | g"), "y ~ 1", "y ~ (x + z + g)"),
    ("~ (1 | g) + w", ("1 | g",), "~w", "~(1 + g) + w"),
    ("log(y) ~ I(x^2) + (1 | g/h/k)", ("1 | k:(h:g)", "1 | h:g", "1 | g"), "log(y) ~ I(x^2)",
     "log(y) ~ I(x^2) + (1 + g/h/k)"),
]


def _formula(text: str) -> Call:
    f = parse(text)
    assert isinstance(f, Call) and f.fn == "~"
    return f


@pytest.mark.parametrize("text,bars,_nobars,_subbars", LME4, ids=[c[0] for c in LME4])
def test_findbars_is_lme4s(text: str, bars: tuple[str, ...], _nobars: str, _subbars: str) -> None:
    found = findbars(_formula(text).argv[-1])
    assert tuple(deparse(b) for b in found) == bars
    assert all(is_bar(b) for b in found)


@pytest.mark.parametrize("text,_bars,fixed,_subbars", LME4, ids=[c[0] for c in LME4])
def test_nobars_is_lme4s(text: str, _bars: tuple[str, ...], fixed: str, _subbars: str) -> None:
    """lme4's ``nobars`` of the whole formula: the fixed part, ``~ 1`` when no fixed term is left."""
    assert deparse(fixed_formula(_formula(text))) == fixed
    assert not any_bars(fixed_formula(_formula(text)).argv[-1])


@pytest.mark.parametrize("text,_bars,_nobars,sub", LME4, ids=[c[0] for c in LME4])
def test_subbars_is_lme4s(text: str, _bars: tuple[str, ...], _nobars: str, sub: str) -> None:
    """``subbars``: every ``|`` becomes ``+`` (the frame formula); ``||`` and ``/`` are left as written."""
    assert deparse(subbars(_formula(text))) == sub


def test_nobars_of_a_random_only_rhs_is_empty() -> None:
    assert nobars(_formula("y ~ (1 | g) + (x || h)").argv[-1]) is None
    assert any_bars(_formula("y ~ x + (1 | g)").argv[-1]) and not any_bars(_formula("y ~ x + g").argv[-1])
