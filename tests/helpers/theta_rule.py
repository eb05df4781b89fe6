"""The fitted-theta rule's recorded designs and evidence (README "Known differences" 6 and 9), shared by
tests/unit/test_fitted_theta_rule.py (no R) and tests/live/test_fitted_theta_equivalence.py (live lme4): the
paths of tests/data/, the evidence recorded by tests/data/record_evidence.py, and the early_stop design fitted
with its optimizer fed a stored trace of deviance values."""
from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import pyreterms
import pyreterms.lmm.fit as pf
from parity.campaigns.reproducer import load_design

#: tests/
TESTS = Path(__file__).resolve().parents[1]
#: tests/data/: one folder per recorded design (design.json, evidence.json)
DATA = TESTS / "data"
#: the theta component's name in parity's reports
THETA = 'getME(fit, "theta")'


def _record_evidence() -> Any:
    """tests/data/record_evidence.py as a module (loaded from its file: tests/data is no package)."""
    spec = importlib.util.spec_from_file_location("record_evidence", DATA / "record_evidence.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


#: SHA-256 of the float64 bytes of the thetas an optimizer asked for (record_evidence.theta_hash)
theta_hash: Callable[[np.ndarray], str] = _record_evidence().theta_hash


def evidence(name: str) -> dict[str, Any]:
    """tests/data/<name>/evidence.json (lme4's optimum, its noisy runs, for early_stop the stored trace)."""
    out: dict[str, Any] = json.loads((DATA / name / "evidence.json").read_text(encoding="utf-8"))
    return out


def design(name: str) -> Any:
    """The recorded design tests/data/<name>/ (parity.campaigns.reproducer.load_design)."""
    return load_design(DATA / name)


def feed_trace(values: list[float]) -> tuple[Any, np.ndarray, Callable[[np.ndarray], float]]:
    """pyreterms.lmer on the early_stop design with its optimizer fed ``values`` in call order
    (the deviance is not evaluated): returns (fit, thetas asked, the real deviance function)."""
    d = design("early_stop")
    asked: list[np.ndarray] = []
    it = iter(values)
    real: dict[str, Any] = {}
    orig = pf.optimize_lmer

    def fed(devfun: Any, start: Any, lower: Any, *a: Any, **k: Any) -> Any:
        real["devfun"] = devfun

        def f(th: np.ndarray) -> float:
            asked.append(np.array(th, dtype=np.float64))
            return next(it)
        return orig(f, start, lower, *a, **k)

    pf.optimize_lmer = fed
    try:
        fit = pyreterms.lmer(d.formula, d.data, REML=d.REML, **d.arrays())
    finally:
        pf.optimize_lmer = orig
    return fit, np.array(asked), real["devfun"]
