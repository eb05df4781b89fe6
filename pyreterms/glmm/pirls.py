"""PIRLS as lme4 does it: the response module ``glmResp`` (``src/respModule.cpp``), the predictor
``merPredD`` (``src/predModule.cpp``: ``updateXwts``, ``updateDecomp``, ``updateRes``, ``solve``,
``solveU``) and ``pwrssUpdate``/``internal_glmerWrkIter``/``glmerLaplace`` (``src/external.cpp``).

Z and Lambda are sparse; their structure is analysed once and the factor of ``L L' = Lambda' Ut Ut' Lambda + I``
is blocked (:mod:`pyreterms.glmm.blockchol`: a diagonal leading block, a dense rest by LAPACK's Cholesky)
where lme4 uses CHOLMOD: the same matrix, so ``ldL2`` and the solutions agree to rounding, not bit for bit.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from pyreterms.errors import PyretermsError
from pyreterms.glmm.blockchol import BlockChol, CrossPattern, NotPositiveDefinite
from pyreterms.glmm.family import Family

Arr = np.ndarray


class PirlsError(PyretermsError):
    """lme4's PIRLS failures (``pwrssUpdate``'s ``runtime_error``s), with lme4's messages."""


@dataclass
class GlmResp:
    """R: lme4's ``glmResp`` reference object (the fields PIRLS reads and writes)."""

    family: Family
    y: Arr
    weights: Arr
    n: Arr
    offset: Arr
    eta: Arr = field(default_factory=lambda: np.zeros(0))
    mu: Arr = field(default_factory=lambda: np.zeros(0))

    def update_mu(self, gamma: Arr) -> None:
        """``glmResp::updateMu``: ``eta = offset + gamma``, ``mu = linkInv(eta)`` (lme4's linkInv)."""
        self.eta = self.offset + gamma
        self.mu = self.family.link_obj.lme4_linkinv(self.eta)

    def mu_eta(self) -> Arr:
        return self.family.link_obj.lme4_mu_eta(self.eta)

    def sqrt_wrk_wt(self, mu_eta: Arr | None = None) -> Arr:
        """``sqrtWrkWt() = muEta * sqrt(weights / variance)`` (``mu_eta``: :meth:`mu_eta` if known)."""
        me = self.mu_eta() if mu_eta is None else mu_eta
        return me * np.sqrt(self.weights / self.family.lme4_variance(self.mu))

    def wrk_resp(self, mu_eta: Arr | None = None) -> Arr:
        """``wrkResp() = (eta - offset) + (y - mu) / muEta``."""
        return (self.eta - self.offset) + (self.y - self.mu) / (self.mu_eta() if mu_eta is None else mu_eta)

    def dev_resid(self) -> Arr:
        return self.family.dev_resids(self.y, self.mu, self.weights)

    def res_dev(self) -> float:
        return float(np.sum(self.dev_resid()))

    def aic(self) -> float:
        return self.family.aic(self.y, self.n, self.mu, self.weights, self.res_dev())

    def pearson(self) -> Arr:
        """``wtres`` after ``updateWts``: ``sqrt(weights / V(mu)) (y - mu)``."""
        return np.sqrt(self.weights / self.family.lme4_variance(self.mu)) * (self.y - self.mu)


class _Deferred:
    """A :class:`MerPred` field the compiled PIRLS may leave to be formed when first read (``RZX``, ``RX``,
    ``Vtr``): a read calls ``MerPred.settle`` first, an assignment drops the pending work (the value is
    kept in ``_<name>``)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_" + name

    def __get__(self, obj: MerPred | None, objtype: type | None = None) -> Arr:
        if obj is None:
            return self  # type: ignore[return-value]
        obj.settle()
        return getattr(obj, self.slot)

    def __set__(self, obj: MerPred, value: Arr) -> None:
        obj.pending = None
        setattr(obj, self.slot, value)


@dataclass
class MerPred:
    """R: lme4's ``merPredD``: theta, the factor L, RZX, RX and the iterates ``delu``/``delb``
    (``u0 = beta0 = 0`` as in every glmer devfun call).  The sparse structure is analysed once
    (:class:`pyreterms.glmm.blockchol.CrossPattern`) and L is blocked (:class:`BlockChol`)."""

    X: Arr
    Zt: sp.csc_matrix
    Lambdat0: sp.csc_matrix  # Lambdat's pattern (lme4's reTrms$Lambdat)
    Lind: Arr  # 0-based theta index of each stored entry of Lambdat
    theta: Arr
    delu: Arr = field(init=False)
    delb: Arr = field(init=False)
    chol: BlockChol = field(init=False)
    _RZX: Arr = field(init=False, repr=False)  # RZX, RX, Vtr: read and written through _Deferred below
    _RX: Arr = field(init=False, repr=False)
    _Vtr: Arr = field(init=False, repr=False)
    Utr: Arr = field(init=False)
    Xwts: Arr = field(init=False)
    pat: CrossPattern = field(init=False)
    # the elimination order (position i holds random effect perm[i]; None: lme4's order), see component_major;
    # delu, the factor, RZX and Utr are in this order, :meth:`original_order` gives lme4's
    perm: Arr | None = None
    #: set by the compiled PIRLS when an evaluation left RZX, RX and Vtr to be formed when first read
    #: (``pirlsjit.pwrss``'s deferral); any read of them calls it first, any assignment drops it
    pending: Callable[[], None] | None = field(default=None, init=False, repr=False)

    def settle(self) -> None:
        """Form the deferred ``RZX``, ``RX``, ``Vtr`` now (nothing when none is pending)."""
        if self.pending is not None:
            fn, self.pending = self.pending, None
            fn()

    RZX = _Deferred()
    RX = _Deferred()
    Vtr = _Deferred()

    def __post_init__(self) -> None:
        q, p = self.Zt.shape[0], self.X.shape[1]
        if self.perm is None:
            self.pat = CrossPattern(self.Zt, self.Lambdat0, self.Lind)
        else:
            self.pat = CrossPattern(*permuted(self.Zt, self.Lambdat0, self.Lind, self.perm))
        self.set_theta(self.theta)
        self.delu, self.delb = np.zeros(q), np.zeros(p)
        self.chol = BlockChol(np.ones(q), np.zeros((0, q)), np.zeros((0, 0)))
        self.RZX, self.RX, self.Vtr = np.zeros((q, p)), np.eye(p), np.zeros(p)
        self.Xwts = np.ones(self.X.shape[0])

    @property
    def Lambdat(self) -> sp.csc_matrix:
        out = self.Lambdat0.copy()
        out.data = self.theta[self.Lind].astype(np.float64)
        return out

    @property
    def L(self) -> Arr:
        """The factor as a dense lower-triangular q x q matrix."""
        return self.chol.dense()

    def diag_L(self) -> Arr:
        return self.chol.diag()

    def set_theta(self, theta: Arr) -> None:
        self.theta = np.asarray(theta, dtype=np.float64).copy()
        self.pat.set_theta(self.theta)

    def original_order(self) -> tuple[Arr, Arr, Arr]:
        """``u``, the dense lower-triangular ``L`` and ``RZX`` in lme4's order of the random effects.  With an
        elimination order (``perm``) L is factored again in lme4's order from the last iteration's ``A``
        (the same matrix: agrees to rounding, as CHOLMOD's own permuted factor does) and ``RZX = L^-1
        Lambdat Zt W X``; ``u`` is the same numbers moved."""
        if self.perm is None:
            return self.delu.copy(), self.L, self.RZX.copy()
        u = np.empty_like(self.delu)
        u[self.perm] = self.delu
        inv = np.argsort(self.perm)
        A = self.pat.A(self.Xwts)[np.ix_(inv, inv)]
        L = la.cholesky(A, lower=True) if A.size else A
        M = self.pat.ut_times(self.Xwts, self.X * self.Xwts[:, None])[inv]
        RZX = la.solve_triangular(L, M, lower=True) if A.size else M
        return u, L, RZX

    def update_decomp(self, sqrtXwt: Arr, wtres: Arr) -> None:
        """``updateXwts`` + ``updateDecomp`` + ``updateRes``."""
        self.Xwts = sqrtXwt
        V = self.X * sqrtXwt[:, None]
        try:
            self.chol = BlockChol.from_blocks(*self.pat.blocks(sqrtXwt), self.pat.plan)
        except NotPositiveDefinite:  # only with non-finite weights (CHOLMOD would not fail quietly)
            raise PirlsError("PIRLS: non-finite working weights (the linear predictor is out of range)") from None
        self.RZX = self.chol.solve(self.pat.ut_times(sqrtXwt, V))
        try:
            self.RX = la.cholesky(V.T @ V - self.RZX.T @ self.RZX, lower=True)
        except la.LinAlgError:
            raise PirlsError("Downdated VtV is not positive definite") from None
        self.Vtr = V.T @ wtres
        self.Utr = self.pat.ut_times(sqrtXwt, wtres)

    def solve(self) -> None:
        """``merPredD::solve``: joint (u, beta)."""
        cu = self.chol.solve(self.Utr)
        # non-finite working residuals (mu at a link's bound) give NaN here as in lme4's Eigen solves, and
        # pwrssUpdate then stops with "PIRLS loop resulted in NaN value" (scipy's finiteness check would raise)
        delb = la.solve_triangular(self.RX, self.Vtr - self.RZX.T @ cu, lower=True, check_finite=False)
        self.delb = la.solve_triangular(self.RX.T, delb, lower=False, check_finite=False)
        self.delu = self.chol.solve_t(cu - self.RZX @ self.delb)

    def solve_u(self) -> None:
        """``merPredD::solveU``: u only (beta in the offset), ``delb = 0``."""
        self.delb = np.zeros_like(self.delb)
        self.delu = self.chol.solve_t(self.chol.solve(self.Utr))

    def b(self, u: Arr) -> Arr:
        """``Lambda u``."""
        return self.pat.lam_(u)

    def z_lam(self, u: Arr) -> Arr:
        """``Z Lambda u``."""
        return self.pat.z_lam(u)

    def lin_pred(self) -> Arr:
        """``linPred(1) = X beta + Z Lambda u``."""
        return self.X @ self.delb + self.pat.z_lam(self.delu)

    def sqrL(self) -> float:
        return float(self.delu @ self.delu)

    def ldL2(self) -> float:
        return self.chol.ldL2()


#: level-major order is kept while the dense block it leaves has at most this many rows (its Cholesky costs
#: less than the numpy path's overhead per iteration, and the compiled kernel runs it)
DENSE_MAX = 100


def component_major(Gp: Arr, nc: list[int], dense_max: int = DENSE_MAX) -> Arr | None:
    """An elimination order for vector terms: within each term, lme4's level-major order (level, then
    component) becomes component-major (component, then level), so that the leading block of ``A`` is diagonal
    (the first components of the first term's levels never share an observation) and so is each Schur
    complement within the term: ``L`` has no fill inside a term, where level-major order factors the rows
    after the first diagonal block densely (``q - 1`` rows when the first term is a vector term; R:
    CHOLMOD's fill-reducing ordering avoids this for lme4).  None (lme4's order) when every term is scalar
    or that dense block has at most ``dense_max`` rows."""
    q = int(Gp[-1])
    q1 = int(Gp[1] - Gp[0]) if nc and nc[0] == 1 else 1
    if all(k == 1 for k in nc) or q - q1 <= dense_max:
        return None
    out = []
    for t, k in enumerate(nc):
        idx = np.arange(int(Gp[t]), int(Gp[t + 1]), dtype=np.int64).reshape(-1, k)
        out.append(idx.T.ravel())
    return np.concatenate(out)


def permuted(Zt: sp.spmatrix, Lambdat0: sp.spmatrix, Lind: Arr, perm: Arr) -> tuple[sp.csc_matrix, sp.csc_matrix,
                                                                                     Arr]:
    """``P Zt``, ``P Lambdat P'`` and its ``Lind`` (Lind follows the stored entries, whose order changes)."""
    Zp = sp.csc_matrix(sp.csr_matrix(Zt)[perm, :])
    Lt = sp.csc_matrix(Lambdat0)
    idx = sp.csc_matrix((np.arange(1.0, Lt.nnz + 1.0), Lt.indices, Lt.indptr), shape=Lt.shape)
    idx = sp.csc_matrix(idx[perm, :][:, perm])
    idx.sort_indices()
    src = idx.data.astype(np.int64) - 1
    Lp = sp.csc_matrix((np.asarray(Lt.data, dtype=np.float64)[src], idx.indices, idx.indptr), shape=Lt.shape)
    return Zp, Lp, np.asarray(Lind, dtype=np.int64)[src]


def wrk_iter(pp: MerPred, rp: GlmResp, u_only: bool) -> float:
    """``internal_glmerWrkIter``: one working iteration; returns ``resDev + ||u||^2``."""
    me = rp.mu_eta()  # the same eta for both (lme4 computes muEta twice)
    w = rp.sqrt_wrk_wt(me)
    pp.update_decomp(w, rp.wrk_resp(me) * w)
    if u_only:
        pp.solve_u()
    else:
        pp.solve()
    rp.update_mu(pp.lin_pred())
    return rp.res_dev() + pp.sqrL()


def pwrss_update(pp: MerPred, rp: GlmResp, u_only: bool, tol: float, maxit: int = 100) -> None:
    """``pwrssUpdate`` (src/external.cpp): step halving, relative tolerance ``tolPwrss``, ``maxit``."""
    oldpdev = np.finfo(np.float64).max
    for _ in range(maxit):
        olddelu, olddelb = pp.delu.copy(), pp.delb.copy()
        pdev = wrk_iter(pp, rp, u_only)
        if abs((oldpdev - pdev) / pdev) < tol:
            return
        if np.isnan(pdev) or pdev > oldpdev:
            for _k in range(20):
                if not (np.isnan(pdev) or pdev > oldpdev):
                    break
                pp.delu = (olddelu + pp.delu) / 2
                if not u_only:
                    pp.delb = (olddelb + pp.delb) / 2
                rp.update_mu(pp.lin_pred())
                pdev = rp.res_dev() + pp.sqrL()
            if np.isnan(pdev):
                raise PirlsError("PIRLS loop resulted in NaN value")
            if pdev - oldpdev > tol:
                raise PirlsError("(maxstephalfit) PIRLS step-halvings failed to reduce deviance in pwrssUpdate")
        oldpdev = pdev
    raise PirlsError("pwrssUpdate did not converge in (maxit) iterations")


#: our stop for lme4's R-level PIRLS loop (compDev = FALSE), which has none
R_LOOP_MAX = 10_000


def r_laplace(pp: MerPred, rp: GlmResp, u_only: bool, tol: float) -> float:
    """R: ``glmerPwrssUpdate`` with ``compDev = FALSE`` (lme4's R-level PIRLS, ``R/lmer.R``): ``RglmerWrkIter``
    (the working iteration of :func:`wrk_iter`) until the relative change of ``resDev + ||u||^2`` is below
    ``tol``, with no step halving and no iteration limit ("encountered NA in PWRSS update", "PIRLS update
    failed" as lme4 stops), then ``resp$Laplace(ldL2, 0, sqrL)``.  ``u_only``: lme4's ``nrow(GQmat) == 0``,
    True in the nAGQ = 0 stage and False after it (the opposite of the compiled ``glmerLaplace``'s)."""
    oldpdev = np.finfo(np.float64).max
    for _ in range(R_LOOP_MAX):
        pdev = wrk_iter(pp, rp, u_only)
        if np.isnan(pdev):
            raise PirlsError("encountered NA in PWRSS update")
        if abs((oldpdev - pdev) / pdev) < tol:
            return pp.ldL2() + pp.sqrL() + rp.aic()
        if pdev > oldpdev:
            raise PirlsError("PIRLS update failed")
        oldpdev = pdev
    raise PirlsError(f"lme4's R-level PIRLS (compDev = FALSE) did not stop in {R_LOOP_MAX} iterations (lme4's loop "
                     f"has no limit)")


def laplace(pp: MerPred, rp: GlmResp, u_only: bool, tol: float, maxit: int = 100) -> float:
    """``glmerLaplace``: PIRLS, then ``ldL2 + ||u||^2 + aic`` (``glmResp::Laplace``; ldRX2 unused)."""
    pwrss_update(pp, rp, u_only, tol, maxit)
    return pp.ldL2() + pp.sqrL() + rp.aic()
