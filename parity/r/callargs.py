"""The argument machinery of ``parity check --call``, shared by the ``lmer`` and ``glmer`` call readers
(:mod:`parity.r.rcall`, :mod:`parity.r.glmer_call`): R's argument matching (``match.call``), constants,
``start``, ``weights``/``offset``/``mustart`` expressions checked with the formula allowlist, ``na.action``,
``contrasts``, and the way a checked constant reaches R.  Nothing is evaluated as R code beyond checked
constants (numbers, strings, TRUE/FALSE/NA/NULL, ``c()``, ``-``), evaluated in R's base environment.
"""
from __future__ import annotations

import re
from typing import Any

import pandas as pd

from parity.r import session as rsession
from parity.r.convert import py_to_r
from pyreterms.design.contrasts import CONTRASTS
from pyreterms.design.frame import check_subset
from pyreterms.errors import PyretermsError
from pyreterms.formula.allowlist import check_contrasts
from pyreterms.formula.evaluate import check_allowlist
from pyreterms.formula.nodes import Arg, Call, Name, Node, Num, Str
from pyreterms.formula.parser import deparse

__all__ = ["BadCall", "NA_ACTIONS", "R_NAME", "const", "const_in_r", "contrasts", "data_arguments", "expression",
           "match_args",
           "na_action", "named_list", "numbers", "r_string", "r_text", "start", "to_r"]

NA_ACTIONS = ("na.omit", "na.exclude", "na.fail", "na.pass")
#: a name R may know as a function (checked in R before a --call runs: an existing one is refused)
R_NAME = re.compile(r"^[A-Za-z.][A-Za-z0-9._]*$")


class BadCall(ValueError):
    """The --call text is not an lmer call this harness accepts (one line)."""


class NAValue:
    """R's NA among the constants of a call (Python side: ``pandas.NA``)."""



def const_in_r(text: str) -> Any:
    """A checked constant's R text as an R value (only numbers, strings, TRUE/FALSE/NA/NULL, c(), -)."""
    return rsession.r_eval(f"eval(str2lang({r_string(text)}), baseenv())")


def r_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def r_text(v: Any) -> str:
    """A Python constant as R text (for report headers)."""
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if v is None:
        return "NULL"
    if v is pd.NA:
        return "NA"
    if isinstance(v, str):
        return r_string(v)
    if isinstance(v, dict):
        return "list(" + ", ".join(f"{k} = {r_text(x)}" for k, x in v.items()) + ")"
    if isinstance(v, (list, tuple)):
        return "c(" + ", ".join(r_text(x) for x in v) + ")"
    return repr(v)


def to_r(v: Any) -> Any:

    return py_to_r(v)


def const(node: Node, what: str) -> Any:
    """A constant: number, string, TRUE/FALSE, NA, NULL, -number, c(constants...)."""
    if isinstance(node, Num):
        return int(node.value) if node.is_int else node.value
    if isinstance(node, Str):
        return node.value
    if isinstance(node, Name) and node.id in ("TRUE", "FALSE", "T", "F"):
        return node.id in ("TRUE", "T")
    if isinstance(node, Name) and node.id in ("NA", "NA_real_", "NA_integer_", "NA_character_"):
        return pd.NA
    if isinstance(node, Name) and node.id == "NULL":
        return None
    if isinstance(node, Call) and node.fn in ("-", "+") and len(node.args) == 1:
        v = const(node.args[0].value, what)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return -v if node.fn == "-" else v
    if isinstance(node, Call) and node.fn == "c" and all(a.name is None for a in node.args):
        return [const(a.value, what) for a in node.args]
    raise BadCall(f"{what} must be a constant (number, string, TRUE/FALSE, NA, NULL, c(...)), not {deparse(node)}")


def named_list(node: Node, what: str) -> dict[str, Any]:
    if not (isinstance(node, Call) and node.fn == "list") or any(a.name is None for a in node.args):
        raise BadCall(f"{what} must be list(name = value, ...), not {deparse(node)}")
    return {str(a.name): const(a.value, f"{what}${a.name}") for a in node.args}


def match_args(call: Call, formals: tuple[str, ...], what: str) -> dict[str, Node]:
    """R's argument matching (``match.call`` for a function without ``...``): exact names, then
    unique partial names, then the remaining formals by position."""
    args: dict[str, Node] = {}
    named = [a for a in call.args if a.name is not None]
    for a in named:  # exact
        if a.name in formals:
            if a.name in args:
                raise BadCall(f"{what}: formal argument \"{a.name}\" matched by multiple actual arguments")
            args[str(a.name)] = a.value
    for a in named:  # partial
        if a.name in formals:
            continue
        cands = [f for f in formals if f.startswith(str(a.name)) and f not in args]
        if len(cands) != 1:
            raise BadCall(f"{what}: argument {a.name!r} is not an argument of {what} ({', '.join(formals)})"
                          if not cands else f"{what}: argument {a.name!r} matches multiple formal arguments")
        args[cands[0]] = a.value
    free = [f for f in formals if f not in args]
    for a in call.args:
        if a.name is None:
            if not free:
                raise BadCall(f"{what}: too many positional arguments")
            args[free.pop(0)] = a.value
    return args



def start(node: Node) -> Any:
    if isinstance(node, Call) and node.fn == "list":
        lst = named_list(node, "start")
        return {k: numbers(v) for k, v in lst.items()}
    v = const(node, "start")
    if isinstance(v, bool) or v is None or isinstance(v, str) or v is pd.NA:
        return v  # lme4's getStart refuses it (so does pyreterms), with the same message
    if isinstance(v, list) and not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        return v
    return [float(x) for x in (v if isinstance(v, list) else [v])]


def numbers(v: Any) -> Any:
    """A constant as a list of floats when it is numbers only, else as given (getStart refuses it)."""
    xs = v if isinstance(v, list) else [v]
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in xs):
        return [float(x) for x in xs]
    return v


def expression(node: Node, what: str) -> str:
    """weights/offset: a column name or an expression over the columns (formula allowlist)."""
    try:
        check_allowlist(node)
    except PyretermsError as e:
        raise BadCall(f"{what}: {e}") from None
    return node.id if isinstance(node, Name) else deparse(node)



def na_action(node: Node) -> dict[str, Any]:
    """``na.action``: a name (symbol or string), ``stats::`` allowed; checked against R later."""
    orig = node
    if isinstance(node, Call) and node.fn == "::" and isinstance(node.args[1].value, Name):
        node = node.args[1].value  # stats::na.exclude
    if not isinstance(node, (Name, Str)) or not R_NAME.match(node.id if isinstance(node, Name) else node.value):
        raise BadCall(f"na.action must be one of {', '.join(NA_ACTIONS)}, not {deparse(orig)}")
    return {"na_action": node.id if isinstance(node, Name) else node.value, "na_action_symbol": isinstance(node, Name)}


def contrasts(node: Node) -> dict[str, str]:
    """``contrasts = list(f = "contr.sum", g = contr.helmert)`` (a function by name: the same X)."""
    if isinstance(node, Call) and node.fn == "list":
        node = Call("list", tuple(Arg(Str(a.value.id), a.name) if isinstance(a.value, Name) and a.value.id
                                  in CONTRASTS else a for a in node.args))
    con = named_list(node, "contrasts")
    if not all(isinstance(v, str) for v in con.values()):
        raise BadCall("contrasts: give contrast function names, e.g. list(f = \"contr.sum\")")
    try:  # R's `contrasts<-` looks any other name up as a function and calls it: the allowlist, for every call
        check_contrasts(con)
    except ValueError as e:
        raise BadCall(f"contrasts: {e}") from None
    return con


def data_arguments(args: dict[str, Node], kw: dict[str, Any], rt: dict[str, str]) -> None:
    """The arguments lmer and glmer share over the data, into ``kw`` (and their R text into ``rt``):
    ``subset`` (checked with the formula allowlist), ``weights``/``offset`` (:func:`expression`),
    ``na.action`` (:func:`na_action`), ``contrasts`` (:func:`contrasts`)."""
    if "subset" in args:
        try:
            check_subset(args["subset"])
        except PyretermsError as e:
            raise BadCall(f"subset: {e}") from None
        kw["subset"] = deparse(args["subset"])
    for nm in ("weights", "offset"):
        if nm in args:
            kw[nm] = expression(args[nm], nm)
    if "na.action" in args:
        kw.update(na_action(args["na.action"]))
        rt["na.action"] = deparse(args["na.action"])
    if "contrasts" in args:
        kw["contrasts"] = contrasts(args["contrasts"])
