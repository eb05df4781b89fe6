"""Sub-commands beyond ``check`` (fuzz, record, replay, bench) register themselves here.

A module that cannot be imported (``parity fuzz`` without hypothesis) still has its sub-commands
listed; running one prints why in one line and exits 2 (parity.cli_extras.add_unavailable).
"""
from __future__ import annotations

import argparse

from parity.cli.extras import add_unavailable

#: module of parity -> the sub-commands its add_command registers
COMMANDS: dict[str, tuple[str, ...]] = {"campaigns.fuzz": ("fuzz",), "goldens.record_replay": ("record", "replay"),
                                        "bench.run": ("bench",), "adapter.initimpl": ("init-impl",),
                                        "audit.cli": ("audit",)}


def add_commands(sub: "argparse._SubParsersAction") -> None:
    for modname, names in COMMANDS.items():
        try:
            mod = __import__(f"parity.{modname}", fromlist=["add_command"])
        except ImportError as e:
            add_unavailable(sub, names, e)
            continue
        add = getattr(mod, "add_command", None)
        if add is not None:
            add(sub)
