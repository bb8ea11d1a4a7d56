"""The lab's apt proxy: tinyproxy on the bridge, forwarding only to this machine's own apt mirrors."""
from __future__ import annotations

import os
import re
import subprocess
from typing import TYPE_CHECKING

from . import aptsources
from .util import echo, port_open, wait_for

if TYPE_CHECKING:
    from .core import Lab

PROXY_PORT = 3128


def _config(lab: Lab, pdir: str) -> str:
    return (
        "# maia lab proxy: forwards only to this machine's apt mirrors\n"
        "User nobody\nGroup nogroup\n"
        f"Port {PROXY_PORT}\nListen {lab.bridge_address}\n"
        "Timeout 600\nMaxClients 100\n"
        "LogLevel Connect\n"  # logs go to stdout.log (-d)
        f"Allow {lab.subnet}\n"
        "DisableViaHeader Yes\n"
        f'Filter "{pdir}/allow"\nFilterURLs Off\nFilterType ere\n'
        "FilterCaseSensitive No\nFilterDefaultDeny Yes\n"
        "ConnectPort 443\n"
    )


def start(lab: Lab) -> None:
    """Write the allow list and config under ``proxy/``, start tinyproxy, wait until it listens."""
    hosts = aptsources.mirror_hosts()
    if not hosts:
        raise RuntimeError("this machine's apt configuration names no http(s) mirror; the lab proxy would allow nothing")
    pdir = lab.path("proxy")
    with open(os.path.join(pdir, "allow"), "w", encoding="utf-8") as fh:
        fh.writelines("^" + re.escape(name) + "$\n" for name in hosts)
    conf = os.path.join(pdir, "tinyproxy.conf")
    with open(conf, "w", encoding="utf-8") as fh:
        fh.write(_config(lab, pdir))
    echo(f"apt proxy on {lab.proxy_url} for: {', '.join(hosts)}")
    out = open(os.path.join(pdir, "stdout.log"), "ab")
    proc = subprocess.Popen(
        ["tinyproxy", "-d", "-c", conf], stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        env=lab.env(),
    )
    lab.state["proxy_pid"] = proc.pid
    lab.save()
    wait_for(lambda: port_open(lab.bridge_address, PROXY_PORT) or proc.poll() is not None, 10, what="tinyproxy")
    if proc.poll() is not None:
        raise RuntimeError(f"tinyproxy exited ({proc.returncode}); see {pdir}/stdout.log")
