## reference.R -- the R side of the pyreterms parity harness (lme4 1.1-31, Matrix 1.5-3, R 4.2.2).
##
## Usage (also works stand-alone):
##   Rscript -e 'source("r_scripts/reference.R");
##               str(pyreterms_reference("Reaction ~ Days + (Days|Subject)", sleepstudy, level="lformula"))'
##
## pyreterms_reference(formula, data, REML=TRUE, weights=NULL, offset=NULL, contrasts=NULL,
##                     level=c("lformula","fit"), thetas=NULL)
## returns a named list.  THE NAMES ARE THE R EXPRESSIONS whose values are reported; every value is
## a "plain" R object (see pyreterms_plain): NULL, atomic vector (+names), factor, base matrix
## (+dimnames), dgCMatrix (+Dimnames) or a list of those.  A component whose extraction failed holds
## an object of class "pyreterms_error" (a character message).
##
## Meta components (not R expressions):
##   "error"     conditionMessage() of the error that stopped lFormula()/lmer(); or the allowlist
##               refusal "formula uses function 'f' which is not allowed" (then it is the ONLY
##               component: nothing was evaluated); or "cannot parse formula: <msg>".
##   "warnings", "messages"      conditions signalled by lFormula() (character vectors; a message's
##               trailing newline removed).
##   "lmer(): warnings", "lmer(): messages"       the same for the lmer() call (level "fit").
##   "extraction: warnings"      warnings raised while computing the components below (e.g. the
##               deprecation warning of deviance() on a REML fit).
##
## level "lformula" (lf <- lFormula(formula, data, REML, weights, offset, contrasts)):
##   "lFormula()$fr"                    named list of the model-frame columns (matrix columns such as
##                                      poly() stay matrices; factors stay factors)
##   "rownames(lFormula()$fr)"
##   "lFormula()$X"                     dense matrix, dimnames only
##   "attr(lFormula()$X, \"assign\")"
##   "attr(lFormula()$X, \"col.dropped\")"          NULL if no column was dropped
##   "lFormula()$reTrms$Zt" "lFormula()$reTrms$Ztlist" "lFormula()$reTrms$Lambdat"
##   "lFormula()$reTrms$Lind" "lFormula()$reTrms$theta" "lFormula()$reTrms$lower"
##   "lFormula()$reTrms$Gp" "lFormula()$reTrms$cnms" "lFormula()$reTrms$flist"
##   "attr(lFormula()$reTrms$flist, \"assign\")" "lFormula()$reTrms$nl"
##   "lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))"   the J_i (n x l_i), named by
##                                      names(reTrms$Ztlist)
##   "lme4:::mmList(formula, lFormula()$fr)"        computed as lme4:::mmList.formula(lf$formula, lf$fr)
##                                      (the generic does not dispatch from outside the namespace)
##   "lFormula()$formula"               deparse1() of the (||-expanded) formula, one string
##
## level "fit" adds (fit <- lmer(..., control = lmerControl(calc.derivs = TRUE))):
##   "getME(fit, \"<name>\")" for name in X Z Zt Ztlist mmList y mu u b Gp Tp Lambda Lambdat Lind
##       Tlist A RX sigma flist fixef beta theta ST REML is_REML n_rtrms n_rfacs N n p q p_i l_i q_i
##       k m_i m cnms devcomp offset lower         (Matrix objects as dgCMatrix / base matrix)
##   "attr(getME(fit, \"flist\"), \"assign\")"
##   "ldL2(getME(fit, \"L\"))"          = 2 * determinant(getME(fit, "L"), logarithm = TRUE)$modulus
##   "crossprod(getME(fit, \"RZX\"))"   RZX' RZX (independent of CHOLMOD's permutation)
##   "fixef(fit)"
##   "ranef(fit)"                       list (per flist factor) of matrices with dimnames
##   "postVar(ranef(fit, condVar = TRUE))"  per factor: attr(, "postVar") (a p x p x l array) stored
##                                      as a (p*p) x l matrix, column k = as.vector(postVar[, , k]);
##                                      a list of such matrices when several terms share the factor
##   "coef(fit)"                        list of matrices with dimnames
##   "as.data.frame(VarCorr(fit))"      list of columns grp var1 var2 vcov sdcor
##   "sigma(fit)" "logLik(fit)" (the number) "attr(logLik(fit), \"df\")"
##   "deviance(fit)"                    NB lme4 1.1-31: for a REML fit this WARNS and returns the REML
##                                      criterion (devCrit(fit, REML = TRUE)); warning recorded in
##                                      "extraction: warnings"
##   "deviance(fit, REML = FALSE)"      ML deviance at the fitted parameters (any fit)
##   "REMLcrit(fit)" "AIC(fit)" "BIC(fit)" "fitted(fit)" "residuals(fit)" "isSingular(fit)"
##   "vcov(fit)"                        base matrix
##   "predict(fit)" "predict(fit, re.form = NA)"  named vectors (NA-padded under na.exclude)
##   "predict(fit, newdata = nd, allow.new.levels = TRUE)" "predict(fit, newdata = nd, re.form = NA)"
##                                      nd = pyreterms_newdata(data, lFormula()$fr, formula)
##   "simulate(fit, nsim = 2, seed = 101)"  as.matrix of the data frame sim_1, sim_2
##   "hatvalues(fit)" "confint(fit, method = \"Wald\")" "anova(fit)" (as.matrix) "coef(summary(fit))"
##   "predict(fit, re.form = rf)" "predict(fit, newdata = ndv, re.form = rf, allow.new.levels = TRUE)"
##                                      verb_variant = list(re_form = "NULL" | "NA" | "~0" | "~(bar)",
##                                      new_level = TRUE/FALSE) (parity/r/verbvariant.py); ndv is nd,
##                                      without the new-level row when new_level is FALSE;
##                                      "predict(fit, re.form = rf)" is NULL when rf is a formula with bar
##                                      terms and the fit dropped rows (lme4 uses getData(fit) there)
##   "fit@optinfo$feval" "fit@optinfo$conv$lme4$messages" "fit@optinfo$warnings"
##   "fit@optinfo$conv$opt" "fit@optinfo$message"
##   "harness: weights(fit)"            prior weights of the fitted rows (not compared: parity uses them
##                                      for the conditioning bound of at-theta components)
##   then devfun <- getME(fit, "devfun") evaluated (AFTER everything above: it mutates the fit) at
##   TH = "theta" (the fitted theta, copied with + 0) and at each thetas[[k]], TH = "thetas[[k]]":
##   "devfun(TH)"                       the objective (REML criterion or ML deviance)
##   "devfun(TH); pp$beta(1)" "devfun(TH); pp$u(1)" "devfun(TH); pp$b(1)"   (b = Lambda u)
##   "devfun(TH); resp$mu" "devfun(TH); pp$ldL2()" "devfun(TH); pp$ldRX2()" "devfun(TH); pp$sqrL(1)"
##   "devfun(TH); resp$wrss()" "devfun(TH); pwrss"     (pwrss = resp$wrss() + pp$sqrL(1))
##   and for each thetas[[k]] the criteria of lmer(..., start = list(theta = thetas[[k]]),
##   control = lmerControl(optimizer = NULL)) (lme4's fit AT that theta, no optimization):
##   "at(thetas[[k]]): deviance(fit)" "... REMLcrit(fit)" "... logLik(fit)" "... AIC(fit)" "... BIC(fit)"
##   and, for each k in noisy_seeds, lme4 against itself: lmer() exactly as lme4 runs it
##   (optimizeLmer, checkConv, mkMerMod) but with every devfun value multiplied by (1 + e * 2^-52),
##   e drawn from {-1, 0, 1} after set.seed(k) -- one rounding step of noise, as a different but
##   equally exact implementation of the deviance has:
##   "lmer(noisy devfun k): criterion"   REMLcrit (REML) or deviance (ML) of that fit
##   "lmer(noisy devfun k): X" for X in "lmer(): warnings" "lmer(): messages"
##   "fit@optinfo$conv$lme4$messages" "fit@optinfo$warnings" "isSingular(fit)" (derivatives computed)
##
## Collation: character data are collated in the C locale (byte order == Python's sorted()).

invisible(Sys.setlocale("LC_COLLATE", "C"))
suppressPackageStartupMessages(library(lme4))

## The allowlist (pyreterms_allowed_functions, _namespaced, _constants, _contrasts,
## pyreterms_formula_imports) is generated from pyreterms/formula/allowlist.py into allowlist.R next to this
## file; parity.rsession assigns the same vectors again from Python right after sourcing this file.
local({
  here <- NULL
  for (fr in rev(sys.frames())) if (!is.null(fr$ofile)) { here <- dirname(fr$ofile); break }
  cands <- c(if (!is.null(here)) file.path(here, "allowlist.R"), file.path("r_scripts", "allowlist.R"))
  ok <- cands[file.exists(cands)]
  if (!length(ok)) stop("reference.R: allowlist.R not found next to reference.R")
  sys.source(ok[1L], envir = globalenv())
})

## NULL if `contrasts` is NULL or a named list/character vector of allowed contrast names, else the
## reason for refusing it.
pyreterms_bad_contrasts <- function(contrasts) {
  if (is.null(contrasts)) return(NULL)
  if (!(is.list(contrasts) || is.character(contrasts)) || is.null(names(contrasts)) ||
      any(!nzchar(names(contrasts))))
    return("contrasts must be a named list of contrast function names")
  for (v in contrasts) {
    if (is.matrix(v) && is.double(v) && length(v) > 0L && all(is.finite(v))) next  # a numeric contrasts matrix
    if (!is.character(v) || length(v) != 1L || !(v %in% pyreterms_allowed_contrasts))
      return(sprintf("contrasts %s not allowed (allowed: %s)",
                     if (is.character(v)) paste0("'", v[1L], "'") else "of this type",
                     paste(pyreterms_allowed_contrasts, collapse = ", ")))
  }
  NULL
}

## The first function used in `expr` that is not in the allowlist (as a string), or NULL.
## Nothing is evaluated: this only walks the parse tree.
pyreterms_disallowed <- function(expr) {
  if (is.call(expr)) {
    head <- expr[[1L]]
    if (is.symbol(head)) {
      fn <- as.character(head)
      if (!(fn %in% pyreterms_allowed_functions)) return(fn)
    } else if (is.call(head) && identical(head[[1L]], as.name("::")) && length(head) == 3L &&
               is.symbol(head[[2L]]) && is.symbol(head[[3L]])) {
      fn <- paste(as.character(head[[2L]]), as.character(head[[3L]]), sep = "::")
      if (!(fn %in% pyreterms_allowed_namespaced)) return(fn)
    } else {
      bad <- pyreterms_disallowed(head)
      return(if (is.null(bad)) "<anonymous function>" else bad)
    }
    args <- as.list(expr)[-1L]
    for (a in args) {
      if (missing(a)) next
      bad <- pyreterms_disallowed(a)
      if (!is.null(bad)) return(bad)
    }
    return(NULL)
  }
  if (is.symbol(expr) || is.null(expr) || (is.atomic(expr) && length(expr) == 1L)) return(NULL)
  "<non-constant object>"
}

## Strip an R object down to plain pieces (see header); recursive on lists.
pyreterms_plain <- function(x) {
  if (is.null(x)) return(NULL)
  if (inherits(x, "pyreterms_error")) return(x)
  if (is(x, "sparseMatrix")) {
    x <- as(as(as(x, "CsparseMatrix"), "generalMatrix"), "dMatrix")
    return(x)
  }
  if (is(x, "denseMatrix")) return(pyreterms_plain(as(x, "matrix")))
  if (is.factor(x)) {
    return(structure(as.integer(x), levels = levels(x),
                     class = if (is.ordered(x)) c("ordered", "factor") else "factor"))
  }
  if (is.data.frame(x)) return(lapply(as.list(x), pyreterms_plain))
  if (is.list(x)) {
    nm <- names(x)
    x <- lapply(unclass(x), pyreterms_plain)
    names(x) <- nm
    return(x)
  }
  if (is.atomic(x)) {
    d <- dim(x); dn <- dimnames(x); nm <- names(x)
    attributes(x) <- NULL
    if (!is.null(d)) {
      dim(x) <- d
      if (!is.null(dn)) dimnames(x) <- dn
    } else if (!is.null(nm)) names(x) <- nm
    return(x)
  }
  structure(paste("cannot represent an object of class", paste(class(x), collapse = "/")),
            class = "pyreterms_error")
}

## TRUE for the error R signals when setTimeLimit() fires (parity.r.session's call_safely).
pyreterms_timed_out <- function(e) grepl("reached (elapsed|CPU) time limit", conditionMessage(e))

## An error handler that keeps the error as a value, except a time limit: R clears the limit
## when it fires, so catching it here would let the rest of the call run unlimited.
pyreterms_caught <- function(e) if (pyreterms_timed_out(e)) stop(e) else e

## A stand-in value for a component whose computation failed (a time limit is re-signalled).
pyreterms_failed <- function(e) {
  if (pyreterms_timed_out(e)) stop(e)
  structure(conditionMessage(e), class = "pyreterms_error")
}

## A fresh collector for pyreterms_collect: an environment holding the character vectors
## `warnings` and `messages`.
pyreterms_conditions <- function() {
  env <- new.env()
  env$warnings <- character()
  env$messages <- character()
  env
}

## The formula of a reference call, checked and placed in a private environment (shared by
## pyreterms_reference and glmm_reference.R's pyreterms_glmm_reference): list(error = msg) for a formula
## that does not parse, uses a function outside the allowlist, or is not `~ ...`; else list(f, fenv).
## fenv holds data/weights/offset as ..pyreterms_data.. etc., so they cannot be confused with data
## columns or the caller's locals; its parent sees exactly the allowlisted functions of packages lme4
## does not attach (ns, bs: as a user who wrote library(splines) has), and nothing else of them.
pyreterms_formula_env <- function(formula, data, weights, offset) {
  ftxt <- if (is.character(formula)) paste(formula, collapse = " ") else deparse1(formula)
  fexpr <- tryCatch(str2lang(ftxt), error = pyreterms_caught)
  if (inherits(fexpr, "error"))
    return(list(error = paste("cannot parse formula:", conditionMessage(fexpr))))
  bad <- pyreterms_disallowed(fexpr)
  if (!is.null(bad))
    return(list(error = sprintf("formula uses function '%s' which is not allowed", bad)))
  if (!is.call(fexpr) || !identical(fexpr[[1L]], as.name("~")))
    return(list(error = "formula must be a formula (an expression with '~')"))
  imports <- new.env(parent = globalenv())
  for (fn in names(pyreterms_formula_imports))
    assign(fn, getExportedValue(pyreterms_formula_imports[[fn]], fn), envir = imports)
  fenv <- new.env(parent = imports)
  assign("..pyreterms_data..", data, envir = fenv)
  assign("..pyreterms_weights..", weights, envir = fenv)
  assign("..pyreterms_offset..", offset, envir = fenv)
  ## `~` does not evaluate its operands; this gives the formula the environment fenv
  list(f = eval(fexpr, fenv), fenv = fenv)
}

## Evaluate `expr` collecting warnings/messages (muffled) into the character vectors
## env$warnings / env$messages.  Errors propagate.
## Checks the caller's time limit (option pyreterms.deadline, set by parity.r.session's
## call_safely) and arms setTimeLimit() again with what is left: code that swallowed the limit's
## error (a try() inside a package) cleared it, and every component starts here.
pyreterms_deadline <- function() {
  d <- getOption("pyreterms.deadline")
  if (is.null(d)) return(invisible(NULL))
  left <- d - proc.time()[["elapsed"]]
  if (left <= 0) stop("reached elapsed time limit")
  setTimeLimit(elapsed = left, transient = TRUE)
}

pyreterms_collect <- function(expr, env) {
  pyreterms_deadline()
  withCallingHandlers(expr,
    warning = function(w) {
      env$warnings <- c(env$warnings, conditionMessage(w))
      invokeRestart("muffleWarning")
    },
    message = function(m) {
      env$messages <- c(env$messages, sub("\n$", "", conditionMessage(m)))
      invokeRestart("muffleMessage")
    })
}

pyreterms_postvar <- function(re) {
  lapply(re, function(d) {
    pv <- attr(d, "postVar")
    tomat <- function(a) { dd <- dim(a); matrix(as.vector(a), nrow = dd[1] * dd[2], ncol = dd[3]) }
    if (is.list(pv)) lapply(pv, tomat) else tomat(pv)
  })
}

## The new data of the newdata components ("predict(fit, newdata = nd, ...)"): the first (at most 3)
## rows of `data` that are in the model frame, then a copy of the first of them in which every
## variable of a grouping factor (all.vars of each bar's right-hand side) that the fixed-effects
## part does not use (all.vars(nobars(formula))) takes a level the data
## does not have: "..new.." for factor/character columns, max + 1 for numeric ones (logical ones
## stay).  parity/adapter/pyreterms_verbs.py builds the same rows.
pyreterms_newdata <- function(data, fr, formula, new_level = TRUE) {
  idx <- head(which(rownames(data) %in% rownames(fr)), 3L)
  nd <- data[idx, , drop = FALSE]
  if (!new_level) return(nd)
  nr <- nd[1L, , drop = FALSE]
  gvars <- unique(unlist(lapply(lme4::findbars(formula), function(b) all.vars(b[[3L]]))))
  gvars <- setdiff(gvars, all.vars(lme4::nobars(formula)))  # a new level in X would be an error
  for (v in intersect(gvars, names(data))) {
    x <- nr[[v]]
    if (is.factor(x)) {
      x <- factor(as.character(x), levels = c(levels(x), "..new.."))
      x[] <- "..new.."
      nd[[v]] <- factor(as.character(nd[[v]]), levels = levels(x))
    } else if (is.character(x)) {
      x[] <- "..new.."
    } else if (is.numeric(x)) {
      x[] <- max(data[[v]], na.rm = TRUE) + 1
    }
    nr[[v]] <- x
  }
  rownames(nr) <- "new"
  rbind(nd, nr)
}

## lmer()'s own tail (lme4 1.1-31: optimizeLmer -> checkConv -> mkMerMod) on a devfun whose values
## carry one rounding step of noise; default lmerControl() with calc.derivs = TRUE, as the main fit.
pyreterms_noisy_lmer <- function(mkcall, fenv, lmod, seed, call_args = NULL) {
  dcl <- mkcall("lmer")
  dcl$devFunOnly <- TRUE
  devfun <- eval(dcl, fenv)
  rho <- environment(devfun)
  set.seed(seed)
  rho$..pyreterms_noise.. <- sample(c(-1, 0, 1), 100003L, replace = TRUE) * 2^-52
  rho$..pyreterms_i.. <- 0L
  rho$..pyreterms_devfun.. <- devfun
  nf <- function(theta) {
    ..pyreterms_i.. <<- ..pyreterms_i.. %% length(..pyreterms_noise..) + 1L
    ..pyreterms_devfun..(theta) * (1 + ..pyreterms_noise..[..pyreterms_i..])
  }
  environment(nf) <- rho  # optimizeLmer and mkMerMod read pp, resp, lower from environment(devfun)
  ctrl <- if (is.null(call_args$control)) lme4::lmerControl(calc.derivs = TRUE) else call_args$control
  opt <- if (length(ctrl$optimizer) == 0) {  # optimizer = NULL: lmer evaluates at the start
    s <- lme4:::getStart(call_args$start, rho$pp)
    list(par = s, fval = nf(s), conv = 1000, message = "no optimization")
  } else lme4:::optimizeLmer(nf, optimizer = ctrl$optimizer, restart_edge = ctrl$restart_edge,
                             boundary.tol = ctrl$boundary.tol, control = ctrl$optCtrl, verbose = 0L,
                             start = call_args$start, calc.derivs = ctrl$calc.derivs,
                             use.last.params = ctrl$use.last.params)
  cc <- lme4:::checkConv(attr(opt, "derivs"), opt$par, ctrl = ctrl$checkConv, lbound = rho$lower)
  lme4:::mkMerMod(rho, opt, lmod$reTrms, fr = lmod$fr, mc = dcl, lme4conv = cc)
}

pyreterms_reference <- function(formula, data, REML = TRUE, weights = NULL, offset = NULL,
                                contrasts = NULL, level = c("lformula", "fit"), thetas = NULL,
                                noisy_seeds = integer(0), call_args = NULL, verb_variant = NULL) {
  ## call_args: named list of R values (parity --call: control, start, subset, na.action) added to
  ## every lFormula()/lmer() call below (built by parity/rcall.py from checked pieces only)
  level <- match.arg(level)
  badc <- pyreterms_bad_contrasts(contrasts)
  if (!is.null(badc)) stop(badc)
  fe <- pyreterms_formula_env(formula, data, weights, offset)
  if (!is.null(fe$error)) return(list(error = fe$error))
  f <- fe$f
  fenv <- fe$fenv
  ## devFunOnly = TRUE: every call below stays a fit; lmer(devFunOnly = TRUE) is called once, at the end
  ## (a value lmer itself refuses -- devFunOnly = "x", verbose = "a" -- stays in the call: lmer says so)
  dev_fun_only <- FALSE
  if (!is.null(call_args$devFunOnly)) {
    dfo <- tryCatch(if (call_args$devFunOnly) TRUE else FALSE, error = function(e) NA)
    if (!is.na(dfo)) {
      dev_fun_only <- dfo
      call_args$devFunOnly <- NULL
    }
  }
  ## verbose = N: the fits below stay quiet; one more lmer(verbose = N) is captured at the end
  verbose_n <- NULL
  if (!is.null(call_args$verbose)) {
    vn <- tryCatch(suppressWarnings(as.integer(call_args$verbose)), error = function(e) NA_integer_)
    if (length(vn) == 1L && !is.na(vn)) {
      verbose_n <- vn
      call_args$verbose <- NULL
    }
  }
  mkcall <- function(fun) {
    cl <- call(fun, formula = f, data = as.name("..pyreterms_data.."), REML = REML)
    cl[[1L]] <- call("::", as.name("lme4"), as.name(fun))
    if (!is.null(weights)) cl$weights <- as.name("..pyreterms_weights..")
    if (!is.null(offset)) cl$offset <- as.name("..pyreterms_offset..")
    if (!is.null(contrasts)) cl$contrasts <- contrasts
    for (nm in names(call_args)) cl[[nm]] <- call_args[[nm]]
    cl
  }

  out <- list()
  cond <- pyreterms_conditions()
  lf <- tryCatch(pyreterms_collect(eval(mkcall("lFormula"), fenv), cond), error = pyreterms_caught)
  if (inherits(lf, "error")) {
    return(list(error = conditionMessage(lf), warnings = cond$warnings, messages = cond$messages))
  }
  xcond <- pyreterms_conditions()
  put <- function(name, expr) {
    val <- tryCatch(pyreterms_collect(pyreterms_plain(expr), xcond), error = pyreterms_failed)
    out[name] <<- list(val)
  }
  rt <- lf$reTrms
  put("lFormula()$fr", as.list(lf$fr))
  put("rownames(lFormula()$fr)", rownames(lf$fr))
  put("lFormula()$X", lf$X)
  put("attr(lFormula()$X, \"assign\")", attr(lf$X, "assign"))
  put("attr(lFormula()$X, \"col.dropped\")", attr(lf$X, "col.dropped"))
  for (nm in c("Zt", "Ztlist", "Lambdat", "Lind", "theta", "lower", "Gp", "cnms", "flist"))
    put(paste0("lFormula()$reTrms$", nm), rt[[nm]])
  put("attr(lFormula()$reTrms$flist, \"assign\")", attr(rt$flist, "assign"))
  put("lFormula()$reTrms$nl", rt$nl)
  put("lapply(reTrms$flist[assign], function(f) t(fac2sparse(f)))",
      setNames(lapply(rt$flist[attr(rt$flist, "assign")], function(f) t(fac2sparse(f))),
               names(rt$Ztlist)))
  put("lme4:::mmList(formula, lFormula()$fr)", lme4:::mmList.formula(lf$formula, lf$fr))
  put("lFormula()$formula", deparse1(lf$formula))
  out[["warnings"]] <- cond$warnings
  out[["messages"]] <- cond$messages
  if (level == "lformula") {
    out[["extraction: warnings"]] <- xcond$warnings
    return(out)
  }

  fcond <- pyreterms_conditions()
  fcl <- mkcall("lmer")
  if (is.null(call_args$control)) fcl$control <- quote(lme4::lmerControl(calc.derivs = TRUE))
  fit <- tryCatch(pyreterms_collect(eval(fcl, fenv), fcond), error = pyreterms_caught)
  out[["lmer(): warnings"]] <- fcond$warnings
  out[["lmer(): messages"]] <- fcond$messages
  if (inherits(fit, "error")) {
    out[["error"]] <- conditionMessage(fit)
    out[["extraction: warnings"]] <- xcond$warnings
    return(out)
  }
  getme_names <- c("X", "Z", "Zt", "Ztlist", "mmList", "y", "mu", "u", "b", "Gp", "Tp", "Lambda",
                   "Lambdat", "Lind", "Tlist", "A", "RX", "sigma", "flist", "fixef", "beta",
                   "theta", "ST", "REML", "is_REML", "n_rtrms", "n_rfacs", "N", "n", "p", "q",
                   "p_i", "l_i", "q_i", "k", "m_i", "m", "cnms", "devcomp", "offset", "lower")
  for (nm in getme_names) put(sprintf("getME(fit, \"%s\")", nm), getME(fit, nm))
  put("attr(getME(fit, \"flist\"), \"assign\")", attr(getME(fit, "flist"), "assign"))
  put("ldL2(getME(fit, \"L\"))", 2 * as.numeric(determinant(getME(fit, "L"), logarithm = TRUE)$modulus))
  put("crossprod(getME(fit, \"RZX\"))", crossprod(getME(fit, "RZX")))
  put("fixef(fit)", fixef(fit))
  put("ranef(fit)", lapply(ranef(fit, condVar = FALSE), as.matrix))
  put("postVar(ranef(fit, condVar = TRUE))", pyreterms_postvar(ranef(fit, condVar = TRUE)))
  put("coef(fit)", lapply(coef(fit), as.matrix))
  put("as.data.frame(VarCorr(fit))", as.data.frame(VarCorr(fit)))
  put("sigma(fit)", sigma(fit))
  put("logLik(fit)", as.numeric(logLik(fit)))
  put("attr(logLik(fit), \"df\")", attr(logLik(fit), "df"))
  put("deviance(fit)", deviance(fit))
  put("deviance(fit, REML = FALSE)", deviance(fit, REML = FALSE))
  put("REMLcrit(fit)", REMLcrit(fit))
  put("AIC(fit)", AIC(fit))
  put("BIC(fit)", BIC(fit))
  put("fitted(fit)", fitted(fit))
  put("residuals(fit)", residuals(fit))
  put("isSingular(fit)", isSingular(fit))
  put("vcov(fit)", as.matrix(vcov(fit)))
  ## the verbs (issue 14), at the fitted parameters
  nd <- tryCatch(pyreterms_newdata(data, lf$fr, lf$formula), error = pyreterms_caught)
  put("predict(fit)", predict(fit))
  put("predict(fit, re.form = NA)", predict(fit, re.form = NA))
  put("predict(fit, newdata = nd, allow.new.levels = TRUE)", predict(fit, newdata = nd, allow.new.levels = TRUE))
  put("predict(fit, newdata = nd, re.form = NA)", predict(fit, newdata = nd, re.form = NA))
  ## the variant (parity/r/verbvariant.py: re.form text made once for both sides, new-level row or not)
  vv <- if (is.null(verb_variant)) list(re_form = "NULL", new_level = TRUE) else verb_variant
  rf <- switch(vv$re_form, "NULL" = NULL, "NA" = NA, eval(str2lang(vv$re_form), fenv))
  ndv <- tryCatch(pyreterms_newdata(data, lf$fr, lf$formula, vv$new_level), error = pyreterms_caught)
  ## lme4 1.1-31 takes a re.form formula's random part from getData(fit), all rows of the data: on a fit
  ## that dropped rows (subset, NA) it stops or recycles (README "Known differences"): NULL there
  getdata_rows <- inherits(rf, "formula") && length(lme4::findbars(rf)) > 0 && nrow(lf$fr) < nrow(data)
  put("predict(fit, re.form = rf)", if (getdata_rows) NULL else predict(fit, re.form = rf))
  put("predict(fit, newdata = ndv, re.form = rf, allow.new.levels = TRUE)",
      predict(fit, newdata = ndv, re.form = rf, allow.new.levels = TRUE))
  put("simulate(fit, nsim = 2, seed = 101)", as.matrix(simulate(fit, nsim = 2, seed = 101)))
  put("hatvalues(fit)", hatvalues(fit))
  put("confint(fit, method = \"Wald\")", confint(fit, method = "Wald"))
  put("anova(fit)", as.matrix(anova(fit)))
  put("coef(summary(fit))", coef(summary(fit)))
  put("fit@optinfo$feval", fit@optinfo$feval)
  put("fit@optinfo$conv$lme4$messages", fit@optinfo$conv$lme4$messages)
  put("fit@optinfo$warnings", fit@optinfo$warnings)
  put("fit@optinfo$conv$opt", fit@optinfo$conv$opt)
  put("fit@optinfo$message", fit@optinfo$message)
  out[["harness: weights(fit)"]] <- as.numeric(weights(fit))  # for parity's conditioning bound

  ## devfun last: calling it changes the state shared with `fit`.
  devfun <- getME(fit, "devfun")
  pp <- environment(devfun)$pp
  resp <- environment(devfun)$resp
  at <- list(theta = getME(fit, "theta") + 0)
  for (k in seq_along(thetas)) at[[sprintf("thetas[[%d]]", k)]] <- as.numeric(thetas[[k]]) + 0
  for (th in names(at)) {
    lab <- sprintf("devfun(%s)", th)
    put(lab, devfun(at[[th]] + 0))
    put(paste0(lab, "; pp$beta(1)"), pp$beta(1))
    put(paste0(lab, "; pp$u(1)"), pp$u(1))
    put(paste0(lab, "; pp$b(1)"), pp$b(1))
    put(paste0(lab, "; resp$mu"), resp$mu + 0)
    put(paste0(lab, "; pp$ldL2()"), pp$ldL2())
    put(paste0(lab, "; pp$ldRX2()"), pp$ldRX2())
    put(paste0(lab, "; pp$sqrL(1)"), pp$sqrL(1))
    put(paste0(lab, "; resp$wrss()"), resp$wrss())
    put(paste0(lab, "; pwrss"), resp$wrss() + pp$sqrL(1))
  }
  if (dev_fun_only) {
    dcl <- mkcall("lmer")
    dcl$devFunOnly <- TRUE
    th <- getME(fit, "theta") + 0
    pts <- list(th, th / 2, 2 * th, lf$reTrms$theta + 0)
    put("vapply(list(theta, theta/2, 2*theta, lFormula()$reTrms$theta), lmer(devFunOnly = TRUE), 0)",
        { dfo <- eval(dcl, fenv); vapply(pts, function(p) dfo(p + 0), 0) })
  }
  if (length(verbose_n) && verbose_n > 0) {
    vcl <- mkcall("lmer")
    vcl$verbose <- verbose_n
    put("capture.output(lmer(..., verbose = N))",
        capture.output(invisible(suppressWarnings(suppressMessages(eval(vcl, fenv))))))
  }
  ## lme4's own criteria of a fit AT each thetas[[k]] (lmer(start = , optimizer = NULL): no
  ## optimization, opt$fval = devfun(start)): "at(thetas[[k]]): <name>" for the criterion components
  for (k in seq_along(thetas)) {
    fcl0 <- mkcall("lmer")
    fcl0$control <- quote(lme4::lmerControl(optimizer = NULL))
    if (!is.null(call_args$control)) {  # the caller's checks, no optimization
      ctl0 <- call_args$control
      ctl0["optimizer"] <- list(NULL)
      fcl0$control <- ctl0
    }
    fcl0$start <- list(theta = as.numeric(thetas[[k]]))
    fit0 <- tryCatch(suppressWarnings(suppressMessages(eval(fcl0, fenv))), error = pyreterms_caught)
    pre <- sprintf("at(thetas[[%d]]): ", k)
    if (inherits(fit0, "error")) {
      out[[paste0(pre, "error")]] <- conditionMessage(fit0)
      next
    }
    put(paste0(pre, "deviance(fit)"), suppressWarnings(deviance(fit0)))
    put(paste0(pre, "REMLcrit(fit)"), REMLcrit(fit0))
    put(paste0(pre, "logLik(fit)"), as.numeric(logLik(fit0)))
    put(paste0(pre, "AIC(fit)"), AIC(fit0))
    put(paste0(pre, "BIC(fit)"), BIC(fit0))
  }
  ## lme4 against itself: lmer() whose deviance function carries one rounding step of noise
  ## (see pyreterms_noisy_lmer); "lmer(noisy devfun k): X" per seed k (see header)
  for (k in noisy_seeds) {
    c1 <- pyreterms_conditions()
    fit1 <- tryCatch(pyreterms_collect(pyreterms_noisy_lmer(mkcall, fenv, lf, k, call_args), c1),
                     error = pyreterms_caught)
    pre <- sprintf("lmer(noisy devfun %d): ", k)
    if (inherits(fit1, "error")) {
      out[[paste0(pre, "criterion")]] <- pyreterms_failed(fit1)
      next
    }
    put(paste0(pre, "criterion"), if (isREML(fit1)) REMLcrit(fit1) else deviance(fit1))
    out[[paste0(pre, "lmer(): warnings")]] <- c1$warnings
    out[[paste0(pre, "lmer(): messages")]] <- c1$messages
    put(paste0(pre, "fit@optinfo$conv$lme4$messages"), fit1@optinfo$conv$lme4$messages)
    put(paste0(pre, "fit@optinfo$warnings"), fit1@optinfo$warnings)
    put(paste0(pre, "isSingular(fit)"), isSingular(fit1))
  }
  out[["extraction: warnings"]] <- xcond$warnings
  out
}
