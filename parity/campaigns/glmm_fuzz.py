"""``parity fuzz --glmm``: the GLMM kind of design for the campaign engine of :mod:`parity.campaigns.fuzz`.

R equivalent of the oracle side: ``pyreterms_glmm_reference()`` of ``r_scripts/glmm_reference.R``
(``glFormula()``, and ``glmer(..., family = family(link), nAGQ)`` at the glmer level).  One design is
judged exactly as ``parity check --family`` judges it (:func:`parity.compare.glmm_check.judge_glmm`:
the at-lme4's-parameters tolerances, the vcov Hessian bound, the GLMM theta rule for the optimizer
outputs, refusal classes), and gets the verdict of :func:`parity.campaigns.fuzz.run_design`: agree,
both refused (for the same reason), disagree, not compared (the harness declined: allowlist, R's time
limit) or error (an exception in the harness, never agreement).  Reproducers are written by
:func:`write_glmm_reproducer` (``repro.R`` with the ``glmer()`` call, ``repro.py`` with ``check_glmm``).
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from parity.adapter.pyreterms_glmm import pyreterms_glmm_impl
from parity.campaigns.fuzz import DesignKind, DesignOutcome, design_failed, design_outcome
from parity.campaigns.glmm_strategies import GlmmDesign, glmm_designs, glmm_focus
from parity.campaigns.reproducer import impl_spec, load_design, r_preamble, r_weights_offset, save_design
from parity.campaigns.seeding import campaign_designs
from parity.campaigns.strategies import Design, Hazards
from parity.campaigns.timelimit import _py_time_limit, _PyTimeout
from parity.compare.glmm_check import GlmmCheckReport, judge_glmm, run_glmm_impl
from parity.compare.selection import Selection
from parity.compare.verdicts import preflight
from parity.r import session as rsession
from parity.r.glmm_oracle import glmm_r_components
from parity.r.values import RValue

__all__ = ["GLMM", "run_glmm_design", "glmm_campaign_designs", "write_glmm_reproducer", "load_glmm_design"]


def glmm_campaign_designs(seed: int, hazards: Hazards | None = None) -> Any:
    """The GLMM designs a campaign with this seed explores, in order (:func:`parity.campaigns.seeding.
    campaign_designs` with the GLMM strategy and its hard cases as focus streams)."""
    return campaign_designs(seed, hazards, strategy=glmm_designs, foci_of=glmm_focus)


def run_glmm_design(design: Design, impl: Any, *, level: str = "glmer", time_limit: float | None = None,
                    ignore: frozenset[str] = frozenset(), py_time_limit: float | None = 60.0,
                    only: tuple[str, ...] = ()) -> DesignOutcome:
    """One GLMM design, both sides, timed per side, never raising: the verdict of ``parity check --family``
    (R: one ``pyreterms_glmm_reference()`` call, plus one with ``pars`` when the GLMM theta rule needs
    lme4's devfun at the implementation's optimum)."""
    assert isinstance(design, GlmmDesign)
    sel = Selection.of(only, sorted(ignore))
    args: dict[str, Any] = {**design.glmm_args(), "level": level}
    r_s = py_s = 0.0
    t0 = time.perf_counter()
    try:
        preflight(design.formula)
        r = glmm_r_components(design.formula, design.data, time_limit=time_limit, **args)
        t1 = time.perf_counter()
        r_s = t1 - t0
        with _py_time_limit(py_time_limit):
            py = run_glmm_impl(impl, design.formula, design.data, r, **args)
        py_s = time.perf_counter() - t1

        def here(pars: np.ndarray) -> dict[str, RValue]:  # lme4's devfun at the implementation's optimum
            return glmm_r_components(design.formula, design.data, time_limit=time_limit, pars=[pars.tolist()],
                                     **args)

        t2 = time.perf_counter()
        comps = judge_glmm(py, r, level=level, nAGQ=design.nAGQ, selection=sel, here=here)
        r_s += time.perf_counter() - t2
    except (Exception, _PyTimeout) as e:  # one design never kills a campaign
        return design_failed(design, e, level, False, t0, r_s, py_s)
    versions = rsession.versions() if rsession.is_started() else {}
    report = GlmmCheckReport(design.formula, design.description, level, False, tuple(comps), versions, (), sel,
                             family=design.family, link=design.link, nAGQ=design.nAGQ)
    return design_outcome(design, report, sel, r_s, py_s)


def _r_family(d: GlmmDesign) -> str:
    return f"{d.family}(link = {json.dumps(d.link)})" if d.link else f"{d.family}()"


def _r_lines(design: GlmmDesign, component: str, level: str) -> str:
    lines = r_preamble(design)
    args = f"{design.formula}, data = d, family = {_r_family(design)}" + r_weights_offset(design)
    lines.append(f"glf <- glFormula({args})")
    lines.append(f"resp <- lme4:::mkRespMod(glf$fr, family = {_r_family(design)})")
    if level == "glmer":
        lines.append(f"gfit <- glmer({args}, nAGQ = {design.nAGQ}L)")
        lines.append("print(summary(gfit))")
    expr = component.replace("glFormula()", "glf").replace("mkRespMod(glf$fr, family)$", "resp$")
    if not component.startswith(("decision", "exception", "harness", "gdevfun", "glFormula():", "glmer():")):
        lines.append(f"print({expr})")
    return "\n".join(lines) + "\n"


_PY = '''"""Reproducer: {component!r} differs between {impl} and lme4 1.1-31 (a GLMM design).

Run from anywhere: python repro.py   (prints the differing components; exits 1 while the difference persists)
"""
import sys
from pathlib import Path

from parity.campaigns.glmm_fuzz import load_glmm_design
from parity.compare.glmm_check import check_glmm
from parity.report.text import print_table

HERE = Path(__file__).resolve().parent
design = load_glmm_design(HERE)
print("formula:", design.formula, "| family:", design.family, design.link, "| nAGQ:", design.nAGQ,
      "| n =", design.n, "| weights:", design.weights, "| offset:", design.offset)
print(design.data.to_string(max_rows=12))
LEVEL = {level!r}
rep = check_glmm(design.formula, design.data, level=LEVEL, **design.glmm_args())
print_table(rep, show_ok=False)
failing = [c.name for c in rep.components if not c.ok]
print("STILL DIFFERS:" if failing else "AGREES NOW", failing)
sys.exit(1 if failing else 0)
'''


def write_glmm_reproducer(directory: str | Path, design: Design, *, component: str, impl: Any = None,
                          level: str = "glmer", said: dict | None = None) -> Path:
    """Write a reproducer of a GLMM design (data, ``repro.R``: ``glFormula``/``glmer``, ``repro.py``:
    ``check_glmm``) into ``directory``."""
    assert isinstance(design, GlmmDesign)
    spec = impl_spec(impl)
    d = save_design(design, directory, {"component": component, "level": level, "impl": spec,
                                        "family": design.family, "link": design.link, "nAGQ": design.nAGQ,
                                        **(said or {})})
    (d / "repro.R").write_text(_r_lines(design, component, level))
    (d / "repro.py").write_text(_PY.format(component=component, impl=spec, level=level))
    return d


def load_glmm_design(directory: str | Path) -> GlmmDesign:
    """A GLMM design written by :func:`write_glmm_reproducer`, read back (dtypes and level order restored)."""
    base = load_design(directory)
    meta = json.loads((Path(directory) / "design.json").read_text())
    return GlmmDesign(base.formula, base.data, base.weights, base.offset, False, base.expect_refusal,
                      base.description, base.tags, family=meta["family"], link=meta["link"], nAGQ=int(meta["nAGQ"]))


#: the GLMM kind of campaign design (parity.campaigns.fuzz.run_campaign(cfg, kind=GLMM))
GLMM = DesignKind(name="glmm", levels=("glformula", "glmer"), run=run_glmm_design, designs=glmm_campaign_designs,
                  default_impl=pyreterms_glmm_impl, write_reproducer=write_glmm_reproducer)
