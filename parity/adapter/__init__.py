"""The Python side: run an implementation (pyreterms by default) and name its results as R values."""
