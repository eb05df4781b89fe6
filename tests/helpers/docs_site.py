"""The documentation site as CI builds it (``mkdocs build --strict``), built at most once per test process and
shared by tests/unit/test_docs_site.py, tests/live/test_docs_site_numbers.py and tests/browser/test_browser.py
(the ``built_site`` fixture of tests/conftest.py).  The build reads README.md, docs/ and mkdocs.yml and runs
pyreterms (the walkthrough is generated while the site builds; the API reference from the docstrings), so a
site is reused only when it was built from exactly these inputs: ``bash dev.sh docs`` writes the stamp
(:func:`inputs_digest`) into ``site/`` after a successful build, and a test session whose inputs hash to the
same digest serves that site instead of building its own (CI builds the docs just before the tests).

Run as a script (``python tests/helpers/docs_site.py --stamp site``) it writes the stamp."""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: the file ``bash dev.sh docs`` writes into the site it built (the digest of the inputs it was built from)
STAMP = ".pyreterms-inputs.sha256"
#: what a build reads: the sources of the pages, the hooks, and the code the walkthrough and API pages run
INPUTS = ("README.md", "mkdocs.yml", "pyproject.toml", "docs", "pyreterms", "parity", "r_scripts")
#: the tools whose versions change the HTML
TOOLS = ("mkdocs", "mkdocs-material", "mkdocstrings", "mkdocstrings-python", "griffe", "markdown", "pymdown-extensions")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "-"


def inputs_digest(root: Path = ROOT) -> str:
    """SHA-256 over every input file (path and bytes, ``__pycache__`` excluded), the tools' versions and Python's."""
    h = hashlib.sha256()
    for top in INPUTS:
        p = root / top
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
        for f in files:
            h.update(str(f.relative_to(root)).encode() + b"\0" + f.read_bytes() + b"\0")
    for dist in TOOLS:
        h.update(f"{dist}=={_version(dist)}\n".encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def fresh_site(root: Path = ROOT) -> Path | None:
    """``site/`` when ``bash dev.sh docs`` built it from the current inputs (its stamp matches), else None."""
    site = root / "site"
    stamp = site / STAMP
    if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == inputs_digest(root):
        return site
    return None


def build_site(out: Path, root: Path = ROOT) -> Path:
    """``mkdocs build --strict --quiet -d out`` in ``root`` (raises AssertionError with mkdocs' output on failure)."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    # a child Python must not see the embedded R's LD_LIBRARY_PATH (it would load the system's libpython)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_LIBRARY_PATH", "R_HOME")}
    env["NO_MKDOCS_2_WARNING"] = "1"
    r = subprocess.run([str(mkdocs), "build", "--strict", "--quiet", "-d", str(out)], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="write the inputs stamp into a freshly built site")
    ap.add_argument("--stamp", type=Path, required=True, help="the site directory mkdocs just built")
    a = ap.parse_args(argv)
    (a.stamp / STAMP).write_text(inputs_digest() + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
