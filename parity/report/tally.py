"""Campaign tallies: designs by verdict detail, by the rule that passed them, by failing component.

R equivalent: none (bookkeeping of :class:`parity.campaigns.fuzz.FuzzResult`; the rules are
:mod:`parity.compare.rules` and :mod:`parity.compare.conditioning`).
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from parity.compare.rules import RULES, rules_used

__all__ = ["rule_counts", "not_compared_kinds", "component_counts"]


def rule_counts(outcomes: Iterable[Any]) -> dict[str, int]:
    """Agreeing fit-level designs by the rule that passed them (:func:`parity.compare.rules.rules_used`):
    theta exact (1e-6), flat optimum, lme4's own spread; and designs with any component passed by
    the conditioning bound or by the rounding level of the problem's scale."""
    out = {k: 0 for k in RULES}
    for o in outcomes:
        if o.status == "agree" and o.report is not None and o.report.level == "fit":
            for k in rules_used(o.report.components):
                out[k] += 1
    return out


def not_compared_kinds(outcomes: Iterable[Any]) -> dict[str, int]:
    """Designs the harness declined, by kind (allowlist, unrepresentable, time limit, ...)."""
    out: dict[str, int] = {}
    for o in outcomes:
        if o.status == "not-compared":
            kind = o.error.split(":", 1)[0] if o.error else "other"
            out[kind] = out.get(kind, 0) + 1
    return out


def component_counts(outcomes: Iterable[Any]) -> dict[str, int]:
    """Disagreeing designs by failing component."""
    out: dict[str, int] = {}
    for o in outcomes:
        for c in o.failing:
            out[c] = out.get(c, 0) + 1
    return out
