"""Dispatch of glmer's PIRLS to the compiled kernel (:mod:`pyreterms.glmm.pirlsjit`): the arrays it reads,
built once per model from :class:`pyreterms.glmm.pirls.MerPred`'s analysed structure, and the write-back of
its results into ``MerPred``/``GlmResp`` so that everything after a deviance evaluation (the fit's
``getME``, ``vcov``, ``ranef``) reads the same fields as after the numpy path (R: what lme4's ``pwrssUpdate``
leaves in ``pp`` and ``resp``).

The kernel covers every structure :mod:`pyreterms.glmm.blockchol` factors. With every term scalar ``Lambda``
is the diagonal ``lam = theta[Lind]`` the kernel forms itself; with vector terms
:class:`~pyreterms.glmm.blockchol.CrossPattern` forms ``U = Z Lambda`` once per theta (lme4's ``Ut``) and the
kernel runs on ``U`` with ``lam = 1`` (``KernelModel.u_values``: where U's values go in ``flts``).  Nested
factors, and vector terms on many levels in component-major order (:func:`pyreterms.glmm.pirls.component_major`),
have a Schur complement that is blocked again (``ElimPlan.rest``): the kernel's dense ``L22`` then holds the
nested factor, zeros included.
``PYRETERMS_GLMM_KERNEL=0`` turns the kernel off (the numpy path is the reference it is tested against).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from pyreterms.glmm import pirlsjit
from pyreterms.glmm.blockchol import BlockChol, CrossPattern, SchurPlan
from pyreterms.glmm.famjit import FAMILIES, LINKS, aic_setup, has_aic
from pyreterms.glmm.fixedjit import row_groups
from pyreterms.glmm.pirls import GlmResp, MerPred, PirlsError

Arr = np.ndarray

_MESSAGES = {
    pirlsjit.NAN: "PIRLS loop resulted in NaN value",
    pirlsjit.HALVING: "(maxstephalfit) PIRLS step-halvings failed to reduce deviance in pwrssUpdate",
    pirlsjit.MAXIT: "pwrssUpdate did not converge in (maxit) iterations",
    pirlsjit.WEIGHTS: "PIRLS: non-finite working weights (the linear predictor is out of range)",
    pirlsjit.DOWNDATED: "Downdated VtV is not positive definite",
}


_NOFAC = np.zeros(0, dtype=np.int64)
_NOGQ = np.zeros((0, 3))
_ONE = np.ones(1)
_EMPTY = np.zeros(0)


def kernel_enabled() -> bool:
    """False when the environment sets ``PYRETERMS_GLMM_KERNEL=0``."""
    return os.environ.get("PYRETERMS_GLMM_KERNEL", "1") != "0"


def _schur_arrays(sch: SchurPlan | None) -> list[Arr]:
    """A level's ``SchurPlan`` arrays as the kernel reads them (empty: the dense product)."""
    return [_NOFAC] * 5 if sch is None else [sch.e1, sch.e2, sch.pos, sch.rows, sch.cols]


def _i64(a: Arr) -> Arr:
    return np.ascontiguousarray(a, dtype=np.int64)


def _f64(a: Arr) -> Arr:
    return np.ascontiguousarray(a, dtype=np.float64)


def _read_pairs(pat: CrossPattern) -> Arr:
    """The pairs of one observation's random effects whose sums the kernel reads: those of ``Z'WZ``'s non-zeros
    in ``A11``, ``A21`` and ``A22`` (``pirlsjit._blocks``).  The others (``A12``, the mirror of ``A21``) are
    not summed: a quarter of the pairs with two crossed terms.  Each kept sum has the same terms in the same
    order."""
    read = np.zeros(pat._r.size, dtype=bool)
    read[pat._i11] = read[pat._i21] = read[pat._i22] = True
    return np.flatnonzero(read[pat._inv]).astype(np.int64)


def _unit(indptr: Arr, values: Arr) -> bool:
    """Whether every row (an observation) has the same number of entries and every value is 1.0: the
    kernel's passes then skip reading both (``pirlsjit``'s ``unit_z``, ``unit_p``; ``1.0 * x`` is ``x``)."""
    counts = np.diff(indptr)
    return bool(counts.size > 0 and counts[0] > 0 and np.all(counts == counts[0]) and np.all(values == 1.0))


def _start_cache(n: int, ng: int, keep_g: bool) -> Arr:
    """An empty start cache (``weightsjit.start_views``) for n observations and ng non-zeros of ``Z'WZ``."""
    start = np.zeros(2 + 4 * n + ng)
    start[1] = float(keep_g)
    return start


@dataclass(frozen=True)
class KernelModel:
    """The model's constant arrays in the kernel's layout (see ``pirlsjit._Model``), packed as
    :func:`pirlsjit.evaluate` takes them: ``dims``, the index arrays end to end in ``ints`` (``iat``: where
    each starts) and the float arrays in ``flts``."""

    aic_compiled: bool
    dims: Arr
    ints: Arr
    iat: Arr
    flts: Arr
    state: KernelState
    u_values: tuple[int, int] | None = None  # Lambda not diagonal: where U's values and pair products go in flts
    #: the start cache (``weightsjit.start_views``): every evaluation of a glmer stage starts from the same ``eta``
    start: Arr = field(default_factory=lambda: np.zeros(2))
    #: how many u-only updates ran twice because their deferred RX check was not certified (``pirlsjit.pwrss``)
    rechecks: Arr = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    #: the reference that certifies later evaluations' RX checks (``pirlsjit.ref_views``; empty: none, Lambda
    #: not diagonal)
    ref: Arr = field(default_factory=lambda: np.zeros(0))
    #: how many evaluations left ``RZX``, ``RX``, ``Vtr`` to be formed when read, and how many were read
    deferrals: Arr = field(default_factory=lambda: np.zeros(2, dtype=np.int64))
    #: the observation pairs the kernel sums (:func:`_read_pairs`), into ``CrossPattern``'s ``_inv``/``_coef``
    pairs: Arr = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, pp: MerPred, rp: GlmResp) -> KernelModel | None:
        """The kernel's arrays, or None when the structure is not one it handles."""
        pat = pp.pat
        if pp.X.ndim != 2 or rp.y.shape != rp.weights.shape:
            return None
        fam = FAMILIES.get(rp.family.family)
        link = LINKS.get(rp.family.link)
        if fam is None or link is None:
            return None
        Z, Zt = pat.Z, pat.Zt
        sch = pat.plan.schur
        gidx, Xg = row_groups(_f64(pp.X))  # X's distinct rows, when few
        pairs = _read_pairs(pat)
        obs = pat._obs[pairs]
        ints = [pat.kernel_Lind, pat.kernel_lrow, Z.indptr, Z.indices, Zt.indptr, Zt.indices, pat._inv[pairs], obs,
                pat._r, pat._s, pat._i11, pat._t11, pat._i21, pat._t21, pat._i22, pat._t22, *_schur_arrays(sch),
                np.searchsorted(obs, np.arange(len(rp.y) + 1)),  # where each observation's pairs start
                gidx, np.flatnonzero(_f64(rp.y) != 0)]  # the last: famjit.aic's nonzero
        levels = []  # the nested levels: (q1, dense) each, their SchurPlan arrays after level 1's
        rest = pat.plan.rest
        while rest is not None:
            levels += [rest.q1, rest.schur is None]
            ints += _schur_arrays(rest.schur)
            rest = rest.rest
        y, wt = _f64(rp.y), _f64(rp.weights)
        aics = aic_setup(fam, y, _f64(rp.n), wt)
        flts = [y, wt, aics, _f64(pp.X), Z.data, Zt.data, pat._coef[pairs], Xg]
        n, p = pp.X.shape
        dims = np.array([fam, link, n, p, pat.q, int(pat.q1), sch is None, bool(np.isfinite(pp.X).all()),
                         pat.diagonal and _unit(Z.indptr, Z.data), pat.diagonal and _unit(ints[21], flts[6]), *levels],
                        dtype=np.int64)
        fat = np.cumsum([0] + [a.size for a in flts])
        return cls(bool(has_aic(fam)), dims, np.concatenate([_i64(a).ravel() for a in ints]),
                   np.cumsum([0] + [a.size for a in ints], dtype=np.int64),
                   np.concatenate([_f64(a).ravel() for a in flts]), KernelState.allocate(n, p, pat.q, int(pat.q1)),
                   None if pat.diagonal else (int(fat[4]), int(fat[7])),
                   _start_cache(n, pat._r.size, pat.diagonal),
                   ref=np.zeros(3 + pat.q + n) if pat.diagonal else np.zeros(0), pairs=pairs)

    def evaluate(self, pp: MerPred, rp: GlmResp, mode: int, gamma: Arr, start_off: Arr, base: Arr, beta: Arr,
                 theta: Arr, u_only: bool, tol: float, maxit: int, fac: Arr | None = None,
                 GQmat: Arr | None = None) -> float:
        """One deviance evaluation (:func:`pyreterms.glmm.pirlsjit.evaluate`: ``mode`` 0 PIRLS only, 1 the
        Laplace value, 2 the AGQ value).  ``pp``/``rp`` are left holding the state arrays (overwritten in place
        by the next evaluation, as lme4's ``pp``/``resp`` are) as the numpy path leaves them; lme4's errors
        are raised."""
        ws = self.state
        theta = np.array(theta, dtype=np.float64)
        theta_k = theta
        if self.u_values is not None:  # Lambda not diagonal: U = Z Lambda at theta, and lam = 1
            pat = pp.pat
            pat.set_theta(theta)
            a, b = self.u_values
            self.flts[a:b] = np.concatenate([pat.Z.data, pat.Zt.data, pat._coef[self.pairs]])
            theta_k = _ONE
        if pp.delu is not ws.delu:  # the numpy path (or a caller) moved the iterates: carry them over
            ws.delu[:] = pp.delu
            ws.delb[:] = pp.delb
        status, value, rechecked, deferred = pirlsjit.evaluate(
            mode, start_off, gamma, base, beta, theta_k, u_only, tol, maxit, _NOFAC if fac is None else fac,
            _NOGQ if GQmat is None else GQmat, self.dims, self.ints, self.iat, self.flts, ws.buffer, self.start,
            self.ref)
        self.rechecks[0] += rechecked
        self.deferrals[0] += deferred
        pp.theta, pp.pat.lam = theta, ws.lam
        rp.eta, rp.mu, rp.offset = ws.eta, ws.mu, ws.offset
        pp.delu, pp.delb, pp.Xwts = ws.delu, ws.delb, ws.Xwts
        if status != pirlsjit.WEIGHTS:
            pp.chol = ws.chol
            pp.RZX = ws.RZX
        if status not in (pirlsjit.WEIGHTS, pirlsjit.DOWNDATED):
            pp.RX, pp.Vtr, pp.Utr = ws.RX, ws.Vtr, ws.Utr
        # deferred: formed on the first read of pp.RZX, pp.RX or pp.Vtr (MerPred.settle); else an earlier
        # evaluation's pending work is dropped (after a failed update, as the arrays, it belongs to no state)
        pp.pending = self._settle if deferred else None
        if status != pirlsjit.OK:
            raise PirlsError(_MESSAGES[status])
        if mode == 1 and not self.aic_compiled:
            return float(value + rp.aic())
        return float(value)

    def _settle(self) -> None:
        """Form the ``RZX``, ``RX``, ``Vtr`` the last evaluation deferred (``pirlsjit.settle``), in the state
        arrays ``MerPred`` holds; lme4's error if ``RX``'s Cholesky fails (the certificate says it cannot)."""
        self.deferrals[1] += 1
        status = pirlsjit.evaluate(pirlsjit.SETTLE, _EMPTY, _EMPTY, _EMPTY, _EMPTY, _EMPTY, True, 0.0, 0, _NOFAC,
                                   _NOGQ, self.dims, self.ints, self.iat, self.flts, self.state.buffer, self.start,
                                   self.ref)[0]
        if status != pirlsjit.OK:
            raise PirlsError(_MESSAGES[status])


@dataclass(frozen=True)
class KernelState:
    """The arrays the kernel writes (``MerPred``'s and ``GlmResp``'s fields), allocated once per model as views
    of one ``buffer`` (in :func:`pirlsjit.evaluate`'s order)."""

    buffer: Arr
    lam: Arr
    eta: Arr
    mu: Arr
    offset: Arr
    delu: Arr
    delb: Arr
    d: Arr
    L21: Arr
    L22: Arr
    RZX: Arr
    RX: Arr
    Vtr: Arr
    Utr: Arr
    Xwts: Arr
    wtres: Arr
    chol: BlockChol

    @classmethod
    def allocate(cls, n: int, p: int, q: int, q1: int) -> KernelState:
        q2 = q - q1
        shapes = [(q,), (n,), (n,), (n,), (q,), (p,), (q1,), (q2, q1), (q2, q2), (q, p), (p, p), (p,), (q,), (n,),
                  (n,)]
        sizes = [int(np.prod(s)) for s in shapes]
        buffer = np.zeros(sum(sizes))
        at = np.cumsum([0, *sizes])
        views = [buffer[at[k]:at[k + 1]].reshape(s) for k, s in enumerate(shapes)]
        lam, eta, mu, offset, delu, delb, d, L21, L22, RZX, RX, Vtr, Utr, Xwts, wtres = views
        d[:], RX[:], Xwts[:] = 1.0, np.eye(p), 1.0
        return cls(buffer, lam, eta, mu, offset, delu, delb, d, L21, L22, RZX, RX, Vtr, Utr, Xwts, wtres,
                   BlockChol(d, L21, L22))
