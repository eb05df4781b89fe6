"""Issue 15 item 1: the audit kit.  ``--only``/``--ignore`` on check, fuzz and replay; components an
implementation does not provide counted apart (never agreement, never a disagreement); the
``parity.adapter.impl`` helpers; ``parity init-impl NAME`` writes a skeleton that passes ``parity check``
on sleepstudy.  The checks against lme4 are tests/live/test_audit_kit_check.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from parity.cli.main import main as parity_main
from parity.adapter.impl import Unsupported, r_factor, r_index, r_matrix, r_sparse, r_varcorr, r_vector
from parity.compare.selection import Selection


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
