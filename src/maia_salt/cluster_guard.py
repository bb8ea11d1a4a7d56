"""One CONFIG_FOLDER, one cluster: a re-run of ``maia-configure`` with another CLUSTER_NAME.

A misspelt CLUSTER_NAME on a re-run would write a second ``<CLUSTER_NAME>.yaml`` with new
secrets beside the site's own and point ``env.json`` at it. :func:`name_problems` refuses
that when ``env.json`` names another cluster whose YAML is there; :func:`other_clusters`
lists any other cluster YAML the folder holds, for a warning.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from .files import load_yaml_unique

# YAML files of a CONFIG_FOLDER that are not a cluster's configuration
_NOT_CLUSTER = {"microk8s-config.yaml", "inventory.yaml"}


def name_problems(folder: Path, previous: str | None, name: str) -> list[str]:
    """A problem when the folder's env.json names cluster ``previous`` (its YAML present) and ``name`` differs."""
    if not previous or previous == name or not (Path(folder) / f"{previous}.yaml").is_file():
        return []
    return [
        f"CLUSTER_NAME={name!r}, but {folder} already holds cluster {previous!r} (env.json, {previous}.yaml): "
        f"a second cluster there would get new secrets and take over env.json. Use CLUSTER_NAME={previous} "
        f"for this site, or give another CONFIG_FOLDER for a new one"
    ]


def other_clusters(folder: Path, name: str) -> list[str]:
    """File names of cluster YAMLs in ``folder`` other than ``<name>.yaml`` (a ``cluster_name`` key marks one)."""
    found = []
    for path in sorted(Path(folder).glob("*.yaml")):
        if path.name in _NOT_CLUSTER or path.name == f"{name}.yaml" or path.name.endswith("-kubeconfig.yaml"):
            continue
        try:
            data = load_yaml_unique(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict) and "cluster_name" in data:
            found.append(path.name)
    return found
