"""`maia validate` (offline: no host, no Salt daemon), the plan of a --test run, and the --json
document, checked against the schema shipped in the package (src/maia_salt/schemas)."""
import json
import os

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from maia_salt import cli, jsonout, plan, summary
from maia_salt.inventory import InventoryError
from maia_salt.pillar_map import site_pillar
from support.site import SITE_INVENTORY, make_site


def _maia(args, env=None):
    return CliRunner().invoke(cli.main, args, env=env)  # .stdout: the document alone, .output: with stderr


def _check(doc):
    jsonschema.Draft202012Validator(jsonout.schema()).validate(doc)
    return doc


def _inventory(site, change):
    data = yaml.safe_load(yaml.safe_dump(SITE_INVENTORY))
    change(data["hosts"])
    (site / "inventory.yaml").write_text(yaml.safe_dump(data))


def test_validate_a_good_site(tmp_path):
    """Also: the render runs no ``lvm`` command of this machine (state_render.UNLOADED_GRAINS: Salt's
    lvm grain reads the machine that validates, not the host rendered); an ``lvm`` first on PATH
    records each call."""
    site = make_site(tmp_path / "config")
    fake_bin, lvm_calls = tmp_path / "bin", tmp_path / "lvm-calls"
    fake_bin.mkdir()
    (fake_bin / "lvm").write_text(f'#!/bin/sh\necho "$@" >> {lvm_calls}\n')
    (fake_bin / "lvm").chmod(0o755)
    result = _maia(["validate", "--config-folder", str(site)], env={"PATH": f"{fake_bin}:{os.environ['PATH']}"})
    assert result.exit_code == 0, result.output
    assert not lvm_calls.exists(), lvm_calls.read_text()
    assert "2 host(s)" in result.output and "valid" in result.output
    assert "stage core:" in result.output and "Applications" in result.output  # stage 3 rendered
    # every stage's SLS rendered by Salt: prepare on both hosts, k8s and core on the control-plane
    assert "note maia-node-0: the states of prepare, k8s, core render" in result.output, result.output
    assert "note maia-node-1: the states of prepare render" in result.output, result.output
    doc = _check(json.loads(_maia(["validate", "--config-folder", str(site), "--json"]).stdout))
    assert doc["command"] == "validate" and doc["ok"] is True and doc["exit_code"] == 0


def test_validate_gives_the_messages_of_the_state_render(tmp_path):
    """A value that only the SLS checks (stage 2's map refuses another K8S_DISTRIBUTION): maia
    validate names it with Salt's own render message, exit 2; no host, no Salt daemon."""
    site = make_site(tmp_path / "config")
    result = _maia(["validate", "--config-folder", str(site), "--pillar",
                    '{"maia": {"cluster": {"k8s_distribution": "openshift"}}}'])
    assert result.exit_code == 2, result.output
    assert ("ERROR maia-node-0: stage k8s: Rendering SLS 'base:maia.k8s' failed: Jinja error: maia.k8s: "
            "K8S_DISTRIBUTION is openshift, but stage 2 installs microk8s, k3s, k0s and rke2 only") in result.output, result.output
    assert "Traceback" not in result.output and "maia-node-1: stage" not in result.output


def test_validate_gives_the_messages_of_the_pillar_render(tmp_path):
    site = make_site(tmp_path / "config")
    _inventory(site, lambda hosts: hosts["maia-node-1"].update(groups=["control-plane"]))
    with pytest.raises(InventoryError) as render_error:
        site_pillar(site, "maia-node-0")
    result = _maia(["validate", "--config-folder", str(site), "--json"])
    assert result.exit_code == 2, result.output
    doc = _check(json.loads(result.stdout))
    messages = [f["message"] for f in doc["findings"] if f["level"] == "error"]
    assert any(str(render_error.value) in m for m in messages), messages


def test_validate_an_inventory_without_addresses(tmp_path):
    """The Ansible collection's inventory has no addresses: it validates, stage 3 included (the NFS
    server's address comes from its grains at run time, a note says so)."""
    site = make_site(tmp_path / "config")
    _inventory(site, lambda hosts: [h.pop("address") for h in hosts.values()])
    result = _maia(["validate", "--config-folder", str(site)])
    assert result.exit_code == 0, result.output
    assert "note maia-node-0: no address in inventory.yaml" in result.output
    assert "stage core:" in result.output


def test_validate_a_stage3_problem_is_named(tmp_path):
    site = make_site(tmp_path / "config")
    cluster = yaml.safe_load((site / "func.yaml").read_text())
    cluster["ingress_resolver_email"] = "not-an-email"
    (site / "func.yaml").write_text(yaml.safe_dump(cluster))
    result = _maia(["validate", "--config-folder", str(site)])
    assert result.exit_code == 2 and "stage core: " in result.output and "not-an-email" in result.output


def test_install_validates_the_master_config_folder_first(tmp_path, monkeypatch):
    """maia install reads the maia ext_pillar's config_folder from the master configuration and
    stops with exit 2 on a broken folder, before any Salt run."""
    site = make_site(tmp_path / "config")
    _inventory(site, lambda hosts: hosts["maia-node-1"].update(groups=["nfs_server"]))
    salt = tmp_path / "salt"
    salt.mkdir()
    (salt / "master").write_text(yaml.safe_dump({"ext_pillar": [{"maia": {"config_folder": str(site)}}],
                                                 "root_dir": str(tmp_path / "root")}))
    started = []
    monkeypatch.setattr("maia_salt.install.run_orchestration", lambda *a, **k: started.append(a))
    result = _maia(["install", "-c", str(salt), "--test"])
    assert result.exit_code == 2, result.output
    assert "two NFS servers (maia-node-0, maia-node-1)" in result.output and "nothing was run" in result.output
    assert started == []


# ------------------------------------------------------------------ plan and JSON

# the shape of a real state.apply return under test=True (a state that would change, one unchanged)
PREDICTED = {
    "maia-node-1": {
        "maia_ufw_|-maia-prepare-ufw-rule-peers_|-peers_|-rules_present": {
            "result": None, "__run_num__": 3, "duration": 20.0, "comment": "2 rules would be added",
            "changes": {"added": {"old": [], "new": ["allow from 198.18.0.11"]}},
        },
        "maia_secrets_|-maia-k8s-argocd-admin_|-x_|-secret_present": {
            "result": None, "__run_num__": 4, "duration": 5.0, "comment": "would update",
            "changes": {"admin.password": {"old": "old-hash-value", "new": "new-hash-value"}},
        },
        "pkg_|-maia-prepare-ufw-package-installed_|-ufw_|-installed": {
            "result": True, "__run_num__": 1, "duration": 9.0, "comment": "installed", "changes": {},
        },
    }
}


def test_the_plan_names_host_state_and_masks_secrets():
    results = summary.from_state_run("prepare", PREDICTED)
    text = plan.render(results)
    assert "plan: 2 state(s) would change" in text
    assert "WOULD CHANGE prepare on maia-node-1: maia-prepare-ufw-rule-peers" in text
    assert "added: [] -> [\"allow from 198.18.0.11\"]" in text
    assert "maia-prepare-ufw-package-installed" not in text
    assert "old-hash-value" not in text and "new-hash-value" not in text and "<masked>" in text
    assert plan.render(summary.from_state_run("prepare", {"h": {}})) == "plan: nothing would change"


def test_json_document_of_a_run_validates_and_masks():
    from maia_salt.install import InstallReport

    report = InstallReport(summary.from_state_run("prepare", PREDICTED), [("maia-orch-stage-k8s", "requisite failed")],
                           12.5, 1)
    doc = _check(jsonout.of_run("install", report, test=True))
    assert doc["ok"] is False and doc["exit_code"] == 1 and doc["test"] is True
    (row,) = doc["hosts"]
    assert [c["state"] for c in row["changes"]] == ["maia-prepare-ufw-rule-peers", "maia-k8s-argocd-admin"]
    assert "hash-value" not in json.dumps(doc)
    assert doc["failed_steps"] == [{"step": "maia-orch-stage-k8s", "comment": "requisite failed"}]
    _check(jsonout.interrupted("install", "interrupted: the hosts keep running"))
    with pytest.raises(jsonschema.ValidationError):
        _check({**doc, "exit_code": 3})


def test_salt_warnings_go_to_the_log_file_not_the_terminal(tmp_path):
    """Salt's TransportWarning (with its stack) and Salt's log records, raised in a real `maia`
    process after its setup, end in $MAIA_LOG_FILE; the terminal shows the command's own output."""
    import os
    import subprocess
    import sys

    log = tmp_path / "logs" / "maia.log"
    code = (
        "import sys, logging, warnings\n"
        "from maia_salt import cli\n"
        "@cli.main.command('noisy')\n"
        "def noisy():\n"
        "    import salt.transport.base as base\n"
        "    warnings.warn('Unclosed transport! <fake>', base.TransportWarning)\n"
        "    logging.getLogger('salt.transport.zeromq').error('a Salt error record')\n"
        "    print('own output')\n"
        "cli.main(['noisy'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "MAIA_LOG_FILE": str(log)})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "own output\n"
    assert "Unclosed" not in proc.stderr and "Salt error" not in proc.stderr and "Traceback" not in proc.stderr
    text = log.read_text()
    assert "Unclosed transport!" in text and "a Salt error record" in text


def _recorded(monkeypatch, report):
    """The orchestration is not started: run_with_progress gives ``report``, as a real run returns it."""
    monkeypatch.setattr(cli, "run_with_progress", lambda *args, **kw: report)


@pytest.mark.parametrize("command", [["reset", "--test"], ["remove-host", "maia-node-1", "--test"]])
def test_json_of_reset_and_remove_host_is_one_masked_document(tmp_path, monkeypatch, command):
    from maia_salt.install import InstallReport

    (tmp_path / "master").write_text("{}\n")
    _recorded(monkeypatch, InstallReport(summary.from_state_run("prepare", PREDICTED), [], 3.0, 0))
    result = _maia([*command, "-c", str(tmp_path), "--json"])
    doc = _check(json.loads(result.stdout))
    assert doc["command"] == command[0] and doc["test"] is True
    assert result.exit_code == doc["exit_code"] == 0, result.output
    (row,) = doc["hosts"]
    assert row["host"] == "maia-node-1" and len(row["changes"]) == 2
    assert "hash-value" not in result.stdout


def test_json_of_preflight_holds_each_finding_and_exit_1(tmp_path, monkeypatch):
    from maia_salt.day2 import PreflightReport

    finding = {"level": "error", "check": "storage", "message": "/dev/sdz does not exist",
               "fix": "name an existing disk in device_list"}
    hosts = {"maia-node-0": {"roles": [], "checks": {}, "findings": []},
             "maia-node-1": {"roles": [], "checks": {}, "findings": [finding]}}
    (tmp_path / "master").write_text("{}\n")
    _recorded(monkeypatch, PreflightReport(hosts, [], 2.0, 0))
    result = _maia(["preflight", "-c", str(tmp_path), "--json"])
    doc = _check(json.loads(result.stdout))
    assert doc["command"] == "preflight" and doc["ok"] is False
    assert result.exit_code == doc["exit_code"] == 1, result.output
    assert doc["findings"] == [{"host": "maia-node-1", **finding}]
