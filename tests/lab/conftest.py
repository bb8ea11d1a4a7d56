"""Lab fixtures (implemented in maia_lab.lab.testing so that any test directory can import them)."""
from maia_lab.lab.testing import lab, lab_minions, lab_skip_reason, pytest_configure, require_lab  # noqa: F401
