"""maia.prepare on three real Debian hosts of a `maia lab` (systemd-nspawn),
driven by salt-ssh from the lab folder, with the pillar the maia ext_pillar
builds from the lab's CONFIG_FOLDER (inventory, cifs_key).

Lab hosts: maia-node-0 (control-plane, nfs_server), maia-node-1 and
maia-node-2 (nfs_clients), two loop disks each.

What this machine cannot do, and how the tests stand in for it:
- No device-mapper: `lvcreate` fails, so the lab's pillar switches the
  logical volumes, their ext4 filesystems and mounts off
  (`maia:prepare:lvm_volumes: false`, maia_lab.lab.core.HOST_LIMITS); they are
  checked through their test=True predictions with the switch on (LIMITED
  below). PV and VG creation runs for real on the loop disks.
- No kernel NFS server and no nfs/cifs filesystems: the NFS service start
  and the client mount are switched off the same way (`nfs_server_start`,
  `nfs_share_mount`); everything up to those calls (packages, /etc/exports, service
  enabled, fstab) runs for real. The
  CIFS driver's mount call runs with a stand-in `mount` that records its
  arguments.
- No GPU: the grain reads the hosts' real (GPU-less) PCI tree.
MAIA_LAB_PREPARE_SUITE=trixie runs the same tests on Debian 13 hosts.
On real hosts the switches stay on (their default); these tests always use the lab.
"""
import hashlib
import json
import os
import subprocess
import time

import pytest
import yaml

from maia_lab.lab.core import Lab
from support.lab import require_lab, stage_jobs_only

pytestmark = [pytest.mark.lab, pytest.mark.slow]

# the states the lab's HOST_LIMITS switch off, and the pillar that switches them on again
LIMITED = [
    "maia-prepare-lvm-lv-maia_0_local-present",
    "maia-prepare-lvm-lv-maia_0_local-formatted",
    "maia-prepare-lvm-lv-maia_0_local-mounted",
    "maia-prepare-lvm-lv-maia_0-present",
    "maia-prepare-lvm-lv-maia_0-formatted",
    "maia-prepare-lvm-lv-maia_0-mounted",
    "maia-prepare-nfs-server-service-running",
    "maia-prepare-nfs-share-mounted",
]
UNLIMITED_ARG = "pillar=" + json.dumps({"maia": {"prepare": {"lvm_volumes": True, "nfs_server_start": True,
                                                             "nfs_share_mount": True}}})
# Salt's own service.enabled says "would be enabled" (result None, no changes)
# while the package is not installed yet; nfs-kernel-server's package then
# enables the unit itself, so the real run has nothing left to change.
PREDICTED_WITHOUT_CHANGE = {"maia-prepare-nfs-server-service-enabled"}
CIFS_DIR = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/fstab~cifs"
SERVER, CLIENT1, CLIENT2 = "maia-node-0", "maia-node-1", "maia-node-2"


def sid(key: str) -> str:
    return key.split("_|-")[1]


def run_json(lab, *args, check_rc=False):
    """salt-ssh ARGS --out json --static -> {host: return}."""
    proc = lab.salt_ssh(*args, "--out", "json", "--static", check=False)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"salt-ssh {' '.join(args)} did not return JSON:\n{proc.stdout}\n{proc.stderr}")
    if check_rc:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return data, proc


def states_of(ret: dict, host: str) -> dict:
    """{state id: result dict} of one host's state.apply return."""
    res = ret[host]
    assert isinstance(res, dict), f"{host}: {res}"
    out = {sid(k): v for k, v in res.items() if isinstance(v, dict) and "_|-" in k}
    assert out, f"{host} returned no states: {res}"
    return out


@pytest.fixture(scope="module")
def lab():
    require_lab()
    name = os.environ.get("MAIA_LAB_PREPARE_NAME", "pytest-prepare")
    lab_ = Lab(name)
    if lab_.exists:
        lab_.down()  # these tests need fresh hosts
    lab_.up(hosts=3, suite=os.environ.get("MAIA_LAB_PREPARE_SUITE", "bookworm"))
    stage_jobs_only(lab_)
    try:
        yield lab_
    finally:
        if not os.environ.get("MAIA_LAB_KEEP"):
            Lab(name).down()


@pytest.fixture(scope="module")
def runs(lab):
    """The sequence every test below reads: bad input, dry run, two real runs."""
    r = {}
    bad = 'pillar={"maia": {"host": {"device_list": ["/dev/maia-no-such-disk"], "local_storage_size": "lots"}}}'
    r["bad"], _ = run_json(lab, CLIENT1, "state.apply", "maia.prepare", bad)
    r["bad_dpkg"] = lab.ssh(CLIENT1, "dpkg-query -W -f='${Status}\\n' lvm2 ufw nfs-common cifs-utils 2>&1 || true").stdout
    r["dry"], r["dry_proc"] = run_json(lab, "*", "state.apply", "maia.prepare", "test=True")
    r["first"], r["first_proc"] = run_json(lab, "*", "state.apply", "maia.prepare", check_rc=True)
    r["second"], r["second_proc"] = run_json(lab, "*", "state.apply", "maia.prepare", check_rc=True)
    r["lv_dry"], _ = run_json(lab, "*", "state.apply", "maia.prepare", "test=True", UNLIMITED_ARG)
    return r


def test_bad_host_vars_fail_before_any_change(runs):
    states = states_of(runs["bad"], CLIENT1)
    check = states["maia-prepare-lvm-host-vars-valid"]
    assert check["result"] is False
    assert "host maia-node-1: invalid LVM host vars, nothing changed" in check["comment"]
    assert "/dev/maia-no-such-disk does not exist" in check["comment"]
    assert "local_storage_size: size 'lots'" in check["comment"]
    assert all(not s["changes"] for s in states.values()), {k: s["changes"] for k, s in states.items() if s["changes"]}
    assert all(s["result"] is not True for k, s in states.items() if not k.startswith(("maia-prepare-ufw-extra", "maia-prepare-lvm-host"))), states
    assert "install ok installed" not in runs["bad_dpkg"], runs["bad_dpkg"]


def test_every_host_converges(runs):
    for host in (SERVER, CLIENT1, CLIENT2):
        failed = {k: s["comment"] for k, s in states_of(runs["first"], host).items() if s["result"] is not True}
        assert not failed, f"{host}: {failed}"
        ids = set(states_of(runs["first"], host))
        assert not ids & set(LIMITED)


def test_dry_run_predicts_the_first_run(runs):
    for host in (SERVER, CLIENT1, CLIENT2):
        dry, first = states_of(runs["dry"], host), states_of(runs["first"], host)
        assert set(dry) == set(first)
        predicted = {k for k, s in dry.items() if s["result"] is None}
        changed = {k for k, s in first.items() if s["changes"]}
        assert changed == predicted - PREDICTED_WITHOUT_CHANGE, (host, changed ^ predicted)
        # the summary of `maia install --test` counts the states with changes: the same ones
        would = {k for k, s in dry.items() if s["changes"]}
        assert would == changed, (host, would ^ changed)
        # our own states predict the very changes they make
        for k, s in first.items():
            if k.startswith(("maia-prepare-ufw-rule", "maia-prepare-ufw-enabled", "maia-prepare-lvm-vg", "maia-prepare-nfs-exports",
                             "maia-prepare-nfs-fstab")):
                assert dry[k]["changes"] == s["changes"], (host, k)


def test_second_run_changes_nothing(runs):
    for host in (SERVER, CLIENT1, CLIENT2):
        states = states_of(runs["second"], host)
        changed = {k: s["changes"] for k, s in states.items() if s["changes"]}
        assert not changed, f"{host}: {changed}"
        assert all(s["result"] is True for s in states.values())


def test_packages_installed(lab, runs):
    want = {
        SERVER: "lvm2 ufw nfs-kernel-server nfs-common rpcbind cifs-utils python-is-python3 python3-cryptography",
        CLIENT1: "lvm2 ufw nfs-common rpcbind cifs-utils python-is-python3 python3-cryptography",
    }
    for host, pkgs in want.items():
        out = lab.ssh(host, f"dpkg-query -W -f='${{Package}} ${{Status}}\\n' {pkgs}").stdout
        assert out.count("install ok installed") == len(pkgs.split()), out
    server_pkg = lab.ssh(CLIENT1, "dpkg-query -W -f='${Status}' nfs-kernel-server 2>/dev/null || true").stdout
    assert "install ok installed" not in server_pkg


def test_ufw_rules_active(lab, runs):
    addr = {h.name: h.address for h in lab.hosts}
    status = lab.ssh(SERVER, "LC_ALL=C ufw status").stdout
    assert "Status: active" in status
    for line in ("22/tcp                     ALLOW       Anywhere",
                 f"Anywhere                   ALLOW       {addr[CLIENT1]}",
                 f"Anywhere                   ALLOW       {addr[CLIENT2]}",
                 f"2049/tcp                   ALLOW       {addr[CLIENT1]}",
                 f"2049/tcp                   ALLOW       {addr[CLIENT2]}"):
        assert line in status, status
    client = lab.ssh(CLIENT1, "LC_ALL=C ufw status").stdout
    assert f"Anywhere                   ALLOW       {addr[SERVER]}" in client and "2049" not in client
    assert lab.ssh(CLIENT1, "systemctl is-enabled ufw").stdout.strip() == "enabled"


def test_ufw_enforced(lab, runs):
    """A MAIA host reaches a test port; this machine's bridge address (not a MAIA host) does not."""
    server = lab.host(SERVER).address
    lab.ssh(SERVER, "systemd-run --unit=maia-test-listener python3 -m http.server 18080 --bind 0.0.0.0")
    try:
        for _ in range(50):
            if ":18080" in lab.ssh(SERVER, "ss -ltn").stdout:
                break
            time.sleep(0.1)
        probe = f"python3 -c \"import urllib.request;print(urllib.request.urlopen('http://{server}:18080/',timeout=5).status)\""
        assert lab.ssh(CLIENT2, probe).stdout.strip() == "200"
        import socket

        with pytest.raises(OSError):
            socket.create_connection((server, 18080), timeout=3).close()
        with socket.create_connection((server, 22), timeout=3):
            pass  # SSH stays open to everyone
    finally:
        lab.ssh(SERVER, "systemctl stop maia-test-listener", check=False)


def test_nfs_server_exports_and_dirs(lab, runs):
    addr = {h.name: h.address for h in lab.hosts}
    opts = "rw,sync,no_subtree_check,no_root_squash"
    exports = lab.ssh(SERVER, "cat /etc/exports").stdout.splitlines()
    line = f"/nfs {addr[SERVER]}({opts}) {addr[CLIENT1]}({opts}) {addr[CLIENT2]}({opts})"
    assert [l for l in exports if l.startswith("/nfs")] == [line]
    assert lab.ssh(SERVER, "stat -c '%U:%G %a' /nfs").stdout.strip() == "nobody:nogroup 777"
    # the service start itself can't happen here (no kernel nfsd): only enabled is checked
    # (nfs-kernel-server.service is an alias of nfs-server.service on Debian 12)
    unit = lab.ssh(SERVER, "systemctl show -p Id --value nfs-kernel-server").stdout.strip()
    assert lab.ssh(SERVER, f"systemctl is-enabled {unit}").stdout.strip() == "enabled"


def test_nfs_client_fstab(lab, runs):
    server = lab.host(SERVER).address
    for host in (CLIENT1, CLIENT2):
        fstab = lab.ssh(host, "cat /etc/fstab").stdout.splitlines()
        assert f"{server}:/nfs\t\t/nfs\tnfs\trw,sync,vers=4\t0 0" in fstab or any(
            l.split() == [f"{server}:/nfs", "/nfs", "nfs", "rw,sync,vers=4", "0", "0"] for l in fstab
        ), fstab
        assert lab.ssh(host, "test -d /nfs && echo ok").stdout.strip() == "ok"
        # the mount point as the collection makes it, so that pods can write to the share (issue 28)
        assert lab.ssh(host, "stat -c '%U:%G %a' /nfs").stdout.strip() == "nobody:nogroup 777"


def test_lvm_pv_and_vg_real(lab, runs):
    for h in lab.hosts:
        report = json.loads(lab.ssh(h.name, "pvs --reportformat json -o pv_name,vg_name").stdout)
        pvs = {r["pv_name"]: r["vg_name"] for r in report["report"][0]["pv"]}
        assert pvs == {d: "MAIA_Storage" for d in h.devices}, (h.name, pvs)


def test_lv_chain_predicted(runs):
    """LVs can't be created here (no device-mapper): their dry-run predictions."""
    server = states_of(runs["lv_dry"], SERVER)
    assert server["maia-prepare-lvm-lv-maia_0_local-present"]["changes"] == {
        "lv": {"old": None, "new": "/dev/MAIA_Storage/maia_0_local"}, "size": {"old": None, "new": "50%FREE"}}
    assert server["maia-prepare-lvm-lv-maia_0-present"]["changes"] == {
        "lv": {"old": None, "new": "/dev/MAIA_Storage/maia_0"}, "size": {"old": None, "new": "100%FREE"}}
    assert server["maia-prepare-lvm-lv-maia_0-formatted"]["changes"] == {"fstype": {"old": None, "new": "ext4"}}
    mounted = server["maia-prepare-lvm-lv-maia_0-mounted"]
    assert mounted["result"] is None
    assert mounted["changes"]["fstab"]["new"] == "UUID=<uuid of /dev/MAIA_Storage/maia_0> /nfs ext4 defaults 0 2"
    assert mounted["changes"]["mounted"] == {"old": None, "new": "/dev/MAIA_Storage/maia_0"}
    client = states_of(runs["lv_dry"], CLIENT1)
    assert client["maia-prepare-lvm-lv-maia_0_local-present"]["changes"]["size"]["new"] == "100%FREE"
    assert "maia-prepare-lvm-lv-maia_0-present" not in client
    assert client["maia-prepare-lvm-lv-maia_0_local-mounted"]["changes"]["mountpoint"]["new"] == "/opt/local-path-provisioner"
    # everything else already converged
    others = {k for k, s in client.items() if s["result"] is None and k not in LIMITED}
    assert not others, others


def test_cifs_files_and_modes(lab, runs):
    with open(os.path.join(lab.config_folder, "cifs_key"), "rb") as fh:
        key_sha = hashlib.sha256(fh.read()).hexdigest()
    for host in (SERVER, CLIENT1):
        out = lab.ssh(host, f"cd '{CIFS_DIR}' && stat -c '%n %U:%G %a' cifs decrypt_string.py private_key.pem && sha256sum private_key.pem").stdout
        lines = out.splitlines()
        assert lines[:3] == ["cifs root:root 755", "decrypt_string.py root:root 755", "private_key.pem root:root 600"]
        assert lines[3].split()[0] == key_sha
        init = json.loads(lab.ssh(host, f"'{CIFS_DIR}/cifs' init").stdout)
        assert init == {"status": "Success", "capabilities": {"attach": False}}
        init_state = states_of(runs["first"], host)["maia-prepare-cifs-plugin-initialised"]
        assert json.loads(init_state["changes"]["stdout"]) == init


def test_cifs_mount_call(lab, runs):
    """The driver on a host decrypts credentials made with cifs_key.pub and
    calls `mount -t cifs` (a stand-in `mount` records the call: no cifs here)."""
    import base64

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    with open(os.path.join(lab.config_folder, "cifs_key.pub"), "rb") as fh:
        pub = serialization.load_pem_public_key(fh.read())
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)

    def secret(text):
        return base64.b64encode(pub.encrypt(text.encode(), oaep).hex().encode()).decode()

    options = json.dumps({
        "networkPath": "//198.18.0.200/medical",
        "mountOptions": "vers=3.0,uid=1000",
        "kubernetes.io/secret/username": secret("radiology"),
        "kubernetes.io/secret/password": secret("pa55 word"),
    })
    script = f"""set -e
d=$(mktemp -d)
mkdir "$d/bin"
cat > "$d/bin/mount" <<'STANDIN'
#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/../call"
printf 'PASSWD=%s\\n' "$PASSWD" >> "$(dirname "$0")/../call"
STANDIN
chmod 755 "$d/bin/mount"
PATH="$d/bin:$PATH" '{CIFS_DIR}/cifs' mount "$d/vol" '{options}'
cat "$d/call"
rm -rf "$d"
"""
    encoded = base64.b64encode(script.encode()).decode()
    script = f"echo {encoded} | base64 -d > /tmp/maia-cifs-test.sh && bash /tmp/maia-cifs-test.sh; rm -f /tmp/maia-cifs-test.sh"
    out = lab.ssh(CLIENT2, script).stdout.splitlines()
    assert json.loads(out[0]) == {"status": "Success"}
    call = out[1:]
    assert call[:4] == ["-t", "cifs", "//198.18.0.200/medical", call[3]] and call[3].endswith("/vol")
    assert call[4:] == ["-o", "username=radiology,vers=3.0,uid=1000", "PASSWD=pa55 word"]


def test_gpu_skipped(lab, runs):
    for host in (SERVER, CLIENT1, CLIENT2):
        skip = states_of(runs["first"], host)["maia-prepare-nvidia-no-gpu-skipped"]
        assert skip["result"] is True and skip["name"] == "no NVIDIA GPU, skipped"
    grains, _ = run_json(lab, CLIENT1, "grains.get", "maia_gpu")
    assert grains[CLIENT1] == {"nvidia": False, "nvidia_devices": []}


def test_no_secret_in_output(lab, runs):
    """No secret of the site (tests/support/secrets.py: env.json, registry, CIFS
    key, bcrypt hash) in the state returns of the three runs, nor in the lab
    master's salt-ssh logs and job cache."""
    from pathlib import Path

    from support.secrets import JOB_DIRS, find_secrets, site_secrets

    secrets = site_secrets(lab.config_folder)
    assert any(label.startswith("cifs_key") for label in secrets) and "env.json:ARGOCD_PASSWORD" in secrets
    texts = {name: runs[name].stdout + runs[name].stderr for name in ("dry_proc", "first_proc", "second_proc")}
    places = [Path(lab.path("salt", "log")), *(Path(lab.path("salt", "cache", d)) for d in JOB_DIRS)]
    assert find_secrets(secrets, places, texts) == []


def test_selfsigned_site_maps_service_names_on_every_host(lab):
    """maia.prepare.service_names with the site made selfsigned for these runs (command-line
    pillar; the lab's cluster YAML is not): every host maps the 16 names to the control
    plane's address in its real /etc/hosts, a stale entry for another address is replaced,
    test=True predicts the first run, a re-run changes nothing; the clean removes them."""
    selfsigned = "pillar=" + json.dumps({"maia": {"cluster": {"selfsigned": True}}})
    with open(os.path.join(lab.config_folder, "env.json")) as fh:
        cluster_name = json.load(fh)["cluster_name"]
    with open(os.path.join(lab.config_folder, f"{cluster_name}.yaml")) as fh:
        domain = yaml.safe_load(fh)["domain"]
    names = [domain] + [f"{p}.{domain}" for p in (
        "traefik", "dashboard", "grafana", "iam", "registry", "mgmt", "minio", "argocd", "maia", "test",
        "minio.test", "minio-api", "minio-api.test", "login", "kubeflow")]
    ingress = {h.name: h.address for h in lab.hosts}[SERVER]
    lab.ssh(CLIENT2, f"echo '198.18.0.99 iam.{domain}' >> /etc/hosts")
    apply = ("state.apply", "maia.prepare.service_names", selfsigned)
    dry, _ = run_json(lab, "*", *apply, "test=True", check_rc=True)
    first, _ = run_json(lab, "*", *apply, check_rc=True)
    second, _ = run_json(lab, "*", *apply, check_rc=True)
    for host in (SERVER, CLIENT1, CLIENT2):
        ours = {k: s for k, s in states_of(first, host).items() if k.startswith("maia-prepare-service-name-")}
        assert sorted(s["name"] for s in ours.values()) == sorted(names)
        assert all(s["result"] is True and s["changes"]["added"] == {ingress: [s["name"]]} for s in ours.values())
        predicted = {k: s["changes"] for k, s in states_of(dry, host).items() if s["result"] is None}
        assert predicted == {k: s["changes"] for k, s in ours.items()}, host
        assert not [k for k, s in states_of(second, host).items() if s["changes"]], host
        hosts_file = lab.ssh(host, "cat /etc/hosts").stdout.split("\n")
        mapped = {name for line in hosts_file if line.split()[:1] == [ingress] for name in line.split()[1:]}
        assert set(names) <= mapped, hosts_file
        assert not [line for line in hosts_file if line.startswith("198.18.0.99")], hosts_file
    stale = states_of(first, CLIENT2)[f"maia-prepare-service-name-iam.{domain}-present"]
    assert stale["changes"]["removed"] == {"198.18.0.99": [f"iam.{domain}"]}
    cleaned, _ = run_json(lab, "*", "state.apply", "maia.prepare.service_names.clean", selfsigned, check_rc=True)
    assert len([k for k, s in states_of(cleaned, CLIENT1).items() if s["changes"]]) == len(names)
    assert domain not in lab.ssh(CLIENT1, "cat /etc/hosts").stdout


def test_ufw_clean_then_reapply(lab, runs):
    """Runs after the tests of the runs above: ufw.clean disables the firewall and deletes MAIA's rules (SSH
    stays), a second clean changes nothing, maia.prepare.ufw brings it back."""
    addr = {h.name: h.address for h in lab.hosts}
    cleaned, _ = run_json(lab, CLIENT2, "state.apply", "maia.prepare.ufw.clean", check_rc=True)
    changed = {k for k, s in states_of(cleaned, CLIENT2).items() if s["changes"]}
    assert changed == {"maia-prepare-ufw-disabled", "maia-prepare-ufw-rule-from-maia-node-0-deleted", "maia-prepare-ufw-rule-from-maia-node-1-deleted"}
    rules, _ = run_json(lab, CLIENT2, "maia_ufw.rules")
    assert rules[CLIENT2] == [{"action": "allow", "proto": "tcp", "port": "22", "from": "any"}]
    assert "Status: inactive" in lab.ssh(CLIENT2, "LC_ALL=C ufw status").stdout
    again, _ = run_json(lab, CLIENT2, "state.apply", "maia.prepare.ufw.clean", check_rc=True)
    assert not [k for k, s in states_of(again, CLIENT2).items() if s["changes"]]
    back, _ = run_json(lab, CLIENT2, "state.apply", "maia.prepare.ufw", check_rc=True)
    changed = {k for k, s in states_of(back, CLIENT2).items() if s["changes"]}
    assert changed == {"maia-prepare-ufw-enabled", "maia-prepare-ufw-rule-from-maia-node-0-allowed", "maia-prepare-ufw-rule-from-maia-node-1-allowed"}
    assert f"Anywhere                   ALLOW       {addr[SERVER]}" in lab.ssh(CLIENT2, "LC_ALL=C ufw status").stdout


def test_salt_ssh_without_a_master_first_and_noop_summaries_are_truthful(lab, runs):
    """`maia install --ssh --stages prepare` on this salt-ssh lab, where no salt-master runs (was
    tests/lab/test_lab_install_ssh.py on the session's fresh salt-ssh lab, whose whole first stage 1
    it repeated; here stage 1 has already run, and the first run puts back one file).

    Without a master, `maia install` runs Salt's event publisher only for the run (eventbus.py), and
    the stage step's ``__jid__`` is the hosts' own salt-call jid, under which the job cache holds
    nothing: the summary comes from the returns salt-ssh wrote into the master job cache as each
    host answered. After the run nothing answers on the master's event sockets any more."""
    from support.install_output import check_truthful, maia_install

    hosts = {SERVER, CLIENT1, CLIENT2}
    assert not lab.state.get("minions")
    # on a prepared lab, something for stage 1 to put back on one host (on a fresh lab: everything)
    lab.ssh(CLIENT2, f"chmod 0700 '{CIFS_DIR}/cifs'", check=False)
    run = maia_install(lab, "--ssh", "--stages", "prepare")
    assert run.returncode == 0, run.text
    first = check_truthful(lab, run, {"prepare": hosts})
    assert first[("prepare", CLIENT2)].changed > 0, run.text

    rerun = maia_install(lab, "--ssh", "--stages", "prepare")
    assert rerun.returncode == 0, rerun.text
    noop = check_truthful(lab, rerun, {"prepare": hosts})
    assert sum(r.changed for r in noop.values()) == 0, rerun.text
    assert {k: r.states for k, r in noop.items()} == {k: r.states for k, r in first.items()}, rerun.text
    from maia_salt import eventbus
    from maia_salt.install import master_opts

    assert not eventbus.answers(master_opts(lab.dir))
