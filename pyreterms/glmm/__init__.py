"""GLMMs: lme4's glFormula and glmer (R: ``lme4::glFormula``, ``lme4::glmer``)."""
