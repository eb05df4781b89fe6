"""Every source path the project names exists (no R): a ``tests/...py``, ``parity/...py`` or ``pyreterms/...py``
named in README.md, docs/*.md, .ci/run, a docstring of pyreterms/, parity/ or tests/, or a note of a stored golden
(tests/goldens/*/manifest.json) is a file of the repository.  Files move; the texts that point at them must
follow."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: a repository path of a Python file under one of the three trees (not part of a longer path; no globs)
PATH = re.compile(r"(?<![\w./-])((?:tests|parity|pyreterms)/(?:[\w-]+/)*[\w-]+\.py)(?![\w])")


def named_paths(text: str) -> set[str]:
    """The ``tests/``, ``parity/``, ``pyreterms/`` Python paths a text names."""
    return set(PATH.findall(text))


def _docstrings(path: Path) -> str:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                                  ast.ClassDef))]
    return "\n".join(d for n in nodes if (d := ast.get_docstring(n)))


def _texts() -> dict[str, str]:
    """Where paths are named: file (relative) -> the text searched."""
    out = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8"),
           ".ci/run": (ROOT / ".ci" / "run").read_text(encoding="utf-8")}
    for md in sorted((ROOT / "docs").rglob("*.md")):
        out[md.relative_to(ROOT).as_posix()] = md.read_text(encoding="utf-8")
    for tree in ("pyreterms", "parity", "tests"):
        for py in sorted((ROOT / tree).rglob("*.py")):
            out[py.relative_to(ROOT).as_posix()] = _docstrings(py)
    for manifest in sorted((ROOT / "tests" / "goldens").glob("*/manifest.json")):
        cases = json.loads(manifest.read_text(encoding="utf-8"))["cases"].values()
        out[manifest.relative_to(ROOT).as_posix()] = "\n".join(c.get("note") or "" for c in cases)
    return out


def test_named_paths_exist() -> None:
    texts = _texts()
    assert "README.md" in texts and any(k.startswith("docs/") for k in texts)
    stale = sorted(f"{where}: {p}" for where, text in texts.items() for p in named_paths(text)
                   if not (ROOT / p).is_file())
    assert not stale, "paths that do not exist: " + "; ".join(stale)


def test_path_finder() -> None:
    """The finder itself: repository paths are found, globs, other trees and longer paths are not."""
    text = ("see `tests/live/test_fit_live.py`, parity/cli/main.py and (pyreterms/lmm/fit.py); not "
            "tests/live/test_glmm_*.py, docs/_hooks/x.py, /tmp/parity/x.py or r_scripts/reference.R")
    assert named_paths(text) == {"tests/live/test_fit_live.py", "parity/cli/main.py", "pyreterms/lmm/fit.py"}
    assert named_paths("`tests/test_browser.py`") == {"tests/test_browser.py"}  # a stale path is still found
    assert named_paths("a `tests/...py` path") == set()
