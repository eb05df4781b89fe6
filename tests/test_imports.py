"""The import graph of pyreterms (no R): no cycle between its modules, and no first-party import inside
a function body (imports belong at the top, where a reader sees a module's dependencies)."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "pyreterms"

#: (module, function) -> why a first-party import inside that function is justified.  Keep it short.
ALLOWED_INNER: dict[tuple[str, str], str] = {}


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
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
    return {_module_name(p): p for p in sorted(PKG.rglob("*.py"))}


def _targets(mod: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]) -> list[str]:
    """The first-party modules an import statement loads (``from pkg import sub`` counts ``pkg.sub``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = _resolve(mod, path.name == "__init__.py", node)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    return sorted({n for n in names if n.split(".")[0] == "pyreterms" and n in known})


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
    assert not cycles, "import cycles in pyreterms: " + "; ".join(" <-> ".join(c) for c in cycles)


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
