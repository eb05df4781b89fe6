"""Record the evidence that tests/live/test_fitted_theta_equivalence.py pins README "Known differences" 6 and 9 with.

Run once (needs R + lme4 1.1-31):  .venv/bin/python tests/data/record_evidence.py

Writes ``tests/data/{chaotic_scale,early_stop}/evidence.json``:

* ``lme4``: lme4's own fit of the design (``devfun(theta)`` at its optimum, theta) and the optimum
  criteria of its 30 noisy runs (seeds 1-30 of ``parity.compare.check.NOISY_BATCHES``: lme4's deviance with
  every value multiplied by ``1 + e * 2^-52``), as measured on the recording machine;
* ``pyreterms``: pyreterms' own optimum on the recording machine (informative only: it moves with
  the BLAS kernels);
* ``early_stop`` only, ``trace``: the sequence of deviance values of one pyreterms fit whose values
  carry one rounding step of noise (``noise_seed``; the step -1/0/+1 is a function of theta and the
  seed, :func:`noise_step`): the values any CPU's rounding could give.  Fed
  in order to BOBYQA (lme4's ``optimizeLmer`` or pyreterms' ``optimize_lmer``) they determine the
  whole path; ``theta_sha256`` is the SHA-256 of the float64 bytes of the thetas asked for, and
  ``fval``/``par`` where that run stopped.
* ``machine``: R versions and :func:`parity.goldens.machine.environment`.
"""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SEEDS = tuple(range(1, 31))
#: pyreterms noisy-run seed whose trace is stored for early_stop (chosen: an early stop, short trace)
TRACE_SEED = 9


def noisy_pyreterms_trace(d, seed: int) -> dict:
    """pyreterms' fit with one rounding step of noise in its deviance: the values, thetas' hash, end."""
    import pyreterms
    import pyreterms.lmm.fit as pf

    vals: list[float] = []
    thetas: list[np.ndarray] = []
    orig = pf.optimize_lmer

    def noisy(devfun, start, lower, *a, **k):
        def f(th):
            v = float(devfun(th)) * (1 + noise_step(th, seed) * 2.0 ** -52)
            thetas.append(np.array(th, dtype=np.float64))
            vals.append(v)
            return v
        return orig(f, start, lower, *a, **k)

    pf.optimize_lmer = noisy
    try:
        fit = pyreterms.lmer(d.formula, d.data, REML=d.REML, **d.arrays())
    finally:
        pf.optimize_lmer = orig
    return {"noise_seed": seed, "values": vals, "theta_sha256": theta_hash(np.array(thetas)),
            "fval": float(fit.opt.fval), "par": [float(t) for t in fit.opt.par]}


def noise_step(theta: np.ndarray, seed: int) -> int:
    """-1, 0 or +1, a function of (theta's float64 bytes, seed): the same theta always gets the same
    value, so the noisy deviance is a function and a trace can be looked up by theta."""
    h = hashlib.sha256(np.asarray(theta, dtype=np.float64).tobytes() + seed.to_bytes(4, "little")).digest()
    return int.from_bytes(h[:4], "little") % 3 - 1


def theta_hash(thetas: np.ndarray) -> str:
    """SHA-256 of a (k x p) matrix of thetas as row-major float64 bytes (+0.0 for -0.0)."""
    return hashlib.sha256(np.ascontiguousarray(np.asarray(thetas, dtype=np.float64) + 0.0).tobytes()).hexdigest()


def main() -> int:
    import pyreterms
    from parity.r import session as rsession
    from parity.compare.check import r_components
    from parity.goldens.machine import environment
    from parity.campaigns.reproducer import load_design

    machine = {"R": rsession.versions(), **environment()}
    for name in ("chaotic_scale", "early_stop"):
        d = load_design(HERE / name)
        r = r_components(d.formula, d.data, REML=d.REML, level="fit", noisy_seeds=SEEDS, **d.arrays())
        fit = pyreterms.lmer(d.formula, d.data, REML=d.REML, **d.arrays())
        ev = {"design": name, "formula": d.formula, "REML": d.REML, "machine": machine,
              "lme4": {"crit": float(r["devfun(theta)"].x[0]),
                       "theta": [float(t) for t in r['getME(fit, "theta")'].x],
                       "noisy_seeds": list(SEEDS),
                       "noisy_crit": [float(r[f"lmer(noisy devfun {k}): criterion"].x[0]) for k in SEEDS]},
              "pyreterms": {"fval": float(fit.opt.fval), "theta": [float(t) for t in fit.theta]}}
        if name == "early_stop":
            ev["trace"] = noisy_pyreterms_trace(d, TRACE_SEED)
        (HERE / name / "evidence.json").write_text(json.dumps(ev, indent=1) + "\n", encoding="utf-8")
        print(name, "lme4", ev["lme4"]["crit"], "noisy", min(ev["lme4"]["noisy_crit"]), max(ev["lme4"]["noisy_crit"]),
              "pyreterms", ev["pyreterms"]["fval"], file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
