"""Helpers shared by the test tiers (tests/unit, tests/live, tests/browser): data builders, fixtures' build
steps and paths that both halves of a split test need, written once.  Importable as ``helpers.<module>``
from any test (pytest puts tests/, the folder of tests/conftest.py, on sys.path).  Nothing here starts R."""
