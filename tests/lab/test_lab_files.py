"""The files a lab writes for the product (inventory, roster, master config, pillar), without bringing a lab up.

A ``Lab`` whose state.json names three hosts with their loop devices, as `up`
records them, in a temporary lab root: no host, network or root is needed.
"""
from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
import yaml

from maia_salt import inventory
from maia_salt.inventory import load_inventory
from maia_lab.lab import HOST_LIMITS, Lab
from maia_lab.lab import configfolder, saltconfig


def _recorded_lab(tmp_path) -> Lab:
    lab = Lab("files", root=str(tmp_path))
    lab.state = {"name": "files", "slice": 2, "suite": "bookworm", "minions": False, "hosts": []}
    for k in range(3):
        lab.state["hosts"].append({
            "name": f"maia-node-{k}", "index": k, "address": f"198.18.0.{75 + k}", "netns": f"maialab-files-{k}",
            "veth": f"mlab2n{k}", "machine": f"maialab-files-{k}", "devices": [f"/dev/loop{2 * k}", f"/dev/loop{2 * k + 1}"],
        })
    lab.save()
    return Lab("files", root=str(tmp_path))


def test_inventory_and_roster_are_the_products_own(tmp_path):
    lab = _recorded_lab(tmp_path)
    configfolder.write_inventory_and_roster(lab.folder, lab.hosts)
    site = load_inventory(lab.inventory)  # the product's reader and schema accept it
    site.validate()
    assert {n: (h.address, h.groups, h.vars["device_list"]) for n, h in site.hosts.items()} == {
        "maia-node-0": ("198.18.0.75", ["control-plane", "nfs_server"], ["/dev/loop0", "/dev/loop1"]),
        "maia-node-1": ("198.18.0.76", ["nfs_clients"], ["/dev/loop2", "/dev/loop3"]),
        "maia-node-2": ("198.18.0.77", ["nfs_clients"], ["/dev/loop4", "/dev/loop5"]),
    }
    # the NFS server's VG holds two volumes: the local one must not take it all
    assert site.hosts["maia-node-0"].vars["local_storage_size"] == "50%FREE"
    assert oct(os.stat(lab.config_folder).st_mode & 0o777) == "0o700"
    with open(lab.roster) as fh:
        roster = yaml.safe_load(fh)
    assert roster == site.to_roster(priv=lab.key)
    assert {n: (r["host"], r["priv"]) for n, r in roster.items()} == {
        f"maia-node-{k}": (f"198.18.0.{75 + k}", lab.key) for k in range(3)
    }
    assert oct(os.stat(lab.roster).st_mode & 0o777) == "0o600"


@pytest.mark.skipif("workers" not in inventory.GROUPS, reason="the product's inventory has no group `workers` "
                    "yet (issue 24 item 4, branch h-wjoin)")
def test_workers_option_puts_hosts_in_group_workers_with_the_standins_state(tmp_path):
    """`maia lab up --workers 2`: maia-node-1 and -2 are also in `workers` of the product's inventory,
    and `lab_start` lays every distribution's stand-in state (the API stand-in's address, CA and
    credentials, the host's own name) into each of them as into the control plane."""
    from maia_lab.standins import lab as standins_lab

    lab = _recorded_lab(tmp_path)
    configfolder.write_inventory_and_roster(lab.folder, lab.hosts, workers=2)
    site = load_inventory(lab.inventory)
    site.validate()
    assert {n: h.groups for n, h in site.hosts.items()} == {
        "maia-node-0": ["control-plane", "nfs_server"], "maia-node-1": ["nfs_clients", "workers"],
        "maia-node-2": ["nfs_clients", "workers"]}
    assert [h.name for h in standins_lab.workers(lab.inventory, lab.hosts)] == ["maia-node-1", "maia-node-2"]

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": "https://198.18.0.65:16443"}}],
        "users": [{"name": "u", "user": {"token": "admin-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    release = tmp_path / "release"
    for host in standins_lab.workers(lab.inventory, lab.hosts):
        k8s = standins_lab._host_standins(release, kubeconfig, lab.folder, host, ("crt", "key"), "198.18.0.65",
                                          worker=True)
        assert k8s["k3s"]["release"]["url"] == "http://198.18.0.65:18080/k3s"
        root = lab.folder.host_root(host.name)
        for name in ("microk8s", "k3s", "k0s", "rke2"):
            with open(os.path.join(root, f"var/lib/maia-standins/{name}/state.json")) as fh:
                state = json.load(fh)
            assert state["hostname"] == host.name
            assert state["api"] == {"server": "https://198.18.0.65:16443", "token": "admin-token", "ca_pem": ""}
            # a worker's own MicroK8s registers no Node until it joins
            assert state.get("awaiting_join", True) is True
        assert os.access(os.path.join(root, "snap/bin/microk8s"), os.X_OK)
    # one release for every host: the same bytes whichever host's install wrote it last
    assert hashlib.sha256((release / "rke2.linux-amd64.tar.gz").read_bytes()).hexdigest() == k8s["rke2"]["release"]["sha256"]


def test_master_config_saltfile_and_lab_pillar(tmp_path):
    lab = _recorded_lab(tmp_path)
    saltconfig.write(lab.folder, lab.bridge_address)
    with open(lab.master_config) as fh:
        master = yaml.safe_load(fh)
    assert master["interface"] == lab.bridge_address == "198.18.0.65"
    assert master["ext_pillar"] == [{"maia": {"config_folder": lab.config_folder}}]
    assert master["pillar_roots"] == {"base": [lab.path("pillar")]}
    assert (master["roster_file"], master["ssh_priv"], master["known_hosts_file"]) == (lab.roster, lab.key, lab.known_hosts)
    assert not master["open_mode"] and not master["auto_accept"]
    with open(lab.saltfile) as fh:
        saltfile = yaml.safe_load(fh)
    assert {tool: conf["config_dir"] for tool, conf in saltfile.items()} == dict.fromkeys(
        ("salt", "salt-ssh", "salt-key", "salt-run", "salt-cp"), lab.dir)
    with open(lab.path("pillar", "lab.sls")) as fh:
        assert yaml.safe_load(fh) == {"maia": {"prepare": HOST_LIMITS}}
    # a second pillar file (the stand-ins') joins the top file beside the lab's own
    saltconfig.write_lab_pillar(lab.path("pillar"), "standins", {"maia": {"k8s": {}}})
    with open(lab.path("pillar", "top.sls")) as fh:
        assert yaml.safe_load(fh) == {"base": {"*": ["lab", "standins"]}}


def test_cli_path_prints_the_labs_paths(tmp_path):
    lab = _recorded_lab(tmp_path)
    env = {**os.environ, "MAIA_LAB_ROOT": str(tmp_path)}
    got = {}
    for what in ("dir", "config-folder", "roster", "inventory", "key", "master"):
        proc = subprocess.run([sys.executable, "-m", "maia_lab.lab.cli", "path", "--name", "files", what],
                              capture_output=True, text=True, env=env, check=True)
        got[what] = proc.stdout.strip()
    assert got == {"dir": lab.dir, "config-folder": lab.config_folder, "roster": lab.roster,
                   "inventory": lab.inventory, "key": lab.key, "master": lab.master_config}


def test_the_lab_imports_without_pytest():
    """Product code does not import pytest: the lab and its CLI load with pytest made unimportable."""
    code = ("import sys; sys.modules['pytest'] = None; import maia_lab.lab, maia_lab.lab.cli; "
            "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith('_pytest'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def _imports_of(path, module: str, modules: set) -> set:
    """The modules of ``modules`` that ``module`` (its source at ``path``) imports, also under TYPE_CHECKING;
    ``from pkg import mod`` names the submodule, not the package."""
    import ast

    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(open(path, encoding="utf-8").read())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            subs = {f"{base}.{a.name}" for a in node.names} & modules
            found.update(subs if len(subs) == len(node.names) else subs | {base})
    return (found & modules) - {module}


def test_the_labs_modules_import_no_circle():
    """The lab's parts are given what they need (a LabFolder, hosts, addresses), not the `Lab`: no
    module of maia_lab imports, even for type hints only, a module that imports it back."""
    import maia_lab

    top = os.path.dirname(maia_lab.__file__)
    paths = {}
    for folder, _dirs, files in os.walk(top):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(folder, f), os.path.dirname(top))[:-3].replace(os.sep, ".")
                paths[rel.removesuffix(".__init__")] = os.path.join(folder, f)
    graph = {m: _imports_of(p, m, set(paths)) for m, p in paths.items()}
    assert graph["maia_lab.lab.core"] >= {"maia_lab.lab.hosts", "maia_lab.lab.teardown"}  # the reader sees imports

    def reaches(start):
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    circles = sorted(m for m in graph if m in reaches(m))
    assert circles == []
