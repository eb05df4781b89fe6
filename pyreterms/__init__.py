"""pyreterms: lme4's random-effects terms and linear mixed models in Python.

``lformula`` mirrors ``lme4::lFormula``; ``lmer`` mirrors ``lme4::lmer``.  Nothing here imports R.
"""
from pyreterms.datasets import load_dataset
from pyreterms.design.lformula import lformula
from pyreterms.design.model import FixedX, LFormula, ModelFrame, ReTerm, ReTrms
from pyreterms.errors import DataError, FormulaError, LmeCheckError, LmeMessage, LmeWarning, PyretermsError
from pyreterms.explainer import explain
from pyreterms.formula.parser import parse as parse_r  # R expression reader (explain --subset)
from pyreterms.formula.values import Factor
from pyreterms.glmm.control import GlmerControl, glmerControl
from pyreterms.glmm.family import Gamma, binomial, gaussian, inverse_gaussian, poisson
from pyreterms.glmm.glformula import GLFormula, glformula
from pyreterms.glmm.glmer import GlmerFit, glmer
from pyreterms.lmm.control import LmerControl, lmerControl
from pyreterms.lmm.fit import lmer
from pyreterms.lmm.inference.anova import AnovaTable, anova
from pyreterms.lmm.inference.condvar import CondRanef
from pyreterms.lmm.inference.confint import confint
from pyreterms.lmm.inference.profile import Profile, profile

__version__ = "0.1.0"

__all__ = ["lformula", "lmer", "lmerControl", "LmerControl",
           "explain", "parse_r", "load_dataset", "LFormula", "ReTrms", "ReTerm", "FixedX",
           "ModelFrame", "Factor", "anova", "confint", "profile", "AnovaTable", "Profile", "CondRanef",
           "glformula", "glmer", "glmerControl", "GlmerControl", "GLFormula", "GlmerFit", "binomial", "poisson",
           "Gamma", "inverse_gaussian",
           "gaussian", "PyretermsError", "FormulaError", "DataError", "LmeCheckError", "LmeWarning", "LmeMessage"]
