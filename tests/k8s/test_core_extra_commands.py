"""Where the site's extra_commands run (issue 28), with real Salt.

- maia:core:extra_commands: on the controller, after the core layer: the runner
  maia_commands.core_extra_commands in the salt-master's own process (a real
  salt-master from pytest-salt-factories, no minion connected), KUBECONFIG set to the
  kubeconfig fetched into CONFIG_FOLDER; the commands come from the pillar the master
  compiles from the site's config (maia ext_pillar + pillar_roots), never from the run.
- maia:k8s:argocd:extra_commands: in stage 2 on the control-plane host
  (tests/k8s/test_k8s_formula.py::test_stage2_extra_commands_run_on_the_control_plane_host).
"""
import json

import pytest
import yaml

from support.paths import REPO
from support.minion import SKIP_MACHINE_GRAINS
from support.site import make_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = make_site(tmp_path_factory.mktemp("site") / "config")
    name = json.loads((folder / "env.json").read_text())["cluster_name"]
    (folder / f"{name}-kubeconfig.yaml").write_text("apiVersion: v1\nkind: Config\n")  # as fetched after stage 2
    return folder


@pytest.fixture(scope="module")
def marker(tmp_path_factory):
    return tmp_path_factory.mktemp("marker") / "ran"


@pytest.fixture(scope="module")
def pillar_root(tmp_path_factory):
    return tmp_path_factory.mktemp("pillar")


@pytest.fixture(scope="module")
def salt_master(salt_factories, site, marker, pillar_root):
    (pillar_root / "top.sls").write_text("base:\n  '*': [site]\n")
    commands = [
        {"name": f"sh -c 'echo \"$KUBECONFIG $MAIA_NOTE $PPID\" > {marker}'", "env": {"MAIA_NOTE": "from-site"}},
        "true",
    ]
    (pillar_root / "site.sls").write_text(yaml.safe_dump({"maia": {"core": {"extra_commands": commands}}}))
    overrides = {
        "ext_pillar": [{"maia": {"config_folder": str(site)}}],
        "pillar_roots": {"base": [str(pillar_root)]},
        "file_roots": {"base": [str(REPO / "formulas")]},
        **SKIP_MACHINE_GRAINS,
    }
    factory = salt_factories.salt_master_daemon("core-commands-master", overrides=overrides)
    with factory.started():
        yield factory


def test_core_extra_commands_run_on_the_controller_with_the_fetched_kubeconfig(salt_master, site, marker):
    ret = salt_master.salt_run_cli(timeout=120).run("maia_commands.core_extra_commands")
    assert ret.returncode == 0, ret.stdout + ret.stderr
    assert ret.data["commands"] == [{"program": "sh", "exit": 0}, {"program": "true", "exit": 0}]
    kubeconfig, note, _ppid = marker.read_text().split()
    name = json.loads((site / "env.json").read_text())["cluster_name"]
    assert kubeconfig == str(site / f"{name}-kubeconfig.yaml") == ret.data["kubeconfig"]
    assert note == "from-site"
    assert "from-site" not in ret.stdout  # the commands' output is not returned


def test_core_extra_commands_take_nothing_from_the_command_line(salt_master, marker, tmp_path):
    """No argument names commands: a run's own list (here as a keyword) is not run."""
    evil = tmp_path / "evil"
    ret = salt_master.salt_run_cli(timeout=120).run(
        "maia_commands.core_extra_commands", f"commands=['touch {evil}']", f"extra_commands=['touch {evil}']")
    assert not evil.exists()
    assert not (isinstance(ret.data, dict) and "touch" in str(ret.data.get("commands")))


def test_a_failing_command_is_named_without_its_output(salt_master, pillar_root):
    site_sls = pillar_root / "site.sls"
    saved = site_sls.read_text()
    try:
        site_sls.write_text(yaml.safe_dump({"maia": {"core": {"extra_commands": ["sh -c 'echo s3cr3t-token; exit 3'"]}}}))
        ret = salt_master.salt_run_cli(timeout=120).run("maia_commands.core_extra_commands")
    finally:
        site_sls.write_text(saved)
    assert ret.returncode != 0
    assert "item 1 of 1 (sh) failed with exit 3" in ret.stdout + ret.stderr
    assert "s3cr3t-token" not in ret.stdout + ret.stderr
