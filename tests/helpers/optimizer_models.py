"""The built-in-data lmer models on which the ported optimizers (Nelder_Mead, minqa's bobyqa, nlminb) are run
against lme4's: (formula, data set, REML), with parametrize ids."""
from __future__ import annotations

MODELS = [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", True),
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", False),
    ("Yield ~ 1 + (1 | Batch)", "Dyestuff", True),
    ("Yield ~ 1 + (1 | Batch)", "Dyestuff2", True),
    ("diameter ~ 1 + (1 | plate) + (1 | sample)", "Penicillin", True),
    ("strength ~ 1 + (1 | batch/cask)", "Pastes", True),
    ("angle ~ recipe + temperature + (1 | recipe:replicate)", "cake", False),
]
IDS = [f"{m[1]}-{'REML' if m[2] else 'ML'}-{m[0].split('~')[1].strip()[:18]}" for m in MODELS]
