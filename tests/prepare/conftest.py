"""Fixtures for tests/prepare: Salt modules loaded straight from the repository
with their dunders (``__salt__``, ``__opts__``) injected, and the lab."""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FORMULA = REPO / "formulas" / "maia" / "prepare"
CIFS_FILES = FORMULA / "cifs" / "files" / "default"


def load_salt_module(relpath: str, name: str, salt: dict | None = None, opts: dict | None = None):
    """Import ``REPO/relpath`` as a fresh module with Salt dunders set."""
    spec = importlib.util.spec_from_file_location(name, REPO / relpath)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.__salt__ = salt if salt is not None else {}
    module.__opts__ = opts if opts is not None else {"test": False}
    module.__grains__ = {}
    if relpath.startswith("_states/"):
        # the states reach the shared error contract through __salt__, as in Salt
        errors = load_salt_module("_modules/maia_errors.py", f"{name}_errors", salt=module.__salt__)
        for fn in ("error", "kind", "cluster_pending", "with_message", "attempt"):
            module.__salt__.setdefault(f"maia_errors.{fn}", getattr(errors, fn))
        returns = load_salt_module("_modules/maia_state_ret.py", f"{name}_ret")
        for fn in ("new", "predicted", "failed", "checked"):
            module.__salt__.setdefault(f"maia_state_ret.{fn}", getattr(returns, fn))
    return module


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
