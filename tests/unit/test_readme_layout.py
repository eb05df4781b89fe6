"""README "Layout" matches the tree (no R): every module file of pyreterms/ and parity/ is named in the bullet of
its package, and every subpackage of pyreterms opens with a one-sentence docstring that README "Layout" lists
(parity's: tests/unit/test_imports.py::test_every_parity_subpackage_says_what_it_is)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("pyreterms", "parity")


def layout_section(readme: str) -> str:
    """The text of README's "## Layout" section (up to the next level-2 heading)."""
    start = readme.index("\n## Layout\n")
    end = readme.find("\n## ", start + 1)
    return readme[start: end if end >= 0 else len(readme)]


def bullets(section: str) -> list[tuple[int, str, str]]:
    """(level, head, text) of each bullet of the section: level 0 for ``- ``, 1 for ``  - ``; head is the
    bullet's first backticked name (``pyreterms/``, ``lmm/``); text runs over its continuation lines."""
    out: list[tuple[int, str, str]] = []
    for line in section.splitlines():
        m = re.match(r"^( *)- (.*)$", line)
        if m and len(m.group(1)) in (0, 2):
            head = re.match(r"`([^`]+)`", m.group(2))
            out.append((len(m.group(1)) // 2, head.group(1) if head else "", m.group(2)))
        elif out and line.startswith("  ") and line.strip():
            level, head, text = out[-1]
            out[-1] = (level, head, f"{text} {line.strip()}")
    return out


def package_texts(section: str) -> dict[str, str]:
    """``"pyreterms"`` -> its own bullet's text, ``"pyreterms/lmm"`` -> the text of its ``lmm/`` bullets
    (several bullets with one head, e.g. ``rmath/`` and ``rmath/``, also, are joined)."""
    texts: dict[str, str] = {}
    top = ""
    for level, head, text in bullets(section):
        if level == 0:
            top = head.rstrip("/")
            texts[top] = texts.get(top, "") + " " + text
        elif top and head.endswith("/"):
            key = f"{top}/{head.rstrip('/')}"
            texts[key] = texts.get(key, "") + " " + text
    return texts


def unnamed_modules(section: str, files: list[Path]) -> list[str]:
    """The module files (paths relative to the repository) not named in their package's Layout bullet: a
    file ``pkg/sub/.../name.py`` must appear as ```name.py``` (or ```dir/name.py```) in the bullet of
    ``pkg/sub/`` (a top-level module: in ``pkg/``'s own bullet)."""
    texts = package_texts(section)
    missing = []
    for rel in files:
        parts = rel.parts
        key = parts[0] if len(parts) == 2 else f"{parts[0]}/{parts[1]}"
        named = re.search(rf"`(?:[\w./]+/)?{re.escape(rel.name)}`", texts.get(key, ""))
        if not named:
            missing.append(rel.as_posix())
    return missing


def module_files() -> list[Path]:
    return [p.relative_to(ROOT) for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
            if p.name != "__init__.py"]


def test_every_module_is_named_in_layout() -> None:
    section = layout_section((ROOT / "README.md").read_text(encoding="utf-8"))
    missing = unnamed_modules(section, module_files())
    assert not missing, f"README Layout does not name {missing}"


def test_layout_check_finds_a_missing_module() -> None:
    """The checker itself: a module named only under another package's bullet is missing."""
    section = ("\n## Layout\n\n- `pyreterms/`: top `cli.py`.\n  - `lmm/`: `fit.py`, `inference/`: `anova.py`.\n"
               "  - `glmm/`: `links.py`;\n    `rmath/libm.py` here.\n  - `rmath/`: `rng.py`.\n\n## Next\n")
    files = [Path(p) for p in ("pyreterms/cli.py", "pyreterms/lmm/fit.py", "pyreterms/lmm/inference/anova.py",
                               "pyreterms/rmath/libm.py", "pyreterms/rmath/rng.py", "pyreterms/errors.py",
                               "pyreterms/glmm/fit.py")]
    assert unnamed_modules(section, files) == ["pyreterms/rmath/libm.py", "pyreterms/errors.py",
                                               "pyreterms/glmm/fit.py"]


def stale_names(section: str) -> list[str]:
    """The ```name.py``` (or ```dir/name.py```) names in the Layout section that no file of the repository has
    (a module renamed or merged away while the README kept its name).  A bullet may name another package's
    module (``through `jitcache.py```), so a name is looked for in every package and from the root."""
    have = [p.relative_to(ROOT).as_posix() for pkg in (*PACKAGES, "tests") for p in (ROOT / pkg).rglob("*.py")]
    stale = []
    for name in sorted(set(re.findall(r"`([\w./]+\.py)`", section))):
        if not ((ROOT / name).is_file() or any(h == name or h.endswith("/" + name) for h in have)):
            stale.append(name)
    return stale


def test_every_module_layout_names_exists() -> None:
    section = layout_section((ROOT / "README.md").read_text(encoding="utf-8"))
    stale = stale_names(section)
    assert not stale, f"README Layout names modules that do not exist: {stale}"


def test_stale_check_finds_a_module_that_is_gone() -> None:
    section = "\n## Layout\n\n- `parity/`: `cli/main.py`, `r/rcall_devfun.py`, `tests/unit/test_readme_layout.py`.\n"
    assert stale_names(section) == ["r/rcall_devfun.py"]


def _summary_is_one_sentence(doc: str | None) -> bool:
    """The docstring's first paragraph is one sentence: it ends with a full stop and has no sentence break."""
    if not doc:
        return False
    first = " ".join(doc.strip().split("\n\n")[0].split())
    return first.endswith(".") and not re.search(r"[.!?] +[A-Z]", first[:-1])


def test_every_pyreterms_subpackage_says_what_it_is() -> None:
    """Each subpackage of pyreterms opens with a one-sentence docstring, and README "Layout" lists it."""
    section = layout_section((ROOT / "README.md").read_text(encoding="utf-8"))
    inits = sorted(p for p in (ROOT / "pyreterms").rglob("__init__.py") if p.parent != ROOT / "pyreterms")
    assert len(inits) >= 7, inits
    for init in inits:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert _summary_is_one_sentence(doc), f"{init.relative_to(ROOT)}: {doc!r}"
        assert f"`{init.parent.name}/`" in section, f"README Layout does not list {init.parent.relative_to(ROOT)}/"


def test_one_sentence_check() -> None:
    assert _summary_is_one_sentence("The fit: blocks, ``lmer`` and its summary.\n\nModules: a, b. More.")
    assert not _summary_is_one_sentence("The fit. It has blocks.")
    assert not _summary_is_one_sentence("The fit, with no full stop")
    assert not _summary_is_one_sentence(None)
