"""`salt-call --local` finds the maia ext_pillar through the installed package's salt.loader entry point."""
import json
import subprocess

import yaml

from support.site import make_site
from support.paths import SALT_CALL



def test_salt_call_local_maps_the_site(tmp_path):
    site = make_site(tmp_path / "config")
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(yaml.safe_dump({
        "id": "maia-node-1",
        "file_client": "local",
        "root_dir": str(tmp_path / "root"),
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
    }))
    result = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
         "pillar.get", "maia", "unmask=True"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    maia = json.loads(result.stdout)["local"]
    assert maia["roles"] == ["nfs_clients"]
    assert maia["nfs_server"]["address"] == "198.18.0.11"
    assert maia["cluster"]["cluster_name"] == "func"


def test_salt_call_local_on_a_site_without_inventory_is_the_whole_site(tmp_path):
    """The one exception to "no inventory, no secrets" (docs/security.md): ``salt-call --local``
    compiles the pillar on the host itself, a one-host site, which gets env.json's secrets."""
    site = make_site(tmp_path / "config")
    (site / "inventory.yaml").unlink()
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(yaml.safe_dump({
        "id": "single", "file_client": "local", "root_dir": str(tmp_path / "root"),
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
    }))
    result = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
         "pillar.get", "maia", "unmask=True"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    env = json.loads(result.stdout)["local"]["env"]
    assert env["ARGOCD_PASSWORD"] == json.loads((site / "env.json").read_text())["ARGOCD_PASSWORD"]
