"""``parity init-impl NAME``: write a documented, runnable skeleton implementation to audit.

R equivalent: none (a starting point for ``parity check --impl NAME:fit``).  The skeleton
(``parity/adapter/templates/impl_skeleton.py``) uses the helpers of :mod:`parity.adapter.impl`, returns
``lFormula()``'s X, Zt, flist and cnms for ``y ~ x + (x | g)`` and passes ``parity check --impl
NAME:fit --only ...`` on lme4's sleepstudy as written; its TODOs say where a library's calls go.
"""
from __future__ import annotations

import argparse
import keyword
from importlib import resources
from pathlib import Path

from parity.cli.args import BadInput

__all__ = ["skeleton_text", "write_skeleton", "add_command", "CHECK_COMMAND"]

#: the command the skeleton passes (printed after writing it)
CHECK_COMMAND = ("parity check 'Reaction ~ Days + (Days | Subject)' --data r:lme4::sleepstudy --impl {name}:fit "
                 "--only 'lFormula()$X' 'lFormula()$reTrms$Zt' 'lFormula()$reTrms$flist' 'lFormula()$reTrms$cnms'")


def skeleton_text(name: str) -> str:
    """The skeleton's source with NAME filled in."""
    text = resources.files("parity.adapter.templates").joinpath("impl_skeleton.py").read_text(encoding="utf-8")
    return text.replace("NAME", name)


def write_skeleton(name: str, directory: str | Path = ".", *, force: bool = False) -> Path:
    """Write ``NAME.py`` into ``directory``; ValueError for a name that is not a module name or a
    file that exists (unless ``force``)."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{name!r} is not a Python module name (letters, digits, _; not starting with a digit)")
    path = Path(directory) / f"{name}.py"
    if path.exists() and not force:
        raise ValueError(f"{path} exists (use --force to overwrite it)")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(skeleton_text(name), encoding="utf-8")
    return path


def _cmd_init_impl(args: argparse.Namespace) -> int:
    try:
        path = write_skeleton(args.name, args.dir, force=args.force)
    except ValueError as e:
        raise BadInput(str(e)) from None
    print(f"wrote {path}; try:\n  {CHECK_COMMAND.format(name=args.name)}")
    return 0


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("init-impl", help="write a runnable skeleton implementation NAME.py to audit",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="module name of the implementation (NAME.py is written)")
    p.add_argument("--dir", default=".", help="directory to write into (default: the current one)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=_cmd_init_impl)
