"""numba's side of the compiled small-model kernel (:mod:`pyreterms.lmm.densekernel`): a cached ``njit``
that also works from a read-only install, the Fortran BLAS/LAPACK routines scipy.linalg calls, made
callable from compiled code, and numpy's pairwise summation.

R equivalent: none (lme4's C++ calls BLAS/LAPACK through Eigen/CHOLMOD; this is the plumbing that
lets one compiled function make the same calls our Python path makes through numpy and scipy).

* the cache: :func:`pyreterms.jitcache.jit` and :func:`pyreterms.jitcache.prepare` (shared with the GLMM
  kernels: where numba's cache goes, and when it is dropped).
* :data:`dgemm`, :data:`dgemv`, :data:`ddot`, :data:`dtrsv`, :data:`dpotrf` -- the Fortran entry
  points of ``scipy.linalg.cython_blas``/``cython_lapack`` (the same OpenBLAS scipy.linalg uses),
  called by symbol name (the addresses are registered with LLVM at import), so the compiled code
  stays cacheable; every argument is a pointer (``arr.ctypes``).
* :func:`pairwise_sum` -- ``np.add.reduce`` of a contiguous float64 vector, bit for bit (numpy's
  ``pairwise_sum``: 8 accumulators up to 128 elements, halving above, identity 0 first).
* :func:`fma` -- ``x * y + z`` with one rounding (LLVM's ``llvm.fma``: the CPU's instruction, or the C
  library's ``fma`` without one), the step of an optimized BLAS's dot products.
"""
from __future__ import annotations

from typing import Any

import llvmlite.binding as llvm  # type: ignore[import-untyped]
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import get_cython_function_address, intrinsic

from pyreterms.jitcache import jit, prepare

prepare(__file__)

#: (module, routine) pairs registered as LLVM symbols ``pyreterms_<routine>``
_ROUTINES = (("scipy.linalg.cython_blas", "dgemm"), ("scipy.linalg.cython_blas", "dgemv"),
             ("scipy.linalg.cython_blas", "ddot"), ("scipy.linalg.cython_blas", "dtrsv"),
             ("scipy.linalg.cython_lapack", "dpotrf"))
for _mod, _name in _ROUTINES:
    llvm.add_symbol(f"pyreterms_{_name}", get_cython_function_address(_mod, _name))

_p = types.voidptr
#: dgemm(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
dgemm: Any = types.ExternalFunction("pyreterms_dgemm", types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p))
#: dgemv(trans, m, n, alpha, a, lda, x, incx, beta, y, incy)
dgemv: Any = types.ExternalFunction("pyreterms_dgemv", types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p))
#: ddot(n, x, incx, y, incy) -> float
ddot: Any = types.ExternalFunction("pyreterms_ddot", types.float64(_p, _p, _p, _p, _p))
#: dtrsv(uplo, trans, diag, n, a, lda, x, incx)
dtrsv: Any = types.ExternalFunction("pyreterms_dtrsv", types.void(_p, _p, _p, _p, _p, _p, _p, _p))
#: dpotrf(uplo, n, a, lda, info)
dpotrf: Any = types.ExternalFunction("pyreterms_dpotrf", types.void(_p, _p, _p, _p, _p))


def _fma(typingctx: Any, x: Any, y: Any, z: Any) -> Any:
    """``fma(x, y, z)``: ``x * y + z`` rounded once (float64; callable from compiled code only)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic("llvm.fma", [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)

    return sig, codegen


fma: Any = intrinsic(_fma)


@jit
def _pairwise_block(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's ``pairwise_sum`` of ``a[lo:lo + n]`` for ``n <= 128`` (one block, no split)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@jit
def pairwise_sum_range(a: np.ndarray, lo: int, n: int) -> float:
    """numpy's ``pairwise_sum`` of ``a[lo:lo + n]`` (``numpy/_core/src/umath/loops_utils.h.src``): blocks
    of at most 128 summed with 8 accumulators; above, ``sum(first n2) + sum(rest)`` with ``n2`` half of
    ``n`` rounded down to a multiple of 8.  The recursion runs on an explicit stack (numba's cache does
    not load self-recursive functions)."""
    if n <= 128:
        return _pairwise_block(a, lo, n)
    # frames: start, length, phase (0: split, 1: left done, 2: both done), the left half's sum
    f_lo = np.empty(64, np.int64)
    f_n = np.empty(64, np.int64)
    f_ph = np.empty(64, np.int64)
    f_left = np.empty(64)
    f_lo[0], f_n[0], f_ph[0] = lo, n, 0
    top = 0
    ret = 0.0
    while top >= 0:
        m = f_n[top]
        if m <= 128:
            ret = _pairwise_block(a, f_lo[top], m)
            top -= 1
            continue
        n2 = m // 2
        n2 -= n2 % 8
        ph = f_ph[top]
        if ph == 0:
            f_ph[top] = 1
            f_lo[top + 1], f_n[top + 1], f_ph[top + 1] = f_lo[top], n2, 0
            top += 1
        elif ph == 1:
            f_left[top] = ret
            f_ph[top] = 2
            f_lo[top + 1], f_n[top + 1], f_ph[top + 1] = f_lo[top] + n2, m - n2, 0
            top += 1
        else:
            ret = f_left[top] + ret
            top -= 1
    return ret


@jit
def pairwise_sum(a: np.ndarray) -> float:
    """``np.add.reduce(a)`` for a contiguous float64 vector (0.0 + numpy's pairwise sum)."""
    return 0.0 + pairwise_sum_range(a, 0, a.shape[0])


__all__ = ["fma", "pairwise_sum", "pairwise_sum_range", "dgemm", "dgemv", "ddot", "dtrsv",
           "dpotrf"]
