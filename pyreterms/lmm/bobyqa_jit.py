"""numba compilation of the BOBYQA port (no R equivalent: minqa runs compiled Fortran). :func:`jit` is
:func:`pyreterms.jitcache.jit` with numpy's error model: ``numba.njit(cache=True, error_model="numpy")``,
no fastmath (so no reassociation or FMA contraction: every operation rounds as the Fortran's), no parallel;
a float division by zero gives Inf/NaN as in Fortran and as numpy scalars do, instead of raising. The
cache locations are :mod:`pyreterms.jitcache`'s (:func:`~pyreterms.jitcache.ensure_cache_dir`, its
fallback directory).

Kernels call kernels of other ``bobyqa_*`` modules (``after_eval`` calls ``update``, ``update_model`` and
``frobenius_test``; ``rescue_rebuild`` calls ``update``) and numba keys cached code by its own module's
source only, so :func:`prepare` (run by each kernel module at import) deletes every BOBYQA kernel's cached
code whenever any of :data:`MODULES` changed (a SHA-256 of their sources kept beside the cache).

The pure-Python code stays reachable: each kernel's ``.py_func``, or the whole port uncompiled with
``NUMBA_DISABLE_JIT=1`` in the environment (tests/unit/test_bobyqa_jit_same_points.py checks that both
evaluate the same points).
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
from numba.core import config

from pyreterms.jitcache import cache_path, ensure_cache_dir, fallback_dir

F = TypeVar("F", bound=Callable[..., Any])

#: the modules holding BOBYQA kernels (under ``pyreterms/lmm``, without ``.py``)
MODULES = ("bobyqa_altmov", "bobyqa_loops", "bobyqa_prelim", "bobyqa_rescue", "bobyqa_steps", "bobyqa_trsbox")
_HERE = os.path.dirname(os.path.abspath(__file__))
_STAMP = "pyreterms-bobyqa.sha256"


def sources_digest(folder: str = _HERE) -> str:
    """SHA-256 of the BOBYQA kernel modules' sources."""
    h = hashlib.sha256()
    for name in MODULES:
        with open(os.path.join(folder, f"{name}.py"), "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def drop_stale(py_file: str, folder: str = _HERE) -> bool:
    """Delete the BOBYQA kernels' cached code (in ``py_file``'s cache directory) unless it was compiled from
    the sources in ``folder``; True when something was deleted or the stamp (re)written."""
    path = cache_path(py_file)
    if path is None or not os.path.isdir(path):
        return False
    digest = sources_digest(folder)
    stamp = os.path.join(path, _STAMP)
    try:
        with open(stamp) as fh:
            if fh.read() == digest:
                return False
    except OSError:
        pass
    for entry in os.listdir(path):
        if entry.split(".")[0] in MODULES and entry.endswith((".nbi", ".nbc")):
            try:
                os.remove(os.path.join(path, entry))
            except OSError:
                pass
    tmp = f"{stamp}.{os.getpid()}"
    try:
        with open(tmp, "w") as fh:
            fh.write(digest)
        os.replace(tmp, stamp)
    except OSError:
        return False
    return True


def prepare(py_file: str) -> None:
    """Run at the import of each BOBYQA kernel module: the cache directory, then :func:`drop_stale`."""
    ensure_cache_dir(py_file)
    drop_stale(py_file)


def _njit(fn: Callable[..., Any], cache: bool) -> Any:
    return numba.njit(cache=cache, error_model="numpy")(fn)


def jit(fn: F) -> F:
    """Compile ``fn`` in nopython mode, cached on disk (``.py_func`` is the original); the fallbacks of
    :func:`pyreterms.jitcache.jit` when no cache directory is writable."""
    try:
        return cast(F, _njit(fn, True))
    except RuntimeError:
        pass
    if not getattr(config, "CACHE_DIR", ""):
        try:
            os.makedirs(fallback_dir(), exist_ok=True)
            config.CACHE_DIR = fallback_dir()  # type: ignore[attr-defined]
            return cast(F, _njit(fn, True))
        except (OSError, RuntimeError):
            pass
    return cast(F, _njit(fn, False))
