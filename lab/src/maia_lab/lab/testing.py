"""pytest fixtures for the multi-host lab (`maia lab`): real systemd-nspawn Debian hosts.

Use them from any test directory: in your conftest.py write::

    from maia_lab.lab.testing import lab, lab_minions, lab_skip_reason  # noqa: F401

- ``lab``: 3 hosts (salt-ssh mode), lab name ``pytest`` (``MAIA_LAB_TEST_NAME``).
  ``lab.dir`` is the lab folder (Saltfile, master, roster), ``lab.config_folder``
  the CONFIG_FOLDER, ``lab.inventory``, ``lab.roster``, ``lab.hosts`` the hosts
  (``.name``, ``.address``, ``.devices``), ``lab.ssh(host, "cmd")``,
  ``lab.salt_ssh("*", "test.ping")`` (runs from the lab folder).
- ``lab_minions``: 2 hosts with a salt-master on the bridge and a salt-minion in
  each host, lab name ``pytest-minions``; ``lab_minions.salt("*", "test.ping")``.

Two pytest sessions running at once get different labs (``pytest``, ``pytest-1``,
...; see ``claim_lab_name``). Both come up once per session and go down at its end (set ``MAIA_LAB_KEEP=1``
to leave them up for a look; the next session then reuses them: `up` is a
no-op on a running lab). Tests using them are skipped, with the reason, when
this is not root or systemd-nspawn/debootstrap/tinyproxy are missing.
"""
from __future__ import annotations

import fcntl
import os
import shutil

import pytest

from maia_lab.lab.core import LAB_ROOT, Lab, missing_hint, missing_tools


def lab_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "maia lab needs root (network namespaces, mounts, systemd-nspawn)"
    missing = missing_tools()
    if missing:
        return "maia lab: " + missing_hint(missing)
    if not os.path.exists("/dev/loop-control") and shutil.which("losetup"):
        return "maia lab needs loop devices (/dev/loop-control is missing)"
    return None


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "lab: needs the multi-host lab (root, systemd-nspawn, debootstrap, tinyproxy); skipped otherwise",
    )


def require_lab() -> None:
    reason = lab_skip_reason()
    if reason:
        pytest.skip(reason)


def claim_lab_name(base: str):
    """A lab name no other pytest session on this machine is using: ``base``, else ``base-1``, ...

    Returns (name, lock file): the flock on the file is held until the file is closed
    (or the process dies), so two sessions never share or take down each other's lab.
    """
    os.makedirs(LAB_ROOT, exist_ok=True)
    for i in range(4):
        name = base if i == 0 else f"{base}-{i}"
        fh = open(os.path.join(LAB_ROOT, f".{name}.pytest.lock"), "w")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            continue
        return name, fh
    pytest.skip(f"four other pytest sessions use labs named {base}*; try again later")


def _session_lab(base: str, **kw):
    require_lab()
    name, lock = claim_lab_name(base)
    try:
        lab_ = Lab(name).up(**kw)
        try:
            yield lab_
        finally:
            if not os.environ.get("MAIA_LAB_KEEP"):
                Lab(name).down()
    finally:
        lock.close()


@pytest.fixture(scope="session")
def lab():
    """A running 3-host lab (salt-ssh mode), shared by the whole session."""
    yield from _session_lab(os.environ.get("MAIA_LAB_TEST_NAME", "pytest"), hosts=3)


@pytest.fixture(scope="session")
def lab_minions():
    """A running 2-host lab with a salt-master on its bridge and a salt-minion in every host."""
    yield from _session_lab(os.environ.get("MAIA_LAB_TEST_MINIONS_NAME", "pytest-minions"), hosts=2, minions=True)
