"""Run the reference's core value builders (maia-toolkit, MAIA/maia_core.py) on
sites and print the Applications they lead to, as JSON.

Runs in the throwaway virtualenv of tests/support/parity.py, not in the
suite's environment. Reads a JSON list of cases on stdin; each case has the
site's cluster YAML, env.json, the cluster's node addresses and a scratch
folder. The node list the builders read from the Kubernetes API comes from the
inventory through a stand-in ``kubernetes`` module (this machine has no
cluster); everything else is the toolkit's own code. The Applications are
rendered as the MAIA core project chart (maia-core-project 1.2.3) renders them:
``<project id>-<suffix>``, the whole values file as ``valuesObject``.
"""
import os
import sys
from pathlib import Path
import types

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: support.reference_runner
from support.reference_runner import serve  # noqa: E402

NODES = []


def _install_kubernetes_standin():
    """Stand-in for the ``kubernetes`` client: list_node() answers the case's nodes (the
    inventory's control-plane hosts, as the cluster lists them)."""

    class CoreV1Api:
        def list_node(self):
            items = []
            for address in NODES:
                addresses = [types.SimpleNamespace(type="InternalIP", address=address)]
                items.append(types.SimpleNamespace(status=types.SimpleNamespace(addresses=addresses)))
            return types.SimpleNamespace(items=items)

    kubernetes = types.ModuleType("kubernetes")
    kubernetes.client = types.SimpleNamespace(CoreV1Api=CoreV1Api)
    kubernetes.config = types.SimpleNamespace(load_kube_config=lambda **_kw: None)
    sys.modules["kubernetes"] = kubernetes


# (builder, its arguments beyond config_folder/project_id, values key in the
# project chart, Application suffix) in the order MAIA_install_core_toolkit runs them
BUILDERS = [
    ("create_prometheus_values", True, "prometheus"),
    ("create_metrics_server_values", False, "metrics-server"),
    ("create_loki_values", False, "loki"),
    ("create_tempo_values", False, "tempo"),
    ("create_core_toolkit_values", True, "toolkit"),
    ("create_traefik_values", True, "traefik"),
    ("create_ingress_nginx_values", False, "ingress-nginx"),
    ("create_metallb_values", False, "metallb"),
    ("create_cert_manager_values", False, "cert-manager"),
    ("create_gpu_operator_values", True, "gpu-operator"),
    ("create_nfs_server_provisioner_values", True, "nfs-provisioner"),
    ("create_loginapp_values", True, "loginapp"),
    ("create_minio_operator_values", False, "minio-operator"),
    ("create_local_path_values", True, "local-path"),
    ("create_kubeflow_values", True, "kubeflow"),
    ("create_gpu_booking_values", False, "gpu-booking"),
]


def project_of(cluster):
    """Project id and destination, as MAIA_install_core_toolkit decides them."""
    address = cluster.get("argocd_destination_cluster_address")
    if address is not None and not address.endswith("/k8s/clusters/local"):
        if address != "https://kubernetes.default.svc":
            return f"maia-core-{cluster['cluster_name']}", address
        return "maia-core", address
    return "maia-core", "https://kubernetes.default.svc"


def run_case(case):
    from MAIA.maia_k8s_distros import get_ingress_class  # noqa: PLC0415

    NODES[:] = case["nodes"]
    for key in list(os.environ):
        if key in case["env"] or key == "MAIA_PRIVATE_REGISTRY":
            del os.environ[key]
    os.environ.update({k: str(v) for k, v in case["env"].items()})
    import MAIA.maia_core as core  # noqa: PLC0415  (versions are read at import)

    cluster = dict(case["cluster"])
    project_id, destination = project_of(cluster)
    if "ingress_class" not in cluster and "k8s_distribution" in cluster:
        cluster["ingress_class"] = get_ingress_class(cluster["k8s_distribution"])
    folder = case["folder"]
    apps, errors = {}, {}
    for builder, takes_cluster, suffix in BUILDERS:
        if suffix == "traefik" and cluster["ingress_class"] != "maia-core-traefik":
            continue
        if suffix == "ingress-nginx" and cluster["ingress_class"] == "maia-core-traefik":
            continue
        if suffix == "gpu-booking" and not (
            "MAIA_DASHBOARD_DOMAIN" in os.environ and "dashboard_api_secret" in os.environ
        ):
            continue
        args = (folder, project_id, cluster) if takes_cluster else (folder, project_id)
        try:
            result = getattr(core, builder)(*args)
        except Exception as exc:  # the reference fails on this site: report it
            errors[suffix] = f"{type(exc).__name__}: {exc}"
            continue
        values = yaml.safe_load(open(result["values"], encoding="utf-8"))
        info = values
        if suffix == "cert-manager":  # chart coordinates live in their own file
            info_path = os.path.join(folder, project_id, "cert_manager_chart_info", "cert_manager_chart_info.yaml")
            info = yaml.safe_load(open(info_path, encoding="utf-8"))
        source = {"repoURL": info["repo_url"], "targetRevision": info["chart_version"]}
        if info.get("chart_name"):
            source["chart"] = info["chart_name"]
        if info.get("path"):
            source["path"] = info["path"]
        name = f"{project_id}-{suffix}"
        source["helm"] = {"releaseName": name, "valuesObject": values}
        apps[suffix] = {
            "name": name,
            "spec": {
                "project": project_id,
                "source": source,
                "destination": {"server": destination, "namespace": info["namespace"]},
            },
        }
    return {"project": project_id, "destination": destination, "apps": apps, "errors": errors}


def main():
    _install_kubernetes_standin()
    serve(run_case)


if __name__ == "__main__":
    main()
