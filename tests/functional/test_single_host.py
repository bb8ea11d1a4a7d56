"""One host, no master: `salt-call --local state.show_sls maia` with the ext_pillar.

Real salt-call and Salt renderers: the control-plane host gets all four stages,
an NFS client only stage 1, and maia:stages limits both.
"""
import json
import subprocess

import yaml

from support.extmods import synced_extension_modules
from support.paths import REPO
from support.site import make_site
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS



def show_sls(tmp_path, site, minion_id, pillar=None):
    conf = tmp_path / f"conf-{minion_id}"
    conf.mkdir()
    (conf / "minion").write_text(yaml.safe_dump({
        "id": minion_id,
        "file_client": "local", **SKIP_MACHINE_GRAINS,
        "root_dir": str(tmp_path / f"root-{minion_id}"),
        "file_roots": {"base": [str(REPO / "formulas")]},
        "extension_modules": synced_extension_modules(tmp_path / f"root-{minion_id}"),
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
    }))
    cmd = [str(SALT_CALL), "--local", "-c", str(conf), "--out", "json", "--log-level", "quiet", "state.show_sls", "maia"]
    if pillar:
        cmd.append(f"pillar={json.dumps(pillar)}")
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    states = json.loads(result.stdout)["local"]
    assert isinstance(states, dict), states
    return {state.get("__sls__", "").split(".")[1] for state in states.values() if isinstance(state, dict)}


def test_control_plane_gets_every_stage(tmp_path):
    site = make_site(tmp_path / "config")
    assert show_sls(tmp_path, site, "maia-node-0") == {"prepare", "k8s", "core", "admin"}


def test_nfs_client_gets_stage_1_only(tmp_path):
    site = make_site(tmp_path / "config")
    assert show_sls(tmp_path, site, "maia-node-1") == {"prepare"}


def test_stages_limit_the_run(tmp_path):
    site = make_site(tmp_path / "config")
    assert show_sls(tmp_path, site, "maia-node-0", {"maia": {"stages": ["k8s"]}}) == {"k8s"}
