"""`salt-call --local` finds the maia ext_pillar through the installed package's salt.loader entry point."""
import json
import subprocess

import yaml

from support.site import make_site
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS


def local_pillar(tmp_path, site, minion_id):
    """The ``maia`` pillar that ``salt-call --local`` compiles on a host named ``minion_id``."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "minion").write_text(yaml.safe_dump({
        "id": minion_id,
        "file_client": "local", **SKIP_MACHINE_GRAINS,
        "root_dir": str(tmp_path / "root"),
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
    }))
    result = subprocess.run(
        [str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet",
         "pillar.get", "maia", "unmask=True"],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["local"]


def test_salt_call_local_maps_the_site(tmp_path):
    maia = local_pillar(tmp_path, make_site(tmp_path / "config"), "maia-node-1")
    assert maia["roles"] == ["nfs_clients"]
    assert maia["nfs_server"]["address"] == "198.18.0.11"
    assert maia["cluster"]["cluster_name"] == "func"


def test_salt_call_local_on_a_site_without_inventory_is_the_whole_site(tmp_path):
    """The one exception to "no inventory, no secrets" (docs/security.md): ``salt-call --local``
    compiles the pillar on the host itself, a one-host site, which gets env.json's secrets."""
    site = make_site(tmp_path / "config")
    (site / "inventory.yaml").unlink()
    env = local_pillar(tmp_path, site, "single")["env"]
    assert env["ARGOCD_PASSWORD"] == json.loads((site / "env.json").read_text())["ARGOCD_PASSWORD"]
