"""``parity``: compare an implementation of lme4's lFormula/lmer with live lme4.

Exit codes: 0 everything agrees, 1 any disagreement, 2 bad input (one-line reason on stderr),
3 not compared (the harness declined: allowlist, unrepresentable data, time limit; see
parity.compare.notcompared).  A sub-command whose optional dependencies are missing (the 'parity' extra:
pip install 'pyreterms[parity]') exits 2 with one line saying so.
"""
from __future__ import annotations

import argparse
import sys

from parity.cli import commands
from parity.cli.args import (
    BadInput,
    OneLineParser,
    add_selection_args,
    contrasts_arg,
    load_data,
    numeric_column,
    one_line,
    selection_of,
    writable,
)
from parity.cli.extras import (
    EXTRA_MODULES,
    UNAVAILABLE,
    MissingExtra,
    missing_extra_message,
    module_root,
    preload_impl,
    require,
)
from parity.compare.check import check
from parity.compare.glmm_check import check_glmm
from parity.compare.notcompared import EXIT_NOT_COMPARED, NotCompared
from parity.compare.verdicts import BadFormula, Verdict, exit_code
from parity.r.glmer_call import GlmerCall, is_glmer_call, parse_glmer_call
from parity.r.rcall import BadCall, LmerCall, active, parse_lmer_call
from parity.r.session import checked_formula
from parity.report.html import write_html
from parity.report.text import print_table, write_json
from pyreterms.cli import distribution_version
from pyreterms.errors import FormulaError, PyretermsError


def cmd_check(args: argparse.Namespace) -> int:
    """``parity check``: compare every component for one formula and data set; the exit code of its verdict."""
    writable(args.json, "--json")
    writable(args.html, "--html")
    call = _call_arg(args)
    try:
        checked_formula(args.formula)  # deeper than R survives: refused before R is called
    except FormulaError as e:
        raise BadInput(str(e)) from None
    data = load_data(args.data)
    weights = numeric_column(data, args.data, args.weights, "--weights")
    offset = numeric_column(data, args.data, args.offset, "--offset")
    contrasts = contrasts_arg(args.contrasts)

    if args.family is None and (args.level in ("glformula", "glmer") or args.link is not None or args.nAGQ != 1):
        raise BadInput("--level glformula/glmer, --link and --nAGQ are for a GLMM: give --family too")
    if call is not None:
        _print_call(call)
    try:
        if args.family is not None:  # the GLMM level (parity.compare.glmm_check)
            report = _check_glmm(args, data, weights, offset, call)
        else:
            with active(call):
                # devFunOnly = TRUE: the fit is compared, and the function's values (parity.components.DEVFUN_ONLY)
                report = check(args.formula, data, REML=not args.ml, level=args.level, impl=args.impl,
                               weights=weights, offset=offset, contrasts=contrasts, data_label=args.data,
                               selection=selection_of(args))
    except BadFormula as e:  # does not parse: bad input, not a design both sides refuse
        raise BadInput(str(e)) from None
    except PyretermsError as e:  # data R cannot hold as given (parity.r.convert)
        raise BadInput(f"--data {args.data}: {e}") from None
    except ValueError as e:
        if "implementation" in str(e) or "--impl" in str(e):
            raise BadInput(str(e)) from None
        raise
    print_table(report, show_ok=not args.failures_only)
    try:
        if args.json:
            write_json(report, args.json)
            if call is not None:  # what ran: the call and its arguments beyond formula and data
                _record_call_json(args.json, args.call, call)
        if args.html:
            write_html(report, args.html, data=data, impl=args.impl, contrasts=contrasts,
                       weights=weights, offset=offset,
                       **({"call": call_header(args.call, call)} if call is not None else {}))
    except OSError as e:
        raise BadInput(f"cannot write the report: {e}") from None
    if report.verdict is Verdict.NOT_COMPARED:  # the table is on stdout; the reason, one line, on stderr
        reason = " ".join(c.detail for c in report.components if not c.ok).replace("\n", " ")
        print(f"parity: not compared: {reason}", file=sys.stderr)
    return exit_code(report.verdict)


def _check_glmm(args: argparse.Namespace, data, weights, offset, call):
    """``parity check FORMULA --family F [--link L] [--nAGQ k]``: lme4's glFormula()/glmer() against
    pyreterms (parity.compare.glmm_check); --level lformula/fit mean glformula/glmer here."""
    if (call is not None and not isinstance(call, GlmerCall)) or args.ml or args.contrasts or \
            args.impl not in (None, "pyreterms"):
        raise BadInput("--family takes a formula, --data, --weights, --offset, --link, --nAGQ (not --call 'lmer(...)', "
                       "--ml, --contrasts or --impl); a glmer call: --call 'glmer(...)'")
    if args.nAGQ < 0 or args.nAGQ > 25:
        raise BadInput(f"--nAGQ must be between 0 and 25, not {args.nAGQ}")
    level = {"lformula": "glformula", "fit": "glmer"}.get(args.level, args.level)
    try:
        return check_glmm(args.formula, data, family=args.family, link=args.link, nAGQ=args.nAGQ, level=level,
                          weights=weights, offset=offset, data_label=args.data, selection=selection_of(args),
                          call=call)
    except PyretermsError as e:
        raise BadInput(f"--family {args.family}: {e}") from None


def _call_arg(args: argparse.Namespace):
    """``--call 'lmer(...)'`` (parity.r.rcall): fills formula, --ml, --data, --weights, --offset,
    --contrasts from the call (which then may not be given as flags too); None without --call."""

    if args.call is None:
        if args.formula is None:
            raise BadInput("give a formula or --call 'lmer(...)'")
        return None
    if args.formula is not None or args.ml or args.weights or args.offset or args.contrasts:
        raise BadInput("--call replaces the formula, --ml, --weights, --offset and --contrasts: give it alone")
    if args.impl not in (None, "pyreterms"):
        raise BadInput("--call runs pyreterms only (other implementations take no lmer arguments)")
    glmm = is_glmer_call(args.call)
    if glmm and (args.family is not None or args.link is not None or args.nAGQ != 1):
        raise BadInput("--call 'glmer(...)' gives the family, link and nAGQ itself: not --family/--link/--nAGQ too")
    call: GlmerCall | LmerCall
    try:
        call = parse_glmer_call(args.call) if glmm else parse_lmer_call(args.call)
        call.check_in_r()  # a na.action name R knows would be called with the model frame: refused
    except BadCall as e:
        raise BadInput(str(e)) from None
    if isinstance(call, GlmerCall):
        args.family, args.link, args.nAGQ = call.family, call.link, call.nAGQ
    name, sep, spec = args.data.partition("=")
    if sep and name == call.data:
        args.data = spec
    elif sep and name.isidentifier():
        raise BadInput(f"--data {name}=...: the call's data is {call.data!r}")
    args.formula, args.ml = call.formula, False if isinstance(call, GlmerCall) else not call.reml_flag
    args.weights = args.offset = None  # the call's own expressions reach both sides (parity.r.rcall)
    args.contrasts = None if isinstance(call, GlmerCall) else (  # glmer: the call carries them
        [f"{k}={v}" for k, v in (call.contrasts or {}).items()] or None)
    return call


def call_header(text: str, call) -> str:
    """One line naming what ran: the call and its arguments beyond formula and data."""
    extra = call.extra_arguments()
    more = "; ".join(f"{k} = {v}" for k, v in extra.items())
    return f"call: {text.strip()}" + (f"  [arguments: {more}]" if more else "")


def _print_call(call) -> None:
    extra = call.extra_arguments()
    fn = "glmer" if isinstance(call, GlmerCall) else "lmer"
    print(f"{fn}({call.formula}, data = {call.data}" + "".join(f", {k} = {v}" for k, v in extra.items()) + ")")


def _record_call_json(path: str, text: str, call) -> None:
    import json
    from pathlib import Path

    doc = json.loads(Path(path).read_text())
    doc["call"] = text.strip()
    doc["call_arguments"] = call.extra_arguments()
    Path(path).write_text(json.dumps(doc, indent=2, allow_nan=False))


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="parity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"parity {distribution_version()} (pyreterms)")
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="compare every component for one formula and data set")
    c.add_argument("formula", nargs="?", default=None,
                   help="an lme4 formula, e.g. 'Reaction ~ Days + (Days | Subject)' (or use --call)")
    c.add_argument("--call", default=None,
                   help="an lme4 call, e.g. 'lmer(y ~ x + (1 | g), data = d, subset = x > 0, control = "
                        "lmerControl(optimizer = \"Nelder_Mead\"))' with --data d=FILE (parity.r.rcall)")
    c.add_argument("--data", required=True, help="a CSV file or r:PKG::NAME (an R data set read through R)")
    c.add_argument("--ml", action="store_true", help="fit by maximum likelihood (REML = FALSE)")
    c.add_argument("--level", choices=["lformula", "fit", "glformula", "glmer"], default="fit",
                   help="compare lFormula() only, or lFormula() and the lmer() fit (default); with --family "
                        "glFormula() only, or glFormula() and the glmer() fit")
    c.add_argument("--family", default=None,
                   choices=["binomial", "poisson", "Gamma", "inverse.gaussian", "gaussian"],
                   help="a GLMM: compare with lme4's glFormula()/glmer(family = FAMILY(link = LINK))")
    c.add_argument("--link", default=None, help="the family's link (default: R's default for the family)")
    c.add_argument("--nAGQ", type=int, default=1, help="glmer's nAGQ (0, 1 = Laplace, up to 100; default 1)")
    c.add_argument("--impl", default=None, help="module:function of the implementation to audit (default pyreterms)")
    c.add_argument("--weights", default=None, help="column of prior weights")
    c.add_argument("--offset", default=None, help="column of offsets")
    c.add_argument("--contrasts", nargs="*", default=None, help="NAME=contr.sum ... (fixed-effects X only)")
    c.add_argument("--json", default=None, help="write the JSON report here")
    c.add_argument("--html", default=None, help="write a self-contained HTML report (pictures of differences) here")
    c.add_argument("--failures-only", action="store_true", help="print only disagreeing components")
    add_selection_args(c)
    c.set_defaults(func=cmd_check)
    commands.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        # parse_args, except that a sub-command whose module is unavailable takes any arguments
        args, extra = parser.parse_known_args(argv)
        if extra and getattr(args, UNAVAILABLE, None) is None:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as e:  # argparse already printed a one-line usage error
        return 2 if e.code not in (0, None) else 0
    try:
        require(args)  # the 'parity' extra, before anything runs
        if getattr(args, "impl", None):
            try:
                preload_impl(args.impl)  # before R starts: a typo fails at once
            except ValueError as e:
                raise BadInput(str(e)) from None
        return int(args.func(args))
    except MissingExtra as e:
        print(f"parity: error: {one_line(e)}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if module_root(e) not in EXTRA_MODULES:
            raise
        print(f"parity: error: {missing_extra_message(args.command, [module_root(e)])}", file=sys.stderr)
        return 2
    except BadInput as e:
        print(f"parity: error: {one_line(e)}", file=sys.stderr)
        return 2
    except NotCompared as e:
        print(f"parity: not compared ({e.kind}): {one_line(e.reason)}", file=sys.stderr)
        return EXIT_NOT_COMPARED
    except OSError as e:  # a file or directory named on the command line cannot be used
        print(f"parity: error: {one_line(e)}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
