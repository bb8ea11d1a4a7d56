"""No generated secret of the site in any output, after a full install on the lab.

Real: the lab hosts, a salt-master and salt-minions, `maia install` and
salt-run; stand-ins as in conftest.py (Kubernetes API, MicroK8s, ArgoCD
controller). The site's secrets are collected from its CONFIG_FOLDER
(tests/support/secrets.py): env.json's secrets and the bcrypt hash, the admin
layer's secrets (derived ones included), the
cluster YAML's password, the registry password, the CIFS key and the token of
the fetched kubeconfig. They are searched in the master's log and job cache,
every minion's log and job data, the `maia install` output and the state
returns of the orchestration.
"""
import os
from pathlib import Path

import pytest

from support.doc_commands import by_kind, run_verbatim
from support.secrets import JOB_DIRS, find_secrets, site_secrets

ORCH = "salt-run state.orch orch.maia"  # README.md


@pytest.fixture(scope="module")
def installed(site_lab, minion_install, documented_runs):
    """`maia install` (minions; conftest.py, shared with test_orchestration.py), then the state
    returns of a whole install as salt-run prints them: README's `salt-run state.orch orch.maia`,
    verbatim from the lab's folder (support.doc_commands.run_verbatim). That run is reused from
    test_day2_reset.py's storage-wipe test, whose last step it is (it put the storage back, so its
    returns hold changes too); only without it (this module run alone) does it run here. The
    documented-commands test checks the same run instead of running it again."""
    install = minion_install["run"]
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    assert ORCH in {c.text for c in by_kind("lab")}
    raw = documented_runs.get(ORCH) or run_verbatim(site_lab, ORCH, documented_runs, timeout=3600)
    assert raw.returncode == 0, raw.stdout[-3000:] + raw.stderr[-3000:]
    return {"maia install": install.stdout + install.stderr, "state returns (salt-run state.orch)": raw.stdout + raw.stderr}


def lab_salt_places(site_lab):
    places = [Path(site_lab.path("salt", "log")), *(Path(site_lab.path("salt", "cache", d)) for d in JOB_DIRS)]
    for host in site_lab.hosts:
        root = Path(site_lab.path("hosts", host.name, "merged"))
        places.append(root / "var/log/salt")
        places += [root / "var/cache/salt/minion" / d for d in JOB_DIRS]
    return places


def test_no_secret_in_logs_job_cache_or_output(site_lab, installed):
    secrets = site_secrets(site_lab.config_folder)
    labels = set(secrets)
    # the collection holds every kind of secret, or the search proves nothing
    assert {"env.json:ARGOCD_PASSWORD", "env.json:argocd_bcrypt_password", "env.json:keycloak_client_secret"} <= labels
    # the admin layer's (stage 4), the derived ones too
    assert {"admin:rancher_password", "admin:minio_root_password", "admin:minio_admin_password",
            "admin:keycloak_admin_password",
            "admin:mysql_dashboard_password", "admin:harbor_admin_password"} <= labels, sorted(labels)
    assert any(label.startswith("cifs_key") for label in labels)
    assert any(":token" in label for label in labels), sorted(labels)
    if site_lab.state.get("standins"):
        # Rancher's token (orch.maia's Rancher step): env.json and local.yaml
        assert {"env.json:rancher_token", "local.yaml:local:token"} <= labels, sorted(labels)
    places = lab_salt_places(site_lab)
    assert os.path.isfile(site_lab.path("salt", "log", "master"))
    assert any(p.is_dir() and any(p.iterdir()) for p in places if p.name == "jobs"), "no job cache to search"
    hits = find_secrets(secrets, places, installed)
    assert hits == [], "\n".join(hits)


def test_inventory_with_host_names_only_uses_each_hosts_ip(site_lab, installed):
    """Issue 13 item 6 on real hosts: the reference's example inventory names
    hosts without addresses. With every `address` a host name, stage 1 reaches
    the same firewall and NFS rules as with IPs (each minion's grain
    maia_default_ipv4, read by the ext_pillar from the master's cache): the
    re-run changes nothing, and UFW on the NFS server lists the peers' IPs."""
    import yaml

    from maia_salt.install import run_orchestration

    inventory = Path(site_lab.inventory)
    good = inventory.read_text()
    named = yaml.safe_load(good)
    for name, host in named["hosts"].items():
        host["address"] = name
    inventory.write_text(yaml.safe_dump(named))
    try:
        report = run_orchestration(site_lab.dir, stages=["prepare"])
    finally:
        inventory.write_text(good)
    assert report.ok, report.render()
    assert report.changed == 0, report.render()
    rules = Path(site_lab.path("hosts", "maia-node-0", "merged", "etc/ufw/user.rules")).read_text()
    for host in site_lab.hosts:
        if host.name != "maia-node-0":
            assert f" {host.address} in" in rules, (host.name, host.address)
    assert "maia-node-1 in" not in rules
