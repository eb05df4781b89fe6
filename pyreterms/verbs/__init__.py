"""lme4's everyday verbs after a fit: predict, simulate, refit/update, bootMer, the accessors (fitted,
residuals, nobs, ...), the short repr and the structured summary."""
