"""The one embedded R of this process (R 4.2.2 + lme4 1.1-31 through rpy2 3.5.17).

R is started lazily, on the first call that needs it: importing ``parity`` (or this module) does
not start R.  On start we

* divert R's console output (e.g. ``library '...' contains no packages``) into a buffer that
  :func:`console_output` drains, instead of printing it;
* run ``Sys.setlocale("LC_COLLATE", "C")`` so that ``factor()``/``sort()`` collate character data
  in C (byte = code point) order, i.e. like Python's ``sorted()`` (R's default here is ICU, which
  sorts ``_x a b B``); :func:`versions` records it as ``"collation"``;
* load lme4 once (``library(lme4)``) and ``source()`` ``r_scripts/reference.R``.

Every call into R holds rpy2's ``openrlib.rlock`` (R is single-threaded; call from the main
thread only: R on another thread tends to fail its C-stack check).  Do not fork after R started.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyreterms.design.dataframe import contrast_matrix_value
from pyreterms.errors import FormulaError
from pyreterms.formula.allowlist import check_contrasts, r_source
from pyreterms.formula.parser import parse

if TYPE_CHECKING:  # pragma: no cover

    pass

__all__ = [
    "R_SCRIPTS", "REFERENCE_R", "RCallError", "start", "is_started", "rlock", "r_eval", "r_call",
    "helpers", "helper", "r_list", "versions", "console_output", "checked_contrasts", "checked_formula",
]

def _r_scripts_dir() -> Path:
    """The R scripts: ``parity/r_scripts`` in an installed wheel (package data, see pyproject.toml),
    else the repository root's ``r_scripts`` (a source checkout or an editable install)."""
    package = Path(__file__).resolve().parent.parent
    for cand in (package / "r_scripts", package.parent / "r_scripts"):
        if (cand / "reference.R").is_file():
            return cand
    return package / "r_scripts"  # start() reports the missing file


#: the folder holding reference.R and allowlist.R (see _r_scripts_dir)
R_SCRIPTS: Path = _r_scripts_dir()
REFERENCE_R: Path = R_SCRIPTS / "reference.R"

_start_lock = threading.Lock()
_started = False
_console: list[str] = []

# R helpers used by parity.r.convert and by r_call(time_limit=...); kept out of the global env.
_HELPERS_R = r"""
local({
  e <- new.env(parent = globalenv())
  e$call_safely <- function(f, args, limit) {
    if (is.finite(limit)) {
      t0 <- proc.time()[["elapsed"]]
      old <- options(pyreterms.deadline = t0 + limit)  # read by reference.R's pyreterms_deadline()
      setTimeLimit(elapsed = limit, transient = TRUE)
      on.exit({setTimeLimit(elapsed = Inf, transient = FALSE); options(old)})
    }
    res <- tryCatch(list(value = do.call(f, args, quote = TRUE)),
                    error = function(e) list(error = conditionMessage(e)))
    # R clears the limit when it fires, so a handler inside `f` that caught the error let the
    # rest run unlimited: whatever `f` returned, a call that outlived its limit timed out.
    if (is.finite(limit) && (el <- proc.time()[["elapsed"]] - t0) >= limit)
      res <- list(error = sprintf("reached elapsed time limit (%g s; the call ran %.2f s)", limit, el))
    res
  }
  e$make_df <- function(cols, rn, n) {
    attr(cols, "row.names") <- if (is.null(rn)) .set_row_names(as.integer(n)) else rn
    class(cols) <- "data.frame"
    cols
  }
  e$make_factor <- function(codes, levels, ordered)
    structure(codes, levels = levels, class = if (ordered) c("ordered", "factor") else "factor")
  e$as_dgC <- function(x) as(as(as(x, "CsparseMatrix"), "generalMatrix"), "dMatrix")
  e$as_base_matrix <- function(x) as(x, "matrix")
  e$is_sparse <- function(x) methods::is(x, "sparseMatrix")
  e$is_dense <- function(x) methods::is(x, "denseMatrix")
  e$row_names <- function(x) rownames(x)
  e$pack_strings <- function(x) {
    x <- enc2utf8(x); na <- is.na(x); x[na] <- ""
    list(paste0(x, collapse = ""), nchar(x, type = "bytes"), na)
  }
  e$get_data <- function(pkg, name) {
    ## only the packages of pyreterms/formula/allowlist.py (loading a namespace runs its code); an uninstalled
    ## one is reported as such below
    if (!(pkg %in% pyreterms_allowed_dataset_packages) && nzchar(system.file(package = pkg)))
      stop(sprintf("R data sets are read only from %s, not '%s'",
                   paste(pyreterms_allowed_dataset_packages, collapse = ", "), pkg), call. = FALSE)
    if (!requireNamespace(pkg, quietly = TRUE))
      stop(sprintf("R package '%s' is not installed", pkg), call. = FALSE)
    env <- new.env()
    suppressWarnings(utils::data(list = name, package = pkg, envir = env))
    if (!exists(name, envir = env, inherits = FALSE)) {
      ns <- asNamespace(pkg)
      if (exists(name, envir = ns, inherits = FALSE)) return(get(name, envir = ns))
      stop(sprintf("package '%s' has no data set '%s'", pkg, name), call. = FALSE)
    }
    get(name, envir = env, inherits = FALSE)
  }
  e
})
"""
_helpers: Any = None


class RCallError(RuntimeError):
    """An R error escaped to Python (R: the condition message of ``stop()``)."""


def _capture_console(s: str) -> None:
    _console.append(s)


def is_started() -> bool:
    """True once the embedded R has been started by this module."""
    return _started


def start() -> None:
    """Start the embedded R (idempotent): console capture, C collation, lme4, reference.R."""
    global _started, _helpers
    if _started:
        return
    with _start_lock:
        if _started:
            return
        from rpy2.rinterface_lib import callbacks

        callbacks.consolewrite_print = _capture_console
        callbacks.consolewrite_warnerror = _capture_console
        callbacks.showmessage = _capture_console
        import rpy2.robjects as ro  # starts R
        from rpy2.rinterface_lib import openrlib

        with openrlib.rlock:
            ro.r('invisible(Sys.setlocale("LC_COLLATE", "C"))')
            ro.r("suppressPackageStartupMessages(library(lme4))")
            _helpers = ro.r(_HELPERS_R)
            if not REFERENCE_R.is_file():
                raise FileNotFoundError(f"R reference script not found: {REFERENCE_R}")
            ro.r["source"](str(REFERENCE_R))
            # the allowlist again, straight from its one definition (pyreterms.formula.allowlist)
            ro.r(r_source())
            collate = ro.r('Sys.getlocale("LC_COLLATE")')[0]
            if collate != "C":
                raise RuntimeError(f"could not set R's LC_COLLATE to C (it is {collate!r})")
        _started = True


def rlock() -> Any:
    """rpy2's re-entrant lock around the embedded R (``openrlib.rlock``); starts R if needed."""
    start()
    from rpy2.rinterface_lib import openrlib

    return openrlib.rlock


def helpers() -> Any:
    """The environment with this module's R helper functions (see ``_HELPERS_R``)."""
    start()
    return _helpers


def helper(name: str) -> Any:
    """One R helper function of this module (``make_df``, ``make_factor``, ``as_dgC``, ...)."""
    return helpers()[name]


@contextlib.contextmanager
def _r_errors() -> Iterator[None]:
    from rpy2.rinterface_lib.embedded import RRuntimeError

    try:
        yield
    except RRuntimeError as e:
        msg = str(e).strip()
        if msg.startswith("Error") and ":" in msg.split("\n", 1)[0]:
            msg = msg.split(":", 1)[1].strip()
        raise RCallError(msg) from None


def r_eval(code: str) -> Any:
    """Evaluate R source text in the global environment (R: ``eval(parse(text = code))``)."""
    start()
    import rpy2.robjects as ro

    with rlock(), _r_errors():
        return ro.r(code)


def r_call(fn: str | Any, *args: Any, time_limit: float | None = None, **kwargs: Any) -> Any:
    """Call an R function (a name looked up from the global env, or an R closure) with rpy2
    objects as arguments (R: ``tryCatch(do.call(fn, list(...)), error = ...)``).

    An R error raises :class:`RCallError` carrying ``conditionMessage(e)``.  ``time_limit``
    (seconds) applies R's ``setTimeLimit(elapsed = ...)``: R stops with ``reached elapsed time
    limit`` at its next interrupt check (C code that never checks cannot be interrupted).
    """
    start()
    import rpy2.robjects as ro

    with rlock(), _r_errors():
        f = ro.r[fn] if isinstance(fn, str) else fn
        items: list[tuple[str | None, Any]] = [(None, a) for a in args] + list(kwargs.items())
        limit = float("inf") if time_limit is None else float(time_limit)
        res = helper("call_safely")(f, r_list(items), limit)
        names = list(res.names)
        if "error" in names:
            raise RCallError(str(res[names.index("error")][0]))
        return res[0]


def r_list(items: Sequence[tuple[str | None, Any]]) -> Any:
    """An R list from (name, rpy2 object) pairs, names may be None."""
    import rpy2.rinterface as ri

    lst = ri.ListSexpVector([v if v is not None else ri.NULL for _, v in items])
    if any(k is not None for k, _ in items):
        lst.do_slot_assign("names", ri.StrSexpVector([k if k is not None else "" for k, _ in items]))
    return lst


def versions() -> dict[str, str]:
    """R, lme4, Matrix and rpy2 versions and the collation in use (R: ``packageVersion()``)."""
    start()
    import rpy2

    v = r_eval(
        'c(R = paste(R.version$major, R.version$minor, sep = "."),'
        ' lme4 = as.character(packageVersion("lme4")),'
        ' Matrix = as.character(packageVersion("Matrix")),'
        ' collation = Sys.getlocale("LC_COLLATE"))'
    )
    out = dict(zip(v.names, list(v), strict=False))
    return {"R": out["R"], "lme4": out["lme4"], "Matrix": out["Matrix"],
            "rpy2": rpy2.__version__, "collation": out["collation"]}


def console_output(clear: bool = True) -> str:
    """What R wrote to its console since the last call (captured, not printed)."""
    text = "".join(_console)
    if clear:
        _console.clear()
    return text


def checked_contrasts(contrasts: Mapping[str, str]) -> list[tuple[str, str]]:
    """``contrasts`` as (factor, contr.xxx) pairs, refusing anything but R's five contrast functions
    and numeric matrices (a 2-D array, or a DataFrame whose columns are the colnames; see
    :func:`pyreterms.design.dataframe.contrast_matrix_value`).

    R's ``contrasts<-`` looks a character value up as a function and calls it, so an unchecked name
    (``file.remove``) would run arbitrary R code: nothing else may reach R.
    """
    if not isinstance(contrasts, Mapping):
        raise ValueError("contrasts must map factor names to contrast names (contr.treatment, ...)")
    out: list = []
    names = {}
    for k, v in contrasts.items():
        if isinstance(k, str) and k and not isinstance(v, str) and contrast_matrix_value(v) is not None:
            out.append((k, v))  # a finite numeric matrix: data, not a function name
        elif isinstance(v, str) or not isinstance(k, str):
            names[k] = v
        else:
            raise ValueError(f"contrasts {k!r}={type(v).__name__!r} not allowed: use a numeric matrix or "
                             "one of contr.treatment, contr.sum, contr.helmert, contr.poly, contr.SAS")
    return out + check_contrasts(names)


def checked_formula(formula: str) -> None:
    """Refuse, before R is called, a formula R cannot take: deeper than lme4 survives (the R embedded
    by rpy2 runs without C stack checks and would crash).  R's own parser refuses too many nested
    brackets itself ("contextstack overflow"), so that is left to R.  Raises
    :class:`pyreterms.errors.FormulaError` (one line).  Functions outside the allowlist are
    left to ``pyreterms_disallowed()`` in reference.R (same list, reported as R's refusal)."""
    if isinstance(formula, str):
        try:
            parse(formula)
        except Exception as e:  # noqa: BLE001 - only the depth refusals stop us; R reports the rest
            if isinstance(e, FormulaError) and "too deeply nested" in str(e):
                raise
