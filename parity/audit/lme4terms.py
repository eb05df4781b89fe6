"""Reading an lme4 formula into the pieces a Python peer can express (for the audit adapters).

R equivalent: lme4's ``findbars``/``nobars`` and ``expandDoubleVerts`` (R/utilities.R), restricted
to what the peers' adapters translate: a response column, fixed terms that are columns or
``a:b`` interactions of columns, and bar terms ``(lhs | g)`` / ``(lhs || g)`` whose left-hand side
is ``1``, ``0`` and numeric columns and whose grouping is one column.  Anything else raises
:class:`parity.adapter.impl.Unsupported` with the reason (the design is then *not compared*).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from parity.adapter.impl import Unsupported
from parity.campaigns.approxterms import split_terms as split_plus

__all__ = ["Bar", "Lme4Formula", "read_formula", "split_plus", "is_numeric", "is_factor_like", "r_rownames",
           "r_levels", "NAME"]

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Bar:
    """One random-effects term after expandDoubleVerts: ``(cols | group)``, intercept first."""

    intercept: bool
    cols: tuple[str, ...]
    group: str

    @property
    def cnms(self) -> tuple[str, ...]:
        """lme4's column names of the term (R: ``reTrms$cnms``)."""
        return (("(Intercept)",) if self.intercept else ()) + self.cols


@dataclass(frozen=True)
class Lme4Formula:
    response: str
    intercept: bool
    fixed: tuple[str, ...]     # terms: "x" or "a:b"
    bars: tuple[Bar, ...]      # in formula order (lme4's order for one grouping factor)


def is_numeric(s: pd.Series) -> bool:
    """A numeric, non-logical column (R: double or integer)."""
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def is_factor_like(s: pd.Series) -> bool:
    """A column R turns into a factor in a model matrix (character or factor)."""
    return isinstance(s.dtype, pd.CategoricalDtype) or pd.api.types.is_object_dtype(s.dtype) \
        or pd.api.types.is_string_dtype(s.dtype)


def _column(name: str, data: pd.DataFrame, what: str) -> str:
    if not NAME.fullmatch(name):
        raise Unsupported(f"{what} {name!r} is not a plain column (formula functions are not translated)")
    if name not in data.columns:
        raise Unsupported(f"{what} {name!r} is not a column of the data")
    return name


def read_formula(formula: str, data: pd.DataFrame) -> Lme4Formula:
    """The pieces of ``formula`` (Unsupported for anything outside the translated subset)."""
    if "~" not in formula:
        raise Unsupported("not a two-sided formula")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    response = _column(lhs, data, "response")
    if not is_numeric(data[response]):
        raise Unsupported("response is not numeric")
    intercept, fixed, bars = True, [], []
    for t in split_plus(rhs):
        m = re.fullmatch(r"\((.*?)(\|\|?)(.*)\)", t)
        if m:
            bars.extend(_bars(m.group(1), m.group(2) == "||", m.group(3).strip(), data))
        elif t == "1":
            continue
        elif t in ("0", "-1"):
            intercept = False
        elif ":" in t:
            fixed.append(":".join(_column(p.strip(), data, "fixed term") for p in t.split(":")))
        else:
            fixed.append(_column(t, data, "fixed term"))
    if not bars:
        raise Unsupported("no random-effects term")
    return Lme4Formula(response, intercept, tuple(fixed), tuple(bars))


def _bars(lhs: str, double: bool, group: str, data: pd.DataFrame) -> list[Bar]:
    if not NAME.fullmatch(group):
        raise Unsupported(f"grouping {group!r}: nested (g/h) and interaction (g:h) groupings are not translated")
    _column(group, data, "grouping variable")
    intercept, cols = True, []
    for t in split_plus(lhs):
        if t == "1":
            continue
        if t in ("0", "-1"):
            intercept = False
            continue
        c = _column(t, data, "random-effects term")
        if not is_numeric(data[c]):
            raise Unsupported(f"random slope on the non-numeric column {c!r} (factor/logical slopes) not translated")
        cols.append(c)
    if not intercept and not cols:
        raise Unsupported("random-effects term without columns")
    if not double:
        return [Bar(intercept, tuple(cols), group)]
    # lme4's expandDoubleVerts: (1 + x + z || g) -> (1 | g) + (0 + x | g) + (0 + z | g)
    return ([Bar(True, (), group)] if intercept else []) + [Bar(False, (c,), group) for c in cols]


def r_rownames(data: pd.DataFrame) -> list[str]:
    """R's row names of the data frame parity gives lme4: a RangeIndex (0-based) is "1".."n"."""
    if isinstance(data.index, pd.RangeIndex):
        return [str(i + 1) for i in range(len(data))]
    return [str(i) for i in data.index]


def r_levels(g: pd.Series) -> list[str]:
    """The levels of R's ``factor(g)`` as lme4 builds the grouping factor: unused categories
    dropped; character data in C collation (parity runs R so); integers in numeric order."""
    if isinstance(g.dtype, pd.CategoricalDtype):
        return [str(c) for c in g.cat.remove_unused_categories().cat.categories]
    if pd.api.types.is_integer_dtype(g.dtype) and not pd.api.types.is_bool_dtype(g.dtype):
        return [str(v) for v in sorted(set(int(v) for v in g))]
    if is_factor_like(g):
        return sorted(set(str(v) for v in g))
    raise Unsupported(f"grouping variable of type {g.dtype} (R's labels of doubles) not translated")
