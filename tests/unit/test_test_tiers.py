"""The folder is the tier: nothing under tests/unit is marked ``r`` or takes the ``R`` fixture, every test
under tests/live is marked ``r`` (module ``pytestmark`` or its own decorator).  Read from the sources with
:mod:`ast`, so a misplaced test is found without collecting or running anything; tests/conftest.py fails
the same tests at run time (also through fixtures, and a unit test that starts R)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]


def _is_r_mark(node: ast.expr) -> bool:
    return ast.unparse(node) in ("pytest.mark.r", "mark.r")


def _module_marked(tree: ast.Module) -> bool:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            marks = stmt.value.elts if isinstance(stmt.value, (ast.List, ast.Tuple)) else [stmt.value]
            return any(_is_r_mark(m) for m in marks)
    return False


def _tests(tree: ast.Module) -> list[ast.FunctionDef]:
    out = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    for cls in (n for n in tree.body if isinstance(n, ast.ClassDef) and n.name.startswith("Test")):
        out += [n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    return out


def unit_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = [f"{path.name}: pytestmark has r"] if _module_marked(tree) else []
    for fn in _tests(tree):
        if any(_is_r_mark(d) for d in fn.decorator_list):
            out.append(f"{path.name}::{fn.name} is marked r")
        if "R" in [a.arg for a in fn.args.args]:
            out.append(f"{path.name}::{fn.name} takes the R fixture")
    return out


def live_problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    if _module_marked(tree):
        return []
    return [f"{path.name}::{fn.name} is not marked r" for fn in _tests(tree)
            if not any(_is_r_mark(d) for d in fn.decorator_list)]


@pytest.mark.parametrize("path", sorted((TESTS / "unit").glob("test_*.py")), ids=lambda p: p.name)
def test_unit_tests_need_no_r(path: Path) -> None:
    assert not unit_problems(path), "move these to tests/live: " + "; ".join(unit_problems(path))


@pytest.mark.parametrize("path", sorted((TESTS / "live").glob("test_*.py")), ids=lambda p: p.name)
def test_live_tests_are_marked_r(path: Path) -> None:
    assert not live_problems(path), "mark r or move to tests/unit: " + "; ".join(live_problems(path))


def test_the_checks_see_a_misplaced_test(tmp_path: Path) -> None:
    f = tmp_path / "test_probe.py"
    f.write_text("import pytest\n\n@pytest.mark.r\ndef test_a(R):\n    pass\n\ndef test_b():\n    pass\n")
    assert unit_problems(f) == ["test_probe.py::test_a is marked r", "test_probe.py::test_a takes the R fixture"]
    assert live_problems(f) == ["test_probe.py::test_b is not marked r"]
    f.write_text("import pytest\n\npytestmark = [pytest.mark.r, pytest.mark.slow]\n\ndef test_b():\n    pass\n")
    assert live_problems(f) == [] and unit_problems(f) == ["test_probe.py: pytestmark has r"]
