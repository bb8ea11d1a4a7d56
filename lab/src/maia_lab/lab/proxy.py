"""The lab's apt proxy: tinyproxy on the bridge, forwarding only to this machine's own apt mirrors."""
from __future__ import annotations

import os
import re
import subprocess

from . import aptsources
from .util import echo, port_open, wait_for

PROXY_PORT = 3128


def url(address: str) -> str:
    """The proxy's URL when it listens on ``address`` (the bridge)."""
    return f"http://{address}:{PROXY_PORT}"


def _config(listen: str, allow_from: str, pdir: str) -> str:
    return (
        "# maia lab proxy: forwards only to this machine's apt mirrors\n"
        "User nobody\nGroup nogroup\n"
        f"Port {PROXY_PORT}\nListen {listen}\n"
        "Timeout 600\nMaxClients 100\n"
        "LogLevel Connect\n"  # logs go to stdout.log (-d)
        f"Allow {allow_from}\n"
        "DisableViaHeader Yes\n"
        f'Filter "{pdir}/allow"\nFilterURLs Off\nFilterType ere\n'
        "FilterCaseSensitive No\nFilterDefaultDeny Yes\n"
        "ConnectPort 443\n"
    )


def start(pdir: str, listen: str, allow_from: str, env: dict) -> subprocess.Popen:
    """Write the allow list and config into ``pdir`` and start tinyproxy on ``listen`` for clients
    in ``allow_from``; the caller records the pid, then calls ``wait_listening``."""
    hosts = aptsources.mirror_hosts()
    if not hosts:
        raise RuntimeError("this machine's apt configuration names no http(s) mirror; the lab proxy would allow nothing")
    with open(os.path.join(pdir, "allow"), "w", encoding="utf-8") as fh:
        fh.writelines("^" + re.escape(name) + "$\n" for name in hosts)
    conf = os.path.join(pdir, "tinyproxy.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(_config(listen, allow_from, pdir))
    echo(f"apt proxy on {url(listen)} for: {', '.join(hosts)}")
    out = open(os.path.join(pdir, "stdout.log"), "ab")
    return subprocess.Popen(
        ["tinyproxy", "-d", "-c", conf], stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        env=env,
    )


def wait_listening(proc: subprocess.Popen, listen: str, pdir: str) -> None:
    wait_for(lambda: port_open(listen, PROXY_PORT) or proc.poll() is not None, 10, what="tinyproxy")
    if proc.poll() is not None:
        raise RuntimeError(f"tinyproxy exited ({proc.returncode}); see {pdir}/stdout.log")
