"""The backquoted- and shadowing-names data of issue 10 item 4, shared by tests/unit/test_names_backquoted.py
(no R) and tests/live/test_names.py (live lme4): sleepstudy with columns that shadow R's ``F``, ``T`` and ``pi``
and columns whose names need backquotes."""
from __future__ import annotations

import numpy as np
import pandas as pd

import pyreterms


def backquoted_data() -> pd.DataFrame:
    """sleepstudy with ``Reaction Time``, ``F``, ``T``, ``pi``, ``my x``, ``g g``, ``h`` and ``my f`` (a fresh copy)."""
    d = pyreterms.load_dataset("sleepstudy").rename(columns={"Reaction": "Reaction Time"})
    n = len(d)
    d["F"] = pd.Categorical(np.array(["a", "b", "c"])[np.arange(n) % 3])
    d["T"] = d["Subject"]
    d["pi"] = d["Days"] * 2.0
    d["my x"] = np.round(np.sin(np.arange(n)) * 3, 3)
    d["g g"] = d["Subject"]
    d["h"] = pd.Categorical(np.array(["u", "v"])[np.arange(n) % 2])
    d["my f"] = d["h"]
    return d


FORMULAS = [
    "`Reaction Time` ~ F + (F | Subject)",
    "`Reaction Time` ~ Days + (1 | F)",
    "`Reaction Time` ~ pi + (1 | T)",
    "`Reaction Time` ~ Days + I(pi / 2) + (Days | T)",
    "log(`Reaction Time`) ~ `my x` + I(`my x`^2) + (`my x` | `g g`)",
    "`Reaction Time` ~ Days + (1 | `g g`:h) + (1 | `g g`/h)",
    "`Reaction Time` ~ Days + (`my x` || Subject)",
    "`Reaction Time` ~ `my f` * Days + (`my f` | Subject) + (0 + pi | F)",
]


# R 4.2.2 / lme4 1.1-31: names(lf$fr), colnames(lf$X), lf$reTrms$cnms, names(lf$reTrms$flist),
# names(lf$reTrms$Ztlist) for FORMULAS[4] and FORMULAS[5] with backquoted_data()
R_NAMES = {
    FORMULAS[4]: (("log(`Reaction Time`)", "my x", "I(`my x`^2)", "g g"), ("(Intercept)", "`my x`", "I(`my x`^2)"),
                  (("g g", ("(Intercept)", "`my x`")),), ("g g",), ("`my x` | `g g`",)),
    FORMULAS[5]: (("Reaction Time", "Days", "g g", "h"), ("(Intercept)", "Days"), None,
                  ("`g g`:h", "h:`g g`", "g g"), ("1 | `g g`:h", "1 | h:`g g`", "1 | `g g`")),
}
