"""The profiled deviance of a linear mixed model and its PLS solution at a given theta.

R equivalent: the closure returned by ``lme4::mkLmerDevfun`` (``lmer(..., devFunOnly = TRUE)``),
i.e. ``lmer_Deviance`` -> ``merPredD::updateXwts/updateDecomp/solve`` + ``lmerResp::Laplace``
(lme4 1.1-31, ``src/external.cpp``, ``src/predModule.cpp``, ``src/respModule.cpp``).

Instead of CHOLMOD on ``Lambda^T Z^T W Z Lambda + I`` we factor, MixedModels.jl style, the blocked
matrix ``Omega(theta)`` built from the Gram blocks of ``[Z_1 .. Z_K  X  y-o]`` (weighted), which are
computed ONCE in :meth:`LmerProblem.build`; an evaluation then costs nothing proportional to n:

* block 0 (first term, most levels in lme4's order) stays block diagonal (``nl0`` blocks of
  ``nc0 x nc0``); the blocks ``L[j, 0]`` below it stay sparse (block-sparse pattern of ``Z_j^T W Z_0``);
* later term blocks and the ``[X y]`` block are dense.

The lower factor of ``Omega`` holds (JSS paper eq. 18) ``L_theta`` (term blocks), ``R_ZX^T`` and
``c_u^T`` (last block row), and ``R_X^T`` / ``r_yy`` (last diagonal block), so the profiled
deviance (eq. 35 ML, eq. 42 REML) needs no solve.  :meth:`LmerProblem.solve` adds eq. 49-53
(beta, u) by block back-substitution.  Terms keep lme4's order, so every result (u, b, RZX) is in
lme4's natural, unpermuted order; ``L`` here is the natural-order factor (lme4's is AMD-permuted,
compare it only through ``ldL2``/solves).
"""
from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from pyreterms.lmm.cholesky import BlockedFactor, DowndateError, update_L
from pyreterms.lmm.dense import DENSE_LAMBDA_MAX, DensePlan, build_dense_plan, dense_cost_ok
from pyreterms.lmm.densekernel import KernelData, pack
from pyreterms.lmm.gram import GramBlocks, LazyGram, gram_xy
from pyreterms.lmm.layout import TermLayout, infer_terms
from pyreterms.lmm.oneshot import OneShotPlan, OneShotSolution
from pyreterms.lmm.scalar import build_scalar_plan
from pyreterms.lmm.threads import ThreadTuner, blas_threads, second_core_free

#: order of the one-shot factor from which :meth:`LmerProblem.prefetch` runs its two workers only while
#: a second core is free (:func:`pyreterms.lmm.threads.second_core_free`): two factors of this size
#: (>= 32 MB each) no longer share the cache; below it (InstEval: 1,157) they were measured to pay
PREFETCH_FREE_CORE_Q = 2000


@functools.lru_cache(maxsize=64)
def _log(x: float) -> float:
    """``np.log`` of the objective's constants n and n - p (the same value, computed once)."""
    return float(np.log(x))


@dataclass(frozen=True, eq=False)
class PLSState:
    """The state lme4's ``merPredD``/``lmerResp`` hold after ``devfun(theta)`` (all natural order)."""

    theta: np.ndarray
    beta: np.ndarray
    u: np.ndarray
    b: np.ndarray
    mu: np.ndarray
    wrss: float
    ussq: float
    pwrss: float
    ldL2: float
    ldRX2: float
    sigmaML: float
    sigmaREML: float
    RX: np.ndarray  # p x p upper, positive diagonal (lme4 ``getME(, "RX")``)
    RZX: np.ndarray  # q x p, L^{-1} Lambda^T Z^T W^{1/2} V with natural-order L
    cu: np.ndarray  # q, L^{-1} Lambda^T Z^T W (y - o)  (paper eq. 49)
    dev: float  # the objective (REML criterion or ML deviance), from wrss + ussq like lme4


@dataclass(eq=False)
class Workspace:
    """The mutable scratch of one :class:`LmerProblem` (not part of its value): the factor buffer of
    the one-shot path, a theta -> deviance cache (R re-evaluates ``devfun`` at points it has already
    seen; the value is deterministic), a solution :meth:`LmerProblem.prefetch` computed ahead and
    the thread tuner of ``blas_threads="auto"`` (:class:`pyreterms.lmm.threads.ThreadTuner`)."""

    M: np.ndarray | None = None  # (with a compiled kernel: its flat workspace, KernelData.buffer)
    cache: dict[bytes, float] = field(default_factory=dict)
    solved: tuple[bytes, PLSState] | None = None
    tuner: ThreadTuner | None = None
    # the one-shot solution with the lowest deviance so far (theta bytes, value, solution pieces) and
    # the factor buffer it lives in (swapped with ``M``: no copy): the final ``solve`` at the optimizer's
    # best theta reads it instead of factoring once more (lme4 re-evaluates ``devfun(opt$par)``; the
    # numbers are those of that evaluation).  With a compiled kernel the pieces are None: the whole
    # solution is in ``M_best``
    best: tuple[bytes, float, tuple[OneShotSolution, np.ndarray, float, float] | None] | None = None
    M_best: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LmerProblem:
    """Everything of an lmer deviance evaluation that does not depend on theta (R: ``pp``/``resp``).

    Build with :meth:`build`; then ``deviance(theta)`` (R: ``devfun(theta)``) and ``solve(theta)``.
    """

    X: np.ndarray
    y: np.ndarray
    Zt: sp.csr_matrix
    Lambdat: sp.csc_matrix
    Lind: np.ndarray
    Gp: np.ndarray
    weights: np.ndarray
    sqrtw: np.ndarray
    offset: np.ndarray
    REML: bool  # effective: False when p == 0 (lme4 silently fits ML)
    ldW: float
    has_offset: bool
    weighted: bool
    gram_src: LazyGram  # the Gram blocks (weighted, offset removed from y), built on first use
    # one-shot path: ScalarPlan (all terms scalar, K >= 2: block 0 eliminated in closed form, the
    # rest one dpotrf) or DensePlan (small q + p + 1: all of Omega one dpotrf); None: blocked
    plan: OneShotPlan | None
    ws: Workspace = field(default_factory=Workspace, repr=False)
    # the compiled evaluation of a small dense plan (up to the objective, which stays ``objective``), else None
    kern: KernelData | None = None

    @property
    def gram(self) -> GramBlocks:
        """The Gram blocks (:mod:`pyreterms.lmm.gram`; built on first use: the dense path of a small
        model needs them only when a pivot fails)."""
        return self.gram_src.get()

    @property
    def terms(self) -> tuple[TermLayout, ...]:
        return self.gram_src.terms

    @property
    def n(self) -> int:
        return int(self.y.shape[0])

    @property
    def p(self) -> int:
        return int(self.X.shape[1])

    @property
    def q(self) -> int:
        return int(self.Zt.shape[0])

    @property
    def ntheta(self) -> int:
        return int(self.Lind.max()) + 1 if self.Lind.size else 0

    # ------------------------------------------------------------------------------------------
    @classmethod
    def build(cls, X: np.ndarray, y: np.ndarray, Zt: sp.spmatrix, Lambdat: sp.spmatrix,
              Lind: np.ndarray, Gp: np.ndarray | None = None, weights: np.ndarray | None = None,
              offset: np.ndarray | None = None, REML: bool = True,
              nc: tuple[int, ...] | None = None, pair_cap: int = 40_000_000,
              path: str = "auto", kernel: bool = True) -> LmerProblem:
        """Precompute the Gram blocks (R: ``merPredD$new`` + ``mkRespMod``).

        ``Lind`` is 0-based; ``Gp`` defaults to one term; ``nc`` (components per term) is inferred
        from the ``Lambdat``/``Lind`` pattern when not given.  ``pair_cap`` bounds the size of the
        precomputed pair lists (12 bytes each) of the first-column rank updates; levels beyond it are
        updated densely (:func:`pyreterms.lmm.rankupdate.build_block0_rank_update`).  ``path``: ``"auto"`` (the rest
        path when it applies, else the dense path when it is cheaper, else blocked; the dense path
        always for q <= ``DENSE_LAMBDA_MAX``), or force
        ``"rest"``, ``"dense"`` or ``"blocked"`` (all give the same deviance to rounding; for tests).
        ``kernel``: small dense models (``[X Z]`` and ``Lambdat`` kept dense) evaluate through the compiled
        :func:`pyreterms.lmm.densekernel.dense_deviance` (False: numpy's calls, the reference for tests).
        """
        if path not in ("auto", "rest", "dense", "blocked"):
            raise ValueError(f"unknown path {path!r}")
        y = np.ascontiguousarray(y, dtype=np.float64).ravel()
        n = y.shape[0]
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(n, -1))
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
        o = np.zeros(n) if offset is None else np.asarray(offset, dtype=np.float64).ravel()
        Zt = sp.csr_matrix(Zt, dtype=np.float64)
        Lambdat = sp.csc_matrix(Lambdat, dtype=np.float64)
        Lind = np.asarray(Lind, dtype=np.int64).ravel()
        Gp = np.array([0, Zt.shape[0]] if Gp is None else Gp, dtype=np.int64)
        terms = infer_terms(Lambdat, Lind, Gp, nc)
        p = X.shape[1]
        src = LazyGram(np.column_stack([X, y - o]), w, Zt, terms, pair_cap)
        plan: OneShotPlan | None = None
        if path == "auto" and Zt.shape[0] <= DENSE_LAMBDA_MAX:  # small models: no sparse overheads at all
            path = "dense"
        if path in ("auto", "rest"):
            plan = build_scalar_plan(src.get(), X, Zt)
            if plan is None and path == "rest":
                raise ValueError("the rest path needs >= 2 terms, all scalar")
        if path == "dense" or (path == "auto" and plan is None and dense_cost_ok(src.get())):
            # the dense path reads only [X y]^T W [Z X y] (the per-term blocks wait for a failed pivot)
            xz, xx = (np.hstack(src.blocks.xz), src.blocks.xx) if src.blocks is not None else gram_xy(src.Xy, w, Zt)
            plan = build_dense_plan(xz, xx, X, Zt, w, Lambdat, Lind)
        sqrtw, reml, ldW = np.sqrt(w), bool(REML) and p > 0, float(np.sum(np.log(w)))
        has_offset, weighted = bool(np.any(o != 0.0)), bool(np.any(w != 1.0))
        kern = None
        if kernel and isinstance(plan, DensePlan) and plan.XZ is not None and plan.lt_flat is not None:
            kern = pack(plan.G, plan.H, plan.XZ, plan.qr, plan.lt_flat, plan.lt_theta, plan.lt_indptr,
                        plan.lt_indices, plan.lam_diag, y, o, sqrtw, has_offset, weighted)
        return cls(X=X, y=y, Zt=Zt, Lambdat=Lambdat, Lind=Lind, Gp=Gp, weights=w, sqrtw=sqrtw, offset=o,
                   REML=reml, ldW=ldW, has_offset=has_offset, weighted=weighted, gram_src=src, plan=plan, kern=kern)

    # ------------------------------------------------------------------------------------------
    def templates(self, theta: np.ndarray) -> list[np.ndarray]:
        """Per term the ``nc x nc`` lower template T_k of Lambda (R: ``getME(, "Tlist")``)."""
        theta = np.asarray(theta, dtype=np.float64)
        out = []
        for t in self.terms:
            T = np.zeros((t.nc, t.nc))
            T[t.tmpl_rows, t.tmpl_cols] = theta[t.tmpl_theta]
            out.append(T)
        return out

    def lambdat(self, theta: np.ndarray) -> sp.csc_matrix:
        """``Lambdat`` at theta (R: ``pp$setTheta(theta); getME(, "Lambdat")``)."""
        L = self.Lambdat.copy()
        L.data = np.asarray(theta, dtype=np.float64)[self.Lind]
        return L

    def factor(self, theta: np.ndarray) -> BlockedFactor:
        """Blocked lower Cholesky factor of ``Omega(theta)`` (paper eq. 18, with y appended)."""
        return update_L(self.gram, self.templates(theta))

    def objective(self, ldL2: float, ldRX2: float, pwrss: float) -> float:
        """R: ``lmerResp::Laplace`` (ML: paper eq. 35; REML: eq. 42)."""
        n = float(self.y.shape[0])
        lnum = 2.0 * np.pi * pwrss
        if not self.REML:
            return ldL2 - self.ldW + n * (1.0 + np.log(lnum) - _log(n))
        nmp = n - self.X.shape[1]
        return ldL2 - self.ldW + ldRX2 + nmp * (1.0 + np.log(lnum) - _log(nmp))

    def deviance_gram(self, theta: np.ndarray) -> float:
        """Profiled objective with ``pwrss = r_yy^2`` from the factor: cost independent of n
        (MixedModels.jl's ``objective``); equals R's ``devfun(theta)`` to ~1e-12 relative."""
        F = self.factor(theta)
        return float(self.objective(F.ldL2, F.ldRX2, F.ryy ** 2))

    def _pls(self, Ts: list[np.ndarray],
             F: BlockedFactor) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float, float]:
        """Paper eq. 49-53 from the factor: beta, u (per term), b, mu, wrss, ussq (lme4 order)."""
        p = self.p
        beta = solve_triangular(F.RX, F.cbeta, lower=False, check_finite=False) if p else np.zeros(0)
        uk = F.back_solve(self.terms, [c - beta @ R if p else c for c, R in zip(F.cu, F.rzx, strict=False)])
        b = np.concatenate([(x.reshape(t.nl, t.nc) @ T.T).ravel()
                            for x, t, T in zip(uk, self.terms, Ts, strict=False)])
        u = np.concatenate(uk)
        mu = self.offset + self.X @ beta + self.Zt.T @ b
        wres = self.sqrtw * (self.y - mu)
        return beta, u, b, mu, float(wres @ wres), float(u @ u)

    def _one_shot(self, theta: np.ndarray,
                  M: np.ndarray | None = None) -> tuple[OneShotSolution, np.ndarray, float, float] | None:
        """The one-shot path (``plan.pls``: :func:`pyreterms.lmm.scalar.scalar_pls` or
        :meth:`pyreterms.lmm.dense.DensePlan.pls`): (solution, mu, wrss, ussq), or None
        when it does not apply or a pivot failed (then the general path decides).  ``M``: the
        ``Q x Q`` factor buffer (default: the problem's own)."""
        plan = self.plan
        if plan is None:
            return None
        if M is None:
            M = self.ws.M
            if M is None:
                M = self.ws.M = np.empty((plan.Q, plan.Q))
        sol = plan.pls(theta, M)
        if sol is None:
            return None
        beta = sol.beta
        if plan.XZ is not None:  # R: mu = offset + X beta + Z b
            mu = plan.XZ @ np.concatenate([beta, sol.b])
            if self.has_offset:
                mu += self.offset
        else:
            mu = plan.X_sparse @ beta if plan.X_sparse is not None else self.X @ beta
            if self.has_offset:
                mu = self.offset + mu
            assert plan.ZtT is not None  # (set whenever XZ is not)
            mu += plan.ZtT @ sol.b
        wres = self.y - mu
        if self.weighted:
            wres *= self.sqrtw
        return sol, mu, float(wres @ wres), float(sol.u @ sol.u)

    def deviance(self, theta: np.ndarray) -> float:
        """R: ``devfun(theta)`` (``lmer_Deviance``): pwrss = wrss + ||u||^2 from the PLS solution,
        exactly as lme4 forms it (keeps BOBYQA on lme4's path); O(nnz(Z) + n p) extra per call."""
        theta = np.asarray(theta, dtype=np.float64)
        cache = self.ws.cache
        key = theta.tobytes()
        val = cache.get(key)
        if val is not None:
            return val
        tuner = self.ws.tuner
        val = self._deviance(theta) if tuner is None else tuner.run(self._deviance, theta)
        if len(cache) >= 4096:
            cache.clear()
        cache[key] = val
        return val

    def deviance_nocache(self, theta: np.ndarray) -> float:
        """:meth:`deviance` without the theta -> value cache (for timing one evaluation)."""
        return self._deviance(np.asarray(theta, dtype=np.float64))

    def _buffer(self) -> np.ndarray:
        """A fresh factor buffer (the kernel's flat workspace, or ``Q x Q``)."""
        if self.kern is not None:
            return self.kern.buffer()
        assert self.plan is not None
        return np.empty((self.plan.Q, self.plan.Q))

    def _deviance(self, theta: np.ndarray, M: np.ndarray | None = None) -> float:
        kern = self.kern
        if kern is not None:  # one compiled call (a failed pivot: the blocked path below decides)
            W = M if M is not None else self.ws.M
            if W is None:
                W = self.ws.M = kern.buffer()
            r = kern.evaluate(theta, W)
            if r is not None:
                kval = float(self.objective(*r))
                if M is None:
                    self._keep_if_best(theta, kval, None)
                return kval
            Ts = self.templates(theta)
            F = update_L(self.gram, Ts)
            *_, wrss, ussq = self._pls(Ts, F)
            return float(self.objective(F.ldL2, F.ldRX2, wrss + ussq))
        res = self._one_shot(theta, M)
        if res is not None:
            sol, _, wrss, ussq = res
            val = float(self.objective(sol.ldL2, sol.ldRX2, wrss + ussq))
            if M is None:  # the sequential path (own buffer): keep the best solution
                self._keep_if_best(theta, val, res)
        else:
            Ts = self.templates(theta)
            F = update_L(self.gram, Ts)
            *_, wrss, ussq = self._pls(Ts, F)
            val = float(self.objective(F.ldL2, F.ldRX2, wrss + ussq))
        return val

    __call__ = deviance

    def _keep_if_best(self, theta: np.ndarray, val: float,
                      res: tuple[OneShotSolution, np.ndarray, float, float] | None) -> None:
        """Keep ``res`` (computed in ``ws.M``; None: the kernel's solution, all in ``ws.M``) when ``val`` is
        the lowest deviance so far: its buffer becomes ``ws.M_best`` and the previous best buffer the next
        evaluation's scratch."""
        ws = self.ws
        if not val < (ws.best[1] if ws.best is not None else np.inf):
            return
        ws.M, ws.M_best = ws.M_best, ws.M
        ws.best = (theta.tobytes(), val, res)

    def best_solved(self, theta: np.ndarray) -> bool:
        """Whether the kept best one-shot solution is the one at ``theta`` (then :meth:`solve` there
        costs no factorization)."""
        best = self.ws.best
        return best is not None and best[0] == np.asarray(theta, dtype=np.float64).tobytes()

    def prefetch(self, thetas: list[np.ndarray], solve_at: np.ndarray | None = None, workers: int = 2) -> None:
        """Evaluate ``deviance`` at several thetas (and ``solve`` at ``solve_at``) concurrently into the
        caches, so that the later sequential calls (R's order, e.g. ``deriv12``'s) are look-ups.

        Each worker thread has its own factor buffer and BLAS runs single-threaded meanwhile.
        An evaluation that fails or meets a floating-point exception is simply not cached (the
        sequential call then recomputes it and raises or warns as usual)."""
        if self.plan is None or workers < 2:
            return
        if self.plan.Q >= PREFETCH_FREE_CORE_Q and not second_core_free():
            # a large factor beside other load: two concurrent evaluations contend for one core and
            # its memory bandwidth (ml1m, load ~6 on 2 cores: 5 points in 10.7 s on 2 threads, ~5.5 s
            # one after the other); the sequential calls compute the same values
            return
        cache = self.ws.cache
        todo, seen = [], set()
        for th in thetas:
            th = np.array(th, dtype=np.float64)
            k = th.tobytes()
            if k not in cache and k not in seen:
                seen.add(k)
                todo.append(("dev", th))
        if solve_at is not None and not self.best_solved(solve_at):
            todo.append(("solve", np.array(solve_at, dtype=np.float64)))
        if len(todo) < 2:
            return
        local = threading.local()

        def work(item: tuple[str, np.ndarray]) -> tuple[str, bytes, float | PLSState] | None:
            kind, th = item
            M = getattr(local, "M", None)
            if M is None:
                M = local.M = self._buffer()
            try:
                with np.errstate(all="raise"):
                    if kind == "dev":
                        return kind, th.tobytes(), self._deviance(th, M)
                    return kind, th.tobytes(), self._solve(th, M)
            except Exception:  # noqa: BLE001 - recomputed sequentially
                return None

        # one BLAS thread per worker (the limit is process-wide; the caller waits meanwhile)
        with blas_threads(1), ThreadPoolExecutor(max_workers=workers) as ex:
            for r in ex.map(work, todo):
                if r is None:
                    continue
                _, k, v = r
                if isinstance(v, PLSState):
                    self.ws.solved = (k, v)
                else:
                    cache[k] = v

    def solve(self, theta: np.ndarray) -> PLSState:
        """R: ``devfun(theta)`` followed by reading ``pp``/``resp`` (paper eq. 49-53)."""
        theta = np.array(theta, dtype=np.float64)
        done, self.ws.solved = self.ws.solved, None
        if done is not None and done[0] == theta.tobytes():
            return done[1]
        best = self.ws.best
        if best is not None and best[0] == theta.tobytes():
            if best[2] is None:  # the kernel's solution, in its buffer
                assert self.ws.M_best is not None
                return self._solve(theta, W=self.ws.M_best)
            return self._solve(theta, res=best[2])
        return self._solve(theta)

    def _solve(self, theta: np.ndarray, M: np.ndarray | None = None,
               res: tuple[OneShotSolution, np.ndarray, float, float] | None = None,
               W: np.ndarray | None = None) -> PLSState:
        """:meth:`solve` computed (``res``: a one-shot solution at ``theta`` already at hand; ``W``: the
        kernel's workspace holding the evaluation at ``theta``)."""
        n, p = self.n, self.p
        kern = self.kern
        if kern is not None and res is None:
            if W is None:
                W = M if M is not None else self.ws.M
                if W is None:
                    W = self.ws.M = kern.buffer()
                if kern.evaluate(theta, W) is None:
                    W = None
            if W is not None:
                u, beta, b, mu, ldL2, ldRX2, wrss, ussq = kern.results(W)
                sol = OneShotSolution(L=kern.factor(W), LK0=np.zeros((p + 1, 0)), beta=beta, u=u, b=b, ldL2=ldL2,
                                      ldRX2=ldRX2)
                res = (sol, mu, wrss, ussq)
        elif res is None:
            res = self._one_shot(theta, M)
        if res is not None:
            sol, mu, wrss, ussq = res
            assert self.plan is not None  # a one-shot solution comes from the plan
            qr, L = self.plan.qr, sol.L
            pwrss = wrss + ussq
            return PLSState(theta=theta, beta=sol.beta, u=sol.u, b=sol.b, mu=mu, wrss=wrss, ussq=ussq,
                            pwrss=pwrss, ldL2=sol.ldL2, ldRX2=sol.ldRX2, sigmaML=float(np.sqrt(pwrss / n)),
                            sigmaREML=float(np.sqrt(pwrss / (n - p))) if n > p else float("nan"),
                            RX=np.triu(L[qr:qr + p, qr:qr + p].T),  # the factor's upper part is scratch
                            RZX=np.vstack([sol.LK0[:-1].T, L[qr:qr + p, :qr].T]),
                            cu=np.concatenate([sol.LK0[-1], L[qr + p, :qr]]),
                            dev=float(self.objective(sol.ldL2, sol.ldRX2, pwrss)))
        Ts = self.templates(theta)
        F = update_L(self.gram, Ts)
        beta, u, b, mu, wrss, ussq = self._pls(Ts, F)
        pwrss = wrss + ussq
        return PLSState(theta=theta, beta=beta, u=u, b=b, mu=mu, wrss=wrss, ussq=ussq,
                        pwrss=pwrss, ldL2=F.ldL2, ldRX2=F.ldRX2, sigmaML=float(np.sqrt(pwrss / n)),
                        sigmaREML=float(np.sqrt(pwrss / (n - p))) if n > p else float("nan"),
                        RX=F.RX, RZX=np.vstack([R.T for R in F.rzx]), cu=np.concatenate(F.cu),
                        dev=float(self.objective(F.ldL2, F.ldRX2, pwrss)))

    def cholesky_L(self, theta: np.ndarray) -> sp.csc_matrix:
        """Natural-order sparse lower ``L`` with ``L L^T = Lambda^T Z^T W Z Lambda + I``.

        lme4's ``getME(, "L")`` is a CHOLMOD factor of the AMD-permuted matrix; compare logdet/solves.
        """
        return self.factor(theta).sparse_L(self.terms)


__all__ = ["LmerProblem", "PLSState", "Workspace", "DowndateError"]
