"""Files ``parity`` writes for users (``parity init-impl``): data, not code parity runs."""
