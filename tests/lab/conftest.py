"""Lab fixtures (in tests/support/lab.py, so that any test directory can import them)."""
from support.lab import lab, lab_minions  # noqa: F401
