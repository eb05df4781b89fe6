"""The comparison: tolerance classes, equivalence rules, conditioning, verdicts, and the check of one design."""
