"""``parity``: compare an implementation of lme4's lFormula/lmer with live lme4.

Exit codes: 0 everything agrees, 1 any disagreement, 2 bad input (one-line reason on stderr),
3 not compared (the harness declined: allowlist, unrepresentable data, time limit; see
parity.notcompared).
"""
from __future__ import annotations

import argparse
import sys


class BadInput(Exception):
    """Bad command-line input: reported in one line, exit code 2."""


def _load_data(spec: str):
    from .datasource import load_source

    try:
        return load_source(spec)
    except (ValueError, FileNotFoundError, OSError) as e:
        raise BadInput(f"--data {spec}: {e}") from None


def cmd_check(args: argparse.Namespace) -> int:
    from .check import check
    from pyreterms.errors import FormulaError

    from .rsession import checked_contrasts, checked_formula
    from .report import print_table, write_json

    try:
        checked_formula(args.formula)  # deeper than R survives: refused before R is called
    except FormulaError as e:
        raise BadInput(str(e)) from None
    data = _load_data(args.data)
    for col in (args.weights, args.offset):
        if col is not None and col not in data.columns:
            raise BadInput(f"no column '{col}' in {args.data}")
    contrasts = None
    if args.contrasts:
        contrasts = {}
        for item in args.contrasts:
            if "=" not in item:
                raise BadInput(f"--contrasts takes NAME=contr.xxx, not {item!r}")
            k, v = item.split("=", 1)
            contrasts[k] = v
        try:
            checked_contrasts(contrasts)
        except ValueError as e:
            raise BadInput(f"--contrasts: {e}") from None
    try:
        report = check(args.formula, data, REML=not args.ml, level=args.level, impl=args.impl,
                       weights=data[args.weights].to_numpy(float) if args.weights else None,
                       offset=data[args.offset].to_numpy(float) if args.offset else None,
                       contrasts=contrasts, data_label=args.data)
    except ValueError as e:
        if "implementation" in str(e) or "--impl" in str(e):
            raise BadInput(str(e)) from None
        raise
    print_table(report, show_ok=not args.failures_only)
    if args.json:
        write_json(report, args.json)
    if args.html:
        from .htmlreport import write_html

        write_html(report, args.html, data=data, impl=args.impl, contrasts=contrasts,
                   weights=data[args.weights].to_numpy(float) if args.weights else None,
                   offset=data[args.offset].to_numpy(float) if args.offset else None)
    return 0 if report.ok else 1


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="parity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="compare every component for one formula and data set")
    c.add_argument("formula", help="an lme4 formula, e.g. 'Reaction ~ Days + (Days | Subject)'")
    c.add_argument("--data", required=True, help="a CSV file or r:PKG::NAME (an R data set read through R)")
    c.add_argument("--ml", action="store_true", help="fit by maximum likelihood (REML = FALSE)")
    c.add_argument("--level", choices=["lformula", "fit"], default="fit",
                   help="compare lFormula() only, or lFormula() and the lmer() fit (default)")
    c.add_argument("--impl", default=None, help="module:function of the implementation to audit (default pyreterms)")
    c.add_argument("--weights", default=None, help="column of prior weights")
    c.add_argument("--offset", default=None, help="column of offsets")
    c.add_argument("--contrasts", nargs="*", default=None, help="NAME=contr.sum ... (fixed-effects X only)")
    c.add_argument("--json", default=None, help="write the JSON report here")
    c.add_argument("--html", default=None, help="write a self-contained HTML report (pictures of differences) here")
    c.add_argument("--failures-only", action="store_true", help="print only disagreeing components")
    c.set_defaults(func=cmd_check)
    from . import cli_more

    cli_more.add_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse already printed a one-line usage error
        return 2 if e.code not in (0, None) else 0
    try:
        return int(args.func(args))
    except BadInput as e:
        print(f"parity: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
