"""Rendering an :class:`~pyreterms.explainer.Explanation` as plain text, markdown or a self-contained
HTML page (jinja2 template, pictures embedded as base64 PNG)."""
from __future__ import annotations

import base64
from typing import Protocol

from .steps import Check, Step

_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>pyreterms explain: {{ ex.formula }}</title>
<style>
body { font-family: sans-serif; max-width: 60em; margin: 2em auto; line-height: 1.4; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; }
pre.r { background: #eef4fb; }
.ok { color: #1a7f37; } .fail { color: #b00020; font-weight: bold; }
.note { color: #444; } img { max-width: 100%; border: 1px solid #ddd; }
</style></head><body>
<h1>lme4's construction of <code>{{ ex.formula }}</code></h1>
<p>Data: <code>{{ ex.data_r }}</code>. Each step shows the R code that builds the same object, the object
as R prints it, and the identities checked when this page was made
({{ ex.checks|length }} checks, {{ ex.failed|length }} failed).</p>
{% for s in ex.steps %}
<section id="{{ s.key }}"><h2>{{ loop.index }}. {{ s.title }}</h2>
<pre class="r">{{ s.r_code }}</pre>
{% if s.text %}<pre>{{ s.text }}</pre>{% endif %}
{% if s.note %}<p class="note">{{ s.note }}</p>{% endif %}
{% if s.checks %}<ul>{% for c in s.checks %}
<li class="{{ 'ok' if c.ok else 'fail' }}">{{ '&#10003;'|safe if c.ok else '&#10007;'|safe }}
 <code>{{ c.identity }}</code>: {{ c.detail }}</li>
{% endfor %}</ul>{% endif %}
</section>
{% endfor %}
{% if images %}<h2>Pictures</h2>
{% for name, data in images %}<figure><img alt="{{ name }}" src="data:image/png;base64,{{ data }}">
<figcaption>{{ name }}</figcaption></figure>
{% endfor %}{% endif %}
{% for n in ex.plot_notes %}<p class="note">{{ n }}</p>{% endfor %}
</body></html>
"""


class Renderable(Protocol):
    """What rendering reads of an :class:`~pyreterms.explainer.Explanation` (a protocol, since that
    class lives in the package ``__init__``, which imports this module)."""

    @property
    def formula(self) -> str: ...
    @property
    def data_r(self) -> str: ...
    @property
    def steps(self) -> tuple[Step, ...]: ...
    @property
    def checks(self) -> tuple[Check, ...]: ...
    @property
    def failed(self) -> tuple[Check, ...]: ...
    @property
    def plots(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def plot_notes(self) -> tuple[str, ...]: ...


def _check_line(c: Check) -> str:
    return f"  [{'ok' if c.ok else 'FAILED'}] {c.identity}: {c.detail}"


def render_text(ex: Renderable) -> str:
    out: list[str] = []
    for i, s in enumerate(ex.steps, 1):
        out.append(f"== {i}. {s.title} ==")
        out += ["R> " + ln for ln in s.r_code.splitlines()]
        if s.text:
            out.append(s.text)
        if s.note:
            out.append(f"({s.note})")
        out += [_check_line(c) for c in s.checks]
        out.append("")
    out.append(f"{len(ex.checks)} identities checked, {len(ex.failed)} failed")
    out += [f"picture: {name}: {path}" for name, path in ex.plots]
    out += list(ex.plot_notes)
    return "\n".join(out)


def render_markdown(ex: Renderable) -> str:
    out: list[str] = [f"# lme4's construction of `{ex.formula}`", "", f"Data: `{ex.data_r}`", ""]
    for i, s in enumerate(ex.steps, 1):
        out += [f"## {i}. {s.title}", "", "```r", s.r_code, "```", ""]
        if s.text:
            out += ["```", s.text, "```", ""]
        if s.note:
            out += [s.note, ""]
        out += [f"- {'✓' if c.ok else '✗ FAILED'} `{c.identity}`: {c.detail}" for c in s.checks]
        if s.checks:
            out.append("")
    out.append(f"{len(ex.checks)} identities checked, {len(ex.failed)} failed.")
    out += [f"\n![{name}]({path})" for name, path in ex.plots]
    out += ["", *ex.plot_notes] if ex.plot_notes else []
    return "\n".join(out) + "\n"


def render_html(ex: Renderable) -> str:
    import jinja2  # the optional ``explain`` extra: imported when an HTML page is made

    images: list[tuple[str, str]] = []
    for name, path in ex.plots:
        with open(path, "rb") as fh:
            images.append((name, base64.b64encode(fh.read()).decode("ascii")))
    env = jinja2.Environment(autoescape=True)
    return env.from_string(_HTML).render(ex=ex, images=images)


def render(ex: Renderable, format: str = "text") -> str:
    """``format``: ``"text"``, ``"markdown"`` or ``"html"``."""
    fn = {"text": render_text, "markdown": render_markdown, "html": render_html}.get(format)
    if fn is None:
        raise ValueError(f"unknown format {format!r}: text, markdown or html")
    return fn(ex)
