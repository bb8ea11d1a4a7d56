"""The maia ext_pillar through a real salt-master + salt-minion and through salt-ssh.

Both are real Salt 3008 processes started by pytest-salt-factories; the salt-ssh
target is an sshd on 127.0.0.1 started by the test (this machine itself).
"""

import json

import pytest
import yaml

from support.site import have_sshd
from test_maia_map import rendered_names
from support.sshd import local_sshd, roster_entry, stopped_at_the_end


def test_master_minion_pillar(salt_minion, salt_cli, site):
    ret = salt_cli.run("pillar.items", "unmask=True", minion_tgt=salt_minion.id)
    assert ret.returncode == 0, ret
    maia = ret.data["maia"]
    assert maia["roles"] == ["control-plane", "nfs_server"]
    assert maia["host"]["device_list"] == ["/dev/vdb"]
    assert maia["host"]["address"] == "198.18.0.11"
    assert maia["hosts"]["maia-node-1"] == {"address": "198.18.0.12", "roles": ["nfs_clients"], "ip": "198.18.0.12"}
    assert maia["cluster"]["domain"] == "maia.func.test"
    assert maia["env"]["cluster_name"] == "func"
    assert maia["env"]["argocd_bcrypt_password"].startswith("$2a$")
    # site facts only: the stage defaults stay in the formulas' parameters/defaults.yaml
    assert not {"prepare", "core", "stages", "kubeconfig"} & set(maia)
    assert maia["config_folder"] == str(site)


def test_command_line_pillar_overrides(salt_minion, salt_cli):
    ret = salt_cli.run(
        "pillar.items", 'pillar={"maia": {"prepare": {"ufw": false}}}', "unmask=True",
        minion_tgt=salt_minion.id,
    )
    assert ret.returncode == 0, ret
    prepare = ret.data["maia"]["prepare"]
    assert prepare == {"ufw": False}  # the defaults are merged on the host (maia/map.jinja)


def test_pillar_is_masked_by_default(salt_minion, salt_cli):
    """Salt 3008 masks pillar values in output unless asked: secrets stay off terminals."""
    ret = salt_cli.run("pillar.get", "maia:env:ARGOCD_PASSWORD", minion_tgt=salt_minion.id)
    assert ret.returncode == 0
    assert set(str(ret.data)) == {"*"}


def test_bad_inventory_fails_the_render(salt_minion, salt_cli, site):
    good = (site / "inventory.yaml").read_text()
    bad = yaml.safe_load(good)
    bad["hosts"]["maia-node-1"]["vars"]["local_storage_size"] = "12x"
    (site / "inventory.yaml").write_text(yaml.safe_dump(bad))
    try:
        ret = salt_cli.run("pillar.items", "unmask=True", minion_tgt=salt_minion.id)
        errors = " ".join(ret.data.get("_errors", [])) if isinstance(ret.data, dict) else str(ret.data)
        assert "host maia-node-1: local_storage_size='12x' is not an LVM size" in errors
        assert "inventory.yaml" in errors
    finally:
        (site / "inventory.yaml").write_text(good)


@pytest.mark.skipif(not have_sshd(), reason="sshd (openssh-server) is not installed")
def test_salt_ssh_pillar(salt_factories, salt_master, site, tmp_path):
    with stopped_at_the_end(local_sshd(salt_factories)) as sshd:
        roster = tmp_path / "roster"
        roster.write_text(yaml.safe_dump({"maia-node-1": roster_entry(sshd)}))
        cli = salt_master.salt_ssh_cli(roster_file=str(roster), client_key=str(sshd.client_key), timeout=300)
        ret = cli.run("pillar.items", minion_tgt="maia-node-1")  # the salt-ssh wrapper does not mask
        assert ret.returncode == 0, ret
        maia = ret.data["maia"]
        assert maia["roles"] == ["nfs_clients"]
        assert maia["host"]["address"] == "198.18.0.12"
        assert maia["nfs_server"] == {"name": "maia-node-0", "address": "198.18.0.11", "ip": "198.18.0.11"}
        assert "nfs_storage_size" not in maia["host"]
        # the salt-ssh wrapper of maia_map (maia_salt.map_memo) renders a map once per state run, on the master, with
        # this run's command-line pillar (test_maia_map.py has the formula and the host module's side)
        marks = tmp_path / "marks"
        marks.write_text("")
        ret = cli.run("state.show_sls", "memo", "pillar=" + json.dumps({"maia": {"marks": str(marks), "name": "ssh"}}),
                      minion_tgt="maia-node-1")
        assert ret.returncode == 0, ret
        assert marks.read_text().split() == ["rendered"]
        assert rendered_names(ret.data)["memo-c"] == ({"greeting": "hello ssh", "items": [1, 2], "changed_by": "c"},
                                                      "maia-node-1")
