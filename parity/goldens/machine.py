"""The numerical environment of this process, recorded with goldens (R: ``sessionInfo()`` for Python).

Floating-point results can change in the last bits with the numpy/scipy build, the BLAS and the
CPU: numpy dispatches its ufunc loops (``np.exp``, ``np.log``, sums, ...) to SIMD kernels chosen at
run time (SSE/AVX2/AVX-512; ``NPY_DISABLE_CPU_FEATURES`` switches targets off) and OpenBLAS picks a
kernel per core type.  :func:`environment` records what was in use so that a golden's provenance is
known exactly.  No R, no rpy2.
"""
from __future__ import annotations

import os
import platform
from typing import Any

import numpy as np

__all__ = ["environment", "numpy_simd", "blas_info", "cpu_model"]


def cpu_model() -> str:
    """The CPU model (Linux ``/proc/cpuinfo`` "model name"; else ``platform.processor()``)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
            for ln in fh:
                if ln.startswith("model name"):
                    return ln.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_simd() -> dict[str, Any]:
    """numpy's SIMD baseline, the dispatch targets enabled/disabled on this CPU in this process, and
    the CPU features numpy found (what ``np.show_runtime()`` prints)."""
    try:
        from numpy._core import _multiarray_umath as mu  # type: ignore[attr-defined]  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import _multiarray_umath as mu
    feats = dict(getattr(mu, "__cpu_features__", {}))
    dispatch = list(getattr(mu, "__cpu_dispatch__", []))
    return {"baseline": list(getattr(mu, "__cpu_baseline__", [])),
            "dispatch_enabled": [t for t in dispatch if feats.get(t)],
            "dispatch_disabled": [t for t in dispatch if not feats.get(t)],
            "features_found": [k for k, v in feats.items() if v],
            "NPY_DISABLE_CPU_FEATURES": os.environ.get("NPY_DISABLE_CPU_FEATURES", "")}


def blas_info() -> list[dict[str, Any]]:
    """The BLAS/LAPACK libraries loaded by numpy and scipy (threadpoolctl): library, version, the
    core type OpenBLAS chose (``architecture``), threading layer."""
    import scipy.linalg  # noqa: F401  (loads scipy's own OpenBLAS)
    from threadpoolctl import threadpool_info

    keep = ("user_api", "internal_api", "prefix", "version", "architecture", "threading_layer", "num_threads")
    return [{k: i.get(k) for k in keep} for i in threadpool_info()]


def environment() -> dict[str, Any]:
    """Python stack versions, BLAS, CPU model and numpy's SIMD dispatch in this process."""
    import pandas as pd
    import scipy

    return {"python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
            "pandas": pd.__version__, "platform": platform.platform(), "cpu": cpu_model(),
            "numpy_simd": numpy_simd(), "blas": blas_info(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "")}
