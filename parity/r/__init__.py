"""The R side: the one embedded R, R values and their conversion both ways, and lme4's components (the oracle)."""
