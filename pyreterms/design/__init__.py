"""The design of an LMM: data frames read as R reads them, the model frame, contrasts, the fixed-effects
model matrix with its rank check, and reTrms -- together ``lFormula``."""
