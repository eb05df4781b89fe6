"""Typed errors and warnings raised by pyreterms.

Every place where lme4 1.1-31 stops or warns has a counterpart here; the message text follows
lme4's where lme4 has one, so that ``parity check`` can compare the decision *and* the reason.
"""
from __future__ import annotations


class PyretermsError(ValueError):
    """Base class of every error pyreterms raises on bad input (one line, names the problem)."""

    #: short machine-readable kind, also used by the parity harness to compare with R's reason
    kind: str = "error"


class FormulaError(PyretermsError):
    """The formula text cannot be parsed or uses something outside the allowlist."""

    kind = "formula"


class DataError(PyretermsError):
    """The data do not fit the formula (unknown variable, wrong type, empty frame, ...)."""

    kind = "data"


class UnsupportedInput(PyretermsError):
    """Input that lme4 accepts but pyreterms cannot represent faithfully (refused, never silently
    changed), e.g. an R attribute the data lost on the way to Python."""

    kind = "unsupported"


class LmeCheckError(PyretermsError):
    """A check lme4 performs with ``stop()`` failed (lmerControl check.* = "stop").

    ``lme4_message`` is the text lme4 1.1-31 gives for the same decision.
    """

    kind = "lme4-check"

    def __init__(self, message: str, *, check: str = "") -> None:
        super().__init__(message)
        self.check = check
        self.lme4_message = message


class LmeWarning(UserWarning):
    """A warning lme4 also gives (``warning()`` in R), e.g. badly scaled X."""


class LmeMessage(UserWarning):
    """An informational message lme4 gives with ``message()``, e.g. dropped rank-deficient columns."""


class RRandomError(PyretermsError):
    """Bad argument to R's random number functions (``pyreterms.rmath.rng``); the message is R's where
    R stops (``set.seed``, ``sample.int``, ``runif``/``rnorm``), e.g. "invalid first argument"."""

    kind = "random"


class RWarning(UserWarning):
    """A warning base R also gives (``warning()`` in R's stats/nmath), e.g. "NAs produced" from
    ``rnorm`` with ``sd < 0`` or "NaNs produced" from ``qnorm(2)``."""
