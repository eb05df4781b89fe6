"""A self-contained HTML report (one file, PNGs embedded as base64) of a check or a fuzz campaign.

For every failure it re-runs both sides (:func:`paired_values`: ``parity.check.r_components`` and
``parity.pyside.run_impl``) and draws WHERE the values differ: for matrices side-by-side spy plots
of this implementation and of lme4 (R: ``Matrix::image(lf$reTrms$Zt)``) plus a mask of differing
positions; for numeric vectors a bar plot of ``here - R``; for names/levels a table of the first
differing positions.  ``write_html(result_or_reports, path, data=...)`` is the entry point.
"""
from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from parity.r.values import RError, RFactor, RList, RMatrix, RSparse, RValue, RVector

__all__ = ["write_html", "paired_values", "show_pair", "figure_png"]

_CSS = ("body{font-family:sans-serif;margin:1.5em;max-width:1200px} table{border-collapse:collapse;margin:.5em 0}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px;text-align:left} .ok{color:#080}"
        ".bad{color:#c00;font-weight:bold} code,pre{background:#f4f4f4} img{max-width:100%;border:1px solid #ddd}"
        "h3{margin-top:1.5em}")


def paired_values(formula: str, data: Any, component: str, *, impl: Any = None, REML: bool = True,
                  level: str = "lformula", weights=None, offset=None, contrasts=None,
                  time_limit: float | None = None) -> tuple[RValue | None, RValue | None]:
    """(this implementation's value, lme4's value) of one component, both sides re-run; a side that
    refused gives its ``RError`` (R: ``pyreterms_reference(...)[[component]]``)."""
    from parity.adapter.pyreterms_lformula import load_impl, run_impl
    from parity.compare.check import r_components

    fn = impl if callable(impl) else load_impl(impl)
    r = r_components(formula, data, REML=REML, level=level, weights=weights, offset=offset,
                     contrasts=contrasts, time_limit=time_limit)
    py = run_impl(fn, formula, data, REML=REML, level=level, weights=weights, offset=offset, contrasts=contrasts)
    return py.get(component, py.get("error")), r.get(component, r.get("error"))


def _first_diff(py: RValue | None, r: RValue | None) -> tuple[str, RValue | None, RValue | None]:
    """Descend into lists to the first element that differs (by name/position)."""
    from parity.compare.tolerances import EXACT, Diff, compare_values

    path = ""
    while isinstance(py, RList) and isinstance(r, RList):
        pick = None
        for k, ((nk, a), (_, b)) in enumerate(zip(py.items, r.items)):
            d = Diff()
            compare_values(a, b, EXACT, d)
            if not d.ok:
                pick = (f"[[{nk if nk is not None else k + 1!r}]]", a, b)
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

    _, py, r = _first_diff(py, r)
    a, b = _numeric_2d(py), _numeric_2d(r)
    fig = None
    if a is not None and b is not None:
        same = a.shape == b.shape
        fig, axes = plt.subplots(1, 3 if same else 2, figsize=(12 if same else 8, 4))
        for ax, v, m, lab in zip(axes, (py, r), (a, b), ("this implementation", "lme4")):
            ms = max(1, 200 // max(m.shape + (1,)))
            if isinstance(v, RSparse):  # stored entries, explicit zeros included
                ax.spy(v.x, precision="present", markersize=ms, aspect="auto")
            else:
                ax.spy(m, markersize=ms, aspect="auto")
            ax.set_title(f"{lab} {m.shape[0]}x{m.shape[1]}"
                         + (f", {v.x.nnz} stored" if isinstance(v, RSparse) else ""), fontsize=9)
        if same:
            pa = (py.x.tocsc() if isinstance(py, RSparse) else sp_pattern(a))
            pb = (r.x.tocsc() if isinstance(r, RSparse) else sp_pattern(b))
            mask = (np.abs(a - b) > 0) | (_stored(pa) != _stored(pb))
            axes[2].imshow(mask, cmap="Reds", aspect="auto", interpolation="nearest", vmin=0, vmax=1)
            axes[2].set_title(f"differ: {int(mask.sum())} positions (value or stored pattern)", fontsize=9)
    elif isinstance(py, (RVector, RFactor)) and isinstance(r, (RVector, RFactor)):
        x = np.asarray(py.codes if isinstance(py, RFactor) else py.x)
        y = np.asarray(r.codes if isinstance(r, RFactor) else r.x)
        if x.dtype == object or y.dtype == object:
            return None
        x, y = x.astype(float), y.astype(float)
        if x.shape == y.shape and np.array_equal(x, y, equal_nan=True):
            return None
        if x.shape == y.shape:
            fig, ax = plt.subplots(figsize=(10, 3))
            with np.errstate(invalid="ignore"):
                d = np.nan_to_num(x - y, nan=0.0, posinf=0.0, neginf=0.0)
            ax.bar(np.arange(len(d)) + 1, d, color=np.where(x != y, "#c00", "#888"))
            ax.set_xlabel("position (1-based)")
            ax.set_ylabel("here - R")
        else:
            fig, axes = plt.subplots(1, 2, figsize=(10, 3))
            for ax, v, lab in zip(axes, (x, y), ("this implementation", "lme4")):
                ax.bar(np.arange(len(v)) + 1, np.nan_to_num(v))
                ax.set_title(f"{lab} (length {len(v)})", fontsize=9)
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
            x = la[k] if k < len(la) else "<none>"
            y = lb[k] if k < len(lb) else "<none>"
            col = "#c00" if x != y else "#444"
            ax.text(0.02, -k - 0.5, str(k + 1), fontsize=8)
            ax.text(0.15, -k - 0.5, x[:50], color=col, fontsize=8, family="monospace")
            ax.text(0.58, -k - 0.5, y[:50], color=col, fontsize=8, family="monospace")
    fig.suptitle(title.replace("$", r"\$"), fontsize=10)
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


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
    """A short text rendering of both sides at the first place they differ (for reproducers)."""
    path, a, b = _first_diff(py, r)
    out = [f"at {path or '(top level)'}:"]
    for lab, v in (("here", a), ("lme4", b)):
        m = _numeric_2d(v)
        if isinstance(v, RError):
            out.append(f"  {lab}: refused: {v.message}")
        elif m is not None:
            out.append(f"  {lab}: {m.shape} matrix, stored entries "
                       f"{v.x.nnz if isinstance(v, RSparse) else int((m != 0).sum())}\n"
                       + np.array2string(m[:limit, :limit], precision=4, max_line_width=160))
            if isinstance(v, (RSparse, RMatrix)) and v.rownames:
                out.append(f"  {lab} rownames: {list(v.rownames)[:limit]}")
        elif isinstance(v, RVector):
            out.append(f"  {lab}: {v.kind} {v.x[:limit].tolist()}{' ...' if len(v.x) > limit else ''}"
                       + (f" names {list(v.names[:limit])}" if v.names else ""))
        elif isinstance(v, RFactor):
            out.append(f"  {lab}: factor levels {list(v.levels[:limit])} codes {v.codes[:limit].tolist()}")
        else:
            out.append(f"  {lab}: {v!r}")
    return "\n".join(out)


def _img(png: bytes | None) -> str:
    return "" if png is None else f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def _label_table(py: RValue | None, r: RValue | None) -> str:
    _, a, b = _first_diff(py, r)
    la, lb = _labels(a), _labels(b)
    if la is None or lb is None or la == lb:
        return ""
    rows = [(i + 1, x, y) for i, (x, y) in enumerate(zip(la + [""] * len(lb), lb + [""] * len(la)))
            if x != y][:15]
    body = "".join(f"<tr><td>{i}</td><td>{html.escape(x)}</td><td>{html.escape(y)}</td></tr>" for i, x, y in rows)
    return f"<table><tr><th>position</th><th>here</th><th>lme4</th></tr>{body}</table>"


def _pictures(design_like: dict, comps: Sequence[str], impl: Any) -> str:
    """HTML with pictures for the failing components of one design (both sides re-run once each)."""
    from parity.adapter.pyreterms_lformula import load_impl, run_impl
    from parity.compare.check import r_components

    if design_like.get("data") is None:
        return "<p><i>data not available: no pictures</i></p>"
    kw = {k: design_like.get(k) for k in ("REML", "level", "weights", "offset", "contrasts")}
    try:
        r = r_components(design_like["formula"], design_like["data"], **kw)
        py = run_impl(impl if callable(impl) else load_impl(impl), design_like["formula"], design_like["data"], **kw)
    except Exception as e:  # a report is still written
        return f"<p>could not re-run the design: {html.escape(str(e))}</p>"
    parts = []
    for c in list(comps)[:4]:
        a, b = py.get(c, py.get("error")), r.get(c, r.get("error"))
        parts.append(f"<h4>{html.escape(c)}</h4><pre>{html.escape(show_pair(a, b))}</pre>"
                     f"{_label_table(a, b)}{_img(figure_png(a, b, c))}")
    return "".join(parts)


def _component_table(counts: dict[str, list[int]]) -> str:
    rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{v[0]}</td><td>{v[1]}</td>"
                   f"<td class='{'ok' if v[1] == 0 else 'bad'}'>{'pass' if v[1] == 0 else 'FAIL'}</td></tr>"
                   for k, v in sorted(counts.items(), key=lambda kv: (-kv[1][1], kv[0])))
    return f"<table><tr><th>component</th><th>agree</th><th>disagree</th><th></th></tr>{rows}</table>"


def _not_provided_html(names: Any) -> str:
    """The components lme4 returned and the implementation did not (parity.selection): listed
    apart, neither agreement nor disagreement.  ``names``: a sequence, or name -> designs."""
    if not names:
        return ""
    items = names.items() if isinstance(names, dict) else ((n, None) for n in names)
    rows = "".join(f"<tr><td><code>{html.escape(n)}</code></td>" + (f"<td>{k}</td>" if k is not None else "")
                   + "</tr>" for n, k in items)
    return (f"<h2>Not provided: {len(names)} component(s)</h2><p>lme4 returns these and this implementation "
            f"does not: not judged (neither agreement nor disagreement).</p><table>{rows}</table>")


def _tally(reports: Sequence[Any]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {}
    from parity.compare.verdicts import NOT_COMPARED

    for rep in reports:
        for c in rep.components:
            if c.name == NOT_COMPARED:  # not a component that was compared
                continue
            counts.setdefault(c.name, [0, 0])[0 if c.ok else 1] += 1
    return counts


def write_html(reports: Any, path: str | Path, *, data: Any = None, impl: Any = None, weights=None,
               offset=None, contrasts=None) -> Path:
    """Write the report: ``reports`` is a :class:`parity.fuzz.FuzzResult`, one
    :class:`parity.check.CheckReport` or a list of them (pictures need ``data`` for check reports)."""
    body: list[str] = []
    if hasattr(reports, "outcomes"):
        res, j = reports, reports.as_json()
        body.append(f"<h1>parity fuzz: seed {j['seed']}, {j['counts']['designs']} designs, level {j['level']}</h1>")
        body.append(f"<p>implementation <code>{html.escape(j['impl'])}</code>; {html.escape(res.note)}</p>")
        body.append("<table>" + "".join(f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>"
                                        for k, v in {**j["counts"], **j["timing"]}.items()) + "</table>")
        nc = [(o.design.formula, o.error) for o in res.outcomes if o.status == "not-compared"]
        body.append(f"<h2>Not compared: {len(nc)} design(s)</h2><p>The harness declined these (allowlist, "
                    "unrepresentable data, time limit): they are not agreement.</p>"
                    + ("<table><tr><th>formula</th><th>why</th></tr>" + "".join(
                        f"<tr><td><code>{html.escape(f)}</code></td><td>{html.escape(w)}</td></tr>" for f, w in nc[:50])
                       + "</table>" if nc else ""))
        if j["level"] == "fit":
            body.append("<h2>Agreements by rule</h2><table>" + "".join(
                f"<tr><th>{html.escape(k)}</th><td>{v}</td></tr>" for k, v in j["agreed_by_rule"].items()) + "</table>")
        body.append(_not_provided_html(j.get("not_provided_components", {})))
        body.append("<h2>Components across the campaign</h2>" + _component_table(
            _tally([o.report for o in res.outcomes if o.report is not None])))
        body.append("<h2>Failures (shrunk)</h2>" if res.failures else "<h2>No failures</h2>")
        for f in res.failures:
            d = f.shrunk.design
            body.append(f"<h3>{html.escape(f.component)}</h3><p><code>{html.escape(d.formula)}</code>, n = {d.n}, "
                        f"REML = {d.REML}, weights = {d.weights}, offset = {d.offset}; {html.escape(d.description)}"
                        f"<br>reproducer: <code>{html.escape(str(f.reproducer))}</code></p>"
                        + d.data.head(12).to_html(border=0)
                        + _pictures({"formula": d.formula, "data": d.data, "REML": d.REML, "level": j["level"],
                                     **d.arrays()}, f.shrunk.failing or (f.component,),
                                    impl if impl is not None else res.config.impl))
        versions = res.versions
    else:
        reps = [reports] if hasattr(reports, "components") else list(reports)
        body.append(f"<h1>parity check: {len(reps)} report(s)</h1>")
        body.append("<h2>Components</h2>" + _component_table(_tally(reps)))
        for rep in reps:
            bad = [c for c in rep.components if not c.ok]
            rows = "".join(f"<tr><td><code>{html.escape(c.name)}</code></td><td class='{'ok' if c.ok else 'bad'}'>"
                           f"{'yes' if c.ok else 'NO'}</td><td>{c.max_abs_diff:.3g}</td><td>{c.max_rel_diff:.3g}</td>"
                           f"<td>{html.escape(c.detail)}</td></tr>" for c in rep.components)
            body.append(f"<h3><code>{html.escape(rep.formula)}</code> [{html.escape(rep.data_label)}, "
                        f"{'REML' if rep.REML else 'ML'}, {rep.level}]: verdict {html.escape(rep.verdict.value)}</h3><table><tr><th>component</th><th>agree"
                        f"</th><th>max abs</th><th>max rel</th><th>detail</th></tr>{rows}</table>")
            body.append(_not_provided_html(getattr(rep, "not_provided", ())))
            if bad and rep.verdict.value != "not compared":
                body.append(_pictures({"formula": rep.formula, "data": data, "REML": rep.REML, "level": rep.level,
                                       "weights": weights, "offset": offset, "contrasts": contrasts},
                                      [c.name for c in bad], impl))
        versions = reps[0].versions if reps else {}
    foot = f"<hr><p>{html.escape(str(versions))}; written {time.strftime('%Y-%m-%d %H:%M:%S')}</p>"
    doc = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>parity report</title><style>{_CSS}</style>"
           f"</head><body>{''.join(body)}{foot}</body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc, encoding="utf-8")
    return p
