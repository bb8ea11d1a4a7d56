"""The lab itself: real systemd-nspawn Debian hosts on this machine.

Nothing here is a stand-in: the hosts boot systemd, run sshd, install packages
with apt from this machine's own mirrors (through the lab proxy), and Salt talks
to them over SSH or ZeroMQ. Skipped (with the reason) when not root or when
systemd-nspawn, debootstrap or tinyproxy are missing.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
import yaml

from maia_lab.lab import aptsources
from maia_lab.lab.core import Lab

pytestmark = pytest.mark.lab

LAB_CLI = [sys.executable, "-m", "maia_lab.lab.cli"]


def test_hosts_boot_systemd_with_their_names(lab):
    assert [h.name for h in lab.hosts] == ["maia-node-0", "maia-node-1", "maia-node-2"]
    for h in lab.hosts:
        out = lab.ssh(h.name, "hostname; systemctl is-system-running --wait; cat /proc/1/comm", check=False).stdout.split()
        failed = lab.ssh(h.name, "systemctl --failed --no-legend --plain; journalctl -b -p err --no-pager | tail -20", check=False).stdout
        assert out == [h.name, "running", "systemd"], f"{out}\n{failed}"


def test_addresses_are_in_the_benchmarking_range(lab):
    """What the hosts and this machine really have configured (read back, not computed), against
    the range lab traffic may use; and no host has a route out of it."""
    import ipaddress

    allowed = ipaddress.ip_network("198.18.0.0/24")
    bridge = json.loads(subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", lab.bridge],
                                       capture_output=True, text=True, check=True).stdout)
    assert [a["local"] for a in bridge[0]["addr_info"]] == [lab.bridge_address]
    assert ipaddress.ip_address(lab.bridge_address) in allowed
    for h in lab.hosts:
        addrs = json.loads(lab.ssh(h.name, "ip -j -4 addr show scope global").stdout)
        found = [a["local"] for link in addrs for a in link["addr_info"]]
        assert found == [h.address], (h.name, found)
        assert ipaddress.ip_address(h.address) in allowed
        routes = lab.ssh(h.name, "ip -4 route show default").stdout.strip()
        assert routes == "", f"{h.name} has a default route: {routes}"


def test_hosts_reach_each_other_and_the_bridge(lab):
    targets = [lab.bridge_address] + [h.address for h in lab.hosts] + [h.name for h in lab.hosts]
    for h in lab.hosts:
        script = "; ".join(f"ping -c1 -W2 {t} >/dev/null && echo ok-{t}" for t in targets)
        out = lab.ssh(h.name, script, check=False).stdout.split()
        assert out == [f"ok-{t}" for t in targets], f"{h.name}: {out}"


def test_no_route_out_of_the_lab(lab):
    """No default route and no forwarding: lab traffic cannot leave this machine."""
    h = lab.hosts[0]
    routes = lab.ssh(h.name, "ip -4 route show").stdout
    assert "default" not in routes
    probe = lab.ssh(h.name, "ip route get 192.0.2.1", check=False)
    assert probe.returncode != 0 and "unreachable" in probe.stderr.lower()
    with open("/proc/sys/net/ipv4/ip_forward") as fh:
        assert fh.read().strip() == "0"


def test_apt_installs_a_package_through_the_proxy(lab):
    h = lab.hosts[1]
    conf = lab.ssh(h.name, "apt-config dump | grep -i '::proxy'").stdout
    assert lab.proxy_url in conf
    lab.ssh(h.name, "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q hello", timeout=600)
    assert lab.ssh(h.name, "hello").stdout.strip() == "Hello, world!"


def _through_proxy(lab, url):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": lab.proxy_url}))
    try:
        return opener.open(url, timeout=30).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_proxy_forwards_only_to_this_machines_mirrors(lab):
    src = aptsources.sources_for_suite(lab.state["suite"])[0]
    # the bridge address is inside the lab subnet, so this machine may use the proxy too
    assert _through_proxy(lab, f"{src.uri.rstrip('/')}/dists/{src.suites[0]}/Release") == 200
    assert _through_proxy(lab, "http://example.com/") == 403  # filtered: never contacted
    with open(lab.path("proxy", "allow")) as fh:
        allowed = fh.read()
    assert all(("^" + name.replace(".", "\\.") + "$") in allowed for name in aptsources.mirror_hosts())


def test_each_host_sees_its_two_loop_disks(lab):
    for h in lab.hosts:
        assert len(h.devices) == 2
        for dev in h.devices:
            assert stat.S_ISBLK(os.stat(dev).st_mode)
            size = lab.ssh(h.name, f"test -b {dev} && blockdev --getsize64 {dev}").stdout.strip()
            assert int(size) == 2 * 1024 ** 3
        # the device is really usable from inside: write a signature, read it back from this machine
        dev = h.devices[0]
        lab.ssh(h.name, f"printf maia-lab-{h.name} | dd of={dev} bs=512 count=1 conv=fsync status=none")
        with open(dev, "rb") as fh:
            assert fh.read(32).startswith(f"maia-lab-{h.name}".encode())
        lab.ssh(h.name, f"dd if=/dev/zero of={dev} bs=512 count=1 conv=fsync status=none")  # leave it blank
    # no host sees another host's disks
    other = lab.hosts[1].devices[0]
    assert lab.ssh(lab.hosts[0].name, f"test -e {other}", check=False).returncode != 0


def test_lab_folder_has_inventory_roster_master_saltfile(lab):
    with open(lab.inventory) as fh:
        inv = yaml.safe_load(fh)
    hosts = inv["hosts"]
    assert list(hosts) == [h.name for h in lab.hosts]
    assert hosts["maia-node-0"]["groups"] == ["control-plane", "nfs_server"]
    assert all(hosts[h.name]["groups"] == ["nfs_clients"] for h in lab.hosts[1:])
    for h in lab.hosts:
        assert hosts[h.name]["address"] == h.address
        assert hosts[h.name]["vars"]["device_list"] == h.devices
    for f in ("env.json", f"{lab.state['cluster_name']}.yaml", "cifs_key"):
        assert os.path.exists(os.path.join(lab.config_folder, f)), f
    with open(lab.master_config) as fh:
        master = yaml.safe_load(fh)
    assert master["ext_pillar"] == [{"maia": {"config_folder": lab.config_folder}}]
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert master["file_roots"]["base"] == [os.path.join(checkout, "formulas")]
    assert master["disable_grains"] == ["lvm"]
    for key in ("pki_dir", "cachedir", "log_file"):
        assert master[key].startswith(lab.dir + "/")
    with open(lab.roster) as fh:
        roster = yaml.safe_load(fh)
    assert {k: v["host"] for k, v in roster.items()} == {h.name: h.address for h in lab.hosts}
    assert oct(os.stat(lab.key).st_mode & 0o777) == "0o600"


def test_salt_ssh_from_the_lab_folder_with_no_flags(lab):
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "salt-ssh"), "*", "test.ping", "--out=json", "--static"],
        cwd=lab.dir, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {h.name: True for h in lab.hosts}


def test_salt_ssh_checks_host_keys(lab):
    """The lab's known_hosts holds every host's key: a changed key is refused, not trusted."""
    with open(lab.known_hosts) as fh:
        known = fh.read()
    for h in lab.hosts:
        assert f"{h.name},{h.address} ssh-ed25519 " in known
    # a known_hosts that gives maia-node-0's address the key of maia-node-1
    wrong = lab.path("known_hosts.wrong-test")
    key1 = [line for line in known.splitlines() if line.startswith(lab.hosts[1].name + ",")][0].split(None, 1)[1]
    with open(wrong, "w") as fh:
        fh.write(f"{lab.hosts[0].address} {key1}\n")
    cmd = lab.ssh_command(lab.hosts[0].name, "true")
    cmd[cmd.index(f"UserKnownHostsFile={lab.known_hosts}")] = f"UserKnownHostsFile={wrong}"
    out = subprocess.run(cmd, capture_output=True, text=True)
    os.unlink(wrong)
    assert out.returncode != 0 and "verification failed" in out.stderr.lower()


def test_up_on_a_running_lab_is_a_noop(lab):
    before = [h.pid for h in Lab(lab.name).hosts]
    t0 = time.monotonic()
    again = Lab(lab.name).up(hosts=3)
    assert time.monotonic() - t0 < 5
    assert [h.pid for h in again.hosts] == before


def test_cli_status_and_ssh(lab):
    st = json.loads(subprocess.run(LAB_CLI + ["status", "--name", lab.name, "--json"], capture_output=True, text=True, check=True).stdout)
    assert st[0]["up"] is True
    assert [h["address"] for h in st[0]["hosts"]] == [h.address for h in lab.hosts]
    out = subprocess.run(LAB_CLI + ["ssh", "--name", lab.name, "maia-node-2", "hostname"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "maia-node-2"


def test_cli_restart_reboots_one_host_in_order_and_keeps_its_disk(lab):
    """`maia lab restart HOST` (Lab.restart_host): the container's own systemd shuts it down (its
    console shows the halt), then the same command line boots it again: a new boot id and nspawn
    process, what was in /run gone, what is on its root kept, the same address and SSH host key
    (strict checking), the other hosts untouched; ssh answers when the command returns."""
    name = "maia-node-2"
    others = {h.name: h.pid for h in lab.hosts if h.name != name}
    console = lab.folder.log(name)
    console_size = os.path.getsize(console)
    marks = "/run/maia-lab-restart /root/maia-lab-restart"
    boot_id = lab.ssh(name, f"touch {marks}; cat /proc/sys/kernel/random/boot_id").stdout.strip()
    try:
        proc = subprocess.run(LAB_CLI + ["restart", "--name", lab.name, name], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr
        lab.load()  # the fixture's copy of state.json: the host's new pid
        assert proc.stdout.strip() == f"{name} restarted (pid {lab.host(name).pid})"
        out = lab.ssh(name, f"cat /proc/sys/kernel/random/boot_id; ls {marks} 2>&1; ip -4 -o addr show eth0").stdout
        assert boot_id and boot_id not in out, out
        assert "cannot access '/run/maia-lab-restart'" in out and "\n/root/maia-lab-restart\n" in out, out
        assert f" {lab.host(name).address}/" in out, out
        with open(console, encoding="utf-8", errors="replace") as fh:
            fh.seek(console_size)
            assert "Halting system" in fh.read()
        assert {h.name: h.pid for h in lab.hosts if h.name != name} == others
        assert lab.is_up()
    finally:
        lab.ssh(name, f"rm -f {marks}", check=False)


def test_minions_answer_salt_from_the_lab_folder(lab_minions):
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "salt"), "*", "test.ping", "--out=json", "--static", "-t", "30"],
        cwd=lab_minions.dir, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {h.name: True for h in lab_minions.hosts}
    grains = json.loads(lab_minions.salt("*", "grains.item", "os", "host", "--out=json", "--static").stdout)
    assert grains == {h.name: {"os": "Debian", "host": h.name} for h in lab_minions.hosts}


def test_cli_salt_passthrough(lab_minions):
    out = subprocess.run(
        LAB_CLI + ["salt", "--name", lab_minions.name, "maia-node-1", "cmd.run", "hostname", "--out=json", "--static"],
        capture_output=True, text=True, timeout=120,
    )
    assert json.loads(out.stdout) == {"maia-node-1": "maia-node-1"}


def test_two_labs_run_at_once_isolated(lab, lab_minions):
    assert lab.slice != lab_minions.slice and lab.bridge != lab_minions.bridge
    assert not set(h.address for h in lab.hosts) & set(h.address for h in lab_minions.hosts)
    probe = lab.ssh(lab.hosts[0].name, f"ping -c1 -W1 {lab_minions.hosts[0].address}", check=False)
    assert probe.returncode != 0


def test_loop_disks_take_lvm_physical_volumes_but_no_logical_volumes_here(lab):
    """pvcreate/vgcreate work on the lab disks. lvcreate needs device-mapper, which this
    machine's kernel lacks: the test pins that limit (docs/lab.md); on a machine with
    device-mapper it checks that the LV is created instead."""
    h = lab.hosts[-1]
    devs = " ".join(h.devices)
    lab.ssh(h.name, "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q lvm2", timeout=600)
    try:
        lab.ssh(h.name, f"pvcreate -q {devs} && vgcreate -q maia_lab_test {devs}")
        vg = lab.ssh(h.name, "vgs --noheadings -o vg_name,pv_count maia_lab_test").stdout.split()
        assert vg == ["maia_lab_test", "2"]
        lv = lab.ssh(h.name, "lvcreate -q -n probe -L 64m maia_lab_test", check=False)
        if os.path.exists("/dev/mapper/control"):
            assert lv.returncode == 0, lv.stderr
        else:
            assert lv.returncode != 0 and "device-mapper" in lv.stderr
    finally:
        lab.ssh(h.name, f"lvremove -q -y maia_lab_test 2>/dev/null; vgremove -q -y maia_lab_test; pvremove -q -y {devs}", check=False)
    assert lab.ssh(h.name, f"pvs --noheadings {devs}", check=False).returncode != 0


def test_cli_rejects_bad_input_before_doing_anything():
    """Bad names, host counts and unknown hosts stop with a message; no lab folder is made."""
    from maia_lab.lab.core import LAB_ROOT

    for args, needle in (
        (["up", "--name", "Bad_Name"], "bad lab name"),
        (["up", "--name", "okname", "--hosts", "0"], "--hosts"),
        (["up", "--name", "okname", "--suite", "sid"], "--suite"),
        (["restart", "--name", "okname", "maia-node-0"], "no host 'maia-node-0' in lab okname"),
    ):
        proc = subprocess.run(LAB_CLI + args, capture_output=True, text=True)
        assert proc.returncode != 0 and needle in proc.stderr, (args, proc.stderr)
    assert not os.path.exists(os.path.join(LAB_ROOT, "okname"))


@pytest.mark.skipif(not os.environ.get("MAIA_LAB_TEST_TRIXIE"), reason="set MAIA_LAB_TEST_TRIXIE=1: builds a trixie base root (1-3 min)")
def test_trixie_hosts(require_trixie):
    from support.lab import claim_lab_name

    name, lock = claim_lab_name("pytest-trixie")
    try:
        lab_ = Lab(name).up(hosts=1, suite="trixie", minions=True)
        assert lab_.ssh("0", ". /etc/os-release; echo $VERSION_CODENAME").stdout.strip() == "trixie"
        assert json.loads(lab_.salt("*", "test.ping", "--out=json", "--static").stdout) == {"maia-node-0": True}
    finally:
        Lab(name).down()
        lock.close()


@pytest.fixture
def require_trixie():
    from support.lab import require_lab

    require_lab()


def test_documented_lab_cli_commands_run_as_written():
    """The `maia lab` example of docs/lab.md, verbatim and in order (it makes the lab `default`;
    skipped where a `default` lab already exists, which it would take down)."""
    from maia_lab.lab.core import LAB_ROOT
    from support.doc_commands import by_kind
    from support.lab import require_lab

    require_lab()
    if os.path.exists(os.path.join(LAB_ROOT, "default")) or LAB_ROOT != "/var/lib/maia-lab":
        pytest.skip("a lab named `default` exists (or MAIA_LAB_ROOT moved the labs): the example would touch it")
    commands = by_kind("lab-cli")
    assert [c.program_argv[:3] for c in commands][:2] == [["maia", "lab", "up"], ["maia", "lab", "status"]]
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}:{os.environ['PATH']}"}
    env.pop("MAIA_LAB_NAME", None)
    try:
        for command in commands:
            proc = subprocess.run(command.text, shell=True, env=env, capture_output=True, text=True, timeout=900,
                                  stdin=subprocess.DEVNULL)
            assert proc.returncode == 0, f"{command}: {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
            if "test.ping" in command.text:
                assert proc.stdout.count("True") == 3, proc.stdout
    finally:
        subprocess.run(LAB_CLI + ["down", "--name", "default"], capture_output=True, timeout=300)
    assert not os.path.exists(os.path.join(LAB_ROOT, "default"))
