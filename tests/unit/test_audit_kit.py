"""Issue 15 item 1: the audit kit.  ``--only``/``--ignore`` on check, fuzz and replay; components an
implementation does not provide counted apart (never agreement, never a disagreement); the
``parity.adapter.impl`` helpers; ``parity init-impl NAME`` writes a skeleton that passes ``parity check``
on sleepstudy.  Live tests compare with lme4 through the R session."""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from parity.cli.main import main as parity_main
from parity.adapter.impl import Unsupported, r_factor, r_index, r_matrix, r_sparse, r_varcorr, r_vector
from parity.compare.selection import Selection

REPO = Path(__file__).resolve().parents[2]
FIT = "Reaction ~ Days + (Days | Subject)"
ONLY = ["lFormula()$X", "lFormula()$reTrms$Zt", "lFormula()$reTrms$flist", "lFormula()$reTrms$cnms"]


# -- no R ---------------------------------------------------------------------------------------------

def test_selection_globs_literals_and_claims() -> None:
    lapply = "lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))"
    s = Selection.of(["fixef(fit)", "as.data.frame(VarCorr*", lapply], ["*Zt*"])
    assert s.selects("fixef(fit)") and s.selects("as.data.frame(VarCorr(fit))")
    assert s.selects(lapply)  # '[' taken literally
    assert not s.selects("sigma(fit)") and not s.selects("lFormula()$reTrms$Zt")
    assert s.selects("decision (accept/refuse)")  # the refusal decision is never filtered
    # a name without wildcards is a claim (must be provided); a wildcard pattern is not
    assert s.claimed() == {"fixef(fit)", lapply}
    assert Selection.of(None, ["getME*"]).required({"getME(fit, \"b\")", "lFormula()$X"}) == {"lFormula()$X"}


def test_impl_helpers_build_what_the_r_bridge_builds() -> None:
    v = r_index([0, 2, 1], names=["a", "b", "c"])
    assert v.kind == "integer" and v.x.tolist() == [1, 3, 2] and v.names == ("a", "b", "c")
    f = r_factor(pd.Categorical(["b", None, "a"], categories=["b", "a", "z"]))
    assert f.codes.tolist() == [0, -1, 1] and f.levels == ("b", "a", "z") and not f.ordered
    m = r_matrix(pd.DataFrame({"(Intercept)": [1.0, 1.0], "x": [2.0, 3.0]}, index=["1", "2"]))
    assert m.rownames == ("1", "2") and m.colnames == ("(Intercept)", "x") and not m.x.flags.writeable
    z = r_sparse(sp.csr_matrix(np.array([[1.0, 0.0], [0.0, 0.0]])) + sp.csr_matrix((2, 2)), (["a", "b"], None))
    assert z.x.format == "csc" and z.x.nnz == 1 and z.rownames == ("a", "b")
    assert r_vector(["a", None]).kind == "character" and r_vector([1.5]).kind == "double"
    vc = r_varcorr([("g", "(Intercept)", None, 2.0, 2.0 ** 0.5), ("Residual", None, None, 1.0, 1.0)])
    assert vc.names() == ("grp", "var1", "var2", "vcov", "sdcor") and vc["var2"].x.tolist() == [None, None]
    with pytest.raises(ValueError, match="row names"):
        r_matrix(np.zeros((2, 2)), (["a"], None))
    with pytest.raises(TypeError, match="Categorical"):
        r_factor(pd.Series(["a"]))
    with pytest.raises(TypeError, match="integer positions"):
        r_index([0.5])


def test_init_impl_refuses_bad_names_and_existing_files(tmp_path: Path, capsys) -> None:
    assert parity_main(["init-impl", "my-impl", "--dir", str(tmp_path)]) == 2
    assert "not a Python module name" in capsys.readouterr().err
    assert parity_main(["init-impl", "myimpl", "--dir", str(tmp_path)]) == 0
    assert parity_main(["init-impl", "myimpl", "--dir", str(tmp_path)]) == 2
    assert "exists" in capsys.readouterr().err


# -- live: against lme4 --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def skeleton(tmp_path_factory) -> str:
    d = tmp_path_factory.mktemp("impl")
    assert parity_main(["init-impl", "audit_skeleton", "--dir", str(d)]) == 0
    sys.path.insert(0, str(d))
    importlib.invalidate_caches()
    return "audit_skeleton:fit"


@pytest.mark.r
def test_skeleton_passes_check_with_only(R, skeleton: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton, "--only", *ONLY,
                      "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 0, j
    assert sorted(c["name"] for c in j["components"]) == sorted(ONLY)
    assert j["not_provided"] == 0  # nothing outside --only is listed


@pytest.mark.r
def test_not_provided_is_counted_never_judged(R, skeleton: str, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    # a wildcard selects more than the skeleton provides: those are counted, the rest judged
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton,
                      "--only", "lFormula()$*", "--ignore", "lFormula()$fr", "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 0 and j["verdict"] == "agree"
    assert j["not_provided"] == len(j["not_provided_components"]) > 5
    assert "lFormula()$reTrms$Lambdat" in j["not_provided_components"]
    assert "lFormula()$fr" not in j["not_provided_components"]  # ignored: neither judged nor counted
    assert {c["name"] for c in j["components"]} == set(ONLY)
    # without --only the level's required components must be provided: the skeleton fails on them
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton, "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 1 and j["verdict"] == "disagree"
    missing = {c["name"] for c in j["components"] if c["detail"].startswith("required component missing")}
    assert {'getME(fit, "theta")', "lFormula()$reTrms$Lambdat", "devfun(theta)"} <= missing
    assert not any(c["detail"].startswith("missing in this implementation") for c in j["components"])
    # naming a component the implementation lacks is a claim: it fails
    rc = parity_main(["check", FIT, "--data", "r:lme4::sleepstudy", "--impl", skeleton,
                      "--only", "lFormula()$X", "fixef(fit)", "--json", str(out)])
    j = json.loads(out.read_text())
    assert rc == 1 and [c["name"] for c in j["components"] if not c["ok"]] == ["fixef(fit)"]


@pytest.mark.r
def test_pyreterms_itself_is_judged_strictly(R, sleepstudy) -> None:
    from parity.compare.check import check

    rep = check(FIT, sleepstudy, level="lformula", selection=Selection.of(["lFormula()$X", "lFormula()$nothing*"]))
    assert rep.ok and rep.not_provided == ()


@pytest.mark.r
def test_unsupported_input_is_not_compared(R, skeleton: str, sleepstudy) -> None:
    from parity.compare.check import check
    from parity.adapter.pyreterms_lformula import load_impl
    from parity.compare.verdicts import Verdict

    rep = check("Reaction ~ log(Days + 1) + (1 | Subject)", sleepstudy, level="lformula",
                impl=load_impl(skeleton), selection=Selection.of(ONLY))
    assert rep.verdict is Verdict.NOT_COMPARED
    assert "numeric (double) columns only" in rep.components[0].detail


@pytest.mark.r
def test_replay_with_only_counts_not_provided(R, skeleton: str, tmp_path: Path, capsys) -> None:
    golden = REPO / "tests" / "goldens" / "fit"
    out = tmp_path / "replay.json"
    rc = parity_main(["replay", str(golden), "--impl", skeleton, "--cases", "ss-intercept-only",
                      "--only", "lFormula()$X", "lFormula()$reTrms$Zt", "lFormula()$reTrms$cnms", "fixef*",
                      "--json", str(out)])
    case = json.loads(out.read_text())["cases"][0]
    assert rc == 0, case
    assert case["not_provided"] == ["fixef(fit)"]
    assert "not provided by this implementation" in capsys.readouterr().out


@pytest.mark.r
def test_fuzz_design_with_only_and_ignore(R, skeleton: str) -> None:
    from parity.campaigns.fuzz import run_design
    from parity.adapter.pyreterms_lformula import load_impl
    from parity.campaigns.strategies import Design
    from pyreterms.datasets import load_dataset

    d = Design(FIT, load_dataset("sleepstudy"))
    o = run_design(d, load_impl(skeleton), level="lformula", only=tuple(ONLY) + ("lFormula()$reTrms$L*",),
                   ignore=frozenset({"lFormula()$reTrms$cnms"}))
    assert o.status == "agree"
    assert {c.name for c in o.report.components} == set(ONLY) - {"lFormula()$reTrms$cnms"}
    # globs are case-sensitive: L* takes Lambdat and Lind, not lower
    assert set(o.report.not_provided) == {"lFormula()$reTrms$Lambdat", "lFormula()$reTrms$Lind"}


def test_unsupported_kind_is_the_harness_refusal() -> None:
    from parity.compare.verdicts import harness_refusal
    from parity.adapter.pyreterms_lformula import run_impl

    def impl(formula, data, **kw):
        raise Unsupported("weights are not modelled")

    err = run_impl(impl, "y ~ (1 | g)", pd.DataFrame())["error"]
    assert harness_refusal(err, "py") == ("unrepresentable",
                                          "the implementation cannot represent this input: weights are not modelled")


def test_audit_command_names_every_peer() -> None:
    from parity.audit.campaign import PEERS
    from parity.audit.cli import PEER_NAMES

    assert set(PEER_NAMES) == set(PEERS)
