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


def application(ctx: Context, component: str, values=helm_values) -> dict:
    """The Application of ``component``; ``values(ctx, app)`` builds its Helm values
    (stage 3's by default; the admin layer passes its own)."""
    app = ctx.apps[component]
    source: dict = {"repoURL": app.repo, "targetRevision": app.version}
    if app.chart:
        source["chart"] = app.chart
    else:
        source["path"] = app.path
    source["helm"] = {"releaseName": app.release_name, "valuesObject": values(ctx, app)}
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


def applications(ctx: Context, values=helm_values) -> list[dict]:
    apps = [application(ctx, c, values) for c, app in ctx.apps.items() if app.active]
    return sorted(apps, key=lambda a: (a["sync_wave"], a["name"]))


def namespaces(ctx: Context, apps: list[dict], conf: dict | None = None) -> list[str]:
    """The stage's namespaces (``conf``: its parameters, stage 3's by default), then every app's."""
    names = list((ctx.core if conf is None else conf).get("namespaces") or [])
    for app in apps:
        namespace = app["spec"]["destination"]["namespace"]
        if namespace not in names:
            names.append(namespace)
    return names


def project(ctx: Context, apps: list[dict], conf: dict | None = None) -> dict:
    """The AppProject (``conf``: the stage's ``project`` parameters, stage 3's by default).

    Destinations: the project's own namespace, ``destination_namespaces``, every
    app's, then ``extra_destination_namespaces``; ``admin_policies`` are formatted
    with ``{project}`` and ``{group}``.
    """
    conf = ctx.core["project"] if conf is None else conf
    name = ctx.project_id
    destinations: list[str] = []
    for namespace in [name] + list(conf.get("destination_namespaces") or []) + [
        a["spec"]["destination"]["namespace"] for a in apps
    ] + list(conf.get("extra_destination_namespaces") or []):
        if namespace not in destinations:
            destinations.append(namespace)
    repos = list(conf.get("source_repos") or [])
    for repo in ([ctx.private_registry] if ctx.private_registry else []) + [
        a["spec"]["source"]["repoURL"] for a in apps
    ]:
        if repo not in repos:
            repos.append(repo)
    spec = {
        "roles": [
            {
                "name": "admin",
                "description": "Admin privileges",
                "policies": [p.format(project=name, group=ctx.admin_group) for p in conf.get("admin_policies") or []],
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


def repositories(ctx: Context, conf: dict | None = None) -> list[dict]:
    """The ArgoCD repository secret of the private registry, as the toolkit names it
    (``conf``: the stage's parameters, stage 3's by default)."""
    if not ctx.private_registry:
        return []
    conf = ctx.core if conf is None else conf
    return [
        {
            "name": f"{conf['private_registry']['repository_name']}-{ctx.project_id}",
            "url": ctx.private_registry,
            "username": str(ctx.registry.get("username") or ""),
            "password": str(ctx.registry.get("password") or ""),
            "project": ctx.project_id,
            "repo_type": "helm",
            "enable_oci": True,
        }
    ]


def restart_trigger(material: dict) -> str:
    """The short hash of what triggers a restart (recorded on the restarted object)."""
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
        out.append(dict(target, id="traefik", trigger=restart_trigger(common)))
    mappings = ctx.cluster.get("coredns_mappings")
    if (ctx.selfsigned or mappings) and "coredns" in targets:
        material = dict(common, coredns_mappings=mappings or None)
        out.append(dict(targets["coredns"], id="coredns", trigger=restart_trigger(material)))
    return out


def absent_apps(ctx, conf: dict) -> list[dict]:
    """Applications of components switched off, to remove (with ``remove_disabled``)."""
    if not as_bool(conf.get("remove_disabled", True)):
        return []
    return [
        {"component": component, "name": app.name}
        for component, app in sorted(ctx.apps.items())
        if not as_bool(app.conf.get("enabled", True))
    ]


def sync_settings(conf: dict) -> dict:
    """The ``sync`` parameters of a stage, typed."""
    sync = dict(conf.get("sync") or {})
    return {
        "timeout": _seconds(sync.get("timeout", 600)),
        "interval": _seconds(sync.get("interval", 5)),
        "retries": int(sync.get("retries", 3)),
        "retry_interval": _seconds(sync.get("retry_interval", 10)),
        "force": as_bool(sync.get("force", False)),
        "prune": as_bool(sync.get("prune", False)),
        # a wave goes on when only a LoadBalancer/Ingress address is missing (docs/argocd.md)
        "address_pending": as_bool(sync.get("address_pending", False)),
    }


def layer_mapdata(ctx, conf: dict, apps: list[dict]) -> dict:
    """What the states of an ArgoCD layer apply (stage 3, the admin layer): ``conf`` is the
    stage's merged parameters, ``apps`` its Applications."""
    return {
        "kubeconfig": ctx.kubeconfig,
        "argocd_namespace": ctx.argocd_namespace,
        "distribution": ctx.distribution,
        "auto_sync": as_bool(conf.get("auto_sync", True)),
        "clean_cascade": as_bool(conf.get("clean_cascade", True)),
        "sync": sync_settings(conf),
        "namespaces": namespaces(ctx, apps, conf),
        "project": project(ctx, apps, conf["project"]),
        "repositories": repositories(ctx, conf),
        "apps": apps,
        "absent_apps": absent_apps(ctx, conf),
    }


def mapdata(parameters: dict, pillar: dict) -> dict:
    """Everything ``formulas/maia/core`` applies, from the stage's merged parameters and the
    ``maia`` pillar tree's facts."""
    ctx = build_context(parameters, pillar)
    return {**layer_mapdata(ctx, ctx.core, applications(ctx)), "restarts": restarts(ctx)}
