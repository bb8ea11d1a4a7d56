"""Kubeconfig texts as a control plane exports them, and as an attacker would change them."""
import base64

import yaml

CA_DATA = base64.b64encode(b"-----BEGIN CERTIFICATE-----\ntest-ca\n-----END CERTIFICATE-----\n").decode()


def kubeconfig(server="https://198.18.0.11:16443", user=None, cluster=None) -> str:
    """A MicroK8s-style kubeconfig (one cluster, one admin user with a token) as YAML text;
    ``user``/``cluster`` replace the user's or the cluster's fields."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "microk8s-cluster",
                      "cluster": cluster or {"server": server, "certificate-authority-data": CA_DATA}}],
        "users": [{"name": "admin", "user": user or {"token": "test-token"}}],
        "contexts": [{"name": "microk8s", "context": {"cluster": "microk8s-cluster", "user": "admin"}}],
        "current-context": "microk8s",
    }
    return yaml.safe_dump(doc)


def exec_user(marker) -> dict:
    """A user whose credential plugin writes ``marker`` when a client loads the kubeconfig."""
    return {"exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": "/bin/sh",
                     "args": ["-c", f"id > {marker}; echo '{{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\", "
                                    f"\"kind\": \"ExecCredential\", \"status\": {{\"token\": \"x\"}}}}'"],
                     "interactiveMode": "Never"}}
