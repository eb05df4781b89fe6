"""mkdocs hook: the porting walkthrough is generated at build time by ``pyreterms.explain`` on the
seed example (``Reaction ~ Days + (Days | Subject)`` on subjects 309, 330 and 371, with the fit),
so every number on the page is computed by the code it documents, never typed.  Its identities are
checked as it runs (a failed one stops the build), and its pictures are added to the site.

In a page, ``<!-- explain: seed -->`` is replaced by the walkthrough (explain's markdown, headings
one level down, pictures under ``walkthrough/``).
"""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from mkdocs.structure.files import File

SEED = {"formula": "Reaction ~ Days + (Days | Subject)", "data": "sleepstudy",
        "subset": "Subject %in% c(309, 330, 371)"}
_MARK = "<!-- explain: seed -->"
_rendered: dict[str, str] = {}


def _shift_headings(md: str) -> str:
    out, fenced = [], False
    for ln in md.splitlines():
        if ln.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(r"^#{1,5} ", ln):
            ln = "#" + ln
        out.append(ln)
    return "\n".join(out) + "\n"


def on_files(files, config):  # noqa: ANN001, ANN201 (mkdocs hook signature)
    import pyreterms

    with tempfile.TemporaryDirectory() as tmp:
        ex = pyreterms.explain(SEED["formula"], SEED["data"], subset=SEED["subset"], fit=True, plots_dir=tmp)
        md = ex.render("markdown")
        for name, path in ex.plots:
            uri = f"walkthrough/{Path(path).name}"
            files.append(File.generated(config, uri, content=Path(path).read_bytes()))
            md = md.replace(f"]({path})", f"]({uri})")
            del name
    _rendered["seed"] = _shift_headings(md)
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ANN001 (mkdocs hook signature)
    if _MARK not in markdown:
        return markdown
    return markdown.replace(_MARK, _rendered["seed"])
