"""The variant of the verb components a design is checked with: ``re.form`` and whether the new data
adds a row with new levels of the grouping factors (the fit-level campaign draws them,
:mod:`parity.campaigns.strategies`).

R equivalent: the ``verb_variant`` argument of ``pyreterms_reference()`` (``r_scripts/reference.R``),
used by the components ``predict(fit, re.form = rf)`` and ``predict(fit, newdata = ndv, re.form = rf,
allow.new.levels = TRUE)``.  The ``re.form`` text is made here, once, and given to both sides, so
that R and pyreterms read the same formula; without an active variant it is :func:`default_variant`.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from pyreterms.errors import PyretermsError
from pyreterms.formula.bars import findbars
from pyreterms.formula.nodes import Call
from pyreterms.formula.parser import deparse, parse

__all__ = ["VerbVariant", "re_form_choices", "default_variant", "current", "active", "variant_for"]


@dataclass(frozen=True)
class VerbVariant:
    """``re_form``: ``"NULL"``, ``"NA"``, ``"~0"`` or ``"~(<bar term>)"`` (one of the fit's bar terms as
    ``findbars`` gives them); ``new_level``: whether the new data end with a row of new levels."""

    re_form: str
    new_level: bool

    def py_re_form(self) -> str | None:
        """The ``re_form`` argument of :func:`pyreterms.verbs.predict.predict`."""
        return None if self.re_form == "NULL" else self.re_form


def re_form_choices(formula: str) -> tuple[str, ...]:
    """``NULL``, ``NA``, ``~0`` and one ``~(bar)`` per bar term of ``formula`` (R: ``findbars``)."""
    try:
        tree = parse(formula)
        bars = findbars(tree.argv[-1]) if isinstance(tree, Call) else []
    except PyretermsError:  # a formula lme4 refuses too (e.g. (1 || g)): no bar choices
        bars = []
    return ("NULL", "NA", "~0") + tuple(f"~({deparse(b)})" for b in bars)


def variant_for(formula: str, pick: int, new_level: bool) -> VerbVariant:
    """The variant ``pick`` (taken modulo the number of choices) of :func:`re_form_choices`."""
    ch = re_form_choices(formula)
    return VerbVariant(ch[pick % len(ch)], new_level)


def default_variant(formula: str) -> VerbVariant:
    """Outside a campaign: the first bar term and a new-level row (``predict``'s other components
    cover ``NULL`` and ``NA``)."""
    ch = re_form_choices(formula)
    return VerbVariant(ch[3] if len(ch) > 3 else "NULL", True)


_CURRENT: contextvars.ContextVar[VerbVariant | None] = contextvars.ContextVar("verb_variant", default=None)


def current() -> VerbVariant | None:
    """The variant in force (see :func:`active`), or None."""
    return _CURRENT.get()


@contextlib.contextmanager
def active(variant: VerbVariant | None) -> Iterator[None]:
    """Within this block :func:`parity.r.oracle.reference` and the pyreterms adapter use ``variant``."""
    token = _CURRENT.set(variant)
    try:
        yield
    finally:
        _CURRENT.reset(token)
