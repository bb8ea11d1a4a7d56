"""Reading the lab's stand-in cluster (the Kubernetes API stand-in) from a test."""
import json


def applications_text(lab) -> str:
    """Every ArgoCD Application spec of the lab's cluster, as one JSON text."""
    from kubernetes import config, dynamic

    dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=lab.state["standins_kubeconfig"]))
    apps = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Application").get(namespace="argocd")
    return json.dumps([a["spec"] for a in apps.to_dict()["items"]])
