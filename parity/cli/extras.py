"""What a ``parity`` sub-command needs beyond pyreterms itself, checked before any work starts.

pyreterms installs without R; the harness's modules come with the ``parity`` extra
(``pip install 'pyreterms[parity]'``: rpy2 to reach R, hypothesis for ``fuzz``, rich for tables,
matplotlib for ``--html``).  A sub-command whose extra is missing stops with one line naming the
extra to install and exit code 2 (bad set-up, like bad input), never with an import traceback and
never with exit 1 (which means "disagreement").  ``--impl module:function`` is imported here too,
before R starts, with the current directory on the import path (as ``python -m`` puts it), so a
typo fails at once.

R equivalent: ``requireNamespace()`` before using a suggested package.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable

from parity.adapter.pyreterms_lformula import load_impl

__all__ = ["EXTRA", "INSTALL_HINT", "EXTRA_MODULES", "MissingExtra", "needed_modules", "missing_modules",
           "require", "missing_extra_message", "module_root", "add_unavailable", "preload_impl", "UNAVAILABLE"]

#: the optional-dependencies group of pyproject.toml that carries the harness's modules
EXTRA = "parity"
INSTALL_HINT = f"pip install 'pyreterms[{EXTRA}]'"
#: import names of the extra's packages (pyproject.toml [project.optional-dependencies] parity)
EXTRA_MODULES: frozenset[str] = frozenset({"rpy2", "hypothesis", "rich", "matplotlib"})

#: sub-command -> the modules it cannot run without (replay needs no R; check/replay print plain
#: text without rich)
_NEEDS: dict[str, tuple[str, ...]] = {
    "check": ("rpy2",),
    "fuzz": ("rpy2", "hypothesis", "rich"),
    "record": ("rpy2",),
    "bench": ("rpy2",),
    "audit": ("rpy2", "hypothesis"),
}

#: set on the namespace of a sub-command whose module could not be imported (see add_unavailable)
UNAVAILABLE = "_parity_unavailable"


class MissingExtra(Exception):
    """A sub-command's optional dependency is not installed: one line, exit code 2."""


def needed_modules(args: argparse.Namespace) -> tuple[str, ...]:
    """The modules the parsed command line needs (its sub-command's, plus matplotlib for --html)."""
    mods = _NEEDS.get(getattr(args, "command", None) or "", ())
    if getattr(args, "html", None):
        mods = (*mods, "matplotlib")
    return mods


def missing_modules(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that cannot be imported (looked up, not imported: R stays down)."""
    out = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or blocked package (sys.modules[name] is None)
            found = False
        if not found:
            out.append(name)
    return out


def missing_extra_message(command: str, modules: Iterable[str]) -> str:
    """``parity CMD needs rpy2 (the 'parity' extra): pip install 'pyreterms[parity]'``."""
    mods = list(dict.fromkeys(modules))
    return (f"parity {command} needs {', '.join(mods)} (the '{EXTRA}' extra, not installed): {INSTALL_HINT}")


def require(args: argparse.Namespace) -> None:
    """Raise MissingExtra when the parsed command cannot run here (its module failed to import, or a
    module it needs is not installed)."""
    command = getattr(args, "command", None) or "?"
    unavailable = getattr(args, UNAVAILABLE, None)
    if unavailable is not None:
        raise MissingExtra(unavailable)
    missing = missing_modules(needed_modules(args))
    if missing:
        raise MissingExtra(missing_extra_message(command, missing))


def module_root(e: ImportError) -> str:
    """The top-level package of a failed import (``rpy2`` for ``rpy2.robjects``), or ''."""
    return (getattr(e, "name", None) or "").split(".")[0]


def add_unavailable(sub: argparse._SubParsersAction, names: Iterable[str], error: ImportError) -> None:
    """Register sub-commands whose module failed to import, so they are still listed and running one
    says why (one line) instead of argparse's ``invalid choice``.  They accept any arguments."""
    root = module_root(error)
    for name in names:
        if root in EXTRA_MODULES:
            why = missing_extra_message(name, [root])
            help_ = f"(needs {root}: {INSTALL_HINT})"
        else:
            why = f"parity {name} is unavailable: {type(error).__name__}: {error}"
            help_ = f"(unavailable: {error})"
        p = sub.add_parser(name, help=help_, add_help=False, description=why)
        p.set_defaults(func=None, **{UNAVAILABLE: why})


def preload_impl(spec: str) -> None:
    """Import ``--impl module:function`` now (before R starts), the current directory first on the
    import path; any failure is a one-line ValueError (``cannot load implementation ...``)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)
    importlib.invalidate_caches()
    try:
        load_impl(spec)
    except ValueError:
        raise
    except Exception as e:  # the module itself failed (SyntaxError, an error raised at import, ...)
        first = (str(e).splitlines() or [""])[0]
        raise ValueError(f"cannot load implementation {spec!r}: {type(e).__name__}: {first}") from None
