"""The reports of ``parity audit``: the terminal summary and a self-contained HTML page.

R equivalent: none (presentation of :class:`parity.audit.campaign.AuditResult`).
"""
from __future__ import annotations

import html
import json
import time
from pathlib import Path
from typing import Any

from parity.components import in_order
from parity.report.text import versions_line

__all__ = ["print_summary", "write_html", "write_json", "reproducer_text"]


def reproducer_text(f: Any, peer: str) -> str:
    """A finding's shrunk reproducer: the formula, the options and the data as CSV."""
    d = f.shrunk.design
    return (f"# {peer}: {f.cause}\n# formula: {d.formula}\n# REML = {d.REML}; n = {d.n}\n"
            + d.data.to_csv(index=False))


def print_summary(res: Any) -> None:
    j = res.as_json()
    c = j["counts"]
    lines = [f"parity audit {res.peer} {res.version}: seed {res.seed}, {c['compared']} designs compared "
             f"(R {res.versions.get('R', '?')}, lme4 {res.versions.get('lme4', '?')})",
             f"  agree {c['agree']}, both refused for the same reason {c['both_refused']}, disagree {c['disagree']}, "
             f"failed with an exception {c['error']}",
             f"  not compared (the peer does not claim the design; never agreement): {c['not_compared']}"]
    for why, k in list(j["not_compared_by_reason"].items())[:8]:
        lines.append(f"    {k:4d}  {why}")
    lines.append("  components (designs agreeing / disagreeing):")
    for name in in_order(j["components"]):
        a, b = j["components"][name]
        lines.append(f"    {name}: {a} / {b}")
    for k, f in enumerate(res.findings, 1):
        d = f.shrunk.design
        lines.append(f"finding {k} ({f.designs} design(s)): {f.cause}")
        lines.append(f"    shrunk: {d.formula}  (n = {d.n}, REML = {d.REML}; from n = {f.first.design.n}, "
                     f"{f.shrink_calls} calls)")
        for comp, said in list(f.shrunk.said().items())[:3]:
            lines.append(f"    {comp}: {said[:200]}")
    lines.append("no disagreement" if res.ok else f"{len(res.findings)} cause(s) of disagreement")
    print("\n".join(lines))


def write_json(res: Any, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(res.as_json(), indent=1, default=str, allow_nan=False, ensure_ascii=False))


def write_html(res: Any, path: str | Path) -> Path:
    j = res.as_json()
    e = html.escape
    body = [f"<h1>parity audit: {e(res.peer)} {e(res.version)} against lme4</h1>",
            f"<p>seed {res.seed}; {e(versions_line(res.versions))}</p>",
            "<table>" + "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in j["counts"].items()) + "</table>",
            "<h2>Not compared (the peer does not claim these designs)</h2><table>"
            + "".join(f"<tr><td>{k}</td><td>{e(w)}</td></tr>" for w, k in j["not_compared_by_reason"].items())
            + "</table>",
            "<h2>Components</h2><table><tr><th>component</th><th>agree</th><th>disagree</th></tr>"
            + "".join(f"<tr><td><code>{e(n)}</code></td><td>{j['components'][n][0]}</td>"
                      f"<td>{j['components'][n][1]}</td></tr>" for n in in_order(j["components"])) + "</table>",
            f"<h2>Findings: {len(res.findings)} cause(s)</h2>"]
    for k, f in enumerate(res.findings, 1):
        rows = "".join(f"<tr><td><code>{e(c)}</code></td><td>{e(s)}</td></tr>" for c, s in f.shrunk.said().items())
        body.append(f"<h3>{k}. {e(f.cause)} ({f.designs} design(s))</h3>"
                    f"<p>components: {e(', '.join(f.components))}</p><pre>{e(reproducer_text(f, res.peer))}</pre>"
                    f"<table>{rows}</table>")
    doc = ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>parity audit</title><style>"
           "body{font-family:sans-serif;margin:1.5em;max-width:1100px} td,th{border:1px solid #ccc;padding:2px 6px;"
           "font-size:13px;text-align:left} table{border-collapse:collapse} pre{background:#f4f4f4;padding:6px}"
           f"</style></head><body>{''.join(body)}<hr><p>written {time.strftime('%Y-%m-%d %H:%M:%S')}</p></body></html>")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(doc, encoding="utf-8")
    return p
