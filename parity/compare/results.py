"""One compared component (the row of every parity report).  Its own module so that
:mod:`parity.compare.tolerances` and :mod:`parity.compare.verdicts` share it without an import cycle."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class ComponentResult:
    name: str
    ok: bool
    max_abs_diff: float
    max_rel_diff: float
    rtol: float
    atol: float
    detail: str

    def as_json(self) -> dict:
        def num(x: float):
            return None if math.isnan(x) else (x if math.isfinite(x) else str(x))

        return {"name": self.name, "ok": self.ok, "max_abs_diff": num(self.max_abs_diff),
                "max_rel_diff": num(self.max_rel_diff), "rtol": num(self.rtol), "atol": num(self.atol),
                "detail": self.detail}
