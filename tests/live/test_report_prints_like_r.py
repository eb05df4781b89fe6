"""Every value in the parity reports prints as R prints it (R's ``format``/``print``, 7 significant
digits): a report of a planted difference (one stored value of ``Zt`` scaled by 1.001) holds no
numpy or Python repr, its numbers are R's ``format(x, digits = 7)``, the two sides of the difference
print as R prints ``Zt[1:12, 1:12]``, and a fuzz failure's data show R's row names and numbers."""
from __future__ import annotations

import html
import re

import numpy as np
import pytest

from parity.campaigns.mutants import one_cell_scaled
from parity.r.values import RFactor, RMatrix, RVector
from parity.report.rformat import data_table, r_chars, r_lines, r_number, r_path

ZT = "lFormula()$reTrms$Zt"
SEED = "Reaction ~ Days + (Days | Subject)"
one_cell_off = one_cell_scaled(ZT, 5)  # Zt@x[6] times 1.001
PY_REPRS = ("np.", "array(", "[[", "['", "float64", "None", "{'")

pytestmark = pytest.mark.r


@pytest.fixture(scope="module")
def report(R, sleepstudy):
    from parity.compare.check import check

    return check(SEED, sleepstudy, impl=one_cell_off, data_label="sleepstudy")


def _sig_digits(s: str) -> int:
    mant = s.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
    return len(mant)


def _rs(R, code: str) -> list[str]:
    return [str(x) for x in R.r_eval(code)]


def test_html_report_has_no_python_reprs(R, report, sleepstudy, tmp_path) -> None:
    from parity.report.html import write_html

    page = write_html(report, tmp_path / "r.html", data=sleepstudy, impl=one_cell_off).read_text()
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page)))
    for bad in PY_REPRS:
        assert bad not in text, (bad, text[max(0, text.find(bad) - 200):text.find(bad) + 200])
    # the difference, here and in R: R's format(x, digits = 7), at most 7 significant digits
    cells = re.findall(r'<td class="num">([^<]*)</td>', page[page.find('<table class="cells">'):])[:3]
    assert cells == _rs(R, "sapply(c(1.001, 1, 1.001 - 1), format, digits = 7)")
    assert cells[2] == "0.001" and all(_sig_digits(c) <= 7 for c in cells)
    # the results table's max abs / rel diff: R's format of the same doubles
    bad = next(c for c in report.components if not c.ok)
    results = page[page.find('<table class="results">'):]
    row = re.search(r"<tr><td><code>" + re.escape(html.escape(ZT)) + r".*?</tr>", results, re.S).group(0)
    nums = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert nums == [_rs(R, f"format({v!r}, digits = 7)")[0] for v in (bad.max_abs_diff, bad.max_rel_diff)]
    assert all(_sig_digits(n) <= 7 for n in nums)
    # both sides print as R prints Zt[1:12, 1:12] (the "here" side with its one changed value)
    pre = html.unescape(re.search(r"<pre>(.*?)</pre>", page, re.S).group(1)).splitlines()
    lme4_at = next(k for k, ln in enumerate(pre) if ln.startswith("lme4: "))
    R.r_eval(f"lf <- lme4::lFormula({SEED}, lme4::sleepstudy)")
    assert pre[lme4_at] == 'lme4: 36 x 180 sparse Matrix, 342 stored entries; [1:12, 1:12]:'
    assert pre[lme4_at + 1:] == _rs(R, "capture.output(print(lf$reTrms$Zt[1:12, 1:12]))")
    R.r_eval("Zh <- lf$reTrms$Zt; Zh@x[6] <- Zh@x[6] * 1.001")
    assert pre[2:lme4_at] == _rs(R, "capture.output(print(Zh[1:12, 1:12]))")


def test_text_report_numbers_are_rs_format(R, report) -> None:
    from rich.console import Console

    from parity.report.text import print_table

    con = Console(record=True, width=250)
    print_table(report, console=con)
    text = con.export_text()
    line = next(ln for ln in text.splitlines() if ZT in ln)
    cols = [c.strip() for c in line.split("│")]
    bad = next(c for c in report.components if not c.ok)
    assert cols[3:5] == [_rs(R, f"format({v!r}, digits = 7)")[0] for v in (bad.max_abs_diff, bad.max_rel_diff)]
    for bad_text in PY_REPRS:
        assert bad_text not in text


def test_show_pair_for_reproducers_prints_rs_values(R) -> None:
    """Vectors, named vectors, factors and character vectors as R prints them."""
    from parity.report.html import show_pair

    x = np.array([1.5, 2.25, 1e-10, 300.0])
    R.r_eval("x <- c(a = 1.5, b = 2.25, c = 1e-10, d = 300)")
    here = show_pair(RVector(x, names=("a", "b", "c", "d")), RVector(x[::-1].copy(), names=("a", "b", "c", "d")))
    assert here.splitlines()[2:4] == _rs(R, "capture.output(print(x))")
    assert r_lines(RVector(x), 12)[1:] == _rs(R, "capture.output(print(unname(x)))")
    f = RFactor(np.array([0, 0, 1, 2]), ("308", "309", "310"))
    assert r_lines(f)[1:] == _rs(R, 'capture.output(print(factor(c("308", "308", "309", "310"))))')
    m = RMatrix(np.array([[1.0, 0.25], [3.0, -4.5]]), ("r1", "r2"), ("A", "B"))
    R.r_eval('m <- matrix(c(1, 3, 0.25, -4.5), 2, dimnames = list(c("r1", "r2"), c("A", "B")))')
    assert r_lines(m)[1:] == _rs(R, "capture.output(print(m))")
    assert r_chars(["308", 'a"b']) == _rs(R, 'deparse(c("308", "a\\"b"))')[0]
    assert r_path(["Subject", "a b", 2]) == '$Subject[["a b"]][[2]]'
    for v in (1 / 3, 1234567.891, 1.110223e-16, -0.5, 1e5, 123456789.0):
        assert r_number(v) == _rs(R, f"format({v!r}, digits = 7)")[0]


def test_data_table_is_rs_print_of_head(R, sleepstudy) -> None:
    """A fuzz failure's data: R's row names and R's format of each column (format.data.frame)."""
    import pandas as pd

    d = pd.DataFrame({"y": [1.5, 2.123456789, np.nan], "g": ["a", "b", None], "n": [1, 2, 3]})
    R.r_eval('d <- data.frame(y = c(1.5, 2.123456789, NA), g = c("a", "b", NA), n = 1:3)')
    cols, rows, cells = data_table(d)
    assert cols == _rs(R, "names(d)") and rows == _rs(R, "rownames(d)")
    f = R.r_eval("as.matrix(format(d, digits = 7))")
    want = [[str(f.rx(i + 1, j + 1)[0]).strip() for j in range(3)] for i in range(3)]
    assert cells == want
    cols, rows, cells = data_table(sleepstudy.iloc[20:], limit=3)
    assert rows == _rs(R, "rownames(head(lme4::sleepstudy[21:180, ], 3))")


def test_fuzz_report_has_no_python_reprs(R, tmp_path) -> None:
    """A campaign against a mutant (theta0 all ones): the shrunk failure's data, its positions, the
    counts and timings print as R prints them; no weights/offset print as NULL."""
    from parity.campaigns.fuzz import FuzzConfig, run_campaign
    from parity.report.html import write_html

    cfg = FuzzConfig(examples=3, seed=1, level="lformula", impl="parity.campaigns.mutants:theta0_ones",
                     shrink_seconds=3.0, max_failures=1, stop_at_first=True)
    res = run_campaign(cfg, out_dir=tmp_path / "repro", progress=False)
    page = write_html(res, tmp_path / "fuzz.html").read_text()
    text = html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", page)))
    for bad in PY_REPRS:
        assert bad not in text, (bad, text[max(0, text.find(bad) - 200):text.find(bad) + 200])
    d = res.failures[0].shrunk.design
    table = page[page.find('<table class="data">'):]
    shown = re.findall(r"<tr><th>([^<]*)</th>", table[:table.find("</table>")])[1:]
    assert shown == [str(i) for i in range(1, min(len(d.data), 12) + 1)]  # R's row names of a data frame
    timings = dict(re.findall(r"<tr><th>([^<]+)</th><td class=\"num\">([^<]*)</td></tr>", page))
    assert all(_sig_digits(v) <= 7 for v in timings.values())
