"""The wheel as a user gets it: built from this tree, installed non-editable (with its 'parity' extra
from the package index) into a fresh venv, and run from a directory that is not the checkout.

Issue 15: a normal install could not find ``r_scripts/reference.R``.  The wheel carries r_scripts/ as
``parity/r_scripts`` (pyproject.toml), byte for byte, with LICENSE, ``py.typed`` and the metadata.  The wheel is the ``wheel`` fixture of tests/conftest.py
(built once per session, tests/helpers/wheel.py; the live check installs the same one).
"""
from __future__ import annotations

import email
import tomllib
import zipfile
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]


def test_wheel_contents(wheel):
    """r_scripts/*.R as parity/r_scripts (identical bytes), the data sets, py.typed, LICENSE, metadata."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
        for script in ("reference.R", "allowlist.R"):
            assert z.read(f"parity/r_scripts/{script}") == (REPO / "r_scripts" / script).read_bytes()
        assert {"pyreterms/py.typed", "parity/py.typed", "pyreterms/data/sleepstudy.csv",
                "pyreterms/data/datasets.json"} <= names
        dist = f"pyreterms-{project['version']}.dist-info"
        assert z.read(f"{dist}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        meta = email.message_from_bytes(z.read(f"{dist}/METADATA"))
    assert meta["Version"] == project["version"]
    assert meta["License-Expression"] == project["license"]
    assert sorted(meta.get_all("Classifier")) == sorted(project["classifiers"])
    assert len(meta.get_all("Project-URL")) == len(project["urls"])
    assert not any(n.startswith(("tests/", "r_scripts/")) for n in names)


def test_every_package_is_listed_for_the_wheel() -> None:
    """pyproject lists packages explicitly (r_scripts/ is mapped in): a new subpackage must be listed
    or the wheel silently lacks it."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("pyreterms", "parity")
             for p in (REPO / top).rglob("__init__.py") if "__pycache__" not in p.parts}
    assert found <= listed, sorted(found - listed)
