"""Which of the site's hosts answer, asked once before any stage starts.

Without this, a stopped minion showed nothing for minutes: the first step waits for every
targeted minion up to its timeout. With minions, one ``test.ping`` to the inventory's hosts, with a
short timeout, names the absent ones within seconds, with the fix. Over salt-ssh, every roster
host's SSH port is asked in parallel for its server's greeting (``SSH-...``), with the same short
timeout; a host that is not in the roster at all is named too.
"""
from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

PING_TIMEOUT = 5  # seconds Salt waits for the answers
FIND_JOB_TIMEOUT = 2  # then one find_job round to the silent ones, this long (Salt's default: 10 s)
SSH_TIMEOUT = 5  # seconds to connect to a host's SSH port and read its greeting

_SKIP = "or leave it out of this run with --skip-unreachable"
FIX = ("start its salt-minion (systemctl start salt-minion) and check that its key is accepted on the "
       f"master (salt-key -L; the minion id must be the inventory's host name), {_SKIP}")
SSH_FIX = ("start its SSH server (systemctl start ssh) and check that its roster entry's host and port "
           f"reach it from here (maia roster writes them from inventory.yaml), {_SKIP}")


def absent_minions(opts: dict, hosts: list[str], timeout: float = PING_TIMEOUT) -> list[str]:
    """The hosts of ``hosts`` whose minion does not answer a ``test.ping`` within ``timeout``."""
    if not hosts:
        return []
    import salt.client

    client = salt.client.LocalClient(mopts=opts)
    try:
        ret = client.cmd(list(hosts), "test.ping", tgt_type="list", timeout=timeout,
                         gather_job_timeout=FIND_JOB_TIMEOUT) or {}
    finally:
        client.destroy()
    return sorted(h for h in hosts if ret.get(h) is not True)


def ssh_answers(address: str, port: int, timeout: float = SSH_TIMEOUT) -> bool:
    """True when an SSH server at ``address``:``port`` greets within ``timeout`` (an open port alone is not enough)."""
    try:
        with socket.create_connection((address, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            return sock.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def roster_targets(opts: dict, hosts: list[str]) -> dict[str, dict]:
    """The roster entries of ``hosts`` as salt-ssh reads them (the master config's roster and roster_file)."""
    import salt.roster

    roster = salt.roster.Roster(opts, opts.get("roster") or "flat")
    try:
        return roster.targets(list(hosts), "list") or {}
    finally:
        roster.destroy()


def absent_ssh_hosts(opts: dict, hosts: list[str], timeout: float = SSH_TIMEOUT) -> list[str]:
    """The hosts of ``hosts`` that are not in the roster or whose SSH server does not greet within ``timeout``."""
    if not hosts:
        return []
    targets = roster_targets(opts, hosts)

    def answers(name: str) -> bool:
        entry = targets.get(name)
        if not isinstance(entry, dict) or not entry.get("host"):
            return False
        return ssh_answers(str(entry["host"]), int(entry.get("port") or 22), timeout)

    with ThreadPoolExecutor(max_workers=min(32, len(hosts))) as pool:
        answered = dict(zip(hosts, pool.map(answers, hosts)))
    return sorted(h for h in hosts if not answered[h])


def message(absent: list[str], ssh: bool = False) -> str:
    return f"not answering: {', '.join(absent)}: {SSH_FIX if ssh else FIX}"
