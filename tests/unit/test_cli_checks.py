"""Every `maia` and `maia-configure` command checks its arguments, files and folders before it
contacts Salt or writes anything: exit 2, the value and the fix named, nothing created.

The commands run through their real entry points (click's CliRunner on ``maia_salt.cli.main`` and
``maia_salt.configure_cli``'s commands, or the installed scripts); ``run_orchestration`` is replaced
by a recorder only to prove that no Salt run was started.
"""
import os
import subprocess
import sys

import pytest
import yaml
from click.testing import CliRunner

from maia_salt import cli, configure_cli
from support.paths import BIN, REPO
from support.site import SITE_INVENTORY, make_site

ANSIBLE = REPO / "tests" / "data" / "ansible"


@pytest.fixture
def no_salt(monkeypatch):
    """Records any orchestration the commands would start (none may start on bad input)."""
    started = []

    def record(*args, **kw):
        started.append((args, kw))
        raise AssertionError("a Salt run was started")

    for where in ("maia_salt.install.run_orchestration", "maia_salt.day2.run_orchestration"):
        monkeypatch.setattr(where, record)
    return started


@pytest.fixture
def salt_config(tmp_path):
    folder = tmp_path / "salt"
    folder.mkdir()
    (folder / "master").write_text("{}\n")
    return folder


def _maia(args, env=None):
    return CliRunner().invoke(cli.main, args, env=env)


@pytest.mark.parametrize("command", [["install"], ["install", "--ssh"], ["preflight"], ["reset", "--test"],
                                     ["remove-host", "maia-node-1", "--test"]])
def test_missing_salt_config_folder_is_named(tmp_path, no_salt, command):
    missing = tmp_path / "no-such-salt"
    result = _maia([*command, "-c", str(missing)])
    assert result.exit_code == 2, result.output
    assert f"{missing}: no such folder" in result.output and "SALT_CONFIG_DIR" in result.output
    assert "Traceback" not in result.output and not missing.exists() and no_salt == []
    empty = tmp_path / "empty"
    empty.mkdir()
    result = _maia([*command, "-c", str(empty)])
    assert result.exit_code == 2 and "holds no file 'master'" in result.output and no_salt == []


def test_unknown_install_stage_is_refused_up_front(salt_config, no_salt):
    result = _maia(["install", "-c", str(salt_config), "--stages", "prepare,cor"])
    assert result.exit_code == 2, result.output
    assert "unknown stage(s) cor (did you mean core?)" in result.output and "prepare,k8s,core" in result.output
    assert no_salt == []
    assert _maia(["install", "-c", str(salt_config), "--stages", ","]).exit_code == 2


def test_bad_pillar_json_is_refused_before_salt(salt_config, no_salt):
    result = _maia(["install", "-c", str(salt_config), "--pillar", "{maia: 1"])
    assert result.exit_code == 2 and "not JSON" in result.output and no_salt == []


def test_roster_refuses_a_missing_folder_and_makes_none(tmp_path):
    missing = tmp_path / "cnofig"
    result = _maia(["roster", "--config-folder", str(missing)])
    assert result.exit_code == 2 and f"{missing}: no such folder" in result.output and not missing.exists()
    result = _maia(["roster"], env={"CONFIG_FOLDER": ""})
    assert result.exit_code == 2 and "no CONFIG_FOLDER" in result.output and "Traceback" not in result.output


def test_roster_output_folder_is_not_created(tmp_path):
    site = make_site(tmp_path / "config")
    target = tmp_path / "no-such-dir" / "roster"
    result = _maia(["roster", "--config-folder", str(site), "-o", str(target)])
    assert result.exit_code == 2 and "does not exist" in result.output and not target.parent.exists()


def test_roster_applies_the_pillar_checks(tmp_path):
    """`maia roster` refuses what the pillar render refuses (here: two control planes)."""
    site = make_site(tmp_path / "config")
    hosts = yaml.safe_load(yaml.safe_dump(SITE_INVENTORY))
    hosts["hosts"]["maia-node-1"]["groups"] = ["control-plane"]
    (site / "inventory.yaml").write_text(yaml.safe_dump(hosts))
    result = _maia(["roster", "--config-folder", str(site)])
    assert result.exit_code == 2, result.output
    assert "several control-plane hosts (maia-node-0, maia-node-1)" in result.output


# ------------------------------------------------------------------ import-inventory


def _import(args, env=None):
    return CliRunner().invoke(configure_cli.import_inventory_command, args, env=env)


def test_import_into_a_misspelt_folder_creates_nothing(tmp_path):
    missing = tmp_path / "confg"
    result = _import([str(ANSIBLE / "inventory"), "--config-folder", str(missing)])
    assert result.exit_code == 2 and f"{missing}: no such folder" in result.output and "maia-configure" in result.output
    assert not missing.exists()


def test_import_without_a_config_folder_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CONFIG_FOLDER"}
    result = subprocess.run([str(BIN / "maia-configure"), "import-inventory", str(ANSIBLE / "inventory")],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "no CONFIG_FOLDER" in result.stderr and "Traceback" not in result.stderr


def _imported_site(tmp_path):
    """A CONFIG_FOLDER holding the Ansible collection's example, imported; (folder, inventory.yaml's text)."""
    folder = tmp_path / "config"
    folder.mkdir()
    assert _import([str(ANSIBLE / "inventory"), "--config-folder", str(folder)]).exit_code == 0
    return folder, (folder / "inventory.yaml").read_text()


def test_unknown_group_is_a_named_error_and_keeps_the_inventory(tmp_path):
    folder, before = _imported_site(tmp_path)
    ini = tmp_path / "inventory.ini"
    ini.write_text((ANSIBLE / "inventory").read_text().replace("[nfs_clients]", "[nfs_client]"))
    result = _import([str(ini), "--config-folder", str(folder), "--host-vars", str(ANSIBLE / "host_vars")])
    assert result.exit_code == 2, result.output
    assert "[nfs_client], which is not a MAIA group (did you mean [nfs_clients]?)" in result.output
    assert (folder / "inventory.yaml").read_text() == before


def test_reimport_shows_the_diff_and_needs_force_to_drop(tmp_path):
    folder, before = _imported_site(tmp_path)
    ini = tmp_path / "inventory.ini"
    ini.write_text((ANSIBLE / "inventory").read_text().replace("maia-node-2 ansible_user=root ansible_become=true\n", "")
                   + "maia-node-3 ansible_user=root\n")
    args = [str(ini), "--config-folder", str(folder), "--host-vars", str(ANSIBLE / "host_vars"), "--without-lvm"]
    refused = _import(args)
    assert refused.exit_code == 2, refused.output
    assert "+ host maia-node-3" in refused.output and "- host maia-node-2" in refused.output
    assert "--force" in refused.output and (folder / "inventory.yaml").read_text() == before
    forced = _import([*args, "--force"])
    assert forced.exit_code == 0, forced.output
    assert set(yaml.safe_load((folder / "inventory.yaml").read_text())["hosts"]) == {
        "maia-node-0", "maia-node-1", "maia-node-3"}
    added_only = _import([*args])  # the same file again: nothing dropped now
    assert added_only.exit_code == 0 and "no host or group changes" in added_only.output


# ------------------------------------------------------------------ maia-configure


def _configure(folder, cluster_name):
    env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "MAIA_REALM_TEMPLATE") if k in os.environ}
    env.update({"CLUSTER_DOMAIN": "maia.example.com", "CLUSTER_NAME": cluster_name, "CONFIG_FOLDER": str(folder),
                "INGRESS_RESOLVER_EMAIL": "admin@example.com", "K8S_DISTRIBUTION": "microk8s",
                "MAIA_PRIVATE_REGISTRY": ""})
    return subprocess.run([sys.executable, "-m", "maia_salt.configure_cli", "--non-interactive"],
                          capture_output=True, text=True, env=env, timeout=300)


def test_mistyped_cluster_name_on_a_rerun_is_refused(tmp_path):
    folder = tmp_path / "config"
    first = _configure(folder, "maia-cluster")
    assert first.returncode == 0, first.stderr
    assert "next steps:" in first.stdout and "maia-configure import-inventory" in first.stdout
    assert "maia install" in first.stdout
    # the Salt setup between them: the master's maia ext_pillar on this folder, or a salt-ssh roster
    assert f"ext_pillar (config_folder: {folder})" in first.stdout and "maia roster" in first.stdout
    files = sorted(p.name for p in folder.iterdir())
    typo = _configure(folder, "maia-clsuter")
    assert typo.returncode == 2, typo.stdout + typo.stderr
    assert "CLUSTER_NAME='maia-clsuter'" in typo.stderr and "already holds cluster 'maia-cluster'" in typo.stderr
    assert sorted(p.name for p in folder.iterdir()) == files


def test_another_clusters_yaml_in_the_folder_is_warned_about(tmp_path):
    folder = tmp_path / "config"
    assert _configure(folder, "maia-cluster").returncode == 0
    (folder / "old-site.yaml").write_text("cluster_name: old-site\ndomain: old.example.com\n")
    again = _configure(folder, "maia-cluster")
    assert again.returncode == 0, again.stderr
    assert "also holds old-site.yaml" in again.stderr
