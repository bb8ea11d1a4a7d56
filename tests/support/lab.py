"""pytest fixtures for the multi-host lab (`maia lab`): real systemd-nspawn Debian hosts.

In a test directory's conftest.py::

    from support.lab import lab, lab_minions  # noqa: F401

- ``lab``: 3 hosts (salt-ssh mode), lab name ``pytest`` (``MAIA_LAB_TEST_NAME``).
- ``lab_minions``: 2 hosts with a salt-master on the bridge and a salt-minion in
  each host, lab name ``pytest-minions`` (``MAIA_LAB_TEST_MINIONS_NAME``).

Two pytest sessions running at once get different labs (``pytest``, ``pytest-1``,
...; see ``claim_lab_name``). Both come up once per session and go down at its
end (``MAIA_LAB_KEEP=1`` leaves them up for a look; the next session then reuses
them: `up` is a no-op on a running lab). Tests using them are skipped, with the
reason, where no lab can run (``maia_lab.lab.unmet``).
"""
from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from maia_lab.lab import LAB_ROOT, Lab, unmet


def require_lab() -> None:
    reason = unmet()
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


def stage_jobs_only(lab_) -> None:
    """The lab tests read each stage's own job (its returns in the job cache, its progress line), so
    their labs run one job per stage (maia:orch:one_job false in the lab's pillar); the one-job run
    of a converged site is tested on its own, by asking for it on the command line
    (tests/e2e/test_orchestration.py)."""
    from maia_lab.lab.saltconfig import write_lab_pillar

    write_lab_pillar(os.path.join(lab_.dir, "pillar"), "tests", {"maia": {"orch": {"one_job": False}}})


def session_lab(base: str, **kw):
    """Generator for a fixture: a lab named after ``base``, up with ``kw``, down at the end."""
    require_lab()
    name, lock = claim_lab_name(base)
    try:
        lab_ = Lab(name).up(**kw)
        stage_jobs_only(lab_)
        try:
            yield lab_
        finally:
            if not os.environ.get("MAIA_LAB_KEEP"):
                Lab(name).down()
    finally:
        lock.close()


# The ArgoCD controller stand-in's sync and health timings in the end-to-end lab (those of
# tests/core's own controller): with the lab's defaults (1-s syncs, 2 s Progressing, 0.5-s polls;
# docs/argocd.md) every sync wave of stage 3 costs about 3.5 s, some 21 s per full install of the
# catalogue's 6 waves. Every transition (OutOfSync, Running, Synced + Progressing, Healthy) still
# happens and is waited for; the poll interval stays the lab's (a shorter one costs CPU all along).
QUICK_CONTROLLER = ("--sync-seconds", "0.3", "--progress-seconds", "0.3")


def _ended(pid: int) -> bool:
    """Whether the process group ``pid`` is gone. When the lab came up in this process (session_lab,
    StandinTarget), its stand-ins are this process's children: an ended one stays a zombie, which
    signal 0 still reaches, until it is reaped here (before, the wait below always ran its 10 s)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    except ChildProcessError:
        pass  # not our child (a lab brought up by `maia lab up`): its parent reaps it
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def quick_argocd_controller(lab_) -> None:
    """Restart the lab's ArgoCD controller stand-in with ``QUICK_CONTROLLER`` timings (the new one
    is recorded in the lab's state like the old, so `maia lab down` stops it)."""
    from maia_lab.standins.argocd_controller import address_args
    from maia_lab.standins.lab import spawn

    pid = (lab_.state.get("standins_pids") or {}).get("argocd-controller")
    if pid:
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not _ended(pid):
            time.sleep(0.05)
    spawn(lab_.folder, "argocd-controller", [sys.executable, "-m", "maia_lab.standins.argocd_controller",
                                             "--kubeconfig", lab_.state["standins_kubeconfig"], *QUICK_CONTROLLER,
                                             *address_args()],
          lab_.record_standin_pid)


@pytest.fixture(scope="session")
def lab():
    """A running 3-host lab (salt-ssh mode), shared by the whole session."""
    yield from session_lab(os.environ.get("MAIA_LAB_TEST_NAME", "pytest"), hosts=3)


@pytest.fixture(scope="session")
def lab_minions():
    """A running 2-host lab with a salt-master on its bridge and a salt-minion in every host."""
    yield from session_lab(os.environ.get("MAIA_LAB_TEST_MINIONS_NAME", "pytest-minions"), hosts=2, minions=True)


class StandinTarget:
    """The host a stage's salt-ssh tests apply states to.

    With ``MAIA_E2E_ROSTER`` (and ``MAIA_E2E_SALT_CONFIG``, a config dir whose
    master file sets the maia ext_pillar; ``MAIA_E2E_TARGET``, default
    maia-node-0): that real site's host. Otherwise the control-plane host of a
    one-host lab with the stand-ins (docs/standins.md), named
    ``os.environ.get(name_env, default_name)`` and held by this object until
    ``close()`` (see ``claim_lab_name``).
    """

    timeout = 900

    def __init__(self, name_env: str, default_name: str):
        self.e2e = bool(os.environ.get("MAIA_E2E_ROSTER"))
        self.lab = None
        if self.e2e:
            self.config_dir = os.environ["MAIA_E2E_SALT_CONFIG"]
            self.roster = os.environ["MAIA_E2E_ROSTER"]
            self.name = os.environ.get("MAIA_E2E_TARGET", "maia-node-0")
            return
        require_lab()
        name, self._lock = claim_lab_name(os.environ.get(name_env, default_name))
        self.lab = Lab(name).up(hosts=1, standins=True)
        stage_jobs_only(self.lab)
        self.config_dir = self.lab.dir
        self.roster = self.lab.roster
        self.name = self.lab.state["standins_control_plane"]

    def salt_ssh_argv(self) -> list[str]:
        return [os.path.join(os.path.dirname(sys.executable), "salt-ssh")]

    def salt_ssh(self, *args, timeout=None):
        """``salt-ssh --out=json TARGET ARGS`` -> (CompletedProcess, the host's return or None)."""
        cmd = [*self.salt_ssh_argv(), "-c", self.config_dir, "--roster-file", self.roster, "--out=json", self.name, *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout or self.timeout, cwd=self.config_dir)
        try:
            data = json.loads(proc.stdout)[self.name]
        except (ValueError, KeyError):
            data = None
        return proc, data

    def close(self) -> None:
        """Take the lab down (unless ``MAIA_LAB_KEEP``) and give its name back."""
        if self.lab is not None:
            if not os.environ.get("MAIA_LAB_KEEP"):
                self.lab.down()
            self._lock.close()


def target_fixture(cls, scope="module"):
    """A fixture giving one ``cls()`` (a StandinTarget), closed at the end of ``scope`` (a module's,
    or ``package`` for one lab that a test folder's modules share)."""

    @pytest.fixture(scope=scope)
    def target():
        """The host the module's salt-ssh runs go to (a one-host stand-in lab, or MAIA_E2E_TARGET)."""
        t = cls()
        yield t
        t.close()

    return target
