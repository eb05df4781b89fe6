"""The ``parity fuzz`` command line: options, the summary table, JSON/HTML outputs, exit code.

Exit codes: 0 no disagreement, 1 some design disagreed (or failed with an exception), 2 bad input,
3 no disagreement but some designs were not compared (the harness declined them; never agreement).
With ``--glmm`` (level glmer, pyreterms) each disagreeing design is then explained or not by README "Known
differences from lme4" 13, with its live evidence (:func:`parity.campaigns.glmm_explain.explain_disagreement`);
a disagreement every rule leaves unexplained keeps exit code 1, explained ones are reported with their reason
and do not (``--no-explain``: no explanation step).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import Any

from parity.adapter.pyreterms_lformula import load_impl
from parity.campaigns.fuzz import KNOWN_ISSUES, LMM, FuzzConfig, fit_level_available, run_campaign
from parity.campaigns.glmm_explain import explain_disagreement
from parity.campaigns.glmm_fuzz import GLMM
from parity.campaigns.progress import SilentProgress
from parity.campaigns.strategies import HAZARD_NAMES, Hazards
from parity.cli.args import BadInput, writable
from parity.compare.notcompared import EXIT_AGREE, EXIT_DISAGREE, EXIT_NOT_COMPARED
from parity.report.html import write_html

__all__ = ["add_command", "add_fuzz_parser", "cmd_fuzz", "print_summary", "write_json", "RichProgress",
           "SilentProgress"]


def add_command(sub: argparse._SubParsersAction) -> None:
    """Register ``parity fuzz`` (called by parity.cli.commands)."""
    add_fuzz_parser(sub)


def add_fuzz_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fuzz", help="a Hypothesis campaign of generated designs against live lme4",
                       description="Generate designs, compare with lme4, shrink failures. "
                                   f"Hazards: {', '.join(HAZARD_NAMES)}.")
    p.add_argument("--examples", type=int, default=100, help="designs to explore (default 100)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    p.add_argument("--glmm", action="store_true",
                   help="generalized linear mixed models: generated glmer() designs (families, links, nAGQ, "
                        "separation, boundary, overdispersion, zero inflation, invalid responses) against lme4's "
                        "glFormula()/glmer(), judged as parity check --family judges them")
    p.add_argument("--level", choices=["lformula", "fit", "glformula", "glmer"], default=None,
                   help="LMM: compare lFormula() only, or also the lmer() fit (default: fit when the fit exists); "
                        "--glmm: glformula or glmer (default glmer)")
    p.add_argument("--impl", default=None, help="module:function of the implementation to audit (default pyreterms)")
    p.add_argument("--json", default=None, help="write the campaign's JSON report here")
    p.add_argument("--html", default=None, help="write a self-contained HTML report here")
    p.add_argument("--out", default="out/fuzz", help="directory for the shrunk reproducers (default out/fuzz)")
    p.add_argument("--time-limit", type=float, default=10.0, help="R's elapsed-time limit per design, seconds")
    p.add_argument("--py-time-limit", type=float, default=60.0,
                   help="the implementation's time limit per design, seconds")
    p.add_argument("--exclude", nargs="*", default=[], metavar="HAZARD", help="hazards not to generate")
    p.add_argument("--known", action="store_true",
                   help="ignore disagreements in components with a known, reported issue: " + "; ".join(KNOWN_ISSUES))
    p.add_argument("--ignore", nargs="*", default=[], metavar="PATTERN",
                   help="components not to compare (glob patterns, parity.compare.selection)")
    p.add_argument("--only", nargs="+", default=None, metavar="PATTERN",
                   help="compare only components matching these globs (a name without wildcards must be provided)")
    p.add_argument("--no-shrink", action="store_true", help="report failures unshrunk")
    p.add_argument("--shrink-time", type=float, default=60.0, help="seconds of R calls per shrunk failure")
    p.add_argument("--max-failures", type=int, default=8, help="distinct failures to shrink and write out")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-explain", action="store_true",
                   help="--glmm: do not read the live evidence of README 'Known differences from lme4' 13 for the "
                        "disagreeing designs (every disagreement then counts as unexplained)")
    p.add_argument("--workers", type=int, default=1,
                   help="explore in N spawned processes, each with its own R (same report for any N)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="explore on a Dask distributed scheduler (e.g. tcp://host:8786; needs the [dask] extra)")
    p.set_defaults(func=cmd_fuzz)


def cmd_fuzz(args: argparse.Namespace) -> int:
    writable(args.json, "--json")  # before the campaign: a report that cannot be written fails now
    writable(args.html, "--html")

    try:
        hz = Hazards().without(*args.exclude)
        if args.impl:
            load_impl(args.impl)
    except ValueError as e:
        raise BadInput(str(e)) from None
    if args.examples < 1:
        raise BadInput("--examples must be at least 1")
    kind = GLMM if args.glmm else LMM
    level = args.level or (("fit" if fit_level_available()[0] else "lformula") if kind is LMM else "glmer")
    if level not in kind.levels:
        raise BadInput(f"--level {level} is not a level of {'GLMM' if args.glmm else 'LMM'} designs "
                       f"(choose {' or '.join(kind.levels)}{'' if args.glmm else '; glformula/glmer need --glmm'})")
    if args.glmm and args.exclude:
        raise BadInput("--exclude names LMM hazards; GLMM designs (--glmm) draw every GLMM hazard")
    if args.workers < 1:
        raise BadInput("--workers must be at least 1")
    if args.dask is not None and importlib.util.find_spec("distributed") is None:
        raise BadInput("--dask needs the dask extra: pip install 'pyreterms[dask]'")
    ignore = frozenset(args.ignore) | (frozenset(KNOWN_ISSUES) if args.known else frozenset())
    cfg = FuzzConfig(examples=args.examples, seed=args.seed, level=level, impl=args.impl,
                     time_limit=args.time_limit if args.time_limit > 0 else None,
                     py_time_limit=args.py_time_limit if args.py_time_limit > 0 else None, hazards=hz,
                     shrink=not args.no_shrink, shrink_seconds=args.shrink_time,
                     max_failures=args.max_failures, ignore=ignore, only=tuple(args.only or ()),
                     workers=args.workers, dask=args.dask)
    from rich.console import Console

    console = Console(width=150)
    progress = SilentProgress() if args.quiet else RichProgress(console, cfg.examples)
    result = run_campaign(cfg, out_dir=args.out, progress=progress, kind=kind)
    explained = None
    if kind is GLMM and level == "glmer" and not args.no_explain and args.impl is None:
        explained = explain_campaign(result)
    print_summary(result, console, explained)
    if args.json:
        write_json(result, args.json, explained)
    if args.html:
        write_html(result, args.html)
    return campaign_exit_code(result, explained)


def explain_campaign(result: Any) -> list[tuple[Any, str | None]]:
    """Each disagreeing design of a GLMM campaign with the reason README "Known differences from lme4" 13
    explains it (read live), or None."""
    return [(o, explain_disagreement(o)) for o in result.outcomes if o.status == "disagree"]


def campaign_exit_code(result: Any, explained: list[tuple[Any, str | None]] | None = None) -> int:
    """1 if any design failed or disagreed without an explanation (``explained``: the GLMM explanation
    step's answers; None: none ran), else 3 if any was not compared, else 0."""
    unexplained = result.count("disagree") if explained is None else sum(why is None for _, why in explained)
    if result.count("error") or unexplained:
        return EXIT_DISAGREE
    return EXIT_NOT_COMPARED if result.count("not-compared") else EXIT_AGREE


def _secs(x: float) -> str:
    return f"{x * 1000:.1f} ms" if x < 1 else f"{x:.2f} s"


def print_summary(result: Any, console: Any = None, explained: list[tuple[Any, str | None]] | None = None) -> None:
    """The end-of-campaign table: designs run, agreed, both refused, disagreements by component (and, for a
    GLMM campaign, how many are explained), R time vs Python time; then one line per shrunk failure and per
    explained disagreement."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = console or Console(width=150)
    j = result.as_json()
    c, t = j["counts"], j["timing"]
    if result.note:
        console.print(f"[yellow]note:[/] {escape(result.note)}")
    tab = Table(title=f"parity fuzz{' --glmm' if j.get('kind') == 'glmm' else ''}: seed {j['seed']}, "
                      f"level {j['level']}, impl {escape(j['impl'])}")
    tab.add_column("what")
    tab.add_column("count / time", justify="right")
    for label, v in (("designs run", c["designs"]), ("agreed", c["agree"]),
                     ("both refused for the same reason", c["both_refused"]), ("disagreed", c["disagree"]),
                     ("not compared (harness declined; not agreement)", c["not_compared"]),
                     ("failed with an exception", c["error"])):
        tab.add_row(label, str(v))
        if label == "agreed" and j.get("kind") == "glmm":
            tab.add_row("  of which passed by: the GLMM theta rule", str(j["agreed_by_glmm_theta_rule"]))
        if label == "agreed" and j["level"] == "fit":
            for why, k in j["agreed_by_rule"].items():
                tab.add_row(f"  of which passed by: {escape(why)}", str(k))
        if label.startswith("not compared"):
            for kind, k in sorted(j["not_compared_by_kind"].items()):
                tab.add_row(f"  {escape(kind)}", str(k))
    if explained is not None:
        tab.add_row("  of which explained (README Known differences 13, live evidence)",
                    str(sum(why is not None for _, why in explained)))
    for comp, k in sorted(j["disagreements_by_component"].items(), key=lambda kv: -kv[1]):
        tab.add_row(f"  [red]{escape(comp)}[/]", str(k))
    if j.get("not_provided"):
        tab.add_row("components not provided (not judged; neither agreement nor disagreement)", str(j["not_provided"]))
    tab.add_row("R time (total / per design)", f"{_secs(t['r_seconds'])} / {_secs(t['r_per_design'])}")
    tab.add_row("Python time (total / per design)", f"{_secs(t['python_seconds'])} / {_secs(t['python_per_design'])}")
    tab.add_row("wall time (incl. shrinking)", _secs(t["wall_seconds"]))
    console.print(tab)
    _print_outcomes(result, console, explained, c["not_compared"])



def _print_outcomes(result: Any, console: Any, explained: list[tuple[Any, str | None]] | None, nc: int) -> None:
    """One line per shrunk failure, per explained (or unexplained) GLMM disagreement, then the verdict."""
    from rich.markup import escape

    for f in result.failures:
        d = f.shrunk.design
        console.print(f"[red]FAIL[/] {escape(f.component)}: {escape(d.formula)} (n={d.n}); "
                      f"shrunk from n={f.first.design.n} in {f.shrink_calls} R calls"
                      + (f" -> {escape(str(f.reproducer))}" if f.reproducer else ""))
        for comp, said in list(f.shrunk.said().items())[:3]:
            console.print(f"     {escape(comp)}: {escape(said[:300])}")
    for o, why in explained or ():
        d = o.design
        console.print(("[yellow]explained[/] " if why else "[red]not explained[/] ")
                      + escape(f"{d.formula} (n={d.n}; {getattr(d, 'family', '')} {getattr(d, 'link', '')}): "
                               f"{why or ', '.join(o.failing)}"))
    if campaign_exit_code(result, explained) == EXIT_DISAGREE:
        console.print("[red]disagreements found[/]" + (f" ({nc} design(s) not compared)" if nc else ""))
    elif not result.ok:
        console.print("[yellow]every disagreement explained[/]" + (f" ({nc} design(s) not compared)" if nc else ""))
    elif nc:
        console.print(f"[yellow]no disagreement, but {nc} design(s) not compared[/]")
    else:
        console.print("[green]no disagreement[/]")


def write_json(result: Any, path: str | Path, explained: list[tuple[Any, str | None]] | None = None) -> None:
    j = result.as_json()
    if explained is not None:  # the GLMM explanation step: each disagreeing design's reason (null: none)
        j["explained"] = [{"formula": o.design.formula, "n": o.design.n, "failing": list(o.failing), "why": why}
                          for o, why in explained]
        j["unexplained"] = sum(why is None for _, why in explained)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(j, indent=1, allow_nan=False, default=str, ensure_ascii=False))


class RichProgress:
    """A rich progress bar for the exploration; shrinking messages go to its console."""

    def __init__(self, console: Any, total: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.p = Progress(TextColumn("[bold]fuzz"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                          TextColumn("{task.description}"), console=console, transient=False)
        self.task = self.p.add_task("", total=total)
        self.bad = 0

    def __enter__(self) -> RichProgress:
        self.p.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.p.stop()

    def step(self, o: Any) -> None:
        self.bad += o.status in ("disagree", "error")
        self.nc = getattr(self, "nc", 0) + (o.status == "not-compared")
        self.p.update(self.task, advance=1, description=f"{self.bad} failing, {self.nc} not compared")

    def message(self, text: str) -> None:
        self.p.console.print(text)
