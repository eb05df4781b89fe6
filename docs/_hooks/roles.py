"""mkdocs hook: Sphinx cross-reference roles in docstrings (``:class:`X```, ``:func:`f```) shown by
mkdocstrings as plain code, without the role's literal ``:class:`` prefix."""
from __future__ import annotations

import re

_ROLE = re.compile(r":(?:class|func|mod|meth|data|attr|exc|obj):(?=<code)")


def on_page_content(html: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs hook signature)
    return _ROLE.sub("", html)
