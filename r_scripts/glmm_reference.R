## glmm_reference.R -- the GLMM side of the pyreterms parity harness (lme4 1.1-31, R 4.2.2).
## Sourced after reference.R (uses pyreterms_disallowed, pyreterms_plain, pyreterms_failed,
## pyreterms_collect, pyreterms_conditions, pyreterms_formula_env and the allowlist vectors defined there).
##
## pyreterms_glmm_reference(formula, data, family, link = NULL, nAGQ = 1L, weights = NULL,
##                          offset = NULL, level = c("glformula", "glmer"), pars = NULL, extra = NULL,
##                          stage1 = NULL, converged_tol = NULL, devfun0_at = NULL, stage1_theta = FALSE)
## (extra: a named list of further glmer arguments, R values or expressions over the data, from
##  `parity check --call 'glmer(...)'`; glFormula gets those it takes; stage1: a theta that stage 1's
##  optimizer returns in place of minqa's bobyqa, pyreterms_fixed_stage1)
## returns a named list; THE NAMES ARE THE R EXPRESSIONS (parity/components.py registers each):
##
## level "glformula" (glf <- glFormula(formula, data, family, weights, offset)):
##   "glFormula()$fr" "rownames(glFormula()$fr)" "glFormula()$X" "attr(glFormula()$X, \"assign\")"
##   "glFormula()$reTrms$<nm>" for nm in Zt Ztlist Lambdat Lind theta lower Gp cnms flist nl
##   "glFormula()$formula"
##   "mkRespMod(glFormula()$fr, family)$<nm>" for nm in y weights offset n: the response module lme4
##       builds from the frame (y rewritten by family$initialize: proportions for cbind; weights =
##       prior weights times binomial totals)
##   "glFormula(): warnings" "glFormula(): messages"
## level "glmer" adds (gfit <- glmer(..., nAGQ), default glmerControl()):
##   "glmer(): warnings" "glmer(): messages"
##   "getME(gfit, \"theta\")" "getME(gfit, \"beta\")" "fixef(gfit)" "ranef(gfit)" "coef(gfit)"
##   "postVar(ranef(gfit, condVar = TRUE))" (as reference.R's postVar) "as.data.frame(VarCorr(gfit))"
##   "sigma(gfit)" "deviance(gfit)" "logLik(gfit)" "attr(logLik(gfit), \"df\")" "AIC(gfit)" "BIC(gfit)"
##   "fitted(gfit)" "residuals(gfit, type = \"<t>\")" for t in deviance pearson working response
##   "predict(gfit, type = \"link\")" "predict(gfit, type = \"response\")" "vcov(gfit)"
##   "getME(gfit, \"u\")" "getME(gfit, \"b\")" "getME(gfit, \"mu\")" "isSingular(gfit)"
##   "gfit@optinfo$conv$lme4$messages"
##   then lme4's deviance function of the last stage, df <- glmer(..., nAGQ, devFunOnly = TRUE)
##   (for nAGQ >= 1: after stage 1, exactly the function glmer's stage 2 minimizes):
##   "harness: lp0"            environment(df)$lp0 (its PIRLS start; pyreterms' glmer_at takes it)
##   "harness: pars"           lme4's opt$par: c(theta, beta) (theta for nAGQ = 0)
##   "harness: fval"           lme4's optimum, gfit@devcomp$cmp[["dev"]]
##   "harness: Hessian"        gfit@optinfo$derivs$Hessian (deriv12 at opt$par: the bound on vcov's rounding)
## with stage1_theta = TRUE (nAGQ >= 1):
##   "harness: stage1 theta"   stage 1's opt$par (pp$theta of the devFunOnly devfun)
## with converged_tol: df with rho$tolPwrss <- converged_tol at opt$par and at each pars[[k]]:
##   "harness: converged gdevfun(pars)"  "harness: converged gdevfun(pars[[k]])"
## with devfun0_at (a list of thetas; any level but glformula, before the fit):
##   "harness: devfun0(at[[k]])"  glmer(nAGQ = 0, devFunOnly = TRUE)'s function there, or its stop
##   "gdevfun(pars)"           df(lme4's opt$par)
##   and for each pars[[k]] given (another implementation's optimum, for parity's GLMM theta rule):
##   "gdevfun(pars[[k]])"  df(pars[[k]])   "gdevfun(pars[[k]]); resp$resDev()"  the deviance there

pyreterms_glmm_family <- function(family, link = NULL) {
  if (!(family %in% c("binomial", "poisson", "Gamma", "inverse.gaussian", "gaussian")))
    stop(sprintf("family '%s' not supported (binomial, poisson, Gamma, inverse.gaussian, gaussian)", family))
  fn <- get(family, mode = "function", envir = asNamespace("stats"))
  if (is.null(link)) fn() else fn(link = link)
}

## glmer's stage-1 optimizer replaced by one that returns `theta` (another implementation's stage-1 optimum):
## optwrap, its final fn(opt$par), updateGlmerDevfun and stage 2 then run as lme4's glmer runs them, from the
## state lme4's own PIRLS reaches at that theta (parity.campaigns.glmm_explain: the stage-1 endpoint rule)
pyreterms_fixed_stage1 <- function(theta) {
  theta <- as.numeric(theta)
  function(fn, par, lower, upper, control, ...) {
    list(par = theta, fval = fn(theta), conv = 0L, feval = 1L, message = NULL)
  }
}

pyreterms_glmm_reference <- function(formula, data, family, link = NULL, nAGQ = 1L, weights = NULL,
                                     offset = NULL, level = c("glformula", "glmer"), pars = NULL,
                                     extra = NULL, stage1 = NULL, converged_tol = NULL,
                                     devfun0_at = NULL, stage1_theta = FALSE) {
  level <- match.arg(level)
  if (!is.null(stage1)) {
    if (!is.null(extra$control)) return(list(error = "stage1 is given with glmerControl's defaults only"))
    extra$control <- lme4::glmerControl(optimizer = list(pyreterms_fixed_stage1(stage1), "Nelder_Mead"))
  }
  fe <- pyreterms_formula_env(formula, data, weights, offset)
  if (!is.null(fe$error)) return(list(error = fe$error))
  f <- fe$f
  fenv <- fe$fenv
  fam <- tryCatch(pyreterms_glmm_family(family, link), error = pyreterms_caught)
  if (inherits(fam, "error")) return(list(error = conditionMessage(fam)))
  assign("..pyreterms_family..", fam, envir = fenv)
  mkcall <- function(fun, with_nagq = TRUE) {
    cl <- call(fun, formula = f, data = as.name("..pyreterms_data.."), family = as.name("..pyreterms_family.."))
    cl[[1L]] <- call("::", as.name("lme4"), as.name(fun))
    if (!is.null(weights)) cl$weights <- as.name("..pyreterms_weights..")
    if (!is.null(offset)) cl$offset <- as.name("..pyreterms_offset..")
    if (with_nagq) cl$nAGQ <- as.integer(nAGQ)
    ## parity check --call 'glmer(...)' (parity/r/glmer_call.py): the call's other arguments, as glmer
    ## passes them on to glFormula (control, start, subset, weights, offset, na.action, contrasts, mustart, etastart)
    keep <- if (fun == "glFormula") intersect(names(extra), c("control", "start", "subset", "weights", "offset",
                                                              "na.action", "contrasts", "mustart", "etastart")) else names(extra)
    for (nm in keep) cl[nm] <- list(extra[[nm]])
    cl
  }
  out <- list()
  cond <- pyreterms_conditions()
  glf <- tryCatch(pyreterms_collect(eval(mkcall("glFormula", FALSE), fenv), cond), error = pyreterms_caught)
  if (inherits(glf, "error"))
    return(list(error = conditionMessage(glf), "glFormula(): warnings" = cond$warnings,
                "glFormula(): messages" = cond$messages))
  xcond <- pyreterms_conditions()
  put <- function(name, expr) {
    val <- tryCatch(pyreterms_collect(pyreterms_plain(expr), xcond), error = pyreterms_failed)
    out[name] <<- list(val)
  }
  G <- "glFormula()"
  rt <- glf$reTrms
  put(paste0(G, "$fr"), as.list(glf$fr))
  put(paste0("rownames(", G, "$fr)"), rownames(glf$fr))
  put(paste0(G, "$X"), glf$X)
  put(paste0("attr(", G, "$X, \"assign\")"), attr(glf$X, "assign"))
  for (nm in c("Zt", "Ztlist", "Lambdat", "Lind", "theta", "lower", "Gp", "cnms", "flist", "nl"))
    put(paste0(G, "$reTrms$", nm), rt[[nm]])
  put(paste0(G, "$formula"), deparse1(glf$formula))
  ## the glformula level is glFormula() and the response module (pyreterms' glformula is both): a stop in
  ## mkRespMod (the family's initialize: Gamma's "non-positive values", ...) is this level's refusal
  resp <- tryCatch(pyreterms_collect(lme4:::mkRespMod(glf$fr, family = fam), cond), error = pyreterms_caught)
  if (inherits(resp, "error"))
    return(list(error = conditionMessage(resp), "glFormula(): warnings" = cond$warnings,
                "glFormula(): messages" = cond$messages))
  for (nm in c("y", "weights", "offset", "n"))
    put(sprintf("mkRespMod(%s$fr, family)$%s", G, nm), resp$field(nm) + 0)
  out[["glFormula(): warnings"]] <- cond$warnings
  out[["glFormula(): messages"]] <- cond$messages
  if (level == "glformula") return(out)
  ## lme4's nAGQ = 0 function (glmer(nAGQ = 0, devFunOnly = TRUE): stage 1's, from the initial PIRLS) at given
  ## thetas, before the fit (which may stop): its value or its stop
  for (k in seq_along(devfun0_at)) {
    if (k == 1L) {
      dcl0 <- mkcall("glmer")
      dcl0$nAGQ <- 0L
      dcl0$devFunOnly <- TRUE
      utils::capture.output(df0 <- tryCatch(suppressWarnings(suppressMessages(eval(dcl0, fenv))),
                                            error = pyreterms_caught))
    }
    out[sprintf("harness: devfun0(at[[%d]])", k)] <- list(
      if (inherits(df0, "error")) pyreterms_failed(df0)
      else tryCatch(df0(as.numeric(devfun0_at[[k]]) + 0), error = pyreterms_failed))
  }

  fcond <- pyreterms_conditions()
  utils::capture.output(gfit <- tryCatch(pyreterms_collect(eval(mkcall("glmer"), fenv), fcond),
                                          error = pyreterms_caught))
  out[["glmer(): warnings"]] <- fcond$warnings
  out[["glmer(): messages"]] <- fcond$messages
  if (inherits(gfit, "error")) {
    out[["error"]] <- conditionMessage(gfit)
    return(out)
  }
  put("getME(gfit, \"theta\")", getME(gfit, "theta"))
  put("getME(gfit, \"beta\")", getME(gfit, "beta"))
  put("fixef(gfit)", fixef(gfit))
  put("ranef(gfit)", lapply(ranef(gfit, condVar = FALSE), as.matrix))
  put("postVar(ranef(gfit, condVar = TRUE))", pyreterms_postvar(ranef(gfit, condVar = TRUE)))
  put("coef(gfit)", lapply(coef(gfit), as.matrix))
  put("as.data.frame(VarCorr(gfit))", as.data.frame(VarCorr(gfit)))
  put("sigma(gfit)", sigma(gfit))
  put("deviance(gfit)", deviance(gfit))
  put("logLik(gfit)", as.numeric(logLik(gfit)))
  put("attr(logLik(gfit), \"df\")", attr(logLik(gfit), "df"))
  put("AIC(gfit)", AIC(gfit))
  put("BIC(gfit)", BIC(gfit))
  put("fitted(gfit)", fitted(gfit))
  for (ty in c("deviance", "pearson", "working", "response"))
    put(sprintf("residuals(gfit, type = \"%s\")", ty), residuals(gfit, type = ty))
  put("predict(gfit, type = \"link\")", predict(gfit, type = "link"))
  put("predict(gfit, type = \"response\")", predict(gfit, type = "response"))
  put("vcov(gfit)", as.matrix(vcov(gfit)))
  put("getME(gfit, \"u\")", getME(gfit, "u"))
  put("getME(gfit, \"b\")", getME(gfit, "b"))
  put("getME(gfit, \"mu\")", getME(gfit, "mu"))
  put("isSingular(gfit)", isSingular(gfit))
  put("gfit@optinfo$conv$lme4$messages", gfit@optinfo$conv$lme4$messages)
  opt_par <- if (nAGQ == 0L) unname(getME(gfit, "theta")) else c(unname(getME(gfit, "theta")),
                                                                   unname(getME(gfit, "beta")))
  out[["harness: pars"]] <- opt_par
  out[["harness: fval"]] <- unname(gfit@devcomp$cmp[["dev"]])
  out[["harness: Hessian"]] <- if (is.null(gfit@optinfo$derivs)) NULL else unname(gfit@optinfo$derivs$Hessian)
  dcl <- mkcall("glmer")
  dcl$devFunOnly <- TRUE
  utils::capture.output(df <- tryCatch(suppressWarnings(suppressMessages(eval(dcl, fenv))),
                                       error = pyreterms_caught))
  if (inherits(df, "error")) {
    out[["gdevfun(pars)"]] <- pyreterms_failed(df)
    return(out)
  }
  rho <- environment(df)
  out[["harness: lp0"]] <- rho$lp0 + 0
  ## stage 1's opt$par: optwrap's final fn(opt$par) left it in pp (before df is called below)
  if (isTRUE(stage1_theta) && nAGQ >= 1L) out[["harness: stage1 theta"]] <- rho$pp$theta + 0
  put("gdevfun(pars)", df(opt_par + 0))
  for (k in seq_along(pars)) {
    lab <- sprintf("gdevfun(pars[[%d]])", k)
    put(lab, df(as.numeric(pars[[k]]) + 0))
    put(paste0(lab, "; resp$resDev()"), rho$resp$resDev())
  }
  ## the same stage-2 function with only its PIRLS tolerance tightened (rho$tolPwrss, which the closure reads):
  ## the Laplace/AGQ value at a converged PIRLS, no longer decided by where pwrss's relative change falls
  ## below tolPwrss (parity.campaigns.glmm_explain: the PIRLS stop rule)
  if (!is.null(converged_tol)) {
    rho$tolPwrss <- as.numeric(converged_tol)
    put("harness: converged gdevfun(pars)", df(opt_par + 0))
    for (k in seq_along(pars))
      put(sprintf("harness: converged gdevfun(pars[[%d]])", k), df(as.numeric(pars[[k]]) + 0))
  }
  out
}
