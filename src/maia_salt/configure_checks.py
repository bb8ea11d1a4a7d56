"""The checks of ``maia-configure``'s values: every problem named with its variable and fix,
all of them before anything is written (``ConfigError``).
"""
from __future__ import annotations

import re

# The allowed values
DISTRIBUTIONS = ("microk8s", "rke2", "k3s", "k0s")
CHART_VERSION_VARIABLES = {
    "core_project_version": "CORE_PROJECT_CHART_VERSION",
    "admin_project_version": "ADMIN_PROJECT_CHART_VERSION",
}
SSH_PORT_TYPES = ("NodePort", "LoadBalancer")
URL_TYPES = ("subdomain", "subpath")

# Whole-string patterns, used with fullmatch (a trailing newline never passes).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_K8S_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGISTRY = re.compile(
    r"((https?|oci)://)?"  # optional scheme
    r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?"  # host[:port]
    r"(/[A-Za-z0-9._-]+)*/?"  # optional project path
)
_CHART_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ConfigError(Exception):
    """Bad or missing input; ``problems`` holds one message per value."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


# -------------------------------------------------------------- validation ---


def _one_of(values: dict, name: str, allowed) -> list[str]:
    value = values.get(name)
    if value is None or value in allowed:
        return []
    return [f"{name}={value!r} is not supported: use one of {', '.join(allowed)}"]


def validate(values: dict) -> None:
    problems = []
    for name, value in values.items():
        if not isinstance(value, str):
            problems.append(f"{name}={value!r} is not a string: give it as text")
        elif name != "REGISTRY_PASSWORD" and _CONTROL.search(value):
            problems.append(f"{name}={value!r} holds a newline or control character: remove it")
    if problems:
        raise ConfigError(problems)
    problems += _one_of(values, "K8S_DISTRIBUTION", DISTRIBUTIONS)
    for name in ("INGRESS_RESOLVER_EMAIL", "ADMIN_EMAIL"):
        email = values.get(name, "")
        if email and not _EMAIL.fullmatch(email):
            problems.append(f"{name}={email!r} is not an email address: give e.g. admin@example.com, or leave it empty")
    domain = values.get("CLUSTER_DOMAIN", "")
    if not domain or len(domain) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in domain.split(".")):
        problems.append(
            f"CLUSTER_DOMAIN={domain!r} is not a DNS name: use lowercase letters, digits, '-' and '.', e.g. maia.example.com"
        )
    name = values.get("CLUSTER_NAME", "")
    if not _DNS_LABEL.fullmatch(name):
        problems.append(
            f"CLUSTER_NAME={name!r} is not a DNS label: use up to 63 lowercase letters, digits and '-', e.g. maia-cluster"
        )
    folder = values.get("CONFIG_FOLDER", "")
    if not folder:
        problems.append("CONFIG_FOLDER is empty: give a folder path, e.g. /opt/maia/config")
    registry = values.get("MAIA_PRIVATE_REGISTRY", "")
    if registry and not _REGISTRY.fullmatch(registry):
        problems.append(
            f"MAIA_PRIVATE_REGISTRY={registry!r} is not a registry address: use e.g. registry.example.com/maia "
            f"or https://harbor.example.com"
        )
    problems += _one_of(values, "SSH_PORT_TYPE", SSH_PORT_TYPES)
    problems += _one_of(values, "URL_TYPE", URL_TYPES)
    for var in ("STORAGE_CLASS", "SHARED_STORAGE_CLASS"):
        value = values.get(var)
        if value is not None and not _K8S_NAME.fullmatch(value):
            problems.append(f"{var}={value!r} is not a Kubernetes StorageClass name: use lowercase letters, digits, '-' and '.'")
    bucket = values.get("BUCKET_NAME")
    if bucket is not None and not _BUCKET.fullmatch(bucket):
        problems.append(f"BUCKET_NAME={bucket!r} is not an S3 bucket name: use 3-63 lowercase letters, digits, '-' and '.'")
    for var in ("PORT_RANGE_LOWER_BOUND", "PORT_RANGE_UPPER_BOUND"):
        value = values.get(var)
        if value is not None and not (value.isdigit() and 1 <= int(value) <= 65535):
            problems.append(f"{var}={value!r} is not a port number: use 1-65535")
    for key, var in CHART_VERSION_VARIABLES.items():
        value = values.get(var)
        if value is not None and not _CHART_VERSION.fullmatch(value):
            problems.append(f"{var}={value!r} is not a chart version: use e.g. 1.2.3")
    if problems:
        raise ConfigError(problems)


