"""The conditional modes as R's users see them: ``ranef`` and ``coef`` data frames (R: lme4's
``ranef.merMod`` with ``condVar = FALSE`` and ``coef.merMod``), shared by the LMM and GLMM fits."""
from __future__ import annotations

import numpy as np
import pandas as pd

from pyreterms.design.model import ReTrms


def ranef_frames(rt: ReTrms, b: np.ndarray) -> dict[str, pd.DataFrame]:
    """R: ``ranef(fit)``: per ``flist`` factor, rows = its levels, columns = the ``cnms`` of every term
    on that factor in term order (duplicated names stay, as for ``(1 | g) + (1 | g)``); values are
    ``b = Lambda u`` read level-major within each term (``Gp`` gives the term's rows of ``b``)."""
    out: dict[str, pd.DataFrame] = {}
    for fi, (fname, fac) in enumerate(rt.flist):
        names: list[str] = []
        cols: list[np.ndarray] = []
        for k, (_, cn) in enumerate(rt.cnms):
            if rt.assign[k] != fi:
                continue
            blk = np.asarray(b[int(rt.Gp[k]):int(rt.Gp[k + 1])]).reshape(-1, len(cn))
            for c, name in enumerate(cn):
                names.append(name)
                cols.append(blk[:, c])
        out[fname] = pd.DataFrame(np.column_stack(cols), index=list(fac.levels), columns=names)
    return out


def coef_frames(fe: pd.Series, re_: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """R: ``coef(fit)``: the fixed effects on every level plus the random effects of the same name.
    Random-only names (``setdiff`` over all factors' columns, unique) get a fixed effect 0, placed first;
    ``val[[nm]] + refi[, nm]`` adds the *first* column called ``nm`` once for each column of that name,
    as R's loop does."""
    miss: list[str] = []
    for df in re_.values():
        for c in df.columns:
            if c not in fe.index and c not in miss:
                miss.append(c)
    fe = pd.concat([pd.Series(0.0, index=miss), fe])
    fcols = list(fe.index)
    out = {}
    for g, df in re_.items():
        val = np.tile(fe.to_numpy(), (len(df), 1))
        rcols = list(df.columns)
        for c in rcols:
            val[:, fcols.index(c)] += df.to_numpy()[:, rcols.index(c)]
        out[g] = pd.DataFrame(val, index=df.index, columns=fcols)
    return out
