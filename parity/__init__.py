"""parity: the harness that compares pyreterms (or any implementation) with live lme4 through rpy2.

Importing parity does not start R; R starts on first use (``parity.r.session``).  ``parity.check`` is
:func:`parity.compare.check.check`, imported here at the top: it loads numpy, pandas and pyreterms (a few
seconds) but neither rpy2 nor R, so the harness without the 'parity' extra (``parity replay``) still imports.
"""
from parity.compare.check import check

__all__ = ["check"]
