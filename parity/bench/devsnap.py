"""Snapshot of the deviance (and PLS solution) at fixed thetas on every fit case of the case table,
to check that a performance change leaves the numbers where they were.

    python -m parity.bench.devsnap save before.json
    python -m parity.bench.devsnap compare before.json      # max relative difference per case

Thetas per case: lme4's start (``reTrms$theta``), a few deterministic perturbations of it (one with a
component on the boundary) and pyreterms' fitted theta (whose fit also records the optimizer path:
theta, criterion and number of evaluations).
"""
from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import numpy as np

import pyreterms
from parity.goldens.cases import CASES, case_data
from parity.r.rcall import active
from parity.r.rcall import current as current_call
from pyreterms.lmm.deviance import LmerProblem
from pyreterms.lmm.fit import lmer_from_parts


def _thetas(theta0: np.ndarray, lower: np.ndarray) -> list[np.ndarray]:
    rng = np.random.default_rng(17)
    out = [theta0.copy()]
    for _ in range(3):
        th = theta0 * rng.uniform(0.2, 2.0, theta0.size) + rng.normal(0, 0.1, theta0.size) * (lower == -np.inf)
        out.append(th)
    th = theta0.copy()
    th[0] = 0.0
    out.append(th)
    return out


def snapshot() -> dict[str, Any]:
    res: dict[str, Any] = {}
    for case in CASES:
        if not case.fit:
            continue
        try:
            data = case_data(case)
            with active(case.lmer_call()), warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                call = current_call()
                extra = call.py_kwargs() if call is not None else {}
                kw = case.call_kwargs(data)
                lf = pyreterms.lformula(case.formula, data, case.REML, extra.get("subset"),
                                        weights=kw.get("weights"), offset=kw.get("offset"),
                                        contrasts=kw.get("contrasts"), na_action=extra.get("na_action", "na.omit"),
                                        control=extra.get("control"))
                rt = lf.reTrms
                assert lf.y is not None
                prob = LmerProblem.build(lf.X.X, lf.y, rt.Zt, rt.Lambdat, rt.Lind, rt.Gp, lf.weights, lf.offset,
                                         lf.REML, nc=tuple(len(cn) for _, cn in rt.cnms))
                entry: dict[str, Any] = {"path": type(prob.plan).__name__, "dev": [], "beta": [], "b": []}
                thetas = _thetas(np.asarray(rt.theta, dtype=float), np.asarray(rt.lower, dtype=float))
                try:
                    fit = lmer_from_parts(lf)
                    thetas.append(np.asarray(fit.theta, dtype=float))
                    entry["fit"] = {"theta": fit.theta.tolist(), "crit": float(fit.crit),
                                    "feval": int(fit.opt.feval)}
                except Exception as e:  # noqa: BLE001
                    entry["fit"] = {"error": f"{type(e).__name__}: {e}"}
                for th in thetas:
                    try:
                        entry["dev"].append(float(prob.deviance_nocache(th)))
                        s = prob.solve(th)
                        entry["beta"].append(s.beta.tolist())
                        entry["b"].append(s.b.tolist())
                    except Exception as e:  # noqa: BLE001
                        entry["dev"].append(f"{type(e).__name__}: {e}")
                res[case.id] = entry
        except Exception as e:  # noqa: BLE001
            res[case.id] = {"error": f"{type(e).__name__}: {e}"}
    return res


def _rel(a: Any, b: Any) -> float:
    a, b = np.atleast_1d(np.asarray(a, dtype=float)), np.atleast_1d(np.asarray(b, dtype=float))
    if a.shape != b.shape:
        return np.inf
    if not a.size:
        return 0.0
    both_nan = np.isnan(a) & np.isnan(b)
    d = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    d[both_nan] = 0.0
    return float(np.max(d))


def compare(before: dict[str, Any], after: dict[str, Any]) -> int:
    worst = 0.0
    bad = 0
    for cid, b in before.items():
        a = after.get(cid)
        if a is None or ("error" in b) != ("error" in a):
            print(f"{cid}: missing or error changed: {b.get('error')} -> {a and a.get('error')}")
            bad += 1
            continue
        if "error" in b:
            continue
        msgs = []
        for i, (x, y) in enumerate(zip(b["dev"], a["dev"], strict=True)):
            if isinstance(x, str) or isinstance(y, str):
                if x != y:
                    msgs.append(f"dev[{i}] {x} -> {y}")
                continue
            r = _rel(y, x)
            worst = max(worst, r)
            if r > 1e-13:
                msgs.append(f"dev[{i}] rel {r:.2e}")
        rb = max([_rel(y, x) for x, y in zip(b["beta"], a["beta"], strict=True)] + [0.0])
        rbb = max([_rel(y, x) for x, y in zip(b["b"], a["b"], strict=True)] + [0.0])
        if b["fit"] != a["fit"]:
            msgs.append(f"fit {b['fit']} -> {a['fit']}")
        rd = max([_rel(y, x) for x, y in zip(b["dev"], a["dev"], strict=True) if not isinstance(x, str)] + [0.0])
        print(f"{cid:32s} {a['path']:10s} dev {rd:.1e} beta {rb:.1e} b {rbb:.1e} {'; '.join(msgs)}")
        bad += bool(msgs)
    print(f"worst deviance rel diff {worst:.2e}; cases with differences: {bad}")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "save":
        with open(argv[1], "w") as fh:
            json.dump(snapshot(), fh)
        return 0
    if len(argv) == 2 and argv[0] == "compare":
        with open(argv[1]) as fh:
            return compare(json.load(fh), snapshot())
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
