"""Reports: the terminal table and the JSON document of ``parity check``."""
from __future__ import annotations

import json
import math
from pathlib import Path

from parity.compare.check import CheckReport
from parity.compare.verdicts import NOT_COMPARED, Verdict
from parity.report.rformat import r_number


def _fmt(x: float | None) -> str:
    """A difference as the table shows it, as R prints it (``format(x, digits = 7)``: ``0.001``,
    ``1.110223e-16``); ``-`` where nothing numeric was compared (never ``nan``)."""
    if x is None or math.isnan(x):
        return "-"
    return r_number(x)


def tolerance_text(rtol: float, atol: float) -> str:
    """``exact``, ``info`` (shown, not judged) or ``rtol 1e-09, atol 1e-10``."""
    return ("exact" if rtol == 0 and atol == 0 else "info" if math.isinf(rtol)
            else f"rtol {rtol:g}, atol {atol:g}")


def versions_line(versions: dict) -> str:
    """``R 4.2.2, lme4 1.1.31, Matrix 1.5.3, rpy2 3.5.17, collation C`` (what a report rests on)."""
    if not versions:
        return "versions: not recorded (R was not started)"
    return ", ".join(f"{k} {v}" for k, v in versions.items())


def print_table(report: CheckReport, *, console=None, show_ok: bool = True) -> None:
    """A table: component, agree?, max abs diff, max rel diff, tolerance (and what differs)."""
    try:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table
    except ImportError:  # plain text fallback
        for c in report.components:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name}  abs={_fmt(c.max_abs_diff)} rel={_fmt(c.max_rel_diff)} "
                  f"rtol={c.rtol:g} atol={c.atol:g} {c.detail}")
        print(verdict_line(report))
        return
    console = console or Console(width=160)
    title = escape(f"{report.formula}  [{report.data_label}, {'REML' if report.REML else 'ML'}, {report.level}]")
    t = Table(title=title, show_lines=False)
    t.add_column("component (R expression)", overflow="fold", max_width=60)
    t.add_column("agree?")
    t.add_column("max abs diff", justify="right")
    t.add_column("max rel diff", justify="right")
    t.add_column("tolerance", justify="right")
    t.add_column("detail", overflow="fold", max_width=60)
    for c in report.components:
        if not show_ok and c.ok:
            continue
        tol = tolerance_text(c.rtol, c.atol)
        said = "[yellow]not compared[/]" if c.name == NOT_COMPARED else "[green]yes[/]" if c.ok else "[red]NO[/]"
        t.add_row(escape(c.name), said, _fmt(c.max_abs_diff),
                  _fmt(c.max_rel_diff), tol, escape(c.detail))
    console.print(t)
    if report.not_provided:
        shown = ", ".join(report.not_provided[:8]) + (" ..." if len(report.not_provided) > 8 else "")
        console.print(f"[yellow]not provided[/] ({len(report.not_provided)}): {escape(shown)}")
    v = report.versions
    console.print(escape(verdict_line(report)) + f"  R {v.get('R', '?')}, lme4 {v.get('lme4', '?')}, "
                  f"Matrix {v.get('Matrix', '?')}")


def verdict_line(report: CheckReport) -> str:
    """One line: the verdict and what it rests on (never 'agree' for a design that was not compared)."""
    vd = report.verdict
    if vd is Verdict.NOT_COMPARED:
        why = next((c.detail for c in report.components if c.name == NOT_COMPARED), "")
        return f"verdict: NOT COMPARED (the harness declined; nothing was checked): {why}."
    n_bad = sum(not c.ok for c in report.components)
    np_ = len(report.not_provided)
    tail = (f"; {np_} not provided by this implementation (not judged: neither agreement nor disagreement)"
            if np_ else "")
    return f"verdict: {vd.value}. {len(report.components)} components, {n_bad} disagree{tail}."


def write_json(report: CheckReport, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.as_json(), indent=2, allow_nan=False))
