"""Exact rational arithmetic for the tests that pin known differences against the true answer.

The design's doubles are taken exactly as rationals (``Fraction(float)``), so these are the answers
any floating-point implementation (lme4's or pyreterms') approximates: the penalised least squares
solution (JSS paper eq. 16-17) and log det(Lambda' Z' Z Lambda + I) (``ldL2``, eq. 14).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np


def _gram(V: list[list[Fraction]], q: int) -> list[list[Fraction]]:
    """V V' + diag(1 on the first q rows): the augmented PLS normal matrix."""
    m = len(V)
    return [[sum((a * b for a, b in zip(V[i], V[j])), Fraction(0)) + (1 if i == j and i < q else 0)
             for j in range(m)] for i in range(m)]


def exact_pls_beta(A: np.ndarray, X: np.ndarray, res: np.ndarray) -> np.ndarray:
    """beta of [[A A' + I, A X], [X'A', X'X]] [u; beta] = [A res; X' res] (A = Lambda' Z', q x n;
    res = y - offset), by Gauss-Jordan over Fractions."""
    q, p = A.shape[0], X.shape[1]
    V = [[Fraction(float(v)) for v in row] for row in np.vstack([A, X.T])]
    rq = [Fraction(float(v)) for v in res]
    m = q + p
    M = [row + [sum((a * b for a, b in zip(V[i], rq)), Fraction(0))] for i, row in enumerate(_gram(V, q))]
    for c in range(m):
        piv = next(i for i in range(c, m) if M[i][c] != 0)
        M[c], M[piv] = M[piv], M[c]
        pv = M[c][c]
        M[c] = [v / pv for v in M[c]]
        for i in range(m):
            if i != c and M[i][c] != 0:
                f = M[i][c]
                M[i] = [a - f * b for a, b in zip(M[i], M[c])]
    return np.array([float(M[q + j][m]) for j in range(p)])


def exact_ldL2(A: np.ndarray) -> float:
    """log det(A A' + I) (A = Lambda' Z'), the determinant exact; its log is a difference of two
    big-integer logs (error ~1e-14)."""
    q = A.shape[0]
    M = _gram([[Fraction(float(v)) for v in row] for row in A], q)
    det = Fraction(1)
    for c in range(q):
        piv = M[c][c]
        for r in range(c + 1, q):
            if M[r][c]:
                f = M[r][c] / piv
                for k in range(c, q):
                    M[r][k] -= f * M[c][k]
        det *= piv
    return math.log(det.numerator) - math.log(det.denominator)
