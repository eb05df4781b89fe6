"""``parity.impl``, kept for adapters written against earlier releases: the helpers now live in
:mod:`parity.adapter.impl` (import them from there)."""
from __future__ import annotations

from parity.adapter.impl import *  # noqa: F403
from parity.adapter.impl import __all__  # noqa: F401
