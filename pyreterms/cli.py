"""``pyreterms``: build lme4's objects (and fit) from the command line, without R.

    pyreterms lformula 'Reaction ~ Days + (Days | Subject)' --data sleepstudy
    pyreterms lmer 'Reaction ~ Days + (Days | Subject)' --data sleepstudy [--ml]
    pyreterms datasets
    pyreterms --version

``--data`` is a built-in data set name (``pyreterms datasets`` lists them) or a CSV file.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import NoReturn

import numpy as np

from pyreterms import __version__
from pyreterms.datasets import list_datasets, load_data
from pyreterms.design.lformula import lformula
from pyreterms.design.model import LFormula
from pyreterms.errors import LmeMessage, LmeWarning, PyretermsError
from pyreterms.explainer import explain
from pyreterms.glmm.family import binomial
from pyreterms.glmm.glmer import glmer
from pyreterms.lmm.fit import lmer


def distribution_version() -> str:
    """The installed distribution's version, from its package metadata (R: ``packageVersion()``);
    ``pyreterms.__version__`` when running from a source tree that is not installed."""
    try:
        return version("pyreterms")
    except PackageNotFoundError:
        return __version__


_data = load_data  # the --data value: a built-in data set or a CSV file


def _describe(lf: LFormula) -> str:
    rt = lf.reTrms
    lines = [f"formula: {lf.formula}", f"n = {lf.fr.n}, p = {lf.X.X.shape[1]}, q = {rt.q}",
             f"X columns: {', '.join(lf.X.colnames)}"]
    for t, (_, nms), Zt in zip(rt.terms, rt.cnms, (z for _, z in rt.Ztlist), strict=False):
        lines.append(f"term ({t.name}): J_i {t.J.shape[0]}x{t.J.shape[1]}, X_i {t.Xi.shape[0]}x{t.Xi.shape[1]} "
                     f"[{', '.join(nms)}], Z_i^T {Zt.shape[0]}x{Zt.shape[1]} nnz {Zt.nnz}")
    lines.append(f"Zt {rt.Zt.shape[0]}x{rt.Zt.shape[1]} nnz {rt.Zt.nnz}; Gp {rt.Gp.tolist()}")
    lines.append(f"theta {np.array2string(rt.theta)}; lower {np.array2string(rt.lower)}")
    lines.append(f"Lind (0-based) {np.array2string(rt.Lind[:24])}{' ...' if len(rt.Lind) > 24 else ''}")
    lines.append("flist: " + ", ".join(f"{g} ({f.nlevels} levels)" for g, f in rt.flist))
    lines.extend(lf.messages)
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors in one line, exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see --help)\n")


def _one_line(text: object) -> str:
    return "; ".join(ln.strip() for ln in str(text).splitlines() if ln.strip())


def main(argv: list[str] | None = None) -> int:
    p = _Parser(prog="pyreterms", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"pyreterms {distribution_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("lformula", "lmer"):
        s = sub.add_parser(name, help=f"run {name} and print the result")
        s.add_argument("formula")
        s.add_argument("--data", required=True)
        s.add_argument("--ml", action="store_true", help="REML = FALSE")
    sub.add_parser("datasets", help="list the built-in data sets")
    sub.add_parser("compile", help="compile the numba kernels now (cached for later processes; otherwise the "
                                   "first fits after an install compile them)")
    # -- explain: lme4's construction step by step (pyreterms.explainer) --
    ex = sub.add_parser("explain", help="walk through lme4's construction of a model, with the R code")
    ex.add_argument("formula")
    ex.add_argument("--data", required=True)
    ex.add_argument("--subset", help="R's subset(): COLUMN %%in%% c(...), COLUMN == value, Days < 5, with & | !")
    ex.add_argument("--term", type=int, help="only this random-effects term (1-based, formula order)")
    ex.add_argument("--fit", action="store_true", help="also u, b = Lambda u, beta and coef() from lmer")
    ex.add_argument("--ml", action="store_true", help="REML = FALSE")
    ex.add_argument("--format", choices=("text", "markdown", "html"), default="text")
    ex.add_argument("--plots", metavar="DIR", help="write the pictures (PNG) to DIR")
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return 2 if e.code not in (0, None) else 0
    with warnings.catch_warnings(record=True) as caught:  # lme4's warnings/messages: one line each
        warnings.simplefilter("always")
        rc = _run(args)
    for w in caught:
        if issubclass(w.category, (LmeWarning, LmeMessage)):
            kind = "warning" if issubclass(w.category, LmeWarning) else "message"
            print(f"pyreterms: {kind}: {_one_line(w.message)}", file=sys.stderr)
    return rc


def _run(args: argparse.Namespace) -> int:
    try:
        if args.command == "datasets":
            print("\n".join(list_datasets()))
            return 0
        if args.command == "explain":
            return _explain(args)
        if args.command == "compile":
            return _compile()
        data = _data(args.data)
        if args.command == "lformula":
            print(_describe(lformula(args.formula, data, REML=not args.ml)))
        else:
            fit = lmer(args.formula, data, REML=not args.ml)
            print(fit.summary(data_name=args.data))
        return 0
    except (PyretermsError, ValueError) as e:
        print(f"pyreterms: error: {_one_line(e)}", file=sys.stderr)
        return 2


def _compile() -> int:
    """``pyreterms compile``: one small lmer and one glmer fit on built-in data, which compiles (or loads from
    numba's cache) every kernel a fit uses (:mod:`pyreterms.jitcache`)."""
    t0, c0 = time.perf_counter(), time.process_time()
    lmer("Reaction ~ Days + (Days | Subject)", load_data("sleepstudy"))
    glmer("cbind(incidence, size - incidence) ~ period + (1 | herd)", load_data("cbpp"), binomial())
    print(f"pyreterms: kernels ready in {time.perf_counter() - t0:.1f} s ({time.process_time() - c0:.1f} s CPU)")
    return 0


def _explain(args: argparse.Namespace) -> int:
    """``pyreterms explain``: html output embeds the pictures (written to a temporary directory
    unless --plots names one)."""
    with tempfile.TemporaryDirectory() as tmp:
        plots = args.plots or (tmp if args.format == "html" else None)
        ex = explain(args.formula, _data(args.data), data_name=args.data, subset=args.subset, term=args.term,
                     fit=args.fit, REML=not args.ml, plots_dir=plots)
        print(ex.render(args.format))
    return 0


if __name__ == "__main__":
    sys.exit(main())
