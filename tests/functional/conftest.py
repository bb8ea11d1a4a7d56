"""Fixtures for functional tests: a configured site and real Salt daemons (pytest-salt-factories)."""
import pytest

from support.paths import REPO
from support.minion import SKIP_MACHINE_GRAINS
from support.site import make_site

@pytest.fixture(scope="package")
def site(tmp_path_factory):
    return make_site(tmp_path_factory.mktemp("site") / "config")


@pytest.fixture(scope="package")
def salt_master(salt_factories, site):
    overrides = {
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
        # tests/data/formulas: test formulas (memo: test_maia_map.py)
        "file_roots": {"base": [str(REPO / "formulas"), str(REPO / "tests" / "data" / "formulas")]},
        "log_level_logfile": "info",
        "ignore_host_keys": True,  # salt-ssh to the throwaway sshd of the tests
        **SKIP_MACHINE_GRAINS,
    }
    factory = salt_factories.salt_master_daemon("maia-master", overrides=overrides)
    with factory.started():
        yield factory


@pytest.fixture(scope="package")
def salt_minion(salt_master):
    factory = salt_master.salt_minion_daemon("maia-node-0", overrides=SKIP_MACHINE_GRAINS)
    with factory.started():
        yield factory


@pytest.fixture(scope="package")
def salt_cli(salt_master):
    return salt_master.salt_cli(timeout=120)


