"""GLMM goldens (issue 18 item 5): lme4's glFormula()/glmer() components for every case of the GLMM case
table (parity/goldens/glmm_cases.py), stored in tests/goldens/glmm/ and replayed without R.

* golden tier (no R, no rpy2): every case of the table has a golden recorded from its current definition,
  with its input frame and the R/lme4/Matrix versions; each replays to the verdict the table asks
  (agree, or both refused for the named reason); a component missing from a golden, a damaged input, or a
  wrong implementation fails;
* live tier (``pytest.mark.r``): re-recording reproduces the stored goldens; the commands work.
"""
from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from parity import components
from parity.adapter.rbuild import dbl_vector
from parity.adapter.pyreterms_glmm import pyreterms_glmm_impl
from parity.compare.tolerances import compare_components
from parity.compare.verdicts import DECISION, Verdict
from parity.goldens.glmm_cases import GLMM_CASES, GlmmCase, get_glmm_case, glmm_case_data
from parity.goldens.glmm_goldens import LEVEL, replay_glmm_case
from parity.goldens.inputs import frame_difference, stored_input
from parity.goldens.record_replay import MANIFEST, data_hash, identical, load_golden, load_manifest

ROOT = Path(__file__).resolve().parents[2]
GLMM_DIR = Path(__file__).resolve().parents[1] / "goldens" / "glmm"
MAN = load_manifest(GLMM_DIR)


def _copy(tmp_path: Path, ids: list[str]) -> Path:
    """A golden directory holding just ``ids`` (their files, the inputs, a manifest listing them)."""
    d = tmp_path / "glmm"
    shutil.copytree(GLMM_DIR / "inputs", d / "inputs")
    for cid in ids:
        for ext in ("json", "npz"):
            shutil.copy(GLMM_DIR / f"{cid}.{ext}", d / f"{cid}.{ext}")
    man = dict(MAN, cases={k: v for k, v in MAN["cases"].items() if k in ids})
    (d / MANIFEST).write_text(json.dumps(man))
    return d


def test_every_case_of_the_table_has_a_current_golden() -> None:
    assert MAN["format"] == "parity-goldens/2" and MAN["level"] == LEVEL
    assert set(MAN["cases"]) == {c.id for c in GLMM_CASES}, \
        "record the missing goldens: parity record-glmm all --missing --out tests/goldens/glmm"
    for c in GLMM_CASES:  # recorded from the case's current definition
        stored = json.loads((GLMM_DIR / f"{c.id}.json").read_text())["case"]
        assert GlmmCase.from_json(stored) == c, c.id
    v = MAN["versions"]
    assert v["lme4"] == "1.1.31" and v["R"].startswith("4.2.2") and v["Matrix"] and v["collation"] == "C", v
    assert MAN["machine"]


def test_stored_inputs_are_the_recorded_frames() -> None:
    hashes = {name: data_hash(stored_input(GLMM_DIR, name)) for name in MAN["inputs"]}
    assert {name: e["data_hash"] for name, e in MAN["inputs"].items()} == hashes
    for cid, c in MAN["cases"].items():
        assert c["data_hash"] == hashes[c["data"]], cid


@pytest.mark.parametrize("name", ["cbpp", "cbpp_prop", "pois_offset", "gamma_log"])
def test_the_case_table_still_makes_the_stored_data(name: str) -> None:
    """The frames built without R (grouseticks is read through R: checked by re-recording, live)."""
    assert frame_difference(stored_input(GLMM_DIR, name), glmm_case_data(name)) is None


@pytest.mark.parametrize("case", GLMM_CASES, ids=lambda c: c.id)
def test_glmm_golden_replays(case: GlmmCase) -> None:
    res = replay_glmm_case(GLMM_DIR, case.id)
    assert res.verdict is Verdict(case.expect), [(c.name, c.detail) for c in res.components if not c.ok]
    names = {c.name for c in res.components}
    if case.expect == "agree":  # every registered value was compared (the harness values feed the rules)
        assert {n for n in components.names(LEVEL, None) if not n.startswith("harness: ")} - {"error"} <= names
    else:
        decision = [c for c in res.components if c.name == DECISION]
        assert len(decision) == 1 and f"({case.refusal})" in decision[0].detail, decision


@pytest.mark.parametrize("case_id, drop", [("cbpp-logit", "sigma(gfit)"), ("pois-offset", "harness: Hessian"),
                                           ("grouseticks-pois", "fitted(gfit)"), ("cbpp-cbind-poisson", "error"),
                                           ("cbpp-cbind-poisson", "mkRespMod(glFormula()$fr, family)$y")])
def test_a_component_missing_in_a_golden_fails(tmp_path, case_id: str, drop: str) -> None:
    d = _copy(tmp_path, [case_id])
    doc = json.loads((d / f"{case_id}.json").read_text())
    doc["components"] = [c for c in doc["components"] if c[0] != drop]
    (d / f"{case_id}.json").write_text(json.dumps(doc))
    assert drop not in load_golden(d, case_id)
    res = replay_glmm_case(d, case_id)
    assert not res.ok and res.verdict is Verdict.DISAGREE
    assert drop in res.failing() or drop == "error", res.failing()  # a refusal's golden without the refusal


def test_a_damaged_input_fails(tmp_path) -> None:
    d = _copy(tmp_path, ["pois-offset"])
    doc = json.loads((d / "pois-offset.json").read_text())
    doc["data_hash"] = "0" * 64
    (d / "pois-offset.json").write_text(json.dumps(doc))
    res = replay_glmm_case(d, "pois-offset")
    assert not res.ok and res.failing() == ["input data"]


def _changed(change: dict, formula, data, **kw):
    kw.update(change)
    return pyreterms_glmm_impl(formula, data, **kw)


@pytest.mark.parametrize("case_id, change, caught", [
    ("cbpp-logit", {"link": "probit"}, 'getME(gfit, "theta")'),
    ("pois-offset", {"offset": None}, "mkRespMod(glFormula()$fr, family)$offset"),
    ("cbpp-logit-agq5", {"nAGQ": 1}, "gdevfun(pars)"),
    ("cbpp-prop-weights", {"weights": None}, "mkRespMod(glFormula()$fr, family)$weights"),
])
def test_replay_catches_a_wrong_implementation(case_id: str, change: dict, caught: str) -> None:
    res = replay_glmm_case(GLMM_DIR, case_id, impl=functools.partial(_changed, change))
    assert res.verdict is Verdict.DISAGREE and caught in res.failing(), res.failing()


def test_replay_catches_an_implementation_that_refuses_or_accepts_wrongly() -> None:
    def refuse(formula, data, **kw):
        raise ValueError("not implemented")

    assert replay_glmm_case(GLMM_DIR, "cbpp-logit", impl=refuse).verdict is Verdict.DISAGREE
    as_binomial = functools.partial(_changed, {"family": "binomial", "link": None})
    assert replay_glmm_case(GLMM_DIR, "cbpp-cbind-poisson", impl=as_binomial).verdict is Verdict.DISAGREE


def test_a_glmer_refusal_golden_replays_the_glformula_level_too() -> None:
    """lme4 accepted glFormula() before glmer() stopped: its components (y: the matrix read column-wise, 2n
    values) are stored with the refusal and compared; a row-wise y is caught."""
    y = "mkRespMod(glFormula()$fr, family)$y"
    res = replay_glmm_case(GLMM_DIR, "cbpp-cbind-poisson")
    assert res.verdict is Verdict.BOTH_REFUSED and y in {c.name for c in res.components if c.ok}
    assert len(load_golden(GLMM_DIR, "cbpp-cbind-poisson")[y].x) == 2 * 56

    def row_wise(formula, data, **kw):
        out = pyreterms_glmm_impl(formula, data, **kw)
        v = out[y]
        out[y] = dbl_vector(np.asarray(v.x).reshape(2, -1).T.ravel(), v.names)
        return out

    res = replay_glmm_case(GLMM_DIR, "cbpp-cbind-poisson", impl=row_wise)
    assert res.verdict is Verdict.DISAGREE and res.failing() == [y], res.failing()


def test_offline_theta_rule_passes_an_optimum_within_ftol_and_fails_a_worse_one() -> None:
    """Without R the GLMM theta rule reads the implementation's own criterion at its optimum."""
    def moved(step: float, worse: float):
        def impl(formula, data, **kw):
            out = pyreterms_glmm_impl(formula, data, **kw)
            th = out['getME(gfit, "theta")']
            out['getME(gfit, "theta")'] = dbl_vector(np.asarray(th.x) + step, th.names)
            ll = out["logLik(gfit)"]
            out["logLik(gfit)"] = dbl_vector(np.asarray(ll.x) - worse / 2, ll.names)
            return out
        return impl

    near = replay_glmm_case(GLMM_DIR, "cbpp-logit", impl=moved(1e-3, 1e-7))
    th = next(c for c in near.components if c.name == 'getME(gfit, "theta")')
    assert th.ok and "GLMM theta rule" in th.detail, th.detail
    far = replay_glmm_case(GLMM_DIR, "cbpp-logit", impl=moved(1e-3, 1e-3))
    th = next(c for c in far.components if c.name == 'getME(gfit, "theta")')
    assert not th.ok and "above lme4's optimum" in th.detail, th.detail


def test_glmm_golden_tier_never_imports_rpy2() -> None:
    code = textwrap.dedent(f"""
        import sys
        from parity.goldens.glmm_goldens import replay_glmm_case
        res = [replay_glmm_case({str(GLMM_DIR)!r}, c) for c in ("cbpp-logit-agq0", "cbpp-cbind-poisson")]
        assert "rpy2" not in sys.modules, "rpy2 was imported"
        print("OK", [r.verdict.value for r in res])
    """)
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and p.stdout.startswith("OK ['agree', 'both refused']"), p.stdout + p.stderr[-2000:]


def test_replay_glmm_cli(tmp_path) -> None:
    d = _copy(tmp_path, ["pois-offset", "cbpp-cbind-pos-gamma-log"])
    p = subprocess.run([sys.executable, "-m", "parity", "replay-glmm", str(d)], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr[-2000:]
    assert "2 case(s): 1 agree, 1 both refused for the same reason, 0 disagree" in p.stdout, p.stdout
    doc = json.loads((d / "pois-offset.json").read_text())
    doc["components"] = [c for c in doc["components"] if c[0] != "vcov(gfit)"]
    (d / "pois-offset.json").write_text(json.dumps(doc))
    p = subprocess.run([sys.executable, "-m", "parity", "replay-glmm", str(d)], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 1 and "1 disagree" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    bad = subprocess.run([sys.executable, "-m", "parity", "replay-glmm", str(ROOT / "tests" / "goldens" / "fit")],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "use parity replay" in bad.stderr, bad.stderr


@pytest.mark.r
def test_rerecord_equals_stored(tmp_path) -> None:
    """Re-recording on the stored inputs reproduces the goldens: glFormula()'s components and the refusals
    bit for bit, the fit within the comparison's tolerances."""
    from parity.goldens.glmm_goldens import record_glmm

    ids = ["cbpp-logit", "pois-offset", "cbpp-cbind-poisson", "cbpp-cbind-gamma-log"]
    shutil.copytree(GLMM_DIR / "inputs", tmp_path / "inputs")
    record_glmm([get_glmm_case(i) for i in ids], tmp_path)
    for cid in ids:
        new, old = load_golden(tmp_path, cid), load_golden(GLMM_DIR, cid)
        assert list(new) == list(old), cid
        exact = [k for k in new if "gfit" not in k and not k.startswith(("harness: ", "gdevfun"))]
        assert exact and not [k for k in exact if not identical(new[k], old[k])], cid
        res = compare_components(new, old)
        assert all(c.ok for c in res), [(c.name, c.detail) for c in res if not c.ok]


@pytest.mark.r
def test_record_glmm_cli(tmp_path) -> None:
    p = subprocess.run([sys.executable, "-m", "parity", "record-glmm", "gamma-log,cbpp-cbind-poisson", "--out",
                        str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "2 GLMM case(s) recorded" in p.stdout, p.stdout[-2000:] + p.stderr[-2000:]
    assert set(load_manifest(tmp_path)["cases"]) == {"gamma-log", "cbpp-cbind-poisson"}
    bad = subprocess.run([sys.executable, "-m", "parity", "record-glmm", "nope", "--out", str(tmp_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    assert bad.returncode == 2 and "no GLMM case nope" in bad.stderr, bad.stderr
