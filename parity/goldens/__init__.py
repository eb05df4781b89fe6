"""Stored answers of lme4 (cases, input frames, values, machine) recorded and replayed without R."""
