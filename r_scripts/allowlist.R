## GENERATED from pyreterms/formula/allowlist.py by `python -m pyreterms.formula.allowlist --write`: do not edit.
## tests/unit/test_allowlist.py fails when this file differs from what Python generates.

## Operators and functions a formula may call (the Python side also checks argument names
## and that spline/cut/poly settings are constants).
pyreterms_allowed_functions <- c(
  "~", "+", "-", "*", "/", "^", ":", "%in%", "|", "||", "(", "%%", "%/%", "==", "!=", "<", ">",
  "<=", ">=", "&", "!", "I", "log", "log2", "log10", "log1p", "exp", "expm1", "sqrt", "abs",
  "poly", "scale", "factor", "as.factor", "as.numeric", "offset", "ns", "bs", "cut", "pmin",
  "pmax", "c", "cbind", "round", "sin", "cos", "tan", "as.integer", "ifelse", "relevel",
  "interaction")

## pkg::fun spellings accepted.
pyreterms_allowed_namespaced <- c(
  "base::I", "base::log", "base::log2", "base::log10", "base::log1p", "base::exp", "base::expm1",
  "base::sqrt", "base::abs", "stats::poly", "base::scale", "base::factor", "base::as.factor",
  "base::as.numeric", "splines::ns", "splines::bs", "base::cut", "base::pmin", "base::pmax",
  "base::c", "base::cbind", "base::round", "base::sin", "base::cos", "base::tan",
  "base::as.integer", "base::ifelse", "stats::relevel", "base::interaction")

## Names that are constants unless a data column shadows them.
pyreterms_allowed_constants <- c(
  "TRUE", "FALSE", "T", "F", "pi")

## Unqualified functions that need a package attached (as a user who wrote library(splines) has);
## reference.R makes exactly these visible to the formula, nothing else of the package.
pyreterms_formula_imports <- setNames(c(
  "splines", "splines"), c(
  "ns", "bs"))

## Packages whose data sets r:PKG::NAME may read.
pyreterms_allowed_dataset_packages <- c(
  "lme4", "datasets", "MASS", "nlme", "boot", "lattice", "Matrix")

## The only contrast functions a caller may name: R's `contrasts<-` looks a character value up as
## a function and calls it, so any other name would run arbitrary R code.
pyreterms_allowed_contrasts <- c(
  "contr.treatment", "contr.sum", "contr.helmert", "contr.poly", "contr.SAS")
