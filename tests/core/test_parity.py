"""Parity of stage 3 with the reference: maia-toolkit 2.5.0's own core value builders.

The test installs ``maia-toolkit==2.5.0`` (``--no-deps``, plus the libraries
its value builders import, ``tests/support/parity.py``) into a throwaway
virtualenv, once, cached in pytest's cache directory (shared with the admin
layer's parity test). For each site
(made by ``maia-configure``, hosts from an inventory) it runs the reference's
``create_*_values`` (``tests/core/parity_reference.py``), renders their
Applications as the MAIA core project chart does, and compares them with
``maia_core``'s Applications, path for path: names, release names,
namespaces, project, destination, chart source and every Helm value.

Stand-in: the reference asks the Kubernetes API for the nodes' addresses;
here a stand-in ``kubernetes`` module answers the addresses of the inventory's
control-plane hosts, the cluster's only nodes (no cluster on this machine; the
NFS clients of the sites are hosts, not nodes). Everything else is the toolkit's code.

Any path that is missing, extra or different fails, unless it is one of the
deliberate differences in ``DELIBERATE`` (each has an id that docs/core.md
explains). Secrets the reference draws at random count as equal when the path
is present on both sides.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.helpers import DEFAULTS_FILE, REPO, load_maia_core
from support.parity import (  # noqa: F401  (reference_python is a fixture)
    cluster_keys_read, compare_paths, configure_site, flatten, reference_python, run_reference,
    site_pillar_of, toolkit_source,
)

RUNNER = Path(__file__).with_name("parity_reference.py")
DOCS = REPO / "docs" / "core.md"

# paths whose reference value is random per run (secrets.token_urlsafe)
RANDOM = {
    ("traefik", "spec.source.helm.valuesObject.extraObjects[3].stringData.pluginSecret"),
    ("toolkit", "spec.source.helm.valuesObject.dashboard.plugin_secret"),
    ("loginapp", "spec.source.helm.valuesObject.config.secret"),
    ("kubeflow", "spec.source.helm.valuesObject.kubeflow_values.oidcClientSecret"),
    ("kubeflow", "spec.source.helm.valuesObject.kubeflow_values.cookieSecret"),
}

MAIA_CHARTS = ("toolkit", "local-path", "kubeflow", "gpu-booking")
_HELM = r"spec\.source\.helm\.valuesObject\."

# Deliberate differences: id -> (component regex, path regex, reason in short).
# docs/core.md explains each id; test_every_deliberate_difference_is_documented checks it.
DELIBERATE = {
    "P1": (
        "|".join(MAIA_CHARTS),
        rf"spec\.source\.targetRevision|{_HELM}chart_version",
        "MAIA's charts pinned to the release tag v2.5.0 instead of the branch master",
    ),
    "P2": (
        "|".join(MAIA_CHARTS),
        rf"spec\.source\.(path|chart)|{_HELM}(path|chart_name)",
        "private registry: MAIA's charts as OCI charts by name; the reference keeps a git path",
    ),
    "P3": (
        "nfs-provisioner",
        rf"{_HELM}nfs\.(server|path)",
        "NFS server from the inventory's nfs_server host when the cluster YAML names none",
    ),
    "P4": (
        "prometheus",
        r"spec\.syncPolicy.*",
        "Prometheus stack synced server-side (its CRDs exceed client-side apply)",
    ),
    "P5": (
        "loginapp|kubeflow",
        r".*",
        "rke2: the reference's loginapp/kubeflow builders fail (no API port for rke2, no ingress.tls)",
    ),
}


def compare(reference: dict, ours: dict, component: str, allowed_ids: set) -> list[str]:
    """Every path missing, extra or different, except deliberate (``allowed_ids``) and random ones."""
    return compare_paths(reference, ours, component, DELIBERATE, allowed_ids, RANDOM)


# ------------------------------------------------------------------ fixtures


# sites: (id, distribution, cluster YAML additions, private registry)
SITES = [
    ("microk8s", "microk8s", {}, ""),
    ("microk8s-selfsigned", "microk8s", {"selfsigned": True}, ""),
    ("k3s", "k3s", {"staging_certificates": True}, ""),
    ("k3s-selfsigned-coredns", "k3s", {"selfsigned": True,
                                       "coredns_mappings": [{"subdomain": "iam", "coredns_ip": "198.18.0.11"}]}, ""),
    ("k0s", "k0s", {}, ""),
    ("rke2", "rke2", {}, ""),
    ("rke2-selfsigned", "rke2", {"selfsigned": True}, ""),
    ("microk8s-private-registry", "microk8s", {}, "registry.maia.example.com/maia"),
    ("k3s-remote-destination", "k3s", {"argocd_destination_cluster_address": "https://10.1.2.3:6443"}, ""),
    ("rancher-local", "rke2", {"argocd_destination_cluster_address": "https://rancher.example.com/k8s/clusters/local"}, ""),
    ("cluster-nfs-and-pool", "microk8s", {"nfs_server": "198.18.0.99", "nfs_path": "/exports/maia",
                                          "metallb_ip_pool": "198.18.0.200-198.18.0.210"}, ""),
]


@pytest.fixture(scope="session")
def parity_runs(reference_python, tmp_path_factory):
    """{site id: (our mapdata, the reference's result)}, the reference run once for all sites."""
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text())
    module = load_maia_core()
    cases, ours = [], {}
    for site_id, distribution, extra, registry in SITES:
        folder = tmp_path_factory.mktemp(f"parity-{site_id}")
        configure_site(folder, distribution, registry)
        pillar = site_pillar_of(folder, extra)
        ours[site_id] = module.mapdata(defaults, pillar)
        env = {k: v for k, v in pillar["env"].items() if isinstance(v, str)}
        env.pop("MAIA_PRIVATE_REGISTRY", None)
        if registry:  # the collection's docs: exported in the shell that runs the playbooks
            env["MAIA_PRIVATE_REGISTRY"] = registry
        # the cluster's nodes (what the API lists, by name): the control plane and the workers;
        # the NFS clients of the inventory are hosts, not nodes
        nodes = [h["address"] for _n, h in sorted(pillar["hosts"].items())
                 if {"control-plane", "worker"} & set(h["roles"])]
        cases.append({"cluster": pillar["cluster"], "env": env, "nodes": nodes,
                      "folder": str(tmp_path_factory.mktemp(f"ref-{site_id}"))})
    reference = run_reference(reference_python, RUNNER, cases)
    return {site[0]: (ours[site[0]], ref) for site, ref in zip(SITES, reference)}


# ------------------------------------------------------------------ tests


@pytest.mark.parametrize("site_id", [s[0] for s in SITES])
def test_applications_equal_the_reference(parity_runs, site_id):
    ours, ref = parity_runs[site_id]
    assert "fatal" not in ref, ref.get("fatal")
    allowed = {"P1"}
    if "private-registry" in site_id:
        allowed.add("P2")
    if "cluster-nfs" not in site_id:
        allowed.add("P3")
    allowed.add("P4")
    mine = {app["component"]: app for app in ours["apps"]}
    problems = []
    for component in sorted(set(ref["apps"]) | set(mine)):
        if component in ref["errors"]:
            if component in ("loginapp", "kubeflow") and ours["distribution"] == "rke2":
                continue  # P5
            problems.append(f"{component}: the reference fails: {ref['errors'][component]}")
            continue
        if component not in mine:
            problems.append(f"{component}: Application {ref['apps'][component]['name']} missing")
            continue
        if component not in ref["apps"]:
            problems.append(f"{component}: Application {mine[component]['name']} not in the reference")
            continue
        ours_app = {"name": mine[component]["name"], "spec": mine[component]["spec"]}
        problems += compare(ref["apps"][component], ours_app, component, allowed)
    assert ours["project"]["name"] == ref["project"]
    assert {d["server"] for d in ours["project"]["spec"]["destinations"]} == {ref["destination"]}
    assert not problems, "\n".join(problems)


def test_reference_failures_are_only_the_documented_ones(parity_runs):
    """The reference's builders fail on rke2 only (P5); everywhere else they must run."""
    failing = {(site, comp) for site, (_o, ref) in parity_runs.items() for comp in ref.get("errors", {})}
    assert failing == {(site, comp) for site in ("rke2", "rke2-selfsigned", "rancher-local")
                       for comp in ("loginapp", "kubeflow")}


def test_random_secret_paths_are_present_and_stable(parity_runs):
    ours, ref = parity_runs["microk8s"]
    mine = {app["component"]: app for app in ours["apps"]}
    for component, path in RANDOM:
        assert path in flatten({"spec": mine[component]["spec"]})
        assert path in flatten(ref["apps"][component])


def test_compare_catches_a_difference():
    """The comparison itself fails on a changed, a missing and an extra value."""
    ref = {"spec": {"source": {"helm": {"valuesObject": {"a": 1, "b": [1, 2]}}}}}
    ours = {"spec": {"source": {"helm": {"valuesObject": {"a": 2, "c": 3}}}}}
    problems = compare(ref, ours, "traefik", set())
    assert len(problems) == 4  # a differs, b[0] and b[1] missing, c extra


def test_every_deliberate_difference_is_documented():
    text = DOCS.read_text()
    for ident, (_c, _p, _reason) in DELIBERATE.items():
        assert f"**{ident}**" in text, f"docs/core.md does not explain deliberate difference {ident}"


def test_every_cluster_key_the_reference_reads_is_handled(reference_python):
    """Each key of the cluster YAML that the toolkit's core installer reads is one
    maia.core honours (context.CLUSTER_KEYS, documented in docs/core.md)."""
    from maia_salt.core.context import CLUSTER_KEYS

    site = toolkit_source(reference_python)
    scripts = site.parent / "MAIA_scripts" / "MAIA_install_core_toolkit.py"
    read = cluster_keys_read((site / "maia_core.py").read_text() + scripts.read_text())
    assert {"k8s_distribution", "cluster_name", "traefik_resolver"} <= read  # the patterns still match
    assert read, "no cluster keys found: the pattern no longer matches the toolkit"
    assert read <= set(CLUSTER_KEYS), sorted(read - set(CLUSTER_KEYS))
    docs = DOCS.read_text()
    for key in CLUSTER_KEYS:
        assert f"`{key}`" in docs, key
