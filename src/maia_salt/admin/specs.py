"""Namespaces, the external CA Secret, AppProject, Applications and repository
secret of the admin layer: everything stage 4 applies (:func:`mapdata`).

Names follow the maia-admin-project chart 1.1.0 that maia-toolkit 2.5.0
installs (release ``maia-admin``), so a cluster installed by the Ansible
collection is adopted: AppProject ``maia-admin``, Applications and Helm
releases ``maia-admin-<component>``.
"""
from __future__ import annotations

from maia_salt.core.context import as_bool
from maia_salt.core.specs import absent_apps, applications, namespaces, repositories, sync_settings

from .context import AdminContext, build_context, is_enabled
from .values import helm_values


def secrets(ctx: AdminContext) -> list[dict]:
    """With ``externalCA`` in the cluster YAML: its certificate as Secret ``<name>`` in
    maia-dashboard (key ``public.crt``), which the admin toolkit's MinIO tenant trusts."""
    if not ctx.external_ca:
        return []
    return [{
        "name": ctx.external_ca["name"],
        "namespace": "maia-dashboard",
        "type": "Opaque",
        "string_data": {"public.crt": ctx.external_ca["cert"]},
    }]


def project(ctx: AdminContext, apps: list[dict]) -> dict:
    """The AppProject as the maia-admin-project chart renders it."""
    conf = ctx.admin["project"]
    name = ctx.project_id
    destinations: list[str] = []
    for namespace in [name] + list(conf.get("destination_namespaces") or []) + [
        a["spec"]["destination"]["namespace"] for a in apps
    ]:
        if namespace not in destinations:
            destinations.append(namespace)
    repos = list(conf.get("source_repos") or [])
    for repo in ([ctx.private_registry] if ctx.private_registry else []) + [
        a["spec"]["source"]["repoURL"] for a in apps
    ]:
        if repo not in repos:
            repos.append(repo)
    spec = {
        "roles": [{
            "name": "admin",
            "description": "Admin privileges",
            "policies": [p.format(project=name, group=ctx.admin_group) for p in conf.get("admin_policies") or []],
            "groups": [ctx.admin_group],
        }],
        "clusterResourceWhitelist": [
            {"group": "*", "kind": kind} for kind in conf.get("cluster_resource_whitelist") or []
        ],
        "destinations": [{"namespace": ns, "server": ctx.destination_server} for ns in destinations],
        "sourceRepos": repos,
    }
    return {"name": name, "namespace": ctx.argocd_namespace, "spec": spec}


def disabled() -> dict:
    """What stage 4 applies with ``maia:admin:enabled: false``: nothing."""
    return {"enabled": False, "namespaces": [], "secrets": [], "project": None, "repositories": [],
            "apps": [], "absent_apps": []}


def mapdata(defaults: dict, pillar: dict, core_defaults: dict, **kwargs) -> dict:
    """Everything stage 4 applies, from its defaults, the ``maia`` pillar tree and
    stage 3's defaults (the distribution table); ``kwargs`` go to :func:`build_context`."""
    if not is_enabled(defaults, pillar):
        return disabled()
    ctx = build_context(defaults, pillar, core_defaults, **kwargs)
    apps = applications(ctx, helm_values)
    conf = ctx.admin
    return {
        "enabled": True,
        "kubeconfig": ctx.kubeconfig,
        "argocd_namespace": ctx.argocd_namespace,
        "distribution": ctx.distribution,
        "auto_sync": as_bool(conf.get("auto_sync", True)),
        "clean_cascade": as_bool(conf.get("clean_cascade", True)),
        "sync": sync_settings(conf),
        "namespaces": namespaces(ctx, apps, conf),
        "secrets": secrets(ctx),
        "project": project(ctx, apps),
        "repositories": repositories(ctx, conf),
        "apps": apps,
        "absent_apps": absent_apps(ctx, conf),
    }
