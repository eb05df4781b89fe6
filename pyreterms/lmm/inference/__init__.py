"""Inference after an lmer fit (lme4 1.1-31's ``anova``, ``confint``, ``profile``, ``ranef(condVar = TRUE)``).

Modules: :mod:`.condvar` (conditional variances of the random effects), :mod:`.refit` (``refitML``),
:mod:`.anova` (``anova.merMod``), :mod:`.interpspline` (R's ``splines::interpSpline``/``backSpline``),
:mod:`.profile` (``profile.merMod``), :mod:`.confint` (``confint.merMod``, ``confint.thpr``).
None imports :mod:`pyreterms.lmm.fit` (whose methods call these functions): a fit is read through
the :class:`~pyreterms.lmm.inference.fitview.InferenceFit` protocol.
"""
