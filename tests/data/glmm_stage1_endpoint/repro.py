"""Reproducer: 'getME(gfit, "theta")' differs between pyreterms and lme4 1.1-31 (a GLMM design).

Run from anywhere: python repro.py   (prints the differing components; exits 1 while the difference persists)
"""
import sys
from pathlib import Path

from parity.campaigns.glmm_fuzz import load_glmm_design
from parity.compare.glmm_check import check_glmm
from parity.report.text import print_table

HERE = Path(__file__).resolve().parent
design = load_glmm_design(HERE)
print("formula:", design.formula, "| family:", design.family, design.link, "| nAGQ:", design.nAGQ,
      "| n =", design.n, "| weights:", design.weights, "| offset:", design.offset)
print(design.data.to_string(max_rows=12))
LEVEL = 'glmer'
rep = check_glmm(design.formula, design.data, level=LEVEL, **design.glmm_args())
print_table(rep, show_ok=False)
failing = [c.name for c in rep.components if not c.ok]
print("STILL DIFFERS:" if failing else "AGREES NOW", failing)
sys.exit(1 if failing else 0)
