"""Namespaces, AppProject, Applications, repository secret and restarts of the
core layer: everything ``formulas/maia/core`` applies (:func:`mapdata`).

Names follow the MAIA core project chart that the toolkit installs, so a
cluster installed by the Ansible collection is adopted: the AppProject is the
project id (``maia-core``, or ``maia-core-<cluster_name>`` for a remote
destination cluster) and every Application and Helm release is
``<project id>-<component>``.
"""
from __future__ import annotations

import hashlib
import json

from .context import Context, as_bool, build_context
from .values import helm_values


def _seconds(value) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def application(ctx: Context, component: str) -> dict:
    app = ctx.apps[component]
    source: dict = {"repoURL": app.repo, "targetRevision": app.version}
    if app.chart:
        source["chart"] = app.chart
    else:
        source["path"] = app.path
    source["helm"] = {"releaseName": app.release_name, "valuesObject": helm_values(ctx, app)}
    spec = {
        "project": ctx.project_id,
        "source": source,
        "destination": {"server": ctx.destination_server, "namespace": app.namespace},
    }
    sync_options = list(app.conf.get("sync_options") or [])
    if sync_options:
        spec["syncPolicy"] = {"syncOptions": sync_options}
    return {
        "component": component,
        "name": app.name,
        "spec": spec,
        "secret_keys": sorted(set(app.conf.get("secret_keys") or [])),
        "sync_wave": int(app.conf.get("sync_wave", 0)),
        # core: synced and waited for in stage 3; admin: left to the admin stage
        "sync_stage": str(app.conf.get("sync_stage") or "core"),
    }


def applications(ctx: Context) -> list[dict]:
    apps = [application(ctx, c) for c, app in ctx.apps.items() if app.active]
    return sorted(apps, key=lambda a: (a["sync_wave"], a["name"]))


def namespaces(ctx: Context, apps: list[dict]) -> list[str]:
    names = list(ctx.core.get("namespaces") or [])
    for app in apps:
        namespace = app["spec"]["destination"]["namespace"]
        if namespace not in names:
            names.append(namespace)
    return names


def project(ctx: Context, apps: list[dict]) -> dict:
    conf = ctx.core["project"]
    name = ctx.project_id
    destinations: list[str] = []
    for namespace in [name] + [a["spec"]["destination"]["namespace"] for a in apps] + list(
        conf.get("extra_destination_namespaces") or []
    ):
        if namespace not in destinations:
            destinations.append(namespace)
    repos = list(conf.get("source_repos") or [])
    if ctx.private_registry:
        repos.append(ctx.private_registry)
    for app in apps:
        if app["spec"]["source"]["repoURL"] not in repos:
            repos.append(app["spec"]["source"]["repoURL"])
    spec = {
        "roles": [
            {
                "name": "admin",
                "description": "Admin privileges",
                "policies": [p.format(project=name) for p in conf.get("admin_policies") or []],
                "groups": [ctx.admin_group],
            }
        ],
        "clusterResourceWhitelist": [
            {"group": "*", "kind": kind} for kind in conf.get("cluster_resource_whitelist") or []
        ],
        "destinations": [{"namespace": ns, "server": ctx.destination_server} for ns in destinations],
        "sourceRepos": repos,
    }
    return {"name": name, "namespace": ctx.argocd_namespace, "spec": spec}


def repositories(ctx: Context) -> list[dict]:
    """The ArgoCD repository secret of the private registry, as the toolkit names it."""
    if not ctx.private_registry:
        return []
    return [
        {
            "name": f"{ctx.core['private_registry']['repository_name']}-{ctx.project_id}",
            "url": ctx.private_registry,
            "username": str(ctx.registry.get("username") or ""),
            "password": str(ctx.registry.get("password") or ""),
            "project": ctx.project_id,
            "repo_type": "helm",
            "enable_oci": True,
        }
    ]


def _trigger(material: dict) -> str:
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def restarts(ctx: Context) -> list[dict]:
    """Deployments to restart, each with the hash of what triggers its restart."""
    out = []
    targets = ctx.core.get("restarts") or {}
    toolkit = ctx.apps.get("toolkit")
    common = {
        "domain": ctx.domain,
        "selfsigned": ctx.selfsigned,
        "toolkit_version": toolkit.version if toolkit else "",
    }
    if ctx.selfsigned and ctx.active("traefik") and "traefik" in targets:
        target = dict(targets["traefik"], name=ctx.apps["traefik"].release_name)
        out.append(dict(target, id="traefik", trigger=_trigger(common)))
    mappings = ctx.cluster.get("coredns_mappings")
    if (ctx.selfsigned or mappings) and "coredns" in targets:
        material = dict(common, coredns_mappings=mappings or None)
        out.append(dict(targets["coredns"], id="coredns", trigger=_trigger(material)))
    return out


def mapdata(defaults: dict, pillar: dict) -> dict:
    """Everything ``formulas/maia/core`` applies, from the defaults and the ``maia`` pillar tree."""
    ctx = build_context(defaults, pillar)
    apps = applications(ctx)
    core = ctx.core
    absent = []
    if as_bool(core.get("remove_disabled", True)):
        absent = [
            {"component": component, "name": app.name}
            for component, app in sorted(ctx.apps.items())
            if not as_bool(app.conf.get("enabled", True))
        ]
    sync = dict(core.get("sync") or {})
    return {
        "kubeconfig": ctx.kubeconfig,
        "argocd_namespace": ctx.argocd_namespace,
        "distribution": ctx.distribution,
        "auto_sync": as_bool(core.get("auto_sync", True)),
        "clean_cascade": as_bool(core.get("clean_cascade", True)),
        "sync": {
            "timeout": _seconds(sync.get("timeout", 600)),
            "interval": _seconds(sync.get("interval", 5)),
            "retries": int(sync.get("retries", 3)),
            "retry_interval": _seconds(sync.get("retry_interval", 10)),
            "force": as_bool(sync.get("force", False)),
            "prune": as_bool(sync.get("prune", False)),
        },
        "namespaces": namespaces(ctx, apps),
        "project": project(ctx, apps),
        "repositories": repositories(ctx),
        "apps": apps,
        "absent_apps": absent,
        "restarts": restarts(ctx),
    }
