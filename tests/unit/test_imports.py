"""The import graph of pyreterms and parity (no R): no cycle between their modules, pyreterms never imports
parity, and no first-party import inside a function body (imports belong at the top, where a reader sees a
module's dependencies) except the few listed in ``ALLOWED_INNER`` with their reasons."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "pyreterms"
PACKAGES = ("pyreterms", "parity")

#: (module, function) -> why a first-party import inside that function is justified.  Only a genuinely optional
#: extra qualifies, and the site says so in a comment.  None is needed today: the command line's shared helpers
#: live below every sub-command (parity.cli.args), and the audit adapters import their peer library (the
#: 'audit' extra, third-party) inside the functions that use it, so the adapters themselves import at the top.
ALLOWED_INNER: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(mod: str, is_pkg: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names (relative imports resolved against ``mod``)."""
    if not node.level:
        return node.module or ""
    base = mod.split(".")
    if not is_pkg:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _targets(mod: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The first-party modules an import statement loads (``from pkg import sub`` counts ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = _resolve(mod, path.name == "__init__.py", node)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    return sorted({n for n in names if n.split(".")[0] in PACKAGES and n in known})


def _graph() -> tuple[dict[str, set[str]], list[tuple[str, str, str]]]:
    """(module -> first-party modules it imports, [(module, function, imported)] inside functions)."""
    mods = _modules()
    known = set(mods)
    graph: dict[str, set[str]] = {m: set() for m in mods}
    inner: list[tuple[str, str, str]] = []
    for mod, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        funcs: list[tuple[ast.AST, str]] = [(f, f.name) for f in ast.walk(tree)
                                            if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))]
        in_func: dict[int, str] = {}
        for f, name in funcs:
            for sub in ast.walk(f):
                if isinstance(sub, (ast.Import, ast.ImportFrom)):
                    in_func.setdefault(id(sub), name)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for t in _targets(mod, path, node, known):
                    if t == mod:
                        continue
                    if id(node) in in_func:
                        inner.append((mod, in_func[id(node)], t))
                    else:
                        graph[mod].add(t)
    return graph, inner


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_graph_sees_the_package() -> None:
    graph, _ = _graph()
    assert "pyreterms.design.lformula" in graph
    assert "pyreterms.formula.parser" in graph["pyreterms.design.lformula"]


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph()[0])
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_graph_sees_parity() -> None:
    graph, _ = _graph()
    assert "parity.r.oracle" in graph["parity.compare.check"]
    assert "parity.r.session" in graph["parity.r.oracle"]


def test_pyreterms_never_imports_parity() -> None:
    graph, inner = _graph()
    bad = sorted({f"{m} -> {t}" for m, ts in graph.items() for t in ts if m.startswith("pyreterms")
                  and t.startswith("parity")} | {f"{m}.{f}() -> {t}" for m, f, t in inner
                                                 if m.startswith("pyreterms") and t.startswith("parity")})
    assert not bad, bad


def test_campaign_engine_never_imports_the_user_interface() -> None:
    """The fuzz engine reports progress through parity.campaigns.progress; the display lives in parity.cli."""
    graph, inner = _graph()
    bad = [f"{m} -> {t}" for m, ts in graph.items() for t in ts
           if m.startswith("parity.campaigns") and t.startswith(("parity.cli", "parity.report.html"))]
    bad += [f"{m}.{f}() -> {t}" for m, f, t in inner if m.startswith("parity.campaigns") and t.startswith("parity.cli")]
    assert not bad, bad


def test_every_parity_subpackage_says_what_it_is() -> None:
    """Each subpackage of parity opens with a one-sentence docstring (README "Layout" repeats it)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for init in sorted((ROOT / "parity").glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and doc.strip().endswith("."), init
        assert f"`{init.parent.name}/`" in readme, f"README Layout does not list parity/{init.parent.name}/"


def test_cycle_detector_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_first_party_import_inside_functions() -> None:
    _, inner = _graph()
    bad = [f"{m}.{f}() imports {t}" for m, f, t in inner if (m, f) not in ALLOWED_INNER]
    assert not bad, "first-party imports inside functions: " + "; ".join(bad)


def test_allowed_exceptions_still_exist() -> None:
    _, inner = _graph()
    stale = [key for key in ALLOWED_INNER if not any((m, f) == key for m, f, _ in inner)]
    assert not stale, f"stale allowlist entries {stale}"


def test_inner_import_detector() -> None:
    """The checker itself: an import in a function body is found, one at module level is an edge."""
    mod = "pyreterms.lmm.fit"
    tree = ast.parse("from pyreterms.errors import DataError\ndef f():\n    from pyreterms.datasets import x\n")
    top, inner_fn = tree.body[0], tree.body[1]
    assert isinstance(top, ast.ImportFrom) and isinstance(inner_fn, ast.FunctionDef)
    known = set(_modules())
    assert _targets(mod, PKG / "lmm" / "fit.py", top, known) == ["pyreterms.errors"]


def test_only_the_command_lines_shared_helpers_are_imported_from_below() -> None:
    """Sub-commands living beside their stage (goldens, bench, adapter, audit) import parity.cli.args only, and
    parity.cli.args imports nothing of parity.cli: the command line's other modules sit on top."""
    graph, inner = _graph()
    edges = {(m, t) for m, ts in graph.items() for t in ts} | {(m, t) for m, _, t in inner}
    up = sorted(f"{m} -> {t}" for m, t in edges if t.startswith("parity.cli.") and t != "parity.cli.args"
                and not m.startswith("parity.cli") and m != "parity.__main__")
    assert not up, up
    assert not [t for m, t in edges if m == "parity.cli.args" and t.startswith("parity.cli")]
    assert ("parity.goldens.record_replay", "parity.cli.args") in edges


def test_import_pyreterms_leaves_scipy_stats_for_later() -> None:
    """``import pyreterms`` does not import ``scipy.stats`` (~0.4 s of import time): the modules that need it
    (anova's and profile's chi-squared quantiles, the GLM families' aic) import it when first called."""
    import subprocess
    import sys

    code = "import sys, pyreterms; print('scipy.stats' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr
