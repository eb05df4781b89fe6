"""lFormula's check controls: ``lmerControl()$checkControl`` and the checks that read it.

R equivalents (lme4 1.1-31, ``R/lmerControl.R``, ``R/utilities.R``): ``checkCtrlLevels``,
``checkNlevels``, ``checkZdims``, ``checkZrank``, ``wmsg`` and the ``kind`` values of
``chkRank.drop.cols`` / ``checkScaleX``.  lme4's quirks are kept on purpose: in ``checkNlevels``
the level "message" of ``check.nlev.gtr.1`` / ``check.nlev.gtreq.5`` stops with "unknown check level"
(its ``switch`` has no "message" branch) and for ``check.nobs.vs.nlev`` does nothing.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from pyreterms.errors import LmeCheckError, LmeMessage, LmeWarning

LEVELS = ("message", "warning", "stop", "ignore")
RANKX_KINDS = ("message+drop.cols", "silent.drop.cols", "warn+drop.cols", "stop.deficient", "ignore")
SCALEX_KINDS = ("warning", "stop", "silent.rescale", "message+rescale", "warn+rescale", "ignore")


@dataclass(frozen=True)
class CheckControl:
    """R: ``lmerControl()$checkControl`` (names with ``_`` for R's ``.``; defaults are lme4's)."""

    check_nobs_vs_rankZ: str = "ignore"
    check_nobs_vs_nlev: str = "stop"
    check_nlev_gtreq_5: str = "ignore"
    check_nlev_gtr_1: str = "stop"
    check_nobs_vs_nRE: str = "stop"
    check_rankX: str = "message+drop.cols"
    check_scaleX: str = "warning"
    check_formula_LHS: str = "stop"


def as_check_control(control: Any) -> CheckControl:
    """The check part of an ``LmerControl`` (its ``checks``), a :class:`CheckControl`, a dict of
    check names (R or Python spelling) or None (lme4's defaults)."""
    if control is None:
        return CheckControl()
    if isinstance(control, CheckControl):
        return control
    checks = getattr(control, "checks", None)
    if isinstance(checks, CheckControl):
        return checks
    if isinstance(control, dict):
        keys = {k.replace(".", "_"): v for k, v in control.items()}
        known = set(CheckControl.__dataclass_fields__)
        return CheckControl(**{k: v for k, v in keys.items() if k in known})
    raise LmeCheckError("'control' is not a list; use lmerControl()", check="control")


def _q(s: str) -> str:
    return f"\u2018{s}\u2019"  # R's sQuote in a UTF-8 locale


def check_ctrl_level(cstr: str, val: str, small_ok: bool = False) -> None:
    """R: ``checkCtrlLevels``: stop on a level outside message/warning/stop/ignore (+ ``Small``)."""
    bvals = list(LEVELS)
    if small_ok:
        bvals = [b + s for s in ("", "Small") for b in LEVELS]
    if not isinstance(val, str) or val not in bvals:
        raise LmeCheckError(f"invalid control level {_q(str(val))} in {cstr}: valid options are "
                            "{" + ",".join(_q(b) for b in bvals) + "}", check=cstr)


def _do_check(cc: str) -> bool:
    return cc != "ignore"


def _act(cc: str, cstr: str, msg: str, *, message_ok: bool = False) -> None:
    """One branch of lme4's ``switch(cc, warning = warning(), stop = stop(), ...)``."""
    if cc == "warning" or cc == "warningSmall":
        warnings.warn(msg, LmeWarning, stacklevel=4)
    elif cc == "stop" or cc == "stopSmall":
        raise LmeCheckError(msg, check=cstr)
    elif not message_ok:
        raise LmeCheckError(f"unknown check level for '{cstr}'", check=cstr)


def wmsg(n: int, cmp_val: int, msg1: str, msg2: str, msg3: str = "") -> tuple[bool, str]:
    """R: ``lme4:::wmsg(n, cmp.val, allow.n = FALSE, ...)``."""
    return n <= cmp_val, (f"{msg1} (={n}) <= {msg2} (={cmp_val}){msg3}; the random-effects parameters and "
                          "the residual variance (or scale parameter) are probably unidentifiable")


def check_nlevels(nlevels: list[tuple[str, int]], n: int, ctrl: CheckControl) -> list[str]:
    """R: ``checkNlevels(flist, n, control)``; returns the messages lme4 keeps in ``wmsgs``."""
    out: list[str] = []
    cc = ctrl.check_nlev_gtr_1
    check_ctrl_level("check.nlev.gtr.1", cc)
    if _do_check(cc) and any(k < 2 for _, k in nlevels):
        wstr = "grouping factors must have > 1 sampled level"
        _act(cc, "check.nlev.gtr.1", wstr)
        out.append(wstr)
    cc = ctrl.check_nobs_vs_nlev
    check_ctrl_level("check.nobs.vs.nlev", cc)
    bad = [name for name, k in nlevels if k >= n]
    if _do_check(cc) and bad:
        wst2 = ("number of levels of each grouping factor must be < number of observations "
                f"(problems: {', '.join(bad)})")
        _act(cc, "check.nobs.vs.nlev", wst2, message_ok=True)  # R's switch has no default there
        out.append(wst2)
    cc = ctrl.check_nlev_gtreq_5
    check_ctrl_level("check.nlev.gtreq.5", cc)
    if _do_check(cc) and any(k < 5 for _, k in nlevels):
        wst3 = "grouping factors with < 5 sampled levels may give unreliable estimates"
        _act(cc, "check.nlev.gtreq.5", wst3)
        out.append(wst3)
    return out


def check_zdims(ztlist: list[tuple[str, int]], n: int, ctrl: CheckControl) -> list[str]:
    """R: ``checkZdims(Ztlist, n, control, allow.n = FALSE)`` (``ztlist``: term name, rows of Z_i^T)."""
    cc = ctrl.check_nobs_vs_nRE
    check_ctrl_level("check.nobs.vs.nRE", cc)
    out: list[str] = []
    if not _do_check(cc):
        return out
    for name, rows in ztlist:
        unident, w = wmsg(n, rows, "number of observations", "number of random effects", f" for term ({name})")
        if unident:
            _act(cc, "check.nobs.vs.nRE", w)
            if w not in out:
                out.append(w)
    return out


def check_zrank(Zt: sp.spmatrix, n: int, ctrl: CheckControl, non_small: float = 1e6) -> list[str]:
    """R: ``checkZrank(Zt, n, control, nonSmall = 1e6)``.

    lme4 takes ``rankMatrix(Z, method = "qr")`` (a sparse QR); here the rank of the dense matrix by
    numpy's SVD rule (``matrix_rank``): the same integer except for numerically borderline Z."""
    cc = ctrl.check_nobs_vs_rankZ
    if not _do_check(cc):
        return []
    check_ctrl_level("check.nobs.vs.rankZ", cc, small_ok=True)
    d = Zt.shape
    if "Small" in cc and d[0] * d[1] > non_small:
        return []
    rank = int(np.linalg.matrix_rank(Zt.toarray())) if min(d) else 0
    unident, w = wmsg(n, rank, "number of observations", "rank(Z)")
    if unident:
        _act(cc, "check.nobs.vs.rankZ", w)
        return [w]
    return []


def check_kind(kind: str, kinds: tuple[str, ...], what: str) -> None:
    """R: ``match.arg(check.rankX)`` / ``match.arg(check.scaleX)`` in ``lmerControl``."""
    if kind not in kinds:
        raise LmeCheckError(f"'arg' should be one of {', '.join(chr(0x201c) + k + chr(0x201d) for k in kinds)}",
                            check=what)


def emit(kind: str, msg: str) -> None:
    """message() / warning() for the rank and scale checks."""
    warnings.warn(msg, LmeMessage if kind.startswith("message") else LmeWarning, stacklevel=4)
