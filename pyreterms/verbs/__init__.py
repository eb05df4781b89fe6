"""lme4's everyday verbs after a fit (issue 14, part A): predict, simulate, refit/update, bootMer,
the accessors (fitted, residuals, nobs, ...), the short repr and the structured summary."""
