"""Sub-commands beyond ``check`` (fuzz, record, replay, bench) register themselves here.

A module that cannot be imported (``parity fuzz`` without hypothesis) still has its sub-commands
listed; running one prints why in one line and exits 2 (parity.cli.extras.add_unavailable).  A module
that imports but registers nothing is an error, never a silently missing sub-command.
"""
from __future__ import annotations

import argparse
import importlib

from parity.cli.extras import add_unavailable

#: module of parity -> the sub-commands its add_command registers
COMMANDS: dict[str, tuple[str, ...]] = {"cli.fuzz": ("fuzz",), "goldens.record_replay": ("record", "replay"),
                                        "bench.run": ("bench",), "adapter.initimpl": ("init-impl",),
                                        "audit.cli": ("audit",), "goldens.glmm_goldens": ("record-glmm", "replay-glmm"),
                                        "bench.glmm": ("bench-glmm",)}


def add_commands(sub: argparse._SubParsersAction) -> None:
    for modname, names in COMMANDS.items():
        try:
            # the sub-command modules are imported here, by name, because each may need an optional extra
            mod = importlib.import_module(f"parity.{modname}")
        except ImportError as e:  # listed anyway; running it says why in one line (exit 2)
            add_unavailable(sub, names, e)
            continue
        add = getattr(mod, "add_command", None)
        if add is None:
            raise AttributeError(f"parity.{modname} registers no sub-command (add_command missing)")
        add(sub)
