"""Each host's disks: sparse files in ``disks/`` attached as loop devices (the host's ``device_list``)."""
from __future__ import annotations

from typing import Callable

from .folder import LabFolder
from .hosts import Host
from .util import echo, run

DISK_SIZE = 2 * 1024 ** 3  # sparse, per disk
DISKS_PER_HOST = 2


def attach(folder: LabFolder, hosts: list[Host], record_host: Callable[[Host], None]) -> None:
    """Make and attach each host's disk files, recording the loop devices as the host's devices."""
    for h in hosts:
        for d in range(DISKS_PER_HOST):
            img = folder.path("disks", f"{h.name}-{d}.img")
            with open(img, "ab") as fh:
                fh.truncate(DISK_SIZE)
            h.devices.append(run(["losetup", "--find", "--show", img]).stdout.strip())
            record_host(h)  # after each device: `down` finds it after a crash
    echo("disks: " + "; ".join(f"{h.name} {' '.join(h.devices)}" for h in hosts))


def loop_devices(lab_dir: str) -> list[str]:
    """Every loop device backed by a file in the lab folder (also a deleted one)."""
    out = []
    listing = run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"], check=False).stdout
    for line in listing.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip().replace(" (deleted)", "").startswith(lab_dir + "/"):
            out.append(parts[0])
    return out


def detach(lab_dir: str) -> None:
    for dev in loop_devices(lab_dir):
        run(["losetup", "-d", dev], check=False)
