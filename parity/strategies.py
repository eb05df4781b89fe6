"""``parity.strategies``, kept for users of the public Hypothesis strategies of earlier releases: they
now live in :mod:`parity.campaigns.strategies` (import them from there)."""
from __future__ import annotations

from parity.campaigns.strategies import *  # noqa: F403
from parity.campaigns.strategies import __all__  # noqa: F401
