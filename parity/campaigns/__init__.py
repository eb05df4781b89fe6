"""Design generation and search: Hypothesis strategies, hazards, seeding, fuzz campaigns, shrinking, mutants."""
