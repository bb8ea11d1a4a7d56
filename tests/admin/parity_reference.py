"""Run the reference's admin value builders (maia-toolkit 2.5.0, MAIA/maia_admin.py)
on sites and print the AppProject and Applications they lead to, as JSON.

Runs in the throwaway virtualenv of tests/support/parity.py, not in the
suite's environment. Reads a JSON list of cases on stdin; each case has the
site's cluster YAML, the environment the collection's ``maia_admin_layer``
role gives ``MAIA_install_admin_toolkit`` (keys of env.json) and a scratch
folder. The builders run offline and unchanged. As ``MAIA_install_admin_toolkit``
does, a cluster YAML without ``ingress_class``/``storage_class`` gets the
distribution's. The objects are rendered as the maia-admin-project chart
1.1.0 renders them (release ``maia-admin``): ``<release>-<suffix>``, the whole
values file as ``valuesObject``, the AppProject from the chart's values.yaml
that the installer composes.
"""
import os
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: support.reference_runner
from support.reference_runner import serve  # noqa: E402

PROJECT = "maia-admin"
LOCAL = "https://kubernetes.default.svc"
# (builder, Application suffix, values key of the project chart), in the installer's order
BUILDERS = [
    ("create_harbor_values", "harbor", "harbor_values"),
    ("create_keycloak_values", "keycloak", "keycloak_values"),
    ("create_rancher_values", "rancher", "rancher_values"),
    ("create_maia_admin_toolkit_values", "admin-toolkit", "maia_admin_toolkit_values"),
    ("create_maia_dashboard_values", "maia-dashboard", "maia_dashboard_values"),
]
# MAIA_install_admin_toolkit's sourceRepos
SOURCE_REPOS = [
    "https://minnelab.github.io/MAIA/",
    "https://github.com/minnelab/MAIA.git",
    "https://helm.goharbor.io",
    "https://charts.bitnami.com/bitnami",
    "https://releases.rancher.com/server-charts/latest",
]


def application(suffix, values, destination):
    name = f"{PROJECT}-{suffix}"
    source = {}
    if values.get("chart_name"):
        source["chart"] = values["chart_name"]
    if values.get("path"):
        source["path"] = values["path"]
    source.update(repoURL=values["repo_url"], targetRevision=values["chart_version"],
                  helm={"releaseName": name, "valuesObject": values})
    return {"name": name, "spec": {"project": PROJECT, "source": source,
                                   "destination": {"server": destination, "namespace": values["namespace"]}}}


def project(chart_values, group, destination):
    """templates/argo_project.yaml of the chart."""
    namespaces = [PROJECT] + [chart_values[key]["namespace"] for key in ("harbor_values", "keycloak_values",
                                                                        "rancher_values")]
    namespaces += ["kube-system", "argocd", chart_values["maia_admin_toolkit_values"]["namespace"],
                   chart_values["maia_dashboard_values"]["namespace"], "cert-manager"]
    return {
        "roles": [{"name": "admin", "description": "Admin privileges",
                   "policies": [f"p, {group}, applications, get, {PROJECT}/*, allow"], "groups": [group]}],
        "clusterResourceWhitelist": [{"group": "*", "kind": kind} for kind in (
            "Namespace", "ClusterRoleBinding", "ClusterRole", "CustomResourceDefinition", "PriorityClass")],
        "destinations": [{"namespace": ns, "server": destination} for ns in namespaces],
        "sourceRepos": list(SOURCE_REPOS),
    }


def run_case(case):
    from MAIA.maia_k8s_distros import get_ingress_class, get_storage_class  # noqa: PLC0415

    for key in list(os.environ):
        if key in case["env"] or key == "MAIA_PRIVATE_REGISTRY":
            del os.environ[key]
    os.environ.update({k: str(v) for k, v in case["env"].items()})
    import MAIA.maia_admin as admin  # noqa: PLC0415  (versions are read at import)

    cluster = dict(case["cluster"])
    if "ingress_class" not in cluster and "k8s_distribution" in cluster:
        cluster["ingress_class"] = get_ingress_class(cluster["k8s_distribution"])
    if "storage_class" not in cluster and "k8s_distribution" in cluster:
        cluster["storage_class"] = get_storage_class(cluster["k8s_distribution"])
    destination = os.environ.get("MAIA_ADMIN_ARGOCD_DESTINATION_CLUSTER_ADDRESS", LOCAL)
    apps, chart_values = {}, {}
    for builder, suffix, key in BUILDERS:
        result = getattr(admin, builder)(case["folder"], PROJECT, cluster)
        with open(result["values"], encoding="utf-8") as handle:
            values = yaml.safe_load(handle)
        chart_values[key] = values
        apps[suffix] = application(suffix, values, destination)
    return {"project": project(chart_values, os.environ["admin_group_ID"], destination), "apps": apps}


def main():
    serve(run_case)


if __name__ == "__main__":
    main()
