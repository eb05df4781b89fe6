"""``parity audit PEER``: audit a real Python peer (statsmodels, formulae) against live lme4.

Exit codes as ``parity fuzz``: 0 no disagreement, 1 some compared design disagreed, 2 bad input or
the peer's library not installed (the 'audit' extra: pip install 'pyreterms[audit]').
"""
from __future__ import annotations

import argparse
import importlib.util

from parity.audit.campaign import PEERS, run_audit
from parity.audit.report import print_summary, write_html, write_json
from parity.cli.args import BadInput, writable

__all__ = ["add_command", "cmd_audit", "PEER_NAMES"]

#: the peers of parity.audit.campaign.PEERS (named here: the parser is built without hypothesis)
PEER_NAMES = ("formulae", "statsmodels")


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="audit a Python peer (statsmodels MixedLM, formulae) against lme4",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("peer", choices=PEER_NAMES, help="the library to audit")
    p.add_argument("--examples", type=int, default=30, help="designs to compare (default 30)")
    p.add_argument("--seed", type=int, default=0, help="campaign seed (default 0)")
    p.add_argument("--scan", type=int, default=None, help="designs to look at, at most (default 40 x --examples)")
    p.add_argument("--shrink-time", type=float, default=30.0, help="seconds of shrinking per cause")
    p.add_argument("--max-findings", type=int, default=8, help="causes to shrink and report")
    p.add_argument("--time-limit", type=float, default=10.0, help="R's elapsed-time limit per design, seconds")
    p.add_argument("--json", default=None, help="write the JSON report here")
    p.add_argument("--html", default=None, help="write an HTML report here")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=cmd_audit)


def cmd_audit(args: argparse.Namespace) -> int:
    writable(args.json, "--json")
    writable(args.html, "--html")
    if args.examples < 1:
        raise BadInput("--examples must be at least 1")
    peer = PEERS[args.peer]
    if importlib.util.find_spec(peer.distribution) is None:
        raise BadInput(f"parity audit {peer.name} needs {peer.distribution} (the 'audit' extra, not installed): "
                       "pip install 'pyreterms[audit]'")
    res = run_audit(peer, examples=args.examples, seed=args.seed, scan=args.scan, shrink_seconds=args.shrink_time,
                    max_findings=args.max_findings, time_limit=args.time_limit if args.time_limit > 0 else None,
                    progress=None if args.quiet else print)
    print_summary(res)
    if args.json:
        write_json(res, args.json)
    if args.html:
        write_html(res, args.html)
    return 0 if res.ok else 1
