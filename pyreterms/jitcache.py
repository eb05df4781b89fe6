"""Where numba keeps pyreterms' compiled kernels (``cache=True``; the GLMM PIRLS: :mod:`pyreterms.glmm.famjit`,
:mod:`~pyreterms.glmm.linjit`, ``fixedjit``, ``weightsjit``, ``agqjit``, :mod:`~pyreterms.glmm.pirlsjit`; the
small-model LMM evaluation:
:mod:`pyreterms.lmm.jitblas`, :mod:`~pyreterms.lmm.densekernel`) so that only the first process on a machine
compiles them, and :func:`jit`, the decorator they use.

numba writes its cache next to the source (``__pycache__``) or, when the package is installed read-only, in
the user's cache directory (``~/.cache/numba``); when neither is writable (a read-only install under a
read-only home, as in some containers) numba refuses to define a cached function at import.  Then
:func:`ensure_cache_dir` points numba at a per-user directory under the system's temporary directory, unless
``NUMBA_CACHE_DIR`` already chose one.  Concurrent processes (pytest-xdist workers) may compile and write the
same entries: numba writes each file to a temporary name and renames it, so readers see whole files.

numba keys a cached function by its own module's source file only, so code that inlined a function of another
kernel module would survive an edit of that module (and may crash); :func:`drop_stale` deletes the kernels'
cached code whenever any of :data:`KERNEL_MODULES` changed (a SHA-256 of their sources kept beside the cache).
Each kernel module calls :func:`prepare` with its own ``__file__`` at import, before defining its functions.

R equivalent: none (plumbing for the compiled kernels).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from typing import Any, Literal

import numba
from numba.core import config
from numba.core.caching import InTreeCacheLocator, UserProvidedCacheLocator, UserWideCacheLocator

#: the modules whose compiled code numba caches (paths under the package, without ``.py``)
KERNEL_MODULES = ("glmm/famjit", "glmm/linjit", "glmm/fixedjit", "glmm/weightsjit", "glmm/agqjit",
                  "glmm/pirlsjit", "lmm/jitblas", "lmm/densekernel",
                  "lmm/bobyqa_altmov", "lmm/bobyqa_loops", "lmm/bobyqa_prelim", "lmm/bobyqa_rescue",
                  "lmm/bobyqa_steps", "lmm/bobyqa_trsbox", "lmm/nmkernel")
_PACKAGE = os.path.dirname(os.path.abspath(__file__))
_BASENAMES = tuple(m.rsplit("/", 1)[-1] for m in KERNEL_MODULES)
_STAMP = "pyreterms-kernels.sha256"


def fallback_dir() -> str:
    """The directory used when no default location is writable."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"pyreterms-numba-{uid}")


def ensure_cache_dir(py_file: str) -> str | None:
    """Set numba's cache directory to :func:`fallback_dir` when neither the in-tree nor the user-wide cache
    can be written for ``py_file``; returns the directory set (None: numba's own choice stands)."""
    if getattr(config, "CACHE_DIR", ""):
        return None
    for locator in (InTreeCacheLocator, UserWideCacheLocator):
        if locator.from_function(ensure_cache_dir, py_file) is not None:  # type: ignore[no-untyped-call]
            return None
    path = fallback_dir()
    os.makedirs(path, exist_ok=True)
    config.CACHE_DIR = path  # type: ignore[attr-defined]
    return path


def cache_path(py_file: str) -> str | None:
    """The directory numba caches ``py_file``'s functions in (its first usable locator)."""
    for locator in (UserProvidedCacheLocator, InTreeCacheLocator, UserWideCacheLocator):
        found = locator.from_function(ensure_cache_dir, py_file)  # type: ignore[no-untyped-call]
        if found is not None:
            return str(found.get_cache_path())
    return None


def sources_digest(package: str = _PACKAGE) -> str:
    """SHA-256 of the kernel modules' sources (those of the installed package by default)."""
    h = hashlib.sha256()
    for name in KERNEL_MODULES:
        with open(os.path.join(package, f"{name}.py"), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def drop_stale(py_file: str, package: str = _PACKAGE) -> bool:
    """Delete the kernels' cached code (in ``py_file``'s cache directory) when the sources under ``package``
    are not the ones it was compiled from; True when something was deleted or the stamp (re)written."""
    path = cache_path(py_file)
    if path is None:
        return False
    digest = sources_digest(package)
    stamp = os.path.join(path, _STAMP)
    try:
        with open(stamp) as fh:
            if fh.read() == digest:
                return False
    except OSError:
        pass
    for entry in os.listdir(path):
        if entry.split(".")[0] in _BASENAMES and entry.endswith((".nbi", ".nbc")):
            try:
                os.remove(os.path.join(path, entry))
            except OSError:
                pass
    tmp = f"{stamp}.{os.getpid()}"
    with open(tmp, "w") as fh:
        fh.write(digest)
    os.replace(tmp, stamp)
    return True


def prepare(py_file: str) -> None:
    """Run at the import of each kernel module: :func:`ensure_cache_dir`, then :func:`drop_stale`."""
    ensure_cache_dir(py_file)
    drop_stale(py_file)


def _compiled(fn: Callable[..., Any], error_model: Literal["python", "numpy"]) -> Any:
    """``numba.njit(cache=True, error_model=...)(fn)`` (no fastmath, no parallel); numba raises ``RuntimeError``
    ("no locator available") when no cache directory is writable: then :func:`fallback_dir` (``NUMBA_CACHE_DIR``'s
    setting), and without any writable directory no cache (compiled once per process)."""
    try:
        return numba.njit(cache=True, error_model=error_model)(fn)
    except RuntimeError:
        pass
    if not getattr(config, "CACHE_DIR", ""):
        try:
            os.makedirs(fallback_dir(), exist_ok=True)
            config.CACHE_DIR = fallback_dir()  # type: ignore[attr-defined]
            return numba.njit(cache=True, error_model=error_model)(fn)
        except (OSError, RuntimeError):
            pass
    return numba.njit(cache=False, error_model=error_model)(fn)


def jit(fn: Callable[..., Any]) -> Any:
    """The kernels' decorator: :func:`_compiled` with numba's default (Python) error model."""
    return _compiled(fn, "python")


def jit_numpy_errors(fn: Callable[..., Any]) -> Any:
    """:func:`jit` with numpy's error model (the BOBYQA port, the GLMM kernels): a float division by zero gives
    Inf/NaN as in Fortran, C++ and numpy scalars, instead of raising; no fastmath, so no reassociation or FMA
    contraction (every operation rounds as written)."""
    return _compiled(fn, "numpy")
