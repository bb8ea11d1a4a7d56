"""Fixtures of the MAIA core layer tests."""
import pytest
import yaml

from core.helpers import DEFAULTS_FILE, load_maia_core


@pytest.fixture
def defaults():
    return yaml.safe_load(DEFAULTS_FILE.read_text())


@pytest.fixture
def maia_core():
    return load_maia_core()
