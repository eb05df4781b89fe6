"""Which components an audit compares: ``--only`` / ``--ignore`` glob patterns, and *not provided*.

R equivalent: none (bookkeeping of the harness).  An implementation under audit rarely returns all
of ``r_scripts/reference.R``'s ~110 components; the rules (README "Auditing another implementation"):

* ``--only PAT ...`` keeps the components whose name matches any pattern; ``--ignore PAT ...`` drops
  those matching any pattern (after ``--only``).  Patterns are :func:`fnmatch.fnmatchcase` globs
  (``*``, ``?``, ``[...]``) and a pattern equal to a name always matches it (so names holding
  ``[`` such as ``lapply(reTrms$flist[assign], ...)`` can be given literally).  The refusal decision
  (``decision (accept/refuse)``) and *not compared* are never filtered.
* A component lme4 returns and the implementation does not is *not provided*: listed and counted in
  every summary, never agreement and never a disagreement.  The verdict is taken over the provided
  components (and is never *agree* when none was provided).
* What must be provided: without ``--only``, the required components of the level
  (:func:`parity.compare.check.required_components`: an empty answer cannot pass); with ``--only``, every
  pattern without wildcards (naming a component is a claim to provide it) -- a wildcard pattern's
  unmatched names are only counted.  A required component missing is a failure.
* The built-in implementation (pyreterms) is judged strictly: every component missing is a failure.
"""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["Selection", "ALL", "has_wildcard", "NOT_PROVIDED_DETAIL"]

#: detail of a component the implementation does not provide (reports list these apart)
NOT_PROVIDED_DETAIL = "not provided by this implementation"

_ALWAYS = ("decision (accept/refuse)", "not compared")


def has_wildcard(pattern: str) -> bool:
    """Whether ``pattern`` has a glob wildcard (``*`` or ``?``); ``[`` alone does not make one."""
    return "*" in pattern or "?" in pattern


def _match(name: str, pattern: str) -> bool:
    return name == pattern or fnmatch.fnmatchcase(name, pattern)


@dataclass(frozen=True)
class Selection:
    """``--only`` and ``--ignore`` patterns; ``strict``: every missing component fails (pyreterms)."""

    only: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    strict: bool = False

    @classmethod
    def of(cls, only: Iterable[str] | None = None, ignore: Iterable[str] | None = None,
           strict: bool = False) -> Selection:
        return cls(tuple(only or ()), tuple(ignore or ()), strict)

    @property
    def restricted(self) -> bool:
        """Whether ``--only`` was given (the comparison is limited to what it names)."""
        return bool(self.only)

    def selects(self, name: str) -> bool:
        """Whether the component ``name`` is compared."""
        if name in _ALWAYS:
            return True
        if self.only and not any(_match(name, p) for p in self.only):
            return False
        return not any(_match(name, p) for p in self.ignore)

    def claimed(self) -> set[str]:
        """The components ``--only`` names without wildcards (each must be provided)."""
        return {p for p in self.only if not has_wildcard(p) and self.selects(p)}

    def required(self, level_required: set[str]) -> set[str]:
        """The components that must be provided: the level's required ones (not ignored) without
        ``--only``, the claimed ones with it."""
        if self.restricted:
            return self.claimed()
        return {n for n in level_required if self.selects(n)}

    def unmatched(self, names: Iterable[str]) -> list[str]:
        """``--only`` patterns matching none of ``names`` (a typo: reported as bad input)."""
        names = list(names)
        return [p for p in self.only if not any(_match(n, p) for n in names)]

    def as_json(self) -> dict:
        return {"only": list(self.only), "ignore": list(self.ignore), "strict": self.strict}


#: compare everything (the default)
ALL = Selection()
