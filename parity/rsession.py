"""``parity.rsession``, kept for users and scripts of earlier releases: the embedded R now lives in
:mod:`parity.r.session` and the lme4 oracle call (``reference``) in :mod:`parity.r.oracle`."""
from __future__ import annotations

from parity.r.oracle import reference, reference_error
from parity.r.session import (
                              R_SCRIPTS,
                              REFERENCE_R,
                              RCallError,
                              checked_contrasts,
                              checked_formula,
                              console_output,
                              helper,
                              helpers,
                              is_started,
                              r_call,
                              r_eval,
                              r_list,
                              rlock,
                              start,
                              versions,
)

__all__ = ["R_SCRIPTS", "REFERENCE_R", "RCallError", "start", "is_started", "rlock", "r_eval", "r_call", "r_list",
           "helpers", "helper", "versions", "console_output", "checked_contrasts", "checked_formula", "reference",
           "reference_error"]
