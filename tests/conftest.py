"""Suite-wide collection rules: which tests are the lab tier, and how `make test` runs the tiers at once.

- A test that needs a `maia lab` (the ``lab`` marker, or the e2e lab fixture ``site_lab``) is
  marked ``lab``: ``-m lab`` / ``-m "not lab"`` select the tiers.
- Under pytest-xdist (`make test` runs ``-n 2 --dist loadgroup``) every lab test goes to one
  worker, in collection order (one ``xdist_group``): the session's labs come up once, in that
  worker, and a later test still finds the lab an earlier one converged. The other tests go
  module by module to whichever worker is free, so the non-lab tier runs while the lab tier
  waits on its hosts. Without xdist nothing changes (one process, collection order).
"""
import pytest

# fixtures that bring up (or hold) a lab; see tests/support/lab.py and tests/e2e/conftest.py
LAB_FIXTURES = {"lab", "lab_minions", "site_lab"}
LAB_GROUP = "maia-lab"


def is_lab_test(item) -> bool:
    return item.get_closest_marker("lab") is not None or bool(LAB_FIXTURES & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config, items):
    xdist = config.pluginmanager.hasplugin("xdist")
    for item in items:
        lab = is_lab_test(item)
        if lab and item.get_closest_marker("lab") is None:
            item.add_marker(pytest.mark.lab)
        if xdist:
            item.add_marker(pytest.mark.xdist_group(LAB_GROUP if lab else item.nodeid.split("::", 1)[0]))
