"""The parity reports (text and HTML) as a new user reads them: where a cell differs they name R's
1-based (i, j) and plain numbers, one differing cell is visible in the picture, nothing prints as
``nan``, the versions are a line (not a Python dict) and components keep lme4's order (live; the cell details
without R are tests/unit/test_report_details.py)."""
from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

import numpy as np
import pytest
import scipy.sparse as sp

from parity.campaigns.mutants import one_cell_scaled
from parity.compare.tolerances import EXACT, Diff, compare_values, plain
from parity.r.values import RMatrix, RSparse

ZT = "lFormula()$reTrms$Zt"
SEED = "Reaction ~ Days + (Days | Subject)"
K = 5  # 0-based position in Zt's data array (R: Zt@x[K + 1]) that the broken implementation changes


#: pyreterms with one stored value of Zt multiplied by 1.001 (a one-cell disagreement)
one_cell_off = one_cell_scaled(ZT, K)


class _Cells(HTMLParser):
    """Collects the text of every table cell, per table class, and the page's images."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.imgs: list[str] = []
        self.footer = ""
        self._cell: list[str] | None = None
        self._in_footer = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.tables.append((a.get("class") or "", []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "img":
            self.imgs.append(a.get("src") or "")
        elif tag == "footer":
            self._in_footer = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "footer":
            self._in_footer = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_footer:
            self.footer += data


@pytest.fixture(scope="module")
def one_cell_report(R, sleepstudy):
    from parity.compare.check import check

    return check(SEED, sleepstudy, impl=one_cell_off, data_label="sleepstudy")


@pytest.mark.r
def test_detail_names_rs_cell_and_plain_numbers(R, one_cell_report) -> None:
    bad = [c for c in one_cell_report.components if not c.ok]
    assert [c.name for c in bad] == [ZT]
    # which cell is Zt@x[K + 1], and its value, asked of R itself
    R.r_eval(f"lf <- lme4::lFormula({SEED}, lme4::sleepstudy)")
    cell = f"with(Matrix::summary(lf$reTrms$Zt), c(i[{K + 1}], j[{K + 1}], x[{K + 1}]))"
    i, j, x = (float(v) for v in R.r_eval(cell))
    assert bad[0].detail == f"1 value(s) differ, first at [{int(i)}, {int(j)}]: {plain(x * 1.001)} vs R {plain(x)}"
    assert "np.float64" not in bad[0].detail


@pytest.mark.r
def test_text_report_shows_the_cell_dashes_and_versions(R, one_cell_report) -> None:
    from rich.console import Console

    from parity.report.text import print_table

    con = Console(record=True, width=250)
    print_table(one_cell_report, console=con)
    text = con.export_text()
    assert "first at [1, 4]: 1.001 vs R 1" in text
    assert not re.search(r"\bnan\b", text.lower())
    warn = next(line for line in text.splitlines() if "lFormula() warnings" in line)
    assert warn.split("│")[3].strip() == "-" and warn.split("│")[4].strip() == "-"
    v = R.versions()
    assert f"R {v['R']}, lme4 {v['lme4']}, Matrix {v['Matrix']}" in text


@pytest.mark.r
def test_html_report_cells_order_versions(R, one_cell_report, sleepstudy, tmp_path) -> None:
    from parity.report.html import write_html

    p = write_html(one_cell_report, tmp_path / "r.html", data=sleepstudy, impl=one_cell_off)
    page = _Cells()
    page.feed(p.read_text())
    tables = dict(page.tables)
    # the differing cell, in R's 1-based (i, j) with R's row and column names, plain numbers
    R.r_eval(f"lf <- lme4::lFormula({SEED}, lme4::sleepstudy)")
    i, j = (int(v) for v in R.r_eval(f"with(Matrix::summary(lf$reTrms$Zt), c(i[{K + 1}], j[{K + 1}]))"))
    rn = str(R.r_eval(f"rownames(lf$reTrms$Zt)[{i}]")[0])
    cn = str(R.r_eval(f"colnames(lf$reTrms$Zt)[{j}]")[0])
    header, *cells = tables["cells"]
    assert header[0] == "(i, j)"
    want = [str(x) for x in R.r_eval("sapply(c(1.001, 1, 1.001 - 1), format, digits = 7)")]  # R's print: 7 digits
    assert cells == [[f"({i}, {j})", rn, cn, *want]]
    # components in lme4's order (the order R returns them), not alphabetical
    comp = [row[0] for row in tables["components"][1:]]
    assert comp == [c.name for c in one_cell_report.components]
    assert comp != sorted(comp)
    # no cell prints nan; rows without numbers show "-"
    flat = [c for _, rows in page.tables for row in rows for c in row]
    assert not any(c.lower() == "nan" or " nan" in c.lower() for c in flat)
    res = {row[0]: row for row in tables["results"][1:]}
    assert res["lFormula() warnings"][2:4] == ["-", "-"]
    # versions: one readable line, never a dict
    assert "{" not in page.footer and "'R'" not in page.footer
    v = R.versions()
    assert f"R {v['R']}, lme4 {v['lme4']}, Matrix {v['Matrix']}" in page.footer
    # the picture of the difference is a real PNG with the differing cell drawn
    assert len(page.imgs) == 1 and page.imgs[0].startswith("data:image/png;base64,")
    assert _red_pixels_right_third(base64.b64decode(page.imgs[0].split(",", 1)[1])) > 20


def _red_pixels_right_third(png: bytes) -> int:
    import matplotlib.image as mpimg

    img = mpimg.imread(io.BytesIO(png), format="png")
    third = img[:, 2 * img.shape[1] // 3:, :3]
    return int(((third[..., 0] > 0.6) & (third[..., 1] < 0.25) & (third[..., 2] < 0.25)).sum())


@pytest.mark.r
def test_differing_cells_come_in_rs_order(R) -> None:
    """Two differing cells: the detail's "first" and the table's order are R's
    ``which(A != B, arr.ind = TRUE)`` (column-major), for dense and sparse matrices."""
    from parity.report.html import _cell_rows

    rng = np.random.default_rng(5)
    a = np.round(rng.normal(size=(5, 4)), 3)
    b = a.copy()
    b[0, 2] += 1.0
    b[3, 0] -= 2.0
    vals = lambda m: ", ".join(repr(float(v)) for v in m.ravel(order="F"))  # noqa: E731
    R.r_eval(f"A <- matrix(c({vals(a)}), 5, 4); B <- matrix(c({vals(b)}), 5, 4)")
    want = [tuple(int(v) for v in row) for row in np.array(R.r_eval("which(A != B, arr.ind = TRUE)"))]
    for here, lme4 in ((RMatrix(a), RMatrix(b)), (RSparse(sp.csc_matrix(a)), RSparse(sp.csc_matrix(b)))):
        d = Diff()
        compare_values(here, lme4, EXACT, d)
        i, j = want[0]
        assert d.problems[0].startswith(f"2 value(s) differ, first at [{i}, {j}]: "), d.problems
        rows, total = _cell_rows(here, lme4)
        assert total == 2 and [(r["i"], r["j"]) for r in rows] == want


