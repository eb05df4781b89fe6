"""parity: the harness that compares pyreterms (or any implementation) with live lme4 through rpy2.

Importing parity does not start R; R starts on first use (``parity.r.session``).
"""
__all__ = ["check"]


def check(*args, **kwargs):
    from parity.compare.check import check as _check

    return _check(*args, **kwargs)
