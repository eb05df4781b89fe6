"""Conditional variances of the random effects: R's ``attr(ranef(fit, condVar = TRUE)[[f]], "postVar")``
(lme4 1.1-31 ``ranef.merMod``: ``merPredDcondVar`` in ``src/predModule.cpp`` when every grouping
factor has one term, else ``arrange.condVar(object, condVar(object))``; both give, per term k and
level l, the diagonal block ``sigma^2 T_k [(L L')^{-1}]_{kl} T_k'`` of
``Var(b | y) = sigma^2 Lambda (Lambda' Z' W Z Lambda + I)^{-1} Lambda'``).

No dense inverse of ``L`` (q x q) is formed.  The factor is the blocked one of
:mod:`pyreterms.lmm.cholesky`: term 0 (the one with most levels) is block diagonal ``L_00``, the rest
``L_rr`` (terms 1..K-1) is held dense by the factor itself.  With ``L_r0`` the block below ``L_00``,

    L^{-1} = [[L_00^{-1}, 0], [-L_rr^{-1} L_r0 L_00^{-1}, L_rr^{-1}]]

so the diagonal blocks of ``S = (L L')^{-1} = L^{-T} L^{-1}`` are
``S_rr = (L_rr L_rr')^{-1}`` (the size of ``L_rr``, which the factor stores densely anyway) and, for a
level l of term 0 with columns c, ``(L_00,l L_00,l')^{-1} + V_l' S_rr V_l`` with
``V_l = (L_r0)_{., c} L_00,l^{-1}`` (sparse: only the rows of levels met together with l).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.linalg import solve_triangular

from pyreterms.lmm.cholesky import BlockDiagonal, DenseLower, ScalarDiagonal
from pyreterms.lmm.deviance import LmerProblem

#: one factor's ``postVar``: an array (one term), a dict by R's names, or (name, array) pairs (names repeat)
PostVar = np.ndarray | dict[str, np.ndarray] | tuple[tuple[str, np.ndarray], ...]


@dataclass(frozen=True)
class CondRanef:
    """One grouping factor of ``ranef(fit, condVar = TRUE)``.

    ``modes``: the data frame R returns (rows = levels, columns = the terms' cnms);
    ``postVar``: R's ``attr(, "postVar")`` with the levels FIRST: an ``n_levels x nc x nc`` array when
    one term uses the factor, else (lme4 1.1-31) one such array per term, keyed as R names them (a
    dict; a tuple of (name, array) pairs when R's names repeat, as for ``(1 | g) + (1 | g)``);
    ``terms``: the per-term arrays in term order (always a tuple)."""

    modes: pd.DataFrame
    postVar: PostVar
    terms: tuple[np.ndarray, ...]

    def postVar_R(self) -> PostVar:
        """``postVar`` in R's own layout ``nc x nc x n_levels``."""
        if isinstance(self.postVar, np.ndarray):
            return np.transpose(self.postVar, (1, 2, 0))
        if isinstance(self.postVar, dict):
            return {k: np.transpose(v, (1, 2, 0)) for k, v in self.postVar.items()}
        return tuple((k, np.transpose(v, (1, 2, 0))) for k, v in self.postVar)


def _block0_inverse_blocks(L0: np.ndarray, nc: int) -> np.ndarray:
    """``L_00,l^{-1}`` per level (nl x nc x nc) from the factor's block-diagonal part."""
    if nc == 1:
        return (1.0 / L0).reshape(-1, 1, 1)
    eye = np.broadcast_to(np.eye(nc), L0.shape)
    return np.linalg.solve(L0, eye)


def cond_cov_blocks(problem: LmerProblem, theta: np.ndarray) -> list[np.ndarray]:
    """Per term k, an ``nl_k x nc_k x nc_k`` array of the diagonal blocks of ``(L L')^{-1}``
    (unscaled, in the spherical ``u`` scale: R's ``solve(L, I, system = "A")`` blocks)."""
    F = problem.factor(theta)
    terms = problem.terms
    K = len(terms)
    t0 = terms[0]
    qr = sum(t.q for t in terms[1:])
    # S_rr = (L_rr L_rr')^{-1}: L_rr assembled from the factor's dense blocks (terms 1..K-1)
    Srr = np.zeros((0, 0))
    if K > 1:
        offs = np.cumsum([0] + [t.q for t in terms[1:]])
        Lrr = np.zeros((qr, qr))
        for k in range(1, K):
            a, b = offs[k - 1], offs[k]
            Ldk = F.diag[k]
            assert isinstance(Ldk, DenseLower)  # term blocks after the first are dense
            Lrr[a:b, a:b] = Ldk.L
            for j in range(k + 1, K):
                Lrr[offs[j - 1]:offs[j], a:b] = F.low[j][k]
        Linv = solve_triangular(Lrr, np.eye(qr), lower=True, check_finite=False)
        Srr = Linv.T @ Linv
    out: list[np.ndarray] = []
    # term 0: (L_00,l L_00,l')^{-1} + V_l' S_rr V_l
    D0 = F.diag[0]
    assert isinstance(D0, ScalarDiagonal | BlockDiagonal)
    Li0 = _block0_inverse_blocks(D0.d if isinstance(D0, ScalarDiagonal) else D0.L, t0.nc)  # nl0 x nc x nc
    B0 = np.einsum("lji,ljk->lik", Li0, Li0)  # L^{-T} L^{-1} per level
    if K > 1:
        Lr0 = sp.vstack([sp.csr_matrix(F.low[j][0]) for j in range(1, K)]).tocsc()  # qr x q0
        # V = L_r0 blockdiag(L_00,l^{-1}): scale the columns of each level by its inverse block
        Binv = sp.block_diag(list(Li0), format="csc") if t0.nc > 1 else sp.diags(Li0.ravel()).tocsc()
        V = (Lr0 @ Binv).tocsc()
        V.sort_indices()
        ind, dat, ptr, nc0 = V.indices, V.data, V.indptr, t0.nc
        for lev in range(t0.nl):
            s, e = ptr[lev * nc0], ptr[(lev + 1) * nc0]
            if s == e:
                continue
            rows, pos = np.unique(ind[s:e], return_inverse=True)
            Vl = np.zeros((rows.size, nc0))  # the level's nc0 columns of V on the rows they touch
            Vl[pos, np.repeat(np.arange(nc0), np.diff(ptr[lev * nc0:(lev + 1) * nc0 + 1]))] = dat[s:e]
            B0[lev] += Vl.T @ Srr[np.ix_(rows, rows)] @ Vl
    out.append(B0)
    off = 0
    for k in range(1, K):
        t = terms[k]
        idx = off + np.arange(t.q).reshape(t.nl, t.nc)
        out.append(Srr[idx[:, :, None], idx[:, None, :]])
        off += t.q
    return out


def post_var_terms(problem: LmerProblem, theta: np.ndarray, sigma: float) -> list[np.ndarray]:
    """Per term, R's ``postVar`` blocks ``sigma^2 T_k S_kl T_k'`` as ``nl x nc x nc`` arrays."""
    S = cond_cov_blocks(problem, theta)
    out = []
    for Sk, T in zip(S, problem.templates(theta), strict=True):
        out.append(sigma ** 2 * np.einsum("ij,ljk,mk->lim", T, Sk, T))
    return out


def r_list_name(cnms: tuple[str, ...]) -> str:
    """The name R's ``names(cv3) <- rp$cnms`` gives a term (``as.character`` of its cnms vector)."""
    if len(cnms) == 1:
        return cnms[0]
    return "c(" + ", ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in cnms) + ")"


def arrange_post_var(cnms: tuple[tuple[str, tuple[str, ...]], ...], assign: np.ndarray, nfac: int,
                     pv: list[np.ndarray]) -> list[tuple[PostVar, tuple[np.ndarray, ...]]]:
    """Per grouping factor, lme4 1.1-31's arrangement (``arrange.condVar``): the term's array when one
    term uses the factor, else a list of arrays named by the terms' cnms."""
    out: list[tuple[PostVar, tuple[np.ndarray, ...]]] = []
    for f in range(nfac):
        ks = [k for k in range(len(cnms)) if assign[k] == f]
        arrs = tuple(pv[k] for k in ks)
        if len(ks) == 1:
            out.append((arrs[0], arrs))
        else:
            pairs = tuple((r_list_name(cnms[k][1]), pv[k]) for k in ks)
            named = dict(pairs)
            out.append((named if len(named) == len(pairs) else pairs, arrs))
    return out


__all__ = ["CondRanef", "cond_cov_blocks", "post_var_terms", "arrange_post_var"]
