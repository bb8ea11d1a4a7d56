"""Fixtures for tests/prepare: Salt modules loaded straight from the repository
with their dunders (``__salt__``, ``__opts__``) injected, and the lab."""
import os

import pytest
from support.modules import load_salt_module
from support.paths import REPO

FORMULA = REPO / "formulas" / "maia" / "prepare"
CIFS_FILES = FORMULA / "cifs" / "files" / "default"


@pytest.fixture
def ufw_mod():
    return load_salt_module("_modules/maia_ufw.py", "maia_test_ufw_mod")


@pytest.fixture
def storage_mod():
    return load_salt_module("_modules/maia_storage.py", "maia_test_storage_mod")


@pytest.fixture
def cifs_env(tmp_path):
    """PATH with a stand-in ``mount`` first: it records argv and $PASSWD and
    succeeds (this machine has no cifs filesystem to mount for real)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    record = tmp_path / "mount-call"
    (bindir / "mount").write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > {record}\n'
        f'printf "PASSWD=%s\\n" "$PASSWD" >> {record}\n'
    )
    (bindir / "mount").chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    return env, record
