"""mkdocs hook: include sections of README.md, so that the site and the README share one text.

In a page, ``<!-- readme: Heading -->`` is replaced by the body of the README section with that
heading (up to the next heading of the same or a higher level), ``<!-- readme: Heading (intro) -->``
by the part before its first sub-heading, and ``<!-- readme: Heading (to "Text") -->`` by the part
before the first line starting with ``Text``.  Sub-headings are shifted so that the section's own
level becomes the page's title level (the page writes its own ``# title``).  A directive naming no
README heading stops the build (a renamed README section must not silently empty a page).
"""
from __future__ import annotations

import re
from pathlib import Path

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
_DIRECTIVE = re.compile(r'^<!-- readme: (?P<head>.+?)(?: \((?:(?P<intro>intro)|to "(?P<to>[^"]+)")\))? -->$', re.M)
_HEADING = re.compile(r"^(#{1,6}) (.+)$")
_CODE = re.compile(r"`[^`]*`")


def _lines_outside_fences(lines: list[str]) -> list[bool]:
    """For each line, whether it is outside a fenced code block (``#`` in code is not a heading)."""
    out, fenced = [], False
    for ln in lines:
        if ln.lstrip().startswith("```"):
            out.append(False)
            fenced = not fenced
            continue
        out.append(not fenced)
    return out


def section(text: str, head: str, intro: bool = False, to: str | None = None) -> str:
    """The body of the README section headed ``head``, its sub-headings shifted up."""
    lines = text.splitlines()
    outside = _lines_outside_fences(lines)
    start = level = None
    for k, (ln, ok) in enumerate(zip(lines, outside, strict=True)):
        m = _HEADING.match(ln) if ok else None
        if m and m.group(2).strip() == head:
            start, level = k + 1, len(m.group(1))
            break
    if start is None or level is None:
        raise PluginError(f"README.md has no section headed {head!r}")
    if to is not None and not any(ln.startswith(to) for ln in lines[start:]):
        raise PluginError(f"README.md section {head!r} has no line starting with {to!r}")
    body: list[str] = []
    for ln, ok in zip(lines[start:], outside[start:], strict=True):
        m = _HEADING.match(ln) if ok else None
        if m and (len(m.group(1)) <= level or intro):
            break
        if to is not None and ok and ln.startswith(to):
            break
        if m:
            ln = "#" * (len(m.group(1)) - level + 1) + " " + m.group(2)
        elif ok and ln.startswith("|"):
            # GitHub needs `a \| b` for a pipe in code in a table cell; Python-Markdown's tables do not
            # split cells inside code spans and would print the backslash
            ln = _CODE.sub(lambda c: c.group(0).replace("\\|", "|"), ln)
        body.append(ln)
    return "\n".join(body).strip() + "\n"


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs hook signature)
    if "<!-- readme:" not in markdown:
        return markdown
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return _DIRECTIVE.sub(lambda m: section(text, m.group("head").strip(), bool(m.group("intro")), m.group("to")),
                          markdown)
