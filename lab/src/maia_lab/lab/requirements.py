"""What this machine needs to run a lab: root, a few tools, loop devices."""
from __future__ import annotations

import os
import shutil

# tool -> the Debian package that has it
TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "tinyproxy": "tinyproxy",
    "ip": "iproute2",
    "losetup": "mount",
    "mount": "mount",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
}


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def missing_hint(missing: list[str]) -> str:
    pkgs = sorted({TOOLS[t] for t in missing})
    return f"missing {', '.join(missing)}: apt-get install {' '.join(pkgs)}"


def require_root() -> None:
    if os.geteuid() != 0:
        raise PermissionError("maia lab needs root (it creates network namespaces, mounts and containers)")


def unmet() -> str | None:
    """Why no lab can run here (None when one can): what tests print when they skip."""
    if os.geteuid() != 0:
        return "maia lab needs root (network namespaces, mounts, systemd-nspawn)"
    missing = missing_tools()
    if missing:
        return "maia lab: " + missing_hint(missing)
    if not os.path.exists("/dev/loop-control"):
        return "maia lab needs loop devices (/dev/loop-control is missing)"
    return None
