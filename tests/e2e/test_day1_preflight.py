"""`maia preflight` (orch.maia_preflight) on the lab's real hosts: each failure it must catch, and
that it changes nothing.

This file runs first in the package (pytest takes the files in name order): the lab is not
installed yet and its disks are blank, as on a site's first day, so the mounted-device case has a
disk to format and mount.

Real: the nspawn Debian hosts, their disks (loop devices), mounts, listening
sockets, addresses, clocks; Salt (master + minions, salt-ssh). The Kubernetes
stand-ins of the lab (conftest.py) play no part in these checks.

Clock skew: the lab's hosts share this machine's kernel clock (systemd-nspawn
has no clock namespace for the wall clock), so no host can be skewed for
real. The clock test takes the real clocks the hosts reported, shifts one of
them by two minutes, and runs the runner's skew check on that input.
"""
import os
import time
from contextlib import contextmanager

import pytest
import yaml

from maia_salt.day2 import run_preflight
from support.paths import REPO

# what a read-only run may still write on a host: Salt's own cache and logs, salt-ssh's thin
# dir, the journal, systemd's timestamps
NOISE = ("var/cache/salt", "var/log", "var/tmp", "tmp", "var/lib/systemd", "root/.cache")


def upper_files(lab, host):
    """{path: (mtime_ns, size, mode)} of what the host changed on its base root (the overlay's upper dir)."""
    top = lab.path("hosts", host.name, "upper")
    found = {}
    for root, dirs, files in os.walk(top):
        rel = os.path.relpath(root, top)
        if rel != "." and rel.startswith(NOISE):
            dirs[:] = []
            continue
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = os.path.join(root, name)
            st = os.lstat(path)
            found[os.path.normpath(os.path.join(rel, name))] = (st.st_mtime_ns, st.st_size, st.st_mode)
    return found


def signatures(lab):
    return {dev: lab.ssh(h.name, f"blkid -p -o export {dev} || true").stdout
            for h in lab.hosts for dev in h.devices}


@contextmanager
def inventory_changed(lab, change):
    good = open(lab.inventory).read()
    data = yaml.safe_load(good)
    change(data["hosts"])
    with open(lab.inventory, "w") as fh:
        yaml.safe_dump(data, fh)
    try:
        yield
    finally:
        with open(lab.inventory, "w") as fh:
            fh.write(good)


def errors_by_host(report):
    found = {}
    for host, finding in report.errors:
        found.setdefault(host, []).append(finding)
    return found


def test_clean_site_passes_in_both_modes_and_changes_nothing(site_lab):
    before = {h.name: upper_files(site_lab, h) for h in site_lab.hosts}
    disks = signatures(site_lab)
    for ssh in (False, True):
        report = run_preflight(site_lab.dir, ssh=ssh)
        assert report.ok, report.render()
        assert set(report.hosts) == {h.name for h in site_lab.hosts} | {"site"}
        checks = report.hosts["maia-node-0"]["checks"]
        assert {"os", "names", "storage", "ports", "resources", "gpu"} <= set(checks), checks
    after = {h.name: upper_files(site_lab, h) for h in site_lab.hosts}
    for host in before:
        changed = {p for p in set(before[host]) | set(after[host]) if before[host].get(p) != after[host].get(p)}
        assert not changed, (host, sorted(changed)[:20])
    assert signatures(site_lab) == disks


def test_missing_device(site_lab):
    def change(hosts):
        hosts["maia-node-1"]["vars"]["device_list"] = ["/dev/maia-no-such-disk"]

    with inventory_changed(site_lab, change):
        report = run_preflight(site_lab.dir)
    assert not report.ok
    errors = errors_by_host(report)
    assert list(errors) == ["maia-node-1"], report.render()
    (finding,) = errors["maia-node-1"]
    assert finding["check"] == "storage" and "/dev/maia-no-such-disk does not exist" in finding["message"]
    assert "device_list" in finding["fix"]
    assert "/dev/maia-no-such-disk" in report.render()


def _free_device(lab, host):
    pvs = lab.ssh(host.name, "command -v pvs >/dev/null && pvs --noheadings -o pv_name || true").stdout.split()
    free = [d for d in host.devices if os.path.realpath(d) not in pvs and d not in pvs]
    if not free:
        pytest.skip(f"every disk of {host.name} is already a MAIA_Storage PV (an install ran first in this lab)")
    return free[-1]


def test_mounted_device(site_lab):
    host = site_lab.host("maia-node-2")
    device = _free_device(site_lab, host)
    # a real filesystem on the host's disk, mounted inside the host
    site_lab.ssh(host.name, f"mkfs.ext4 -q -F {device} && mkdir -p /mnt/maia-preflight && mount {device} /mnt/maia-preflight")
    try:
        report = run_preflight(site_lab.dir)
    finally:
        site_lab.ssh(host.name, f"umount /mnt/maia-preflight; wipefs -q -a {device}", check=False)
    errors = errors_by_host(report)
    assert list(errors) == ["maia-node-2"], report.render()
    (finding,) = errors["maia-node-2"]
    assert f"{device} is in use (mounted or swap)" in finding["message"]
    assert "unmount" in finding["fix"]


def test_busy_port_in_both_modes(site_lab):
    site_lab.ssh("maia-node-0", "systemd-run --unit maia-preflight-busy python3 -m http.server 443")
    try:
        for ssh in (False, True):
            report = run_preflight(site_lab.dir, ssh=ssh)
            errors = errors_by_host(report)
            assert list(errors) == ["maia-node-0"], report.render()
            (finding,) = errors["maia-node-0"]
            assert finding["check"] == "ports" and "TCP port 443 is taken by python3" in finding["message"]
    finally:
        site_lab.ssh("maia-node-0", "systemctl stop maia-preflight-busy", check=False)


def test_skewed_clock(site_lab):
    """The hosts' clocks are real; the skew is added to node-2's reported clock (see the module docstring)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("maia_preflight_runner", REPO / "_runners" / "maia_preflight.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)

    before = time.time()
    report = run_preflight(site_lab.dir)
    after = time.time()
    assert report.ok, report.render()
    times = {h: data["time"] for h, data in report.hosts.items() if h != "site"}
    assert len(times) == 3 and all(before <= t <= after for t in times.values()), (before, times, after)
    assert runner.clock_findings(times, before, after) == {}
    times["maia-node-2"] += 120
    found = runner.clock_findings(times, before, after)
    assert list(found) == ["maia-node-2"]
    assert "ahead of the master's" in found["maia-node-2"][0]["message"]


def test_wrong_address(site_lab):
    def change(hosts):
        hosts["maia-node-2"]["address"] = "198.18.0.250"

    with inventory_changed(site_lab, change):
        report = run_preflight(site_lab.dir)
    errors = errors_by_host(report)
    assert list(errors) == ["maia-node-2"], report.render()
    (finding,) = errors["maia-node-2"]
    own = site_lab.host("maia-node-2").address
    assert f"inventory address 198.18.0.250 is not an address of this host (it has {own})" in finding["message"]


def test_orch_maia_stops_at_preflight_before_any_change(site_lab):
    from maia_salt.install import run_orchestration

    site_lab.ssh("maia-node-0", "systemd-run --unit maia-preflight-busy2 python3 -m http.server 16443")
    try:
        report = run_orchestration(site_lab.dir)
    finally:
        site_lab.ssh("maia-node-0", "systemctl stop maia-preflight-busy2", check=False)
    assert not report.ok and report.returncode != 0
    assert report.results == []  # no stage ran
    (step, comment), = report.failed_steps
    assert step == "maia-orch-preflight"
    assert "maia-node-0: TCP port 16443 is taken by python3" in comment, comment
