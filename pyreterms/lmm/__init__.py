"""The LMM fit: term layout and Gram blocks, the blocked and one-shot Cholesky factorizations of
Omega(theta), the profiled deviance, the optimizers, ``lmer`` and its summary."""
