"""Where numba keeps the compiled GLMM kernels (:mod:`pyreterms.glmm.famjit`, :mod:`~pyreterms.glmm.linjit`,
:mod:`~pyreterms.glmm.pirlsjit`; ``cache=True``) so that only the first process on a machine compiles them.

numba writes its cache next to the source (``__pycache__``) or, when the package is installed read-only, in
the user's cache directory (``~/.cache/numba``); when neither is writable (a read-only install under a
read-only home, as in some containers) numba refuses to define a cached function at import.  Then
:func:`ensure_cache_dir` points numba at a per-user directory under the system's temporary directory, unless
``NUMBA_CACHE_DIR`` already chose one.  Concurrent processes (pytest-xdist workers) may compile and write the
same entries: numba writes each file to a temporary name and renames it, so readers see whole files.
"""
from __future__ import annotations

import os
import tempfile

from numba.core import config
from numba.core.caching import InTreeCacheLocator, UserWideCacheLocator


def fallback_dir() -> str:
    """The directory used when no default location is writable."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"pyreterms-numba-cache-{uid}")


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
