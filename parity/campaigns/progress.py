"""How a campaign reports its progress: the protocol the engine calls, and the silent default.

The engine (:mod:`parity.campaigns.fuzz`, :mod:`parity.campaigns.shrink`) only calls these methods;
the ``parity fuzz`` command passes a display (``parity.cli.fuzz.RichProgress``), so the engine never
imports the user interface.  No R equivalent (harness plumbing).
"""
from __future__ import annotations

from typing import Any, Protocol

__all__ = ["Progress", "SilentProgress"]


class Progress(Protocol):
    """A context manager told of every explored design (``step``) and of shrinking (``message``)."""

    def __enter__(self) -> Any: ...

    def __exit__(self, *exc: Any) -> None: ...

    def step(self, o: Any) -> None: ...

    def message(self, text: str) -> None: ...


class SilentProgress:
    """No progress display (``run_campaign(progress=None)``, ``parity fuzz --quiet``)."""

    def __enter__(self) -> SilentProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def step(self, o: Any) -> None:
        return None

    def message(self, text: str) -> None:
        return None
