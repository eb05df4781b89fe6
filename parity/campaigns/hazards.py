"""The README "Formula language" hazards that :mod:`parity.campaigns.strategies` draws at a stated frequency.

R equivalent of what is exercised: ``model.frame``/``model.matrix`` inside ``lme4::lFormula`` --
``contr.poly`` for ordered factors, the ``contrasts =`` argument, the allowlisted functions
(``scale``, ``poly``, ``log``, ``I()`` with arithmetic and comparisons, ``factor``, ``as.numeric``;
``ns``/``bs``/``cut``/``pmin``/``pmax`` once ``pyreterms`` allows them), ``factor()`` of integer
grouping variables with 10-200 levels (numeric, not string, level order) and level strings whose C
(code point) order differs from a case-insensitive or accent-aware order.

:data:`FREQUENCIES` states, per hazard, the probability that one design drawn with every hazard on
carries it (tag ``hz:<name>``); ``tests/unit/test_strategies.py`` draws 1000 designs and checks each
observed frequency against it, and that every tagged design really has the property.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from hypothesis import strategies as st

from pyreterms.formula.allowlist import RULES

__all__ = ["FREQUENCIES", "FUNCTION_TERMS", "GATED_FUNCTION_TERMS", "FUNCTIONS_PER_DESIGN", "CONTRASTS", "coin",
           "function_terms", "permutation",
           "allowed_functions", "pick", "mixed_case_labels", "unicode_labels"]

#: hazard -> probability that a design carries it (all hazards on); drawn by :func:`coin`
FREQUENCIES: dict[str, float] = {
    "ordered_factor": 0.12,       # f is an ordered Categorical in the fixed part (contr.poly)
    "contrasts": 0.12,            # contrasts = list(f = <one of CONTRASTS>) with f in the fixed part
    "function": 0.40,             # 1-3 function terms (FUNCTIONS_PER_DESIGN; each of function_terms() equally likely)
    "int_groups_10_200": 0.20,    # the first grouping variable is integer with 10-200 levels
    "mixed_case": 0.12,           # a string grouping column with "a" and "B" (C order != case-folded order)
    "unicode": 0.12,              # a string grouping column with "é" and "f" (C order != accent-aware order)
}

#: how many distinct function terms a design with the "function" hazard carries (each count equally
#: likely): 2 on average, so each of the 14 terms is in ~5.7% of designs and a 150-design campaign
#: meets every one of them
FUNCTIONS_PER_DESIGN = (1, 2, 3)

CONTRASTS = ("contr.sum", "contr.helmert", "contr.SAS", "contr.poly", "contr.treatment")

#: (name, where, text): always-allowed function terms; where is "fixed" (added to the fixed part)
#: or "response" (replaces ``y``).  ``m`` is an integer column 1..K (K in 2..12), z > -3, y > -11.
FUNCTION_TERMS: tuple[tuple[str, str, str], ...] = (
    ("scale", "fixed", "scale(x)"),
    ("poly", "fixed", "poly(x, 2)"),
    ("log", "fixed", "log(z + 3)"),
    ("I_arith", "fixed", "I(x^2)"),
    ("I_gt", "fixed", "I(x > 0)"),
    ("I_eq", "fixed", "I(x == 1)"),
    ("factor", "fixed", "factor(m)"),
    ("as.numeric", "fixed", "as.numeric(lg)"),
    ("log_response", "response", "log(y + 11)"),
)
#: terms with functions that pyreterms' allowlist may not have yet: drawn only once it allows them
GATED_FUNCTION_TERMS: tuple[tuple[str, str, str], ...] = (
    ("ns", "fixed", "ns(z, 2)"),
    ("bs", "fixed", "bs(z, 3)"),
    ("cut", "fixed", "cut(z, 3)"),
    ("pmin", "fixed", "pmin(x, 1)"),
    ("pmax", "fixed", "pmax(z, 1)"),
)
_COMPARISONS = ("I_gt", "I_eq")


def allowed_functions() -> frozenset[str]:
    """The functions pyreterms evaluates in formulas (the names of ``pyreterms.formula.allowlist.RULES``)."""
    return frozenset(RULES)


def function_terms(i_comparisons: bool = True) -> tuple[tuple[str, str, str], ...]:
    """The function terms a design may draw: :data:`FUNCTION_TERMS` (without ``I()`` comparisons
    when ``i_comparisons`` is off) plus the gated ones pyreterms already allows."""
    allowed = allowed_functions()
    base = tuple(t for t in FUNCTION_TERMS if i_comparisons or t[0] not in _COMPARISONS)
    return base + tuple(t for t in GATED_FUNCTION_TERMS if t[0] in allowed)


def coin(draw: Callable, p: float) -> bool:
    """True with probability ``p`` (exactly, over drawn seeds: Hypothesis' own integer draws are
    not uniform); shrinks to False (seed 0)."""
    s = draw(st.integers(0, 2**24))
    return s != 0 and p > 0 and float(np.random.default_rng(s).random()) < p


def pick(draw: Callable, items: tuple | list):
    """One of ``items``, each with probability 1/len(items) (over drawn seeds); shrinks to the
    item of seed 0."""
    return items[int(np.random.default_rng(draw(st.integers(0, 2**24))).integers(len(items)))]


def permutation(draw: Callable, items: list) -> list:
    """A permutation of ``items``; shrinks to the identity."""
    s = draw(st.integers(0, 10**6))
    return list(items) if s == 0 else [items[j] for j in np.random.default_rng(s).permutation(len(items))]


def _with_pair(draw: Callable, pair: list[str], pool: list[str], k: int) -> list[str]:
    rest = [s for s in permutation(draw, pool) if s not in pair]
    out = (pair + rest)[:k]
    return out + [f"L{i}" for i in range(k - len(out))]


def mixed_case_labels(draw: Callable, k: int) -> list[str]:
    """k level strings containing "a" and "B" (C order "B" < "a"; case-insensitive "a" < "B")."""
    return _with_pair(draw, ["a", "B"], ["A", "b", "c", "C", "D", "d", "E", "e", "Z", "z"], k)


def unicode_labels(draw: Callable, k: int) -> list[str]:
    """k level strings containing "é" and "f" (C/code-point order "f" < "é"; accent-aware "é" < "f")."""
    return _with_pair(draw, ["é", "f"], ["e", "É", "ß", "s", "Ω", "日本", "ñ", "n", "z", "Z"], k)
