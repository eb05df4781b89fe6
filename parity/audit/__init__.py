"""Audits of the real Python peers (statsmodels MixedLM, formulae): adapters, campaign, command."""
