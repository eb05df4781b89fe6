"""pyreterms.lmm.summary -- lme4 1.1-31's ``print(summary(fit))``, line for line, and the pieces it is made
of (R's ``format``, ``zapsmall``), against R's printed text captured once (no R at test time).

The expected text was produced once with Rscript (R 4.2.2, lme4 1.1-31)::

    print(summary(lmer(Reaction ~ Days + (Days | Subject), sleepstudy)))
    print(summary(lmer(Yield ~ 1 + (1 | Batch), Dyestuff, REML = FALSE)))
    print(summary(lmer(angle ~ recipe + temp + (1 | recipe:replicate), cake)))
    format(c(0.1234567, 123.4, -5), digits = 4); format(c(0.5, 0.25, -0.125), digits = 7, nsmall = 3)
    format(c(1527.5, 17.69, 86.33), digits = 4); format(zapsmall(c(-3.95361, 1e-12, 5.1793), 5), digits = 4)
    format(c(1e-10, 1), digits = 4); format(c(123456789, 0.5), digits = 4)
"""
from __future__ import annotations

import numpy as np
import pytest

import pyreterms
from pyreterms.lmm.summary import format_real, zapsmall

SLEEPSTUDY_REML = """\
Linear mixed model fit by REML ['lmerMod']
Formula: Reaction ~ Days + (Days | Subject)
   Data: sleepstudy

REML criterion at convergence: 1743.6

Scaled residuals: 
    Min      1Q  Median      3Q     Max 
-3.9536 -0.4634  0.0231  0.4634  5.1793 

Random effects:
 Groups   Name        Variance Std.Dev. Corr
 Subject  (Intercept) 612.10   24.741       
          Days         35.07    5.922   0.07
 Residual             654.94   25.592       
Number of obs: 180, groups:  Subject, 18

Fixed effects:
            Estimate Std. Error t value
(Intercept)  251.405      6.825  36.838
Days          10.467      1.546   6.771

Correlation of Fixed Effects:
     (Intr)
Days -0.138
"""

DYESTUFF_ML = """\
Linear mixed model fit by maximum likelihood  ['lmerMod']
Formula: Yield ~ 1 + (1 | Batch)
   Data: Dyestuff

     AIC      BIC   logLik deviance df.resid 
   333.3    337.5   -163.7    327.3       27 

Scaled residuals: 
    Min      1Q  Median      3Q     Max 
-1.4315 -0.7972  0.1480  0.7721  1.8037 

Random effects:
 Groups   Name        Variance Std.Dev.
 Batch    (Intercept) 1388     37.26   
 Residual             2451     49.51   
Number of obs: 30, groups:  Batch, 6

Fixed effects:
            Estimate Std. Error t value
(Intercept)  1527.50      17.69   86.33
"""

CAKE_REML = """\
Linear mixed model fit by REML ['lmerMod']
Formula: angle ~ recipe + temp + (1 | recipe:replicate)
   Data: cake

REML criterion at convergence: 1693.8

Scaled residuals: 
     Min       1Q   Median       3Q      Max 
-2.45774 -0.59124 -0.09339  0.61032  2.67205 

Random effects:
 Groups           Name        Variance Std.Dev.
 recipe:replicate (Intercept) 41.80    6.465   
 Residual                     20.71    4.551   
Number of obs: 270, groups:  recipe:replicate, 45

Fixed effects:
            Estimate Std. Error t value
(Intercept)  1.51587    3.67895   0.412
recipeB     -1.47778    2.45625  -0.602
recipeC     -1.52222    2.45625  -0.620
temp         0.15803    0.01622   9.746

Correlation of Fixed Effects:
        (Intr) recipB recipC
recipeB -0.334              
recipeC -0.334  0.500       
temp    -0.882  0.000  0.000
"""



@pytest.mark.parametrize("formula,dataset,reml,printed", [
    ("Reaction ~ Days + (Days | Subject)", "sleepstudy", True, SLEEPSTUDY_REML),
    ("Yield ~ 1 + (1 | Batch)", "Dyestuff", False, DYESTUFF_ML),
    ("angle ~ recipe + temp + (1 | recipe:replicate)", "cake", True, CAKE_REML),
], ids=["sleepstudy REML", "Dyestuff ML", "cake REML"])
def test_summary_prints_as_lme4(formula: str, dataset: str, reml: bool, printed: str) -> None:
    fit = pyreterms.lmer(formula, pyreterms.load_dataset(dataset), REML=reml)
    assert str(fit.summary(data_name=dataset)).splitlines() == printed.splitlines()
    assert str(fit.summary(data_name=dataset)) == printed


@pytest.mark.parametrize("values,digits,nsmall,printed", [
    ([0.1234567, 123.4, -5], 4, 0, ("  0.1235", "123.4000", " -5.0000")),
    ([0.5, 0.25, -0.125], 7, 3, (" 0.500", " 0.250", "-0.125")),
    ([1527.5, 17.69, 86.33], 4, 0, ("1527.50", "  17.69", "  86.33")),
    ([1e-10, 1], 4, 0, ("1e-10", "1e+00")),
    ([123456789, 0.5], 4, 0, ("1.235e+08", "5.000e-01")),
    ([np.nan, 0.5], 4, 0, ("NaN", "0.5")),
])
def test_format_real_is_rs_format(values: list[float], digits: int, nsmall: int, printed: tuple[str, ...]) -> None:
    assert tuple(format_real(values, digits, nsmall=nsmall)) == printed


def test_zapsmall_then_format_is_rs() -> None:
    assert tuple(format_real(zapsmall(np.array([-3.95361, 1e-12, 5.1793]), 5), 4)) == ("-3.954", " 0.000", " 5.179")
