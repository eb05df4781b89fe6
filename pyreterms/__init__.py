"""pyreterms: lme4's random-effects terms and linear mixed models in Python.

``lformula`` mirrors ``lme4::lFormula``; ``lmer`` mirrors ``lme4::lmer``.  Nothing here imports R.
"""
from .errors import DataError, FormulaError, LmeCheckError, LmeMessage, LmeWarning, PyretermsError
from .lformula import lformula
from .rlang import parse as parse_r  # R expression reader (used by explain --subset)
from .types import Factor, FixedX, LFormula, ModelFrame, ReTerm, ReTrms

__version__ = "0.1.0"

__all__ = ["lformula", "lmer", "explain", "parse_r", "load_dataset", "LFormula", "ReTrms", "ReTerm", "FixedX", "ModelFrame", "Factor",
           "PyretermsError", "FormulaError", "DataError", "LmeCheckError", "LmeWarning", "LmeMessage"]


def __getattr__(name: str):
    if name == "lmer":
        from .fit import lmer as _lmer  # type: ignore[attr-defined]
        return _lmer
    if name == "explain":
        from .explainer import explain as _explain
        return _explain
    if name == "load_dataset":
        from .datasets import load_dataset as _ld
        return _ld
    raise AttributeError(name)
