"""Sub-commands beyond ``check`` (fuzz, record, replay, bench) register themselves here."""
from __future__ import annotations

import argparse


def add_commands(sub: "argparse._SubParsersAction") -> None:
    for modname in ("fuzz", "goldens", "bench"):
        try:
            mod = __import__(f"parity.{modname}", fromlist=["add_command"])
        except ImportError:
            continue
        add = getattr(mod, "add_command", None)
        if add is not None:
            add(sub)
