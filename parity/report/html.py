"""A self-contained HTML report (one file, PNGs embedded as base64) of a check or a fuzz campaign.

For every failure it re-runs both sides (:func:`paired_values`: ``parity.compare.check.r_components`` and
``parity.adapter.pyreterms_lformula.run_impl``) and draws WHERE the values differ: for matrices side-by-side spy plots
of this implementation and of lme4 (R: ``Matrix::image(lf$reTrms$Zt)``) plus the differing cells
as markers; for numeric vectors a bar plot of ``here - R``; and a table of the differing cells with
R's 1-based (i, j) (R: ``which(A != B, arr.ind = TRUE)``), of vector positions ``[k]`` or of names and
levels.  The page is ``templates/report.html.j2`` (jinja2, autoescaped); ``write_html(result_or_reports,
path, data=...)`` is the entry point.
"""
from __future__ import annotations

import base64
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parity.adapter.pyreterms_lformula import load_impl, run_impl
from parity.compare.check import r_components
from parity.compare.tolerances import EXACT, Diff, compare_values
from parity.compare.verdicts import NOT_COMPARED
from parity.r.values import RFactor, RList, RMatrix, RSparse, RValue, RVector
from parity.report.rformat import data_table, r_lines, r_number, r_path, r_scalar
from parity.report.text import _fmt, tolerance_text, versions_line

__all__ = ["write_html", "render_html", "paired_values", "show_pair", "figure_png"]


def paired_values(formula: str, data: Any, component: str, *, impl: Any = None, REML: bool = True,
                  level: str = "lformula", weights=None, offset=None, contrasts=None,
                  time_limit: float | None = None) -> tuple[RValue | None, RValue | None]:
    """(this implementation's value, lme4's value) of one component, both sides re-run; a side that
    refused gives its ``RError`` (R: ``pyreterms_reference(...)[[component]]``)."""
    fn = impl if callable(impl) else load_impl(impl)
    r = r_components(formula, data, REML=REML, level=level, weights=weights, offset=offset,
                     contrasts=contrasts, time_limit=time_limit)
    py = run_impl(fn, formula, data, REML=REML, level=level, weights=weights, offset=offset, contrasts=contrasts)
    return py.get(component, py.get("error")), r.get(component, r.get("error"))


def _first_diff(py: RValue | None, r: RValue | None) -> tuple[str, RValue | None, RValue | None]:
    """Descend into lists to the first element that differs (by name/position); the path as R
    indexes it (``$Subject``, ``[[2]]``)."""
    path = ""
    while isinstance(py, RList) and isinstance(r, RList):
        pick = None
        for k, ((nk, a), (_, b)) in enumerate(zip(py.items, r.items, strict=False)):  # lengths may differ
            d = Diff()
            compare_values(a, b, EXACT, d)
            if not d.ok:
                pick = (r_path([nk if nk is not None else k + 1]), a, b)
                break
        if pick is None:
            break
        path += pick[0]
        py, r = pick[1], pick[2]
    return path, py, r


def _numeric_2d(v: RValue | None) -> np.ndarray | None:
    if isinstance(v, RSparse):
        return v.x.toarray()
    if isinstance(v, RMatrix) and v.x.dtype != object:
        return np.asarray(v.x, dtype=float)
    return None


def figure_png(py: RValue | None, r: RValue | None, title: str) -> bytes | None:
    """A PNG showing where ``py`` and ``r`` differ, or None when there is nothing to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    _, py, r = _first_diff(py, r)
    a, b = _numeric_2d(py), _numeric_2d(r)
    fig = None
    if a is not None and b is not None:
        same = a.shape == b.shape
        fig, axes = plt.subplots(1, 3 if same else 2, figsize=(12 if same else 8, 4))
        for ax, v, m, lab in zip(axes, (py, r), (a, b), ("this implementation", "lme4"), strict=False):
            ms = max(1, 200 // max(m.shape + (1,)))
            if isinstance(v, RSparse):  # stored entries, explicit zeros included
                ax.spy(v.x, precision="present", markersize=ms, aspect="auto")
            else:
                ax.spy(m, markersize=ms, aspect="auto")
            ax.set_title(f"{lab} {m.shape[0]}x{m.shape[1]}"
                         + (f", {v.x.nnz} stored" if isinstance(v, RSparse) else ""), fontsize=9)
        for ax in axes:  # R's 1-based row and column numbers on every panel
            ax.xaxis.set_major_formatter(FuncFormatter(_one_based))
            ax.yaxis.set_major_formatter(FuncFormatter(_one_based))
        if same:
            pa = (py.x.tocsc() if isinstance(py, RSparse) else sp_pattern(a))
            pb = (r.x.tocsc() if isinstance(r, RSparse) else sp_pattern(b))
            with np.errstate(invalid="ignore"):
                mask = ((a != b) & ~(np.isnan(a) & np.isnan(b))) | (_stored(pa) != _stored(pb))
            _draw_mask(axes[2], mask)
    elif isinstance(py, (RVector, RFactor)) and isinstance(r, (RVector, RFactor)):
        xv = np.asarray(py.codes if isinstance(py, RFactor) else py.x)
        yv = np.asarray(r.codes if isinstance(r, RFactor) else r.x)
        if xv.dtype == object or yv.dtype == object:
            return None
        xv, yv = xv.astype(float), yv.astype(float)
        if xv.shape == yv.shape and np.array_equal(xv, yv, equal_nan=True):
            return None
        if xv.shape == yv.shape:
            fig, ax = plt.subplots(figsize=(10, 3))
            with np.errstate(invalid="ignore"):
                d = np.nan_to_num(xv - yv, nan=0.0, posinf=0.0, neginf=0.0)
            ax.bar(np.arange(len(d)) + 1, d, color=np.where(xv != yv, "#c00", "#888"))
            ax.set_xlabel("position (1-based)")
            ax.set_ylabel("here - R")
        else:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3))
            for ax, vals, lab in zip(axes, (xv, yv), ("this implementation", "lme4"), strict=True):
                ax.bar(np.arange(len(vals)) + 1, np.nan_to_num(vals))
                ax.set_title(f"{lab} (length {len(vals)})", fontsize=9)
    if fig is None:
        la, lb = _labels(py), _labels(r)
        if la is None or lb is None or la == lb:
            return None
        rows = max(len(la), len(lb))
        shown = min(rows, 20)
        fig, ax = plt.subplots(figsize=(9, 0.8 + 0.28 * shown))
        ax.axis("off")
        ax.set_xlim(0, 1)
        ax.set_ylim(-shown - 0.5, 1)
        ax.text(0.02, 0.3, "position", weight="bold", fontsize=9)
        ax.text(0.15, 0.3, "this implementation", weight="bold", fontsize=9)
        ax.text(0.58, 0.3, "lme4", weight="bold", fontsize=9)
        for k in range(shown):
            left = la[k] if k < len(la) else "<none>"
            right = lb[k] if k < len(lb) else "<none>"
            col = "#c00" if left != right else "#444"
            ax.text(0.02, -k - 0.5, str(k + 1), fontsize=8)
            ax.text(0.15, -k - 0.5, left[:50], color=col, fontsize=8, family="monospace")
            ax.text(0.58, -k - 0.5, right[:50], color=col, fontsize=8, family="monospace")
    fig.suptitle(title.replace("$", r"\$"), fontsize=10)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def _one_based(v: float, _pos: Any) -> str:
    return f"{int(round(v)) + 1}" if abs(v - round(v)) < 1e-9 else ""


def _draw_mask(ax: Any, mask: np.ndarray) -> None:
    """The differing cells as markers of a visible size (an image of the mask shows one cell of a
    36 x 180 matrix as one pixel or none at a figure's resolution), labelled with R's (i, j)."""
    nr, nc = mask.shape
    ii, jj = np.nonzero(mask)
    ax.set_xlim(-0.5, nc - 0.5)
    ax.set_ylim(nr - 0.5, -0.5)
    ax.xaxis.tick_top()
    ax.set_facecolor("#fafafa")
    ax.scatter(jj, ii, s=36 if ii.size < 50 else 9, marker="s", color="#c00", zorder=3)
    for i, j in list(zip(ii.tolist(), jj.tolist(), strict=True))[:3]:
        ax.annotate(f"({i + 1}, {j + 1})", (j, i), textcoords="offset points", xytext=(6, 6), fontsize=8,
                    color="#c00")
    ax.set_title(f"differ: {ii.size} cell(s) (value or stored pattern), R's (i, j)", fontsize=9)


def sp_pattern(a: np.ndarray):
    import scipy.sparse as sp

    return sp.csc_matrix(a)


def _stored(m) -> np.ndarray:
    out = np.zeros(m.shape, dtype=bool)
    coo = m.tocoo()
    out[coo.row, coo.col] = True
    return out


def _labels(v: RValue | None) -> list[str] | None:
    if isinstance(v, RFactor):
        return list(v.levels)
    if isinstance(v, RVector) and v.kind in ("character", "logical"):
        return [str(x) for x in v.x]
    if isinstance(v, RList):
        return [str(k) for k in v.names()]
    return None


def show_pair(py: RValue | None, r: RValue | None, limit: int = 12) -> str:
    """A short text rendering of both sides at the first place they differ (for reproducers and the
    report): each side as R prints it (:func:`parity.report.rformat.r_lines`: a matrix's first
    ``limit`` rows and columns with its dimnames, a vector's first ``limit`` elements), never a
    numpy or Python repr."""
    path, a, b = _first_diff(py, r)
    out = [f"at {path or '(top level)'}:"]
    for lab, v in (("here", a), ("lme4", b)):
        head, *body = r_lines(v, limit)
        out.append(f"{lab}: {head}")
        out.extend(body)
    return "\n".join(out)


def _differing_cells(py: RValue | None, r: RValue | None) -> tuple[np.ndarray, np.ndarray, Any, Any] | None:
    """(rows, cols, here, lme4) of the cells of two same-shape matrices that differ (value, NaN-ness or,
    for sparse matrices, the stored pattern), in R's column-major order (R: ``which(A != B, arr.ind =
    TRUE)``); sparse pairs stay sparse (a q x n ``Zt`` of a large design is never made dense)."""
    if isinstance(py, RSparse) and isinstance(r, RSparse):
        A, B = py.x.tocsc(), r.x.tocsc()
        if A.shape != B.shape:
            return None
        SA, SB = A.copy(), B.copy()
        SA.data[:], SB.data[:] = 1.0, 1.0
        with np.errstate(invalid="ignore"):
            M = (abs(A - B) + abs(SA - SB)).tocsc()  # NaN in either side stays nonzero
        M.eliminate_zeros()
        M.sort_indices()
        jj = np.repeat(np.arange(M.shape[1]), np.diff(M.indptr))
        return M.indices.copy(), jj, A, B
    a, b = _numeric_2d(py), _numeric_2d(r)
    if a is None or b is None or a.shape != b.shape:
        return None
    with np.errstate(invalid="ignore"):
        mask = (a != b) & ~(np.isnan(a) & np.isnan(b))
    jj, ii = np.nonzero(mask.T)
    return ii, jj, a, b


def _cell_rows(py: RValue | None, r: RValue | None, limit: int = 20) -> tuple[list[dict[str, Any]], int]:
    """The first ``limit`` differing cells of two matrices with R's 1-based (i, j), the row and column
    names and both values as plain numbers; and how many cells differ."""
    cells = _differing_cells(py, r)
    if cells is None:
        return [], 0
    ii, jj, a, b = cells
    rn = list(getattr(r, "rownames", None) or getattr(py, "rownames", None) or [])
    cn = list(getattr(r, "colnames", None) or getattr(py, "colnames", None) or [])
    rows = []
    for i, j in zip(ii[:limit].tolist(), jj[:limit].tolist(), strict=True):
        x, y = float(a[i, j]), float(b[i, j])
        rows.append({"i": i + 1, "j": j + 1, "rowname": rn[i] if i < len(rn) else "",
                     "colname": cn[j] if j < len(cn) else "", "here": r_number(x), "lme4": r_number(y),
                     "diff": r_number(x - y) if x == x and y == y else "NaN"})
    return rows, int(ii.size)


def _position_rows(py: RValue | None, r: RValue | None, limit: int = 20) -> tuple[list[dict[str, Any]], int]:
    """The positions of two same-length numeric vectors that differ, R's 1-based index and names."""
    if not (isinstance(py, RVector) and isinstance(r, RVector)):
        return [], 0
    if {py.kind, r.kind} - {"double", "integer"} or len(py.x) != len(r.x):
        return [], 0
    a, b = np.asarray(py.x, dtype=float), np.asarray(r.x, dtype=float)
    with np.errstate(invalid="ignore"):
        mask = (a != b) & ~(np.isnan(a) & np.isnan(b))
    names = list(r.names or py.names or [])
    ks = np.flatnonzero(mask)
    rows = [{"k": k + 1, "name": names[k] if k < len(names) else "", "here": r_number(a[k]), "lme4": r_number(b[k])}
            for k in ks[:limit].tolist()]
    return rows, int(ks.size)


def _label_rows(py: RValue | None, r: RValue | None, limit: int = 15) -> list[dict[str, Any]]:
    la, lb = _labels(py), _labels(r)
    if la is None or lb is None or la == lb:
        return []
    return [{"k": i + 1, "name": "", "here": x, "lme4": y}
            for i, (x, y) in enumerate(zip(la + [""] * len(lb), lb + [""] * len(la), strict=True)) if x != y][:limit]


def _difference(name: str, py: RValue | None, r: RValue | None) -> dict[str, Any]:
    """What the template shows for one differing component: where (cells or positions), a text view
    of both sides, and a picture."""
    path, a, b = _first_diff(py, r)
    png = figure_png(py, r, name)
    cells, n_cells = _cell_rows(a, b)
    positions, n_pos = _position_rows(a, b)
    if not positions:
        positions = _label_rows(a, b)
        n_pos = len(positions)
    return {"name": name, "path": path, "cells": cells, "cells_total": n_cells, "positions": positions,
            "positions_total": n_pos, "text": show_pair(py, r), "png": base64.b64encode(png).decode() if png else ""}


def _pictures(design_like: dict, comps: Sequence[str], impl: Any) -> dict[str, Any]:
    """The failing components of one design (both sides re-run once each), for the template."""

    if design_like.get("data") is None:
        return {"note": "data not available: no pictures", "components": []}
    kw: dict[str, Any] = {k: design_like.get(k) for k in ("REML", "level", "weights", "offset", "contrasts")}
    try:
        r = r_components(design_like["formula"], design_like["data"], **kw)
        py = run_impl(impl if callable(impl) else load_impl(impl), design_like["formula"], design_like["data"], **kw)
    except Exception as e:  # a report is still written
        return {"note": f"could not re-run the design: {e}", "components": []}
    return {"note": "", "components": [_difference(c, py.get(c, py.get("error")), r.get(c, r.get("error")))
                                       for c in list(comps)[:4]]}


def _component_rows(counts: dict[str, list[int]]) -> list[dict[str, Any]]:
    """One row per component in lme4's order (the order the reference returns them), not sorted."""
    return [{"name": k, "agree": v[0], "disagree": v[1]} for k, v in counts.items()]


def _not_provided_rows(names: Any) -> list[tuple[str, Any]]:
    """The components lme4 returned and the implementation did not (parity.compare.selection): listed
    apart, neither agreement nor disagreement.  ``names``: a sequence, or name -> designs."""
    if not names:
        return []
    return list(names.items()) if isinstance(names, dict) else [(n, None) for n in names]


def _tally(reports: Sequence[Any]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    for rep in reports:
        for c in rep.components:
            if c.name == NOT_COMPARED:  # not a component that was compared
                continue
            counts.setdefault(c.name, [0, 0])[0 if c.ok else 1] += 1
    return counts


def _data_context(df: Any) -> dict[str, Any]:
    """The first rows of a design's data as R's ``print(head(d, 12))`` shows them."""
    cols, rownames, cells = data_table(df)
    return {"columns": cols, "rows": list(zip(rownames, cells, strict=True))}


def _fuzz_context(res: Any, impl: Any) -> dict[str, Any]:
    j = res.as_json()
    nc = [(o.design.formula, o.error) for o in res.outcomes if o.status == "not-compared"]
    failures = []
    for f in res.failures:
        d = f.shrunk.design
        failures.append({
            "component": f.component, "formula": d.formula, "n": d.n, "REML": d.REML,
            "weights": d.weights or "NULL", "offset": d.offset or "NULL", "description": d.description,
            "reproducer": str(f.reproducer), "data": _data_context(d.data),
            "pictures": _pictures({"formula": d.formula, "data": d.data, "REML": d.REML, "level": j["level"],
                                   **d.arrays()}, f.shrunk.failing or (f.component,),
                                  impl if impl is not None else res.config.impl)})
    return {
        "title": "parity fuzz report",
        "fuzz": {"seed": j["seed"], "designs": j["counts"]["designs"], "level": j["level"], "impl": j["impl"],
                 "note": res.note, "counts": [(k, r_scalar(v)) for k, v in {**j["counts"], **j["timing"]}.items()],
                 "not_compared_total": len(nc), "not_compared": nc[:50],
                 "by_rule": [(k, r_scalar(v)) for k, v in j["agreed_by_rule"].items()] if j["level"] == "fit" else [],
                 "not_provided": _not_provided_rows(j.get("not_provided_components", {})),
                 "failures": failures},
        "components": _component_rows(_tally([o.report for o in res.outcomes if o.report is not None])),
        "versions": res.versions}


def _check_context(reps: list[Any], data: Any, impl: Any, weights: Any, offset: Any, contrasts: Any) -> dict[str, Any]:

    out = []
    for rep in reps:
        bad = [c for c in rep.components if not c.ok]
        rows = [{"name": c.name, "cls": "nc" if c.name == NOT_COMPARED else "ok" if c.ok else "bad",
                 "said": "not compared" if c.name == NOT_COMPARED else "yes" if c.ok else "NO",
                 "abs": _fmt(c.max_abs_diff), "rel": _fmt(c.max_rel_diff), "tol": tolerance_text(c.rtol, c.atol),
                 "detail": c.detail} for c in rep.components]
        v = rep.verdict.value
        pics = None
        if bad and v != "not compared":
            design = {"formula": rep.formula, "data": data, "REML": rep.REML, "level": rep.level,
                      "weights": weights, "offset": offset, "contrasts": contrasts}
            pics = _pictures(design, [c.name for c in bad], impl)
        out.append({"formula": rep.formula, "label": rep.data_label or "data", "method": "REML" if rep.REML else "ML",
                    "level": rep.level, "verdict": v,
                    "verdict_class": "ok" if v in ("agree", "both refused") else "nc" if v == "not compared" else "bad",
                    "rows": rows, "not_provided": _not_provided_rows(getattr(rep, "not_provided", ())),
                    "pictures": pics})
    return {"title": "parity check report", "fuzz": None, "reports": out, "components": _component_rows(_tally(reps)),
            "versions": reps[0].versions if reps else {}}


def render_html(context: dict[str, Any]) -> str:
    """The page from ``templates/report.html.j2`` (jinja2, autoescaped)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("parity.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    ctx = {**context, "versions": versions_line(context.get("versions") or {}),
           "written": time.strftime("%Y-%m-%d %H:%M:%S")}
    return env.get_template("report.html.j2").render(**ctx)


def write_html(reports: Any, path: str | Path, *, data: Any = None, impl: Any = None, weights=None,
               offset=None, contrasts=None, call: str | None = None) -> Path:
    """Write the report: ``reports`` is a :class:`parity.campaigns.fuzz.FuzzResult`, one
    :class:`parity.compare.check.CheckReport` or a list of them (pictures need ``data`` for check reports).
    ``call``: the ``parity check --call`` line (with its arguments) shown in each report's header."""
    if hasattr(reports, "outcomes"):
        ctx = _fuzz_context(reports, impl)
    else:
        reps = [reports] if hasattr(reports, "components") else list(reports)
        ctx = _check_context(reps, data, impl, weights, offset, contrasts)
        if call:
            for r in ctx["reports"]:
                r["label"] = f"{r['label']}; {call}"
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(render_html(ctx), encoding="utf-8")
    return p
