"""`maia reset --wipe-storage` asks for the site name and `maia_hosts.drop_host` edits the inventory
(no Salt daemon: a wrong name must stop before salt-run is ever started)."""
import os
import stat

import yaml
from click.testing import CliRunner

from maia_salt import cli
from support.site import make_site
from test_preflight import load


def test_wipe_storage_wrong_site_name_changes_nothing(tmp_path, monkeypatch):
    site = make_site(tmp_path / "config")
    (tmp_path / "master").write_text("{}\n")  # -c names a Salt configuration folder
    started = []
    monkeypatch.setattr("maia_salt.day2.run_orchestration", lambda *a, **k: started.append(a))
    result = CliRunner().invoke(cli.main, ["reset", "--wipe-storage", "--config-folder", str(site), "-c", str(tmp_path)],
                                input="not-the-site\n")
    assert result.exit_code == 2, result.output
    assert "Type the site name (func)" in result.output and "nothing was changed" in result.output
    assert started == []
    no_folder = CliRunner().invoke(cli.main, ["reset", "--wipe-storage", "-c", str(tmp_path)], env={"CONFIG_FOLDER": ""})
    assert no_folder.exit_code == 2 and "--config-folder" in no_folder.output and started == []


def test_unknown_reset_stage_is_refused(tmp_path):
    (tmp_path / "master").write_text("{}\n")
    result = CliRunner().invoke(cli.main, ["reset", "--stages", "core,apps", "-c", str(tmp_path)])
    assert result.exit_code == 2 and "unknown stage(s) apps" in result.output


def test_drop_host_keeps_the_others_and_the_mode(tmp_path):
    site = make_site(tmp_path / "config")
    inventory = site / "inventory.yaml"
    os.chmod(inventory, 0o640)
    hosts = load("_runners", "maia_hosts")
    assert hosts.drop_host("maia-node-1", str(site)) == {"dropped": "maia-node-1", "inventory": str(inventory)}
    data = yaml.safe_load(inventory.read_text())
    assert list(data["hosts"]) == ["maia-node-0"]
    assert data["hosts"]["maia-node-0"]["vars"]["device_list"] == ["/dev/vdb"]
    assert stat.S_IMODE(os.stat(inventory).st_mode) == 0o640
    assert hosts.drop_host("maia-node-1", str(site))["dropped"] is None
