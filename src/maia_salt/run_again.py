"""When ``maia install`` (or a day-2 command) runs its orchestration again, and what it says:
hosts still busy with an earlier state run (``--wait``), and hosts whose ssh session sent
nothing back (once, over salt-ssh). ``install.run_orchestration`` decides; this module only
tells and waits."""
from __future__ import annotations

import time

from .progress import Progress
from .summary import HostResult


def busy_message(busy: dict[str, list[str]]) -> str:
    return "; ".join(
        f"{', '.join(hosts)} {'is' if len(hosts) == 1 else 'are'} still running an earlier state run (job {jid}), "
        "so nothing ran there"
        for jid, hosts in busy.items()
    )


def wait_for_jobs(opts: dict, busy: dict[str, list[str]], progress: Progress | None, interval: float = 5.0) -> None:
    """Wait until no host of ``busy`` runs its earlier job any more (``saltutil.find_job``)."""
    import salt.client

    started = time.monotonic()
    with salt.client.get_local_client(mopts=opts) as client:
        for jid, hosts in busy.items():
            if progress:
                progress.note(f"waiting for job {jid} to end on {', '.join(hosts)} ...")
            while True:
                found = client.cmd(hosts, "saltutil.find_job", [jid], tgt_type="list", timeout=30)
                still = sorted(h for h, ret in (found or {}).items() if isinstance(ret, dict) and ret)
                if not still:
                    break
                time.sleep(interval)
    if progress:
        progress.note(f"the earlier state run ended ({time.monotonic() - started:.0f}s); running it again")


def silent_hosts(results: list[HostResult], raw_error: str = "") -> list[str]:
    """The hosts that sent nothing back over ssh, when that is all that went wrong in a run's
    ``results`` (no state failed, no other error, nothing from salt-run itself): a dropped
    session, which a run again may clear."""
    bad = [r for r in results if not r.ok]
    if raw_error or not bad or not all(r.no_reply for r in bad):
        return []
    return sorted({r.host for r in bad})
