"""Standalone reproducers of a failing design: data + level order on disk, R and Python lines.

A reproducer directory holds ``data.csv`` (NA written as ``NA``), ``columns.json`` (each column's
pandas type; categories in order, typed, and the ordered flag, so level order survives the CSV),
``design.json`` (formula, weights/offset columns, REML, level, implementation, what each side
said), ``repro.R`` (R: ``read.csv`` with ``colClasses``, ``factor(levels = ...)``, ``lFormula``,
the component) and ``repro.py`` (the same design in Python; exits 1 while the difference persists).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from parity.campaigns.strategies import Design
from parity.r.session import REFERENCE_R
from parity.r.verbvariant import VerbVariant, default_variant

__all__ = ["save_design", "load_design", "write_reproducer", "r_expression", "impl_spec", "r_data_lines"]

_R_CLASS = {"float": "numeric", "int": "integer", "Int64": "integer", "bool": "logical", "boolean": "logical",
            "str": "character", "object": "character", "category": "character"}


def _kind(s: pd.Series) -> str:
    dt = s.dtype
    if isinstance(dt, pd.CategoricalDtype):
        return "category"
    if pd.api.types.is_bool_dtype(dt):
        return "bool" if dt == np.bool_ else "boolean"
    if pd.api.types.is_integer_dtype(dt):
        return "int" if isinstance(dt, np.dtype) else "Int64"
    if pd.api.types.is_float_dtype(dt):
        return "float"
    return "object" if pd.api.types.is_object_dtype(dt) else "str"


def _label(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return str(v)


def save_design(design: Design, directory: str | Path, extra: dict | None = None) -> Path:
    """Write ``data.csv``, ``columns.json`` and ``design.json`` (plus ``extra`` keys) into ``directory``."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    cols, out = [], {}
    for name in design.data.columns:
        s = design.data[name]
        k = _kind(s)
        spec: dict[str, Any] = {"name": name, "kind": k}
        if k == "category":
            spec["categories"] = [v.item() if isinstance(v, np.generic) else v for v in s.cat.categories]
            spec["ordered"] = bool(s.cat.ordered)
            out[name] = [None if c < 0 else _label(s.cat.categories[c]) for c in s.cat.codes]
        elif k in ("bool", "boolean"):
            out[name] = [None if v is pd.NA or v is None else ("TRUE" if v else "FALSE") for v in s.tolist()]
        else:
            out[name] = s
        cols.append(spec)
    pd.DataFrame(out).to_csv(d / "data.csv", index=False, na_rep="NA")
    (d / "columns.json").write_text(json.dumps(cols, indent=1, ensure_ascii=False))
    meta = {"formula": design.formula, "weights": design.weights, "offset": design.offset, "REML": design.REML,
            "contrasts": dict(design.contrasts),
            "expect_refusal": design.expect_refusal, "description": design.description, "n": design.n,
            "tags": sorted(design.tags),
            "verb_variant": ({"re_form": design.verb_variant.re_form, "new_level": design.verb_variant.new_level}
                             if design.verb_variant is not None else None),
            **(extra or {})}
    (d / "design.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False, default=str))
    return d


def load_design(directory: str | Path) -> Design:
    """Read a design written by :func:`save_design` back, with dtypes and category order restored."""
    d = Path(directory)
    cols = json.loads((d / "columns.json").read_text())
    meta = json.loads((d / "design.json").read_text())
    vv = meta.get("verb_variant")
    raw = pd.read_csv(d / "data.csv", dtype=str, keep_default_na=False, na_values=[])
    data: dict[str, pd.Series] = {}
    for spec in cols:
        v = [None if x == "NA" else x for x in raw[spec["name"]].tolist()]
        k = spec["kind"]
        if k == "float":
            s = pd.Series([np.nan if x is None else float(x) for x in v], dtype=float)
        elif k == "int":
            s = pd.Series([int(x) for x in v if x is not None], dtype=np.int64)
        elif k == "Int64":
            s = pd.Series(pd.array([None if x is None else int(x) for x in v], dtype="Int64"))
        elif k in ("bool", "boolean"):
            b = [None if x is None else x == "TRUE" for x in v]
            s = pd.Series(b, dtype=bool) if k == "bool" else pd.Series(pd.array(b, dtype="boolean"))
        elif k == "category":
            cats = spec["categories"]
            lab = {_label(c): c for c in cats}
            s = pd.Series(pd.Categorical([None if x is None else lab[x] for x in v], categories=cats,
                                         ordered=spec.get("ordered", False)))
        else:
            s = pd.Series(v, dtype=object if k == "object" else "str")
        data[spec["name"]] = s
    return Design(meta["formula"], pd.DataFrame(data), meta.get("weights"), meta.get("offset"),
                  bool(meta.get("REML", True)), bool(meta.get("expect_refusal", False)),
                  meta.get("description", ""), frozenset(meta.get("tags", ())),
                  tuple((str(k), str(v)) for k, v in (meta.get("contrasts") or {}).items()),
                  verb_variant=VerbVariant(str(vv["re_form"]), bool(vv["new_level"])) if vv else None)


def r_expression(component: str, level: str = "lformula") -> str:
    """The R expression printing ``component`` after ``lf <- lFormula(...)`` / ``fit <- lmer(...)``."""
    if component.startswith("decision") or component.startswith("exception"):
        return "lf" if level == "lformula" else "fit"
    if component.startswith("lme4:::mmList"):
        return "lme4:::mmList.formula(lf$formula, lf$fr)"
    if component.startswith("lapply(reTrms$flist"):
        return ('setNames(lapply(lf$reTrms$flist[attr(lf$reTrms$flist, "assign")], '
                'function(f) t(fac2sparse(f))), names(lf$reTrms$Ztlist))')
    if component.startswith("lFormula() warnings") or component.startswith("lFormula() messages"):
        return "lf  # (watch the warnings/messages printed by lFormula())"
    return component.replace("lFormula()", "lf")


def impl_spec(impl: Any) -> str:
    """``module:function`` naming an implementation callable (or the spec string itself)."""
    if impl is None or isinstance(impl, str):
        return impl or "pyreterms"
    return f"{impl.__module__}:{impl.__qualname__}"


def r_data_lines(design: Design, csv: str = "data.csv") -> list[str]:
    """R lines building ``d`` from the CSV exactly as the harness hands the data to R
    (R: ``read.csv`` with ``colClasses``, then ``factor(levels = ...)`` for Categoricals)."""
    cc = ", ".join(f'{json.dumps(c)} = "{_R_CLASS[_kind(design.data[c])]}"' for c in design.data.columns)
    lines = [f'd <- read.csv({json.dumps(csv)}, colClasses = c({cc}), na.strings = "NA", encoding = "UTF-8", '
             "check.names = FALSE)"]
    for c in design.data.columns:
        s = design.data[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            lev = ", ".join(json.dumps(_label(v), ensure_ascii=False) for v in s.cat.categories)
            lines.append(f"d[[{json.dumps(c)}]] <- factor(d[[{json.dumps(c)}]], levels = c({lev})"
                         + (", ordered = TRUE)" if s.cat.ordered else ")"))
    return lines


def r_preamble(design: Design) -> list[str]:
    """The first lines of a ``repro.R``: lme4, C collation, and the design's data as ``d``."""
    return ["library(lme4)", 'invisible(Sys.setlocale("LC_COLLATE", "C"))  # parity compares in C collation',
            "## run from this directory: Rscript repro.R", *r_data_lines(design)]


def r_weights_offset(design: Design) -> str:
    """``, weights = w, offset = o`` for the design's columns (empty when it has neither)."""
    return (f", weights = {design.weights}" if design.weights else "") + (
        f", offset = {design.offset}" if design.offset else "")


def _r_lines(design: Design, component: str, level: str) -> str:
    lines = r_preamble(design)
    args = f"{design.formula}, data = d, REML = {'TRUE' if design.REML else 'FALSE'}" + r_weights_offset(design)
    if design.contrasts:
        args += ", contrasts = list(" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in design.contrasts) + ")"
    lines.append(f"lf <- lFormula({args})")
    if level == "fit":
        lines.append(f"fit <- lmer({args}, control = lmerControl(calc.derivs = TRUE))")
        lines += _r_verb_lines(design)
    lines.append(f"print({r_expression(component, level)})")
    return "\n".join(lines) + "\n"


def _r_function(name: str) -> str:
    """The source of the top-level function ``name`` of r_scripts/reference.R (from ``name <- function``
    to the first line that is a lone ``}``)."""
    text = REFERENCE_R.read_text().splitlines()
    start = next(i for i, ln in enumerate(text) if ln.startswith(f"{name} <- function"))
    end = next(i for i in range(start, len(text)) if text[i] == "}")
    return "\n".join(text[start:end + 1])


def _r_verb_lines(design: Design) -> list[str]:
    """R lines defining ``nd``, ``rf`` and ``ndv`` as ``pyreterms_reference()`` does for the verb components,
    with the design's variant (re.form, new-level row; parity.r.verbvariant)."""
    vv = design.verb_variant or default_variant(design.formula)
    rf = {"NULL": "NULL", "NA": "NA"}.get(vv.re_form, vv.re_form)
    return ["## the verb components' new data and re.form (r_scripts/reference.R)", _r_function("pyreterms_newdata"),
            "nd <- pyreterms_newdata(d, lf$fr, lf$formula)",
            f"rf <- {rf}  # the design's verb variant",
            f"ndv <- pyreterms_newdata(d, lf$fr, lf$formula, new_level = {'TRUE' if vv.new_level else 'FALSE'})"]


_PY = '''"""Reproducer: {component!r} differs between {impl} and lme4 1.1-31.

Run from anywhere: python repro.py   (prints both sides; exits 1 while the difference persists)
"""
import sys
from pathlib import Path

from parity.campaigns.reproducer import load_design

HERE = Path(__file__).resolve().parent
design = load_design(HERE)
print("formula:", design.formula, "| n =", design.n, "| weights:", design.weights, "| offset:", design.offset,
      "| contrasts:", dict(design.contrasts))
print(design.data.to_string(max_rows=12))

import pyreterms
try:
    lf = pyreterms.lformula(design.formula, design.data, design.REML, weights=design.weights,
                            offset=design.offset, contrasts=dict(design.contrasts) or None)
    print("pyreterms accepts the design; reTrms.Zt shape", lf.reTrms.Zt.shape)
except pyreterms.PyretermsError as e:
    print("pyreterms refuses:", e)

from parity.compare.check import check
from parity.r.verbvariant import active
from parity.report.html import paired_values, show_pair
from parity.report.text import print_table

IMPL, LEVEL, COMPONENT = {impl!r}, {level!r}, {component!r}
with active(design.verb_variant):  # the re.form / new-level variant the campaign drew
    rep = check(design.formula, design.data, REML=design.REML, level=LEVEL, impl=IMPL, **design.arrays())
    print_table(rep, show_ok=False)
    py, r = paired_values(design.formula, design.data, COMPONENT, impl=IMPL, REML=design.REML, level=LEVEL,
                          **design.arrays())
print(show_pair(py, r))
failing = [c.name for c in rep.components if not c.ok]
print("STILL DIFFERS:" if failing else "AGREES NOW", failing)
sys.exit(1 if failing else 0)
'''


def write_reproducer(directory: str | Path, design: Design, *, component: str, impl: Any = None,
                     level: str = "lformula", said: dict | None = None) -> Path:
    """Write a full reproducer for ``component`` of ``design`` into ``directory``; returns it."""
    spec = impl_spec(impl)
    d = save_design(design, directory, {"component": component, "level": level, "impl": spec, **(said or {})})
    (d / "repro.R").write_text(_r_lines(design, component, level))
    (d / "repro.py").write_text(_PY.format(component=component, impl=spec, level=level))
    return d
