"""The fourth verdict: the harness declined to compare (never counted as agreement).

Verdicts of ``parity check`` / ``fuzz`` / ``replay``: *agree*, *disagree*, *both refused for the same
reason*, and *not compared*: the harness did not ask both sides (a formula function outside the
allowlist, data that cannot be carried to one side without loss, a time limit).  The CLI exits with
:data:`EXIT_NOT_COMPARED` for it (0 agree, 1 disagree, 2 bad input).
"""
from __future__ import annotations

EXIT_AGREE = 0
EXIT_DISAGREE = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_COMPARED = 3


class NotCompared(Exception):
    """Raised where the harness declines to run a design; ``kind`` is one of
    ``"allowlist"``, ``"unrepresentable"``, ``"time limit"``, ``"other"``; ``reason`` is one line."""

    def __init__(self, reason: str, kind: str = "other") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
