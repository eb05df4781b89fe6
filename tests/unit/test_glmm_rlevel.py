"""lme4's R-level PIRLS loop (``glmerPwrssUpdate`` with ``compDev = FALSE``, lme4 1.1-31 ``R/lmer.R``) as
:func:`pyreterms.glmm.pirls.r_laplace` runs it: no step halving, no iteration limit of lme4's own, its two
errors, and the Laplace value at the iteration it stops at.  The working iteration is replaced by a scripted
sequence of penalised deviances; the live comparison with lme4 is ``tests/live/test_glmm_compdev.py``."""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from pyreterms.glmm import pirls
from pyreterms.glmm.pirls import PirlsError


class _State:
    """The few members r_laplace reads after its loop."""

    def ldL2(self) -> float:
        return 1.0

    def sqrL(self) -> float:
        return 2.0

    def aic(self) -> float:
        return 4.0


def _run(monkeypatch: pytest.MonkeyPatch, pdevs: list[float], tol: float = 1e-7) -> tuple[float | str, int]:
    seq: Iterator[float] = iter(pdevs)
    calls = []

    def fake(pp: object, rp: object, u_only: bool) -> float:
        calls.append(u_only)
        return next(seq)

    monkeypatch.setattr(pirls, "wrk_iter", fake)
    s = _State()
    try:
        out: float | str = pirls.r_laplace(s, s, u_only=True, tol=tol)  # type: ignore[arg-type]
    except PirlsError as e:
        out = str(e)
    return out, len(calls)


def test_r_loop_stops_as_lme4s(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run(monkeypatch, [10.0, 9.0, 8.9, 8.9 * (1 - 1e-8)]) == (7.0, 4)  # ldL2 + sqrL + aic
    assert _run(monkeypatch, [10.0, 11.0]) == ("PIRLS update failed", 2)  # a rise: no step halving
    assert _run(monkeypatch, [10.0, np.nan]) == ("encountered NA in PWRSS update", 2)
    assert _run(monkeypatch, [np.nan]) == ("encountered NA in PWRSS update", 1)
    # the relative change is tested before the rise: a rise within tol stops normally
    assert _run(monkeypatch, [10.0, 10.0 * (1 + 1e-9)]) == (7.0, 2)


def test_r_loop_has_our_stop_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pirls, "R_LOOP_MAX", 50)
    out, n = _run(monkeypatch, [100.0 - k for k in range(60)])
    assert n == 50 and isinstance(out, str) and "did not stop in 50 iterations" in out
