"""``pyreterms explain`` without R: formats, pictures, --subset refusals, failed identities."""
from __future__ import annotations

import os

import numpy as np
import pytest

import pyreterms
from pyreterms.cli import main
from pyreterms.explainer.steps import check_exact

SEED = "Reaction ~ Days + (Days | Subject)"
SUB = "Subject %in% c(309, 330, 371)"


def _png_ok(path: str) -> None:
    import matplotlib.image as mpimg

    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
    img = mpimg.imread(path)
    assert img.shape[0] > 50 and img.shape[1] > 50
    assert np.std(img[..., :3]) > 0.02  # not blank


@pytest.mark.parametrize("fmt,marker", [("text", "== 1. Setting up in R =="), ("markdown", "## 1. Setting up in R"),
                                        ("html", "data:image/png;base64,")])
def test_cli_formats(capsys, fmt, marker):
    assert main(["explain", SEED, "--data", "sleepstudy", "--subset", SUB, "--fit", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert marker in out and "0 failed" in out
    assert "d <- subset(lme4::sleepstudy, Subject %in% c(309, 330, 371))" in out.replace("&lt;", "<")


def test_cli_plots(tmp_path, capsys):
    assert main(["explain", SEED, "--data", "sleepstudy", "--subset", SUB, "--plots", str(tmp_path)]) == 0
    names = sorted(os.listdir(tmp_path))
    assert names == ["groups_fitted.png", "ranef_caterpillar.png", "sparsity_L.png", "sparsity_Lambdat.png",
                     "sparsity_Zt.png"]
    for n in names:
        _png_ok(str(tmp_path / n))


def test_plots_crossed_design_skips_group_lines(tmp_path):
    ex = pyreterms.explain("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", plots_dir=str(tmp_path))
    assert not (tmp_path / "groups_fitted.png").exists()
    assert any("single-slope" in n for n in ex.plot_notes)
    _png_ok(str(tmp_path / "ranef_caterpillar.png"))


@pytest.mark.parametrize("expr", ["Subject < 330", "Days + 1", "Nope == 1", "Days == x",
                                  "Days < 5 && Days > 1", "Subject %in% 1:3", "Days ==", "Days"])
def test_subset_refusals_are_one_line(capsys, expr):
    assert main(["explain", SEED, "--data", "sleepstudy", "--subset", expr]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pyreterms: error: --subset") and "\n" not in err


def test_term_out_of_range(capsys):
    assert main(["explain", SEED, "--data", "sleepstudy", "--term", "2"]) == 2
    assert "1 random-effects term" in capsys.readouterr().err


def test_term_selects_one_term():
    ex = pyreterms.explain("strength ~ 1 + (1 | batch/cask)", "Pastes", term=2)
    keys = [s.key for s in ex.steps]
    assert "J[2]" in keys and "J[1]" not in keys


def test_large_model_is_truncated():
    ex = pyreterms.explain(SEED, "sleepstudy")
    s = ex.step("Zt")
    assert s.r_code == "lf$reTrms$Zt[1:12, 1:30]" and "showing rows 1-12 of 36" in s.note
    assert len(s.text.splitlines()) < 40


def test_failed_identity_is_flagged():
    c = check_exact("a == b", np.eye(2), np.array([[1.0, 0.0], [0.0, 2.0]]))
    assert not c.ok and "1 entries differ" in c.detail


def test_broken_object_raises(monkeypatch):
    """A walkthrough whose objects break an identity raises IdentityError instead of printing it."""
    from pyreterms.explainer import IdentityError, walkthrough

    real = walkthrough.templates

    def transposed(rt):  # a porting slip: the template filled row-wise instead of column-wise
        return [T.T.copy() for T in real(rt)]

    monkeypatch.setattr(walkthrough, "templates", transposed)
    with pytest.raises(IdentityError, match="identity failed"):
        pyreterms.explain(SEED, "sleepstudy")
