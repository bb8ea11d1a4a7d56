"""Runner steps of orch.maia that run on the master side.

``wait_for_reboots``: stage 1 schedules a reboot where it installed an NVIDIA
driver, and marks it with a file under /run (a tmpfs, so the mark is gone once
the host has rebooted). This waits until every marked host answers again
without the mark, so stage 2 never starts on a host that is going down.

CLI examples::

    salt-run maia_orch.wait_for_reboots '[maia-node-0, maia-node-1]' tgt_type=list
    salt-run maia_orch.wait_for_reboots '*' ssh=True timeout=900
"""
import logging
import time

import salt.client
from salt.exceptions import SaltRunnerError

log = logging.getLogger(__name__)

__virtualname__ = "maia_orch"

REBOOT_MARKER = "/run/maia-reboot-pending"


def __virtual__():
    return __virtualname__


def _marker_states(tgt, tgt_type, ssh, marker, timeout):
    """{host: True/False} for the hosts that answered ``file.file_exists marker``."""
    if ssh:
        from salt.client.ssh.client import SSHClient

        raw = SSHClient(mopts=__opts__).cmd(tgt, "file.file_exists", [marker], tgt_type=tgt_type, timeout=timeout)
    else:
        with salt.client.get_local_client(__opts__["conf_file"]) as client:
            raw = client.cmd(tgt, "file.file_exists", [marker], tgt_type=tgt_type, timeout=timeout)
    states = {}
    for host, ret in (raw or {}).items():
        if isinstance(ret, dict) and "return" in ret:
            ret = ret["return"]
        if isinstance(ret, bool):
            states[host] = ret
    return states


def wait_for_reboots(tgt, tgt_type="glob", ssh=False, timeout=600, interval=5, marker=REBOOT_MARKER):
    """
    Wait until every host of ``tgt`` that carries ``marker`` has rebooted (answers
    again, without the marker). Returns ``{"rebooted": [...], "waited": seconds}``;
    raises when a host is not back within ``timeout`` seconds.
    """
    started = time.monotonic()
    first = _marker_states(tgt, tgt_type, ssh, marker, timeout=30)
    pending = sorted(host for host, marked in first.items() if marked)
    if not pending:
        return {"rebooted": [], "waited": 0, "comment": "no host has a reboot pending"}
    log.info("waiting for %s to reboot (up to %ss)", ", ".join(pending), timeout)
    waiting = set(pending)
    deadline = started + float(timeout)
    while waiting:
        if time.monotonic() > deadline:
            raise SaltRunnerError(
                f"{', '.join(sorted(waiting))} did not come back from the NVIDIA driver reboot within "
                f"{timeout}s (maia:prepare:nvidia_reboot_timeout); check the console of each host"
            )
        time.sleep(float(interval))
        answered = _marker_states(sorted(waiting), "list", ssh, marker, timeout=10)
        waiting -= {host for host, marked in answered.items() if not marked}
    return {"rebooted": pending, "waited": round(time.monotonic() - started, 1)}
