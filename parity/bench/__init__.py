"""Timing pyreterms against lme4 on the same designs (`parity bench`)."""
