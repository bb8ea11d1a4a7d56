"""Every branch of maia.prepare rendered by Salt's real renderers
(`salt-call --local state.show_sls` with a temporary config, file_roots =
formulas/, the modules through the maia-salt loader entry point) over a table
of cases (grains, pillar), the way MetalK8s tests its formulas. Rendering
runs no state: nothing on this machine changes."""
import json
import subprocess

import pytest
import yaml

from prepare.conftest import FORMULA
from support.paths import REPO
from support.extmods import synced_extension_modules
from support.site import SITE_INVENTORY, make_site
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS

MICROK8S_CIFS = "/usr/libexec/kubernetes/kubelet-plugins/volume/exec/fstab~cifs"
KUBELET_CIFS = "/var/lib/kubelet/volumeplugins/fstab~cifs"

OS = {
    "ubuntu20": {"os_family": "Debian", "os": "Ubuntu", "osfinger": "Ubuntu-20.04"},
    "ubuntu22": {"os_family": "Debian", "os": "Ubuntu", "osfinger": "Ubuntu-22.04"},
    "ubuntu24": {"os_family": "Debian", "os": "Ubuntu", "osfinger": "Ubuntu-24.04"},
    "debian12": {"os_family": "Debian", "os": "Debian", "osfinger": "Debian-12"},
    "debian13": {"os_family": "Debian", "os": "Debian", "osfinger": "Debian-13"},
}
GPU = {"maia_gpu": {"nvidia": True, "nvidia_devices": ["0000:3b:00.0"]}}
NO_GPU = {"maia_gpu": {"nvidia": False, "nvidia_devices": []}}
HOSTS = {
    "maia-node-0": {"address": "198.18.0.11", "roles": ["control-plane", "nfs_server"]},
    "maia-node-1": {"address": "198.18.0.12", "roles": ["nfs_clients"]},
    "maia-node-2": {"address": "198.18.0.13", "roles": ["nfs_clients"]},
}
SERVER = {
    "roles": ["control-plane", "nfs_server"],
    "host": {"address": "198.18.0.11", "device_list": ["/dev/sdb", "/dev/sdc"], "local_storage_size": "300g", "nfs_storage_size": "100%FREE"},
    "hosts": HOSTS,
    "nfs_server": {"name": "maia-node-0", "address": "198.18.0.11"},
    "cluster": {"k8s_distribution": "microk8s"},
    "cifs": {"private_key": "-----BEGIN PRIVATE KEY-----\nnot-a-real-key\n-----END PRIVATE KEY-----\n"},
}
CLIENT = {
    "roles": ["nfs_clients"],
    "host": {"address": "198.18.0.12", "device_list": ["/dev/sdb"]},
    "hosts": HOSTS,
    "nfs_server": {"name": "maia-node-0", "address": "198.18.0.11"},
}


def render(tmp_path, minion_id, grains, pillar, *extra):
    """show_sls maia.prepare as {state id: {"fun": "mod.fun", **args}}."""
    return render_sls(tmp_path, "maia.prepare", minion_id, grains, pillar, *extra)


def render_sls(tmp_path, sls, minion_id, grains, pillar, *extra, roots=(), config=None):
    """show_sls SLS as {state id: {"fun": "mod.fun", **args}}; ``roots``: file roots served
    before formulas/ (Salt serves the first match), ``config``: more minion settings."""
    pillar_dir = tmp_path / "pillar"
    pillar_dir.mkdir(exist_ok=True)
    (pillar_dir / "top.sls").write_text("base:\n  '*': [maia]\n")
    (pillar_dir / "maia.sls").write_text(yaml.safe_dump({"maia": pillar}))
    conf = tmp_path / "conf"
    conf.mkdir(exist_ok=True)
    (conf / "minion").write_text(yaml.safe_dump({
        "id": minion_id,
        "file_client": "local", **SKIP_MACHINE_GRAINS,
        "file_roots": {"base": [*map(str, roots), str(REPO / "formulas")]},
        "extension_modules": synced_extension_modules(tmp_path),
        "pillar_roots": {"base": [str(pillar_dir)]},
        "root_dir": str(tmp_path),
        "cachedir": str(tmp_path / "cache"),
        "pki_dir": str(tmp_path / "pki"),
        "log_file": str(tmp_path / "minion.log"),
        "grains": grains,
        **(config or {}),
    }))
    proc = subprocess.run(
        [SALT_CALL, "--local", "-c", str(conf), "--out", "json", "--retcode-passthrough", "state.show_sls", sls, *extra],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)["local"]
    assert isinstance(out, dict), out
    states = {}
    for sid, chunk in out.items():
        for mod, body in chunk.items():
            if mod.startswith("__") or not isinstance(body, list):
                continue
            args = {"fun": mod + "." + next(x for x in body if isinstance(x, str))}
            for item in body:
                if isinstance(item, dict):
                    args.update(item)
            states[sid] = args
    return states


def has(state, expected):
    """``state`` holds every key/value of ``expected``."""
    return {k: state.get(k) for k in expected} == expected


def ids(states, prefix):
    return sorted(s for s in states if s.startswith(prefix))


def test_ubuntu_nfs_server_with_gpu_and_cifs(tmp_path):
    pillar = dict(SERVER, prepare={"ufw_extra_rules": [{"port": 8080, "proto": "tcp", "from": "198.18.0.0/24"}]})
    s = render(tmp_path, "maia-node-0", {**OS["ubuntu22"], **GPU}, pillar)
    # validation first, failing hard
    for sid in ("maia-prepare-lvm-host-vars-valid", "maia-prepare-ufw-extra-rules-valid"):
        assert s[sid]["order"] == 1 and s[sid]["failhard"] is True
    assert s["maia-prepare-lvm-host-vars-valid"]["volumes"] == [
        {"lv": "maia_0_local", "mountpoint": "/opt/local-path-provisioner", "key": "local_storage_size", "size": "300g"},
        {"lv": "maia_0", "mountpoint": "/nfs", "key": "nfs_storage_size", "size": "100%FREE"},
    ]
    # nvidia: pinned driver, reboot last and only when the driver changed
    assert s["maia-prepare-nvidia-driver-installed"]["pkgs"] == ["nvidia-driver-570"]
    reboot = s["maia-prepare-nvidia-reboot-scheduled"]
    assert reboot["order"] == "last" and reboot["onchanges"] == [{"pkg": "maia-prepare-nvidia-driver-installed"}]
    assert reboot["name"].startswith("touch /run/maia-reboot-pending")  # what maia_orch.wait_for_reboots watches
    # lvm
    assert s["maia-prepare-lvm-vg-MAIA_Storage-present"]["devices"] == ["/dev/sdb", "/dev/sdc"]
    assert s["maia-prepare-lvm-lv-maia_0_local-present"]["size"] == "300g"
    assert s["maia-prepare-lvm-lv-maia_0-present"]["require"][-1] == {"maia_storage": "maia-prepare-lvm-lv-maia_0_local-present"}
    assert s["maia-prepare-lvm-lv-maia_0-mounted"]["name"] == "/nfs"
    assert s["maia-prepare-lvm-lv-maia_0_local-mounted"]["name"] == "/opt/local-path-provisioner"
    # ufw: SSH, both peers, NFS from both clients, the extra rule; enabled after all of them
    rules = ids(s, "maia-prepare-ufw-rule-")
    assert rules == [
        "maia-prepare-ufw-rule-extra-1-allowed",
        "maia-prepare-ufw-rule-from-maia-node-1-allowed",
        "maia-prepare-ufw-rule-from-maia-node-2-allowed",
        "maia-prepare-ufw-rule-nfs-from-maia-node-1-allowed",
        "maia-prepare-ufw-rule-nfs-from-maia-node-2-allowed",
        "maia-prepare-ufw-rule-ssh-allowed",
    ]
    assert has(s["maia-prepare-ufw-rule-nfs-from-maia-node-2-allowed"], {"port": 2049, "proto": "tcp", "source": "198.18.0.13"})
    assert has(s["maia-prepare-ufw-rule-extra-1-allowed"], {"port": "8080", "proto": "tcp", "source": "198.18.0.0/24"})
    # default incoming deny set explicitly, after every allow rule; enabled after that
    assert has(s["maia-prepare-ufw-default-incoming-denied"], {"fun": "maia_ufw.default_policy", "policy": "deny", "direction": "incoming"})
    assert sorted(r["maia_ufw"] for r in s["maia-prepare-ufw-default-incoming-denied"]["require"]) == rules
    assert s["maia-prepare-ufw-enabled"]["require"] == [{"maia_ufw": "maia-prepare-ufw-default-incoming-denied"}]
    # nfs server
    assert has(s["maia-prepare-nfs-export-dir-present"], {"name": "/nfs", "user": "nobody", "group": "nogroup", "mode": "0777"})
    assert {"sls": "maia.prepare.lvm"} in s["maia-prepare-nfs-export-dir-present"]["require"]
    assert s["maia-prepare-nfs-exports-entry-present"]["clients"] == ["198.18.0.11", "198.18.0.12", "198.18.0.13"]
    assert s["maia-prepare-nfs-exports-entry-present"]["options"] == "rw,sync,no_subtree_check,no_root_squash"
    assert s["maia-prepare-nfs-server-service-running"]["watch"] == [{"maia_storage": "maia-prepare-nfs-exports-entry-present"}]
    assert "maia-prepare-nfs-share-mounted" not in s
    # cifs on microk8s, key 0600 without diff
    key = s["maia-prepare-cifs-private-key-installed"]
    assert key["name"] == MICROK8S_CIFS + "/private_key.pem" and key["mode"] == "0600" and key["show_changes"] is False
    assert key["contents_pillar"] == "maia:cifs:private_key"
    assert s["maia-prepare-cifs-plugin-cifs-installed"]["source"][-1] == "salt://maia/prepare/cifs/files/default/cifs"
    assert s["maia-prepare-cifs-plugin-initialised"]["name"] == MICROK8S_CIFS + "/cifs init"
    assert "not-a-real-key" not in json.dumps(s)


def test_debian_nfs_client_without_gpu_or_cifs_key(tmp_path):
    s = render(tmp_path, "maia-node-1", {**OS["debian12"], **NO_GPU}, CLIENT)
    assert s["maia-prepare-nvidia-no-gpu-skipped"]["name"] == "no NVIDIA GPU, skipped"
    assert not ids(s, "maia-prepare-nvidia-driver")
    assert ids(s, "maia-prepare-lvm-lv-") == [
        "maia-prepare-lvm-lv-maia_0_local-formatted", "maia-prepare-lvm-lv-maia_0_local-mounted", "maia-prepare-lvm-lv-maia_0_local-present",
    ]
    assert s["maia-prepare-lvm-lv-maia_0_local-present"]["size"] == "100%FREE"  # default
    assert not ids(s, "maia-prepare-ufw-rule-nfs")
    assert ids(s, "maia-prepare-ufw-rule-from-") == ["maia-prepare-ufw-rule-from-maia-node-0-allowed", "maia-prepare-ufw-rule-from-maia-node-2-allowed"]
    fstab = s["maia-prepare-nfs-fstab-entry-present"]
    assert has(fstab, {"name": "/nfs", "device": "198.18.0.11:/nfs", "fstype": "nfs", "opts": "rw,sync,vers=4"})
    assert has(s["maia-prepare-nfs-share-mounted"], {"device": "198.18.0.11:/nfs", "opts": "rw,sync,vers=4", "persist": False})
    assert not ids(s, "maia-prepare-nfs-export")
    assert "maia-prepare-cifs-no-key-skipped" in s and not ids(s, "maia-prepare-cifs-plugin")


@pytest.mark.parametrize(
    "os_key, pkgs",
    [
        ("ubuntu20", ["nvidia-driver-570"]),
        ("ubuntu24", ["nvidia-driver-570"]),
        ("debian12", ["nvidia-driver", "firmware-misc-nonfree"]),
        ("debian13", ["nvidia-driver", "firmware-misc-nonfree"]),
    ],
)
def test_driver_package_per_os(tmp_path, os_key, pkgs):
    s = render(tmp_path, "maia-node-1", {**OS[os_key], **GPU}, CLIENT)
    assert s["maia-prepare-nvidia-driver-installed"]["pkgs"] == pkgs


def test_kubelet_plugin_dir_for_other_distributions_and_no_reboot(tmp_path):
    pillar = dict(SERVER, cluster={"k8s_distribution": "k3s"}, prepare={"nvidia_reboot": False})
    s = render(tmp_path, "maia-node-0", {**OS["debian13"], **GPU}, pillar)
    assert s["maia-prepare-cifs-plugin-dir-present"]["name"] == KUBELET_CIFS
    assert "maia-prepare-nvidia-driver-installed" in s and "maia-prepare-nvidia-reboot-scheduled" not in s


def test_every_flag_off(tmp_path):
    flags = {f: False for f in ("nvidia_drivers", "lvm", "ufw", "nfs", "cifs", "service_names")}
    s = render(tmp_path, "maia-node-0", {**OS["ubuntu22"], **GPU}, dict(SERVER, prepare=flags))
    assert sorted(s) == sorted(
        ["maia-prepare-inputs-checked", "maia-prepare-drift-skipped", "maia-prepare-heal-skipped", "maia-prepare-proxy-skipped"]
        + [f"maia-prepare-{f}-skipped" for f in flags]
    )


@pytest.mark.parametrize("interval", [600, 0])
def test_the_drift_check_on_the_scheduler(tmp_path, interval):
    """maia:drift:interval puts maia_drift.check on the minion's scheduler (returns to the master);
    0 takes it off; unset (test_every_flag_off) leaves the scheduler alone."""
    s = render(tmp_path, "maia-node-1", OS["debian12"], dict(CLIENT, drift={"interval": interval}))
    if interval:
        assert "maia-prepare-drift-skipped" not in s
        job = s["maia-prepare-drift-check-scheduled"]
        assert (job["fun"], job["name"], job["function"], job["seconds"], job["return_job"]) == \
            ("schedule.present", "maia-drift-check", "maia_drift.check", 600, True)
    else:
        unscheduled = s["maia-prepare-drift-check-unscheduled"]
        assert (unscheduled["fun"], unscheduled["name"]) == ("schedule.absent", "maia-drift-check")


def test_proxy_environment_on_every_host(tmp_path):
    """proxy_ip (and no_proxy_ips) of the cluster YAML: the six proxy variables of the
    collection's configure_host.yaml in /etc/environment, an older value replaced; an NFS
    client gets them as the control plane does."""
    cluster = {"k8s_distribution": "k3s", "proxy_ip": "10.253.254.250", "no_proxy_ips": "10.0.0.0/8,.hospital.local"}
    s = render(tmp_path, "maia-node-1", {**OS["debian12"], **NO_GPU}, dict(CLIENT, cluster=cluster))
    url, no_proxy = "http://10.253.254.250:3130", "localhost,127.0.0.1,10.253.254.250,10.0.0.0/8,.hospital.local"
    expected = {"http_proxy": url, "https_proxy": url, "no_proxy": no_proxy,
                "HTTP_PROXY": url, "HTTPS_PROXY": url, "NO_PROXY": no_proxy}
    lines = {k: v for k, v in s.items() if k.startswith("maia-prepare-proxy-")}
    assert set(lines) == {f"maia-prepare-proxy-environment-{name}-set" for name in expected}
    for name, value in expected.items():
        assert has(lines[f"maia-prepare-proxy-environment-{name}-set"], {
            "fun": "file.keyvalue", "name": "/etc/environment", "key": name, "value": value,
            "separator": "=", "append_if_not_found": True})


def test_host_limit_switches(tmp_path):
    """What a host cannot run (the lab's hosts: no device-mapper, no nfsd) is switched off by
    name; everything around it is still managed."""
    limits = {"lvm_volumes": False, "nfs_server_start": False, "nfs_share_mount": False}
    for sub in ("server", "client", "on"):
        (tmp_path / sub).mkdir()
    server = render(tmp_path / "server", "maia-node-0", {**OS["debian12"], **NO_GPU}, dict(SERVER, prepare=limits))
    assert not ids(server, "maia-prepare-lvm-lv-") and "maia-prepare-nfs-server-service-running" not in server
    for kept in ("maia-prepare-lvm-vg-MAIA_Storage-present", "maia-prepare-nfs-exports-entry-present",
                 "maia-prepare-nfs-server-service-enabled", "maia-prepare-lvm-volumes-skipped",
                 "maia-prepare-nfs-server-start-skipped"):
        assert kept in server, kept
    client = render(tmp_path / "client", "maia-node-1", {**OS["debian12"], **NO_GPU}, dict(CLIENT, prepare=limits))
    assert "maia-prepare-nfs-share-mounted" not in client
    assert {"maia-prepare-nfs-fstab-entry-present", "maia-prepare-nfs-mount-skipped"} <= set(client)
    on = render(tmp_path / "on", "maia-node-1", {**OS["debian12"], **NO_GPU}, CLIENT)
    assert "maia-prepare-nfs-share-mounted" in on and "maia-prepare-lvm-lv-maia_0_local-present" in on


def test_flag_off_on_the_command_line(tmp_path):
    s = render(tmp_path, "maia-node-0", {**OS["ubuntu22"], **NO_GPU}, SERVER,
               'pillar={"maia": {"prepare": {"ufw": false, "nfs": "false"}}}')
    assert "maia-prepare-ufw-skipped" in s and "maia-prepare-nfs-skipped" in s
    assert not ids(s, "maia-prepare-ufw-rule") and not ids(s, "maia-prepare-nfs-export")
    assert "maia-prepare-ufw-extra-rules-valid" not in s
    assert "maia-prepare-lvm-vg-MAIA_Storage-present" in s


def test_pillar_without_prepare_flags_uses_formula_defaults(tmp_path):
    pillar = {k: v for k, v in CLIENT.items()}
    s = render(tmp_path, "maia-node-1", {**OS["ubuntu24"], **NO_GPU}, pillar)
    for part in ("lvm-vg-MAIA_Storage-present", "ufw-enabled", "nfs-fstab-entry-present", "cifs-no-key-skipped"):
        assert f"maia-prepare-{part}" in s


def _ext_pillar_site(tmp_path, inventory=SITE_INVENTORY, change=("\nlvm: true\n", "\nlvm: false\n")):
    """A site whose pillar is the maia ext_pillar (CONFIG_FOLDER from maia-configure), as
    sites run it, with a file root holding a changed prepare/parameters/defaults.yaml
    (``change``: old, new text; `lvm: false` unless told) listed before formulas/."""
    folder = tmp_path / "site"
    folder.mkdir()
    make_site(folder, inventory)
    changed = tmp_path / "roots"
    (changed / "maia" / "prepare" / "parameters").mkdir(parents=True)
    text = (FORMULA / "parameters" / "defaults.yaml").read_text()
    assert change[0] in text
    (changed / "maia" / "prepare" / "parameters" / "defaults.yaml").write_text(text.replace(*change))
    return {"roots": [changed], "config": {"ext_pillar": [{"maia": {"config_folder": str(folder)}}]}}


def test_a_default_changed_in_defaults_yaml_takes_effect_on_an_ext_pillar_site(tmp_path):
    """Issue 16: the ext_pillar copied the flag defaults into every pillar, so `lvm: false` in
    parameters/defaults.yaml changed nothing on an ext_pillar site. Now the ext_pillar emits site
    facts only: the changed default switches LVM off, and the ext_pillar's own check reads the
    same file (this host's inventory entry has no device_list, which only LVM needs)."""
    inventory = {"hosts": {**SITE_INVENTORY["hosts"], "maia-node-1": {"address": "198.18.0.12", "groups": ["nfs_clients"]}}}
    s = render_sls(tmp_path, "maia.prepare", "maia-node-1", {**OS["debian12"], **NO_GPU}, {},
                   **_ext_pillar_site(tmp_path, inventory))
    assert "maia-prepare-lvm-skipped" in s and not ids(s, "maia-prepare-lvm-vg")
    assert "maia-prepare-ufw-enabled" in s  # the other defaults are unchanged


def test_a_changed_storage_default_size_sizes_an_inventory_hosts_volume(tmp_path):
    """Issue 30: the ext_pillar wrote local_storage_size/nfs_storage_size 100%FREE into every
    inventory host's pillar, so storage.default_size of parameters/defaults.yaml never reached
    one. maia-node-1 gives no size in inventory.yaml: its volume takes the changed default."""
    s = render_sls(tmp_path, "maia.prepare", "maia-node-1", {**OS["debian12"], **NO_GPU}, {},
                   **_ext_pillar_site(tmp_path, change=("\n  default_size: 100%FREE\n", "\n  default_size: 40%FREE\n")))
    assert s["maia-prepare-lvm-lv-maia_0_local-present"]["size"] == "40%FREE"


def test_the_pillar_still_wins_over_a_changed_default(tmp_path):
    s = render_sls(tmp_path, "maia.prepare", "maia-node-1", {**OS["debian12"], **NO_GPU}, {"prepare": {"lvm": True}},
                   **_ext_pillar_site(tmp_path))
    assert "maia-prepare-lvm-skipped" not in s and "maia-prepare-lvm-vg-MAIA_Storage-present" in s
    assert s["maia-prepare-lvm-vg-MAIA_Storage-present"]["devices"] == ["/dev/vdb"]  # from the ext_pillar


def test_lookup_overrides_a_platform_value_before_the_pillar(tmp_path):
    """maia:prepare:lookup (a site's platform values) goes over the per-OS files; maia:prepare
    keys go over lookup."""
    lookup = dict(CLIENT, prepare={"lookup": {"pkgs": {"nvidia": ["nvidia-driver-550"], "ufw": ["ufw-lookup"]}},
                                   "pkgs": {"ufw": ["ufw"]}})
    s = render(tmp_path, "maia-node-1", {**OS["debian12"], **GPU}, lookup)
    assert s["maia-prepare-nvidia-driver-installed"]["pkgs"] == ["nvidia-driver-550"]
    assert s["maia-prepare-ufw-package-installed"]["pkgs"] == ["ufw"]


def test_nfs_client_without_server_fails_first(tmp_path):
    pillar = dict(CLIENT, nfs_server={})
    s = render(tmp_path, "maia-node-1", {**OS["ubuntu22"], **NO_GPU}, pillar)
    check = s["maia-prepare-nfs-server-known"]
    assert check["fun"] == "test.configurable_test_state" and check["failhard"] is True and check["order"] == 1
    assert check["comment"] == check["name"] and check["allow_test_mode_failure"] is True
    assert "maia-node-1" in check["name"] and "nfs_server" in check["name"]


def test_host_in_no_nfs_group(tmp_path):
    pillar = dict(CLIENT, roles=["control-plane"])
    s = render(tmp_path, "maia-node-1", {**OS["ubuntu22"], **NO_GPU}, pillar)
    assert "maia-prepare-nfs-no-role-skipped" in s and not ids(s, "maia-prepare-nfs-fstab")


def test_extra_export_clients(tmp_path):
    pillar = dict(SERVER, prepare={"nfs_export_extra_clients": ["10.0.0.0/24"], "nfs_export_options": "rw,sync"})
    s = render(tmp_path, "maia-node-0", {**OS["ubuntu22"], **NO_GPU}, pillar)
    assert s["maia-prepare-nfs-exports-entry-present"]["clients"][-1] == "10.0.0.0/24"
    assert s["maia-prepare-nfs-exports-entry-present"]["options"] == "rw,sync"


def test_clean_renders_the_mirror_of_each_part(tmp_path):
    s = render_sls(tmp_path, "maia.prepare.clean", "maia-node-0", {**OS["ubuntu22"], **GPU}, SERVER)
    assert s["maia-prepare-ufw-disabled"]["fun"] == "maia_ufw.disabled"
    assert ids(s, "maia-prepare-ufw-rule-") == [
        "maia-prepare-ufw-rule-from-maia-node-1-deleted", "maia-prepare-ufw-rule-from-maia-node-2-deleted",
        "maia-prepare-ufw-rule-nfs-from-maia-node-1-deleted", "maia-prepare-ufw-rule-nfs-from-maia-node-2-deleted",
    ]
    assert s["maia-prepare-cifs-plugin-dir-absent"]["name"] == MICROK8S_CIFS
    assert s["maia-prepare-nfs-exports-entry-absent"]["fun"] == "file.replace"
    assert s["maia-prepare-nvidia-driver-removed"]["pkgs"] == ["nvidia-driver-570"]
    assert {s[i]["name"] for i in ids(s, "maia-prepare-lvm-lv-")} == {"/opt/local-path-provisioner", "/nfs"}
    assert not [i for i in s if "vg" in i or i.endswith("-absent") and "lvm" in i]  # volumes and data are kept


def test_ssh_rule_follows_the_hosts_ssh_port(tmp_path):
    pillar = dict(CLIENT, host=dict(CLIENT["host"], ssh_port=2222))
    s = render(tmp_path, "maia-node-1", {**OS["ubuntu22"], **NO_GPU}, pillar)
    assert has(s["maia-prepare-ufw-rule-ssh-allowed"], {"port": 2222, "proto": "tcp"})


def test_hosts_named_without_ip_use_the_ip_from_grains(tmp_path):
    """Issue 13 item 6: inventory addresses that are host names (the reference's
    example inventory) never reach UFW or /etc/exports; the `ip` the ext_pillar
    found in each host's grains does, and this host's own from its grains."""
    hosts = {
        "maia-node-0": {"address": "maia-node-0", "roles": ["control-plane", "nfs_server"]},
        "maia-node-1": {"address": "maia-node-1", "roles": ["nfs_clients"], "ip": "198.18.0.32"},
        "maia-node-2": {"address": "maia-node-2.example.org", "roles": ["nfs_clients"], "ip": "198.18.0.33"},
    }
    pillar = dict(SERVER, hosts=hosts, host=dict(SERVER["host"], address="maia-node-0"),
                  nfs_server={"name": "maia-node-0", "address": "maia-node-0"})
    s = render(tmp_path, "maia-node-0", {**OS["debian12"], **NO_GPU, "maia_default_ipv4": "198.18.0.31"}, pillar)
    assert s["maia-prepare-ufw-rule-from-maia-node-1-allowed"]["source"] == "198.18.0.32"
    assert s["maia-prepare-ufw-rule-nfs-from-maia-node-2-allowed"]["source"] == "198.18.0.33"
    assert s["maia-prepare-nfs-exports-entry-present"]["clients"] == ["198.18.0.31", "198.18.0.32", "198.18.0.33"]
    assert "maia-prepare-host-addresses-known" not in s

    client = dict(CLIENT, hosts=dict(hosts, **{"maia-node-0": dict(hosts["maia-node-0"], ip="198.18.0.31")}),
                  nfs_server={"name": "maia-node-0", "address": "maia-node-0", "ip": "198.18.0.31"})
    (tmp_path / "c").mkdir()
    c = render(tmp_path / "c", "maia-node-1", {**OS["debian12"], **NO_GPU}, client)
    assert c["maia-prepare-nfs-share-mounted"]["device"] == "198.18.0.31:/nfs"


def test_host_without_known_ip_stops_before_any_change(tmp_path):
    hosts = dict(HOSTS, **{"maia-node-2": {"address": "maia-node-2", "roles": ["nfs_clients"]}})
    s = render(tmp_path, "maia-node-0", {**OS["debian12"], **NO_GPU}, dict(SERVER, hosts=hosts))
    check = s["maia-prepare-host-addresses-known"]
    assert check["fun"] == "test.configurable_test_state" and check["failhard"] is True and check["order"] == 1
    assert check["comment"] == check["name"] and check["allow_test_mode_failure"] is True
    assert "maia-node-2" in check["name"]
    assert not ids(s, "maia-prepare-ufw-rule-from-maia-node-2")


def test_nfs_root_squash_option(tmp_path):
    pillar = dict(SERVER, prepare={"nfs_root_squash": True})
    s = render(tmp_path, "maia-node-0", {**OS["debian12"], **NO_GPU}, pillar)
    assert has(s["maia-prepare-nfs-export-group-present"], {"fun": "group.present", "name": "maia-nfs", "gid": 2049})
    assert has(s["maia-prepare-nfs-export-dir-present"], {"user": "root", "group": "maia-nfs", "mode": "2775"})
    assert s["maia-prepare-nfs-exports-entry-present"]["options"] == (
        "rw,sync,no_subtree_check,root_squash,anonuid=65534,anongid=2049")


def test_default_incoming_policy_follows_pillar(tmp_path):
    pillar = dict(SERVER, prepare={"firewall": {"default_incoming": "reject"}})
    s = render(tmp_path, "maia-node-0", {**OS["debian12"], **NO_GPU}, pillar)
    assert s["maia-prepare-ufw-default-incoming-denied"]["policy"] == "reject"


# The Ansible collection's variables as a migrating site sets them (issue 28), in
# CONFIG_FOLDER/collection-vars.yaml, through the real maia ext_pillar.
COLLECTION_VARS = {
    "ufw_allow_ssh": False,
    "ufw_allow_inter_node_communication": False,
    "ufw_additional_rules": [{"port": 6443, "proto": "tcp", "from_ip": "10.10.0.0/24"}, {"port": 8080, "proto": "udp"}],
    "nfs_export_path": "/srv/share",
    "nfs_mount_path": "/mnt/maia",
    "nfs_export_owner": "root",
    "nfs_export_group": "users",
    "nfs_export_mode": "0775",
    "nvidia_driver_package": "nvidia-driver-550",
    "nvidia_driver_reboot": False,
    "microk8s_version": "1.33/stable",
    "microk8s_addons": ["hostpath-storage", "rbac", "dns"],
    "microk8s_firewall_ports": [{"port": 16443, "proto": "tcp"}, {"port": 10250, "proto": "tcp"}],
    "argocd_sync_retries": 5,
    "argocd_sync_retry_delay": 20,
}


def _collection_site(tmp_path, variables=COLLECTION_VARS, ssh_proto=None):
    folder = tmp_path / "site"
    folder.mkdir()
    make_site(folder)
    (folder / "collection-vars.yaml").write_text(yaml.safe_dump({**variables, **({"ufw_ssh_proto": ssh_proto} if ssh_proto else {})}))
    return {"config": {"ext_pillar": [{"maia": {"config_folder": str(folder)}}]}}


def test_collection_variables_reach_stage_1_on_an_nfs_client(tmp_path):
    s = render_sls(tmp_path, "maia.prepare", "maia-node-1", {**OS["ubuntu24"], **GPU}, {}, **_collection_site(tmp_path))
    assert "maia-prepare-ufw-rule-ssh-allowed" not in s and "maia-prepare-ufw-rule-ssh-skipped" in s
    assert not ids(s, "maia-prepare-ufw-rule-from-") and "maia-prepare-ufw-rule-peers-skipped" in s
    assert has(s["maia-prepare-ufw-rule-extra-1-allowed"], {"port": "6443", "proto": "tcp", "source": "10.10.0.0/24"})
    assert has(s["maia-prepare-ufw-rule-extra-2-allowed"], {"port": "8080", "proto": "udp", "source": "any"})
    mountpoint = s["maia-prepare-nfs-mountpoint-present"]
    assert has(mountpoint, {"name": "/mnt/maia", "user": "root", "group": "users", "mode": "0775"})
    assert s["maia-prepare-nfs-fstab-entry-present"]["device"] == "198.18.0.11:/srv/share"
    assert s["maia-prepare-nvidia-driver-installed"]["pkgs"] == ["nvidia-driver-550"]
    assert not ids(s, "maia-prepare-nvidia-reboot")


def test_collection_variables_reach_the_nfs_server_stage_2_and_stage_3(tmp_path):
    site = _collection_site(tmp_path, {**COLLECTION_VARS, "ufw_allow_ssh": True}, ssh_proto="udp")
    s = render_sls(tmp_path, "maia.prepare", "maia-node-0", {**OS["ubuntu24"], **NO_GPU}, {}, **site)
    assert has(s["maia-prepare-ufw-rule-ssh-allowed"], {"port": 22, "proto": "udp"})
    assert has(s["maia-prepare-nfs-export-dir-present"], {"name": "/srv/share", "user": "root", "group": "users", "mode": "0775"})
    (tmp_path / "k8s").mkdir()
    (tmp_path / "core").mkdir()
    k8s = render_sls(tmp_path / "k8s", "maia.k8s.microk8s", "maia-node-0", {**OS["ubuntu24"], **NO_GPU}, {}, **site)
    assert k8s["maia-k8s-microk8s-snap-installed"]["channel"] == "1.33/stable"
    assert k8s["maia-k8s-microk8s-addons-enabled"]["addons"] == ["hostpath-storage", "rbac", "dns"]
    assert ids(k8s, "maia-k8s-microk8s-ufw-") == ["maia-k8s-microk8s-ufw-10250-tcp-allowed", "maia-k8s-microk8s-ufw-16443-tcp-allowed"]
    core = render_sls(tmp_path / "core", "maia.core.sync", "maia-node-0", {**OS["ubuntu24"], **NO_GPU}, {}, **site)
    # the sync wave that holds traefik (one maia_argocd.apps_synced state per wave)
    sync = next(a for a in core.values() if a.get("fun") == "maia_argocd.apps_synced"
                and "maia-core-traefik" in {app["name"] for app in a["apps"]})
    assert (sync["retries"], sync["retry_interval"]) == (5, 20)
    nfs = core["maia-core-app-nfs-provisioner-present"]["spec"]["source"]["helm"]["valuesObject"]["nfs"]
    assert nfs["path"] == "/srv/share"


def test_collection_variable_maia_salt_refuses_stops_the_render_by_name(tmp_path):
    folder = tmp_path / "site"
    folder.mkdir()
    make_site(folder)
    (folder / "collection-vars.yaml").write_text(yaml.safe_dump({"nfs_export_options": "*(rw,sync,no_root_squash)"}))
    conf_site = {"config": {"ext_pillar": [{"maia": {"config_folder": str(folder)}}]}}
    with pytest.raises(AssertionError) as failure:
        render_sls(tmp_path, "maia.prepare", "maia-node-1", {**OS["ubuntu24"], **NO_GPU}, {}, **conf_site)
    assert "nfs_export_options is refused" in str(failure.value)
    assert "maia:prepare:nfs_export_extra_clients" in str(failure.value)


SERVICE_NAMES = ["maia.example", "traefik.maia.example", "dashboard.maia.example", "grafana.maia.example",
                 "iam.maia.example", "registry.maia.example", "mgmt.maia.example", "minio.maia.example",
                 "argocd.maia.example", "maia.maia.example", "test.maia.example", "minio.test.maia.example",
                 "minio-api.maia.example", "minio-api.test.maia.example", "login.maia.example",
                 "kubeflow.maia.example"]


def test_selfsigned_site_maps_the_service_names_to_the_control_plane(tmp_path):
    """Every host of a selfsigned site, the control plane's NFS client too, maps the
    16 names of the collection's configure_host.yaml to the control plane's IP."""
    pillar = dict(CLIENT, cluster={"domain": "maia.example", "selfsigned": True})
    s = render(tmp_path, "maia-node-1", OS["debian12"], pillar)
    present = {sid: st for sid, st in s.items() if sid.startswith("maia-prepare-service-name-")}
    assert sorted(st["name"] for st in present.values()) == sorted(SERVICE_NAMES)
    for st in present.values():
        assert has(st, {"fun": "host.present", "ip": "198.18.0.11", "clean": True})
        assert st["require"] == [{"test": "maia-prepare-inputs-checked"}]
    assert "maia-prepare-service-names-inputs-known" not in s
    moved = dict(pillar, prepare={"service_names_address": "198.18.0.200"})
    s = render(tmp_path, "maia-node-1", OS["debian12"], moved)
    assert {st["ip"] for sid, st in s.items() if sid.startswith("maia-prepare-service-name-")} == {"198.18.0.200"}


def test_service_names_skipped_without_selfsigned_or_when_off(tmp_path):
    s = render(tmp_path, "maia-node-1", OS["debian12"], dict(CLIENT, cluster={"domain": "maia.example"}))
    assert not ids(s, "maia-prepare-service-name-")
    assert "maia-prepare-service_names-not-selfsigned-skipped" in s
    off = dict(CLIENT, cluster={"domain": "maia.example", "selfsigned": True}, prepare={"service_names": False})
    s = render(tmp_path, "maia-node-1", OS["debian12"], off)
    assert not ids(s, "maia-prepare-service-name-")
    assert "maia-prepare-service_names-skipped" in s


def test_service_names_without_an_address_refused_first(tmp_path):
    hosts = dict(HOSTS, **{"maia-node-0": {"address": "cp.internal", "roles": ["control-plane", "nfs_server"]}})
    pillar = dict(CLIENT, hosts=hosts, cluster={"domain": "maia.example", "selfsigned": True},
                  prepare={"ufw": False, "nfs": False})
    s = render(tmp_path, "maia-node-1", OS["debian12"], pillar)
    refusal = s["maia-prepare-service-names-inputs-known"]
    assert refusal["order"] == 1 and refusal["failhard"] is True and refusal["result"] is False
    assert "maia:prepare:service_names_address" in refusal["comment"]


def test_heal_puts_the_beacon_with_the_watches_of_each_role(tmp_path):
    """maia:heal:enabled true: the maia_heal beacon watches UFW everywhere, /etc/exports and the NFS
    service on the NFS server, the Kubernetes service on the control plane (its mapping is
    `watches`: `watch` would be taken for a requisite); false removes it; unset leaves it alone."""
    grains = {**OS["debian12"], **NO_GPU}
    server = render_sls(tmp_path, "maia.prepare.heal", "maia-node-0", grains, {**SERVER, "heal": {"enabled": True}})
    beacon = server["maia-prepare-heal-beacon-present"]
    assert beacon["fun"] == "beacon.present" and beacon["name"] == "maia_heal" and "watch" not in beacon
    assert sorted(beacon["watches"]) == ["kubernetes", "nfs", "ufw"]
    assert beacon["watches"]["nfs"] == {"files": ["/etc/exports"], "services": ["nfs-server"]}
    # the Kubernetes service is the distribution's: MicroK8s' kubelite by default, k3s', k0s' or rke2's unit on their sites
    assert beacon["watches"]["kubernetes"]["services"] == ["snap.microk8s.daemon-kubelite"]
    for distribution, unit in (("k3s", "k3s"), ("k0s", "k0scontroller"), ("rke2", "rke2-server")):
        site = {**SERVER, "heal": {"enabled": True},
                "cluster": {**SERVER.get("cluster", {}), "k8s_distribution": distribution}}
        dist_beacon = render_sls(tmp_path, "maia.prepare.heal", "maia-node-0", grains, site)["maia-prepare-heal-beacon-present"]
        assert dist_beacon["watches"]["kubernetes"]["services"] == [unit]
    client = render_sls(tmp_path, "maia.prepare.heal", "maia-node-1", grains, {**CLIENT, "heal": {"enabled": True}})
    assert sorted(client["maia-prepare-heal-beacon-present"]["watches"]) == ["ufw"]
    off = render_sls(tmp_path, "maia.prepare.heal", "maia-node-1", grains, {**CLIENT, "heal": {"enabled": False}})
    assert off["maia-prepare-heal-beacon-absent"]["fun"] == "beacon.absent"
    assert list(render_sls(tmp_path, "maia.prepare.heal", "maia-node-1", grains, CLIENT)) == ["maia-prepare-heal-skipped"]
