"""Which of the site's minions answer, asked once before any stage starts.

Without this, a stopped minion showed nothing for minutes: the first step waits for every
targeted minion up to its timeout. One ``test.ping`` to the inventory's hosts, with a short
timeout, names the absent ones within seconds, with the fix.
"""
from __future__ import annotations

PING_TIMEOUT = 5  # seconds Salt waits for the answers
FIND_JOB_TIMEOUT = 2  # then one find_job round to the silent ones, this long (Salt's default: 10 s)

FIX = ("start its salt-minion (systemctl start salt-minion) and check that its key is accepted on the "
       "master (salt-key -L; the minion id must be the inventory's host name), or leave it out of this run "
       "with --skip-unreachable")


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


def message(absent: list[str]) -> str:
    return f"not answering: {', '.join(absent)}: {FIX}"
