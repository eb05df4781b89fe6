"""lme4's expanded random-effects terms, approximated in pandas for generated designs.

R equivalent: ``findbars`` + ``expandDoubleVerts``/``expandSlash`` + ``mkBlist``'s level counts, and
the checks ``checkNlevels``/``checkZdims`` that would stop ``lFormula``.  Used by
:mod:`parity.campaigns.strategies` for a design's hint ``expect_refusal`` and its tags (tied/reordered level
counts, unobserved ``a:b`` cells); never an oracle.
"""
from __future__ import annotations

import pandas as pd

__all__ = ["approx_terms", "split_terms"]

_SLASH = {"g/h": ["h:g", "g"], "h/g": ["g:h", "h"], "k/g": ["g:k", "k"]}
_DOUBLE = {"x": ["1", "0 + x"], "1 + x": ["1", "0 + x"], "0 + x": ["0 + x"], "x + z": ["1", "0 + x", "0 + z"],
           "f": ["1", "0 + f"], "0 + f": ["0 + f"], "lg": ["1", "0 + lg"], "x + f": ["1", "0 + x", "0 + f"],
           "1": []}


def split_terms(side: str) -> list[str]:
    """The top-level ``+`` terms of one side of a formula (parentheses respected)."""
    out, depth, cur = [], 0, ""
    for ch in side:
        depth += (ch == "(") - (ch == ")")
        if ch == "+" and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [t for t in out if t]


def approx_terms(data: pd.DataFrame, bars: list[tuple[str, str, str]], names: set[str],
                 weights: str | None, offset: str | None, tags: set[str]) -> tuple[list[int], bool]:
    """Approximate lme4's expanded terms (R: ``findbars`` + ``mkBlist``) on the complete cases:
    level counts in findbars order, and whether ``checkNlevels``/``checkZdims``/... would stop."""
    vars_ = [v for v in ["y", *sorted(names - {"offset"}), weights, offset] if v is not None and v in data]
    ok = data[vars_].notna().all(axis=1).to_numpy()
    n_c = int(ok.sum())
    d = data.loc[ok]
    kf = d["f"].nunique() if "f" in d else 0
    nc_of = {"1": 1, "x": 2, "0 + x": 1, "1 + x": 2, "x + z": 3, "f": kf, "0 + f": kf, "lg": 2,
             "0 + lg": 2, "x + f": kf + 1, "0 + z": 1}
    refuse = n_c == 0 or (weights is not None and bool((d[weights] < 0).any()))
    terms: list[tuple[str, str]] = []
    for lhs, op, grp in bars:
        lhss = _DOUBLE[lhs] if op == "||" else [lhs]
        refuse |= op == "||" and lhs == "1"
        terms += [(a, g) for a in lhss for g in _SLASH.get(grp, [grp])]
    nl: list[int] = []
    for a, g in terms:
        parts = g.split(":")
        k = len(d[parts].drop_duplicates()) if n_c else 0
        nl.append(k)
        refuse |= k < 2 or k >= n_c or nc_of[a] * k >= n_c
        if len(parts) == 2 and n_c and k < d[parts[0]].nunique() * d[parts[1]].nunique():
            tags.add("unobserved_combos")
    if len(set(nl)) < len(nl):
        tags.add("tied_nl")
    if any(b > a for a, b in zip(nl, nl[1:], strict=False)):
        tags.add("reordered")
        if len(set(nl)) < len(nl):
            tags.add("tied_nl_reordered")
    return nl, bool(refuse)
