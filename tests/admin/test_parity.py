"""Parity of the admin layer (stage 4) with the reference: maia-toolkit 2.5.0's admin builders.

For each site (made by ``maia-configure``, hosts from an inventory) the test
runs the toolkit's ``create_harbor_values``, ``create_keycloak_values``,
``create_rancher_values``, ``create_maia_admin_toolkit_values`` and
``create_maia_dashboard_values`` (``tests/admin/parity_reference.py``, in the
throwaway virtualenv of ``tests/support/parity.py``), renders the AppProject
and Applications as the maia-admin-project chart 1.1.0 does, and compares them
with ``maia_salt.admin``'s, path for path: names, release names, namespaces,
project, destinations, chart sources and every Helm value.

The sites cover microk8s, k3s, rke2 and k0s, each with Let's Encrypt
(neither ``selfsigned`` nor ``externalCA``), ``selfsigned`` and ``externalCA``,
each with a public and a private registry, plus sites with the optional
cluster YAML keys. Nothing stands in for anything here: the reference's admin
builders read no cluster.

Any path that is missing, extra or different fails, unless it is one of the
deliberate differences in ``DELIBERATE`` (each has an id that docs/admin.md
explains).
"""
from __future__ import annotations

import datetime
import itertools
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from maia_salt.admin import mapdata
from maia_salt.admin.context import CLUSTER_KEYS
from support.parity import (  # noqa: F401  (reference_python is a fixture)
    cluster_keys_read, compare_paths, configure_site, reference_python, run_reference, site_pillar_of,
    toolkit_source,
)
from support.paths import REPO

RUNNER = Path(__file__).with_name("parity_reference.py")
DOCS = REPO / "docs" / "admin.md"
DEFAULTS_FILE = REPO / "formulas" / "maia" / "admin" / "parameters" / "defaults.yaml"
CORE_DEFAULTS_FILE = REPO / "formulas" / "maia" / "core" / "parameters" / "defaults.yaml"
REGISTRY = "registry.maia.example.com/maia"
MAIA_CHARTS = "admin-toolkit|maia-dashboard"
_HELM = r"spec\.source\.helm\.valuesObject\."

# Deliberate differences: id -> (component regex, path regex, reason in short).
# docs/admin.md explains each id; test_every_deliberate_difference_is_documented checks it.
DELIBERATE = {
    "A1": (MAIA_CHARTS, rf"spec\.source\.targetRevision|{_HELM}chart_version",
           "MAIA's admin charts pinned to the release tag v2.5.0 instead of the branch master"),
    "A2": (MAIA_CHARTS, rf"spec\.source\.(path|chart)|{_HELM}(path|chart_name)",
           "private registry: MAIA's charts as OCI charts by name; the reference keeps a git path"),
    "A3": ("harbor", rf"{_HELM}harborAdminPassword",
           "Harbor's admin password from env.json harbor_admin_password, never the chart default"),
    "A4": ("project", r"sourceRepos\[\d+\]",
           "private registry: the registry is one of the AppProject's source repositories"),
}


def _certificate(path: Path) -> None:
    """A real self-signed CA certificate (PEM) for the ``externalCA`` sites."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MAIA parity test CA")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


TLS_MODES = {"acme": {}, "selfsigned": {"selfsigned": True}, "external-ca": {"externalCA": None}}
# sites: id -> (distribution, cluster YAML additions, private registry)
SITES = {
    f"{dist}-{tls}-{'private' if private else 'public'}": (dist, extra, REGISTRY if private else "")
    for (dist, (tls, extra), private) in itertools.product(
        ("microk8s", "k3s", "rke2", "k0s"), TLS_MODES.items(), (False, True))
}
SITES.update({
    "k3s-optional-keys": ("k3s", {
        "admin_group": "maia-admins", "users_group": "maia-users", "ssh_hostname": "ssh.maia.example.com",
        "ssh_port_type": "LoadBalancer", "port_range": [31000, 31500], "url_type": "subpath",
        "metallb_ip_pool": "198.18.0.200-198.18.0.210", "maia_metallb_ip": "198.18.0.200",
        "metallb_shared_ip": "198.18.0.201", "argocd_destination_cluster_address": "https://kubernetes.default.svc",
    }, ""),
    "rke2-nginx-issuer-staging": ("rke2", {"nginx_cluster_issuer": "maia-issuer", "staging_certificates": True,
                                           "externalCA": None}, ""),
    "microk8s-staging-external-ca": ("microk8s", {"staging_certificates": True, "externalCA": None}, ""),
    "microk8s-selfsigned-external-ca": ("microk8s", {"selfsigned": True, "externalCA": None}, ""),
    "k0s-storage-class": ("k0s", {"storage_class": "fast-ssd", "shared_storage_class": "nfs-maia"}, ""),
})

# what the collection's maia_admin_layer role hands MAIA_install_admin_toolkit from env.json
ROLE_ENV = ("argocd_namespace", "admin_group_ID", "ARGOCD_PASSWORD", "admin_project_chart", "admin_project_repo",
            "admin_project_version", "keycloak_client_secret", "minio_admin_password", "minio_root_password",
            "dashboard_api_secret", "mysql_dashboard_password", "keycloak_admin_password", "rancher_token",
            "rancher_password")


@pytest.fixture(scope="session")
def parity_runs(reference_python, tmp_path_factory):
    """{site id: (our mapdata, the reference's result)}, the reference run once for all sites."""
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text())
    core_defaults = yaml.safe_load(CORE_DEFAULTS_FILE.read_text())
    cases, ours = [], {}
    for site_id, (distribution, extra, registry) in SITES.items():
        folder = tmp_path_factory.mktemp(f"admin-parity-{site_id}")
        configure_site(folder, distribution, registry)
        extra = dict(extra)
        if "externalCA" in extra:
            _certificate(folder / "external-ca.crt")
            extra["externalCA"] = {"name": "maia-external-ca", "cert": str(folder / "external-ca.crt")}
        pillar = site_pillar_of(folder, extra)
        ours[site_id] = mapdata(defaults, pillar, core_defaults)
        env = {k: str(pillar["env"][k]) for k in ROLE_ENV if k in pillar["env"]}
        if registry:  # the collection's docs: exported in the shell that runs the playbooks
            env["MAIA_PRIVATE_REGISTRY"] = registry
        cases.append({"cluster": pillar["cluster"], "env": env,
                      "folder": str(tmp_path_factory.mktemp(f"admin-ref-{site_id}"))})
    reference = run_reference(reference_python, RUNNER, cases)
    return {site_id: (ours[site_id], ref) for site_id, ref in zip(SITES, reference)}


def _allowed(site_id: str) -> set:
    allowed = {"A1", "A3"}
    if site_id.endswith("-private"):
        allowed |= {"A2", "A4"}
    return allowed


@pytest.mark.parametrize("site_id", list(SITES))
def test_applications_equal_the_reference(parity_runs, site_id):
    ours, ref = parity_runs[site_id]
    assert "fatal" not in ref, ref.get("fatal")
    mine = {app["component"]: app for app in ours["apps"]}
    assert set(mine) == set(ref["apps"])
    problems = []
    for component in sorted(ref["apps"]):
        ours_app = {"name": mine[component]["name"], "spec": mine[component]["spec"]}
        problems += compare_paths(ref["apps"][component], ours_app, component, DELIBERATE, _allowed(site_id))
    problems += compare_paths(ref["project"], ours["project"]["spec"], "project", DELIBERATE, _allowed(site_id))
    assert ours["project"]["name"] == "maia-admin"
    assert not problems, "\n".join(problems)


def test_external_ca_secret_holds_the_certificate(parity_runs):
    """With externalCA the Secret named by it in maia-dashboard holds the certificate
    the reference gives MinIO (key public.crt); without it there is none."""
    ours, ref = parity_runs["k3s-external-ca-public"]
    cert = ref["apps"]["admin-toolkit"]["spec"]["source"]["helm"]["valuesObject"]["minio"]["externalCA"]
    assert ours["secrets"] == [{"name": "maia-external-ca", "namespace": "maia-dashboard", "type": "Opaque",
                                "string_data": {"public.crt": cert["cert"]}}]
    assert cert["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert parity_runs["k3s-acme-public"][0]["secrets"] == []


def test_sites_cover_every_combination():
    combos = {(dist, extra.get("selfsigned", False), "externalCA" in extra, bool(registry))
              for dist, extra, registry in SITES.values()}
    for dist, (selfsigned, external), private in itertools.product(
            ("microk8s", "k3s", "rke2", "k0s"), ((False, False), (True, False), (False, True)), (False, True)):
        assert (dist, selfsigned, external, private) in combos


def test_compare_catches_a_difference():
    """The comparison itself fails on a changed, a missing and an extra value, and a
    deliberate difference is allowed only where its id is."""
    ref = {"spec": {"source": {"helm": {"valuesObject": {"a": 1, "b": [1, 2]}}}}}
    ours = {"spec": {"source": {"helm": {"valuesObject": {"a": 2, "c": 3}}}}}
    assert len(compare_paths(ref, ours, "harbor", DELIBERATE, set())) == 4
    base = {"spec": {"source": {"helm": {"valuesObject": {"a": 1}}}}}
    extra = {"spec": {"source": {"helm": {"valuesObject": {"a": 1, "harborAdminPassword": "x"}}}}}
    assert compare_paths(base, extra, "harbor", DELIBERATE, {"A3"}) == []
    assert compare_paths(base, extra, "harbor", DELIBERATE, {"A1"})
    assert compare_paths(base, extra, "keycloak", DELIBERATE, {"A3"})


def test_every_deliberate_difference_is_documented():
    text = DOCS.read_text()
    for ident in DELIBERATE:
        assert f"**{ident}**" in text, f"docs/admin.md does not explain deliberate difference {ident}"


def test_every_cluster_key_the_reference_reads_is_handled(reference_python):
    """Each key of the cluster YAML that the toolkit's admin builders and installer read
    is one maia_salt.admin honours or refuses (context.CLUSTER_KEYS, documented in docs/admin.md)."""
    site = toolkit_source(reference_python)
    scripts = site.parent / "MAIA_scripts" / "MAIA_install_admin_toolkit.py"
    read = cluster_keys_read((site / "maia_admin.py").read_text() + scripts.read_text())
    assert {"domain", "externalCA", "admin_group", "nginx_cluster_issuer"} <= read  # the patterns still match
    assert read <= set(CLUSTER_KEYS), sorted(read - set(CLUSTER_KEYS))
    docs = DOCS.read_text()
    for key in CLUSTER_KEYS:
        assert f"`{key}`" in docs, key
