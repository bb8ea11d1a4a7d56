"""Namespaces, the external CA Secret, AppProject, Applications, repository
secret and restart of the admin layer: everything stage 4 applies (:func:`mapdata`). The
AppProject, Applications and repository secret are built by stage 3's builders
(``maia_salt.core.specs``) from the admin parameters.

Names follow the maia-admin-project chart 1.1.0 that maia-toolkit 2.5.0
installs (release ``maia-admin``), so a cluster installed by the Ansible
collection is adopted: AppProject ``maia-admin``, Applications and Helm
releases ``maia-admin-<component>``.
"""
from __future__ import annotations

from ..core.specs import applications, layer_mapdata, restart_trigger

from .context import AdminContext, ConfigError, build_context, is_enabled
from .services import configuration
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


def restarts(ctx: AdminContext, apps: list[dict]) -> list[dict]:
    """The rollout restarts of the layer: :func:`argocd_server_restart`, then
    :func:`dashboard_restart`."""
    return argocd_server_restart(ctx, apps) + dashboard_restart(ctx, apps)


def dashboard_restart(ctx: AdminContext, apps: list[dict]) -> list[dict]:
    """The MAIA dashboard's Deployment, once per change of its values: its chart puts them in a
    ConfigMap (the clusters, Rancher's token among them) that the pod reads at start, and its
    Deployment has no checksum of it, so an ArgoCD sync alone does not restart it. The trigger
    is the hash of the values and the chart's coordinates (the token enters the hash only)."""
    target = (ctx.admin.get("restarts") or {}).get("maia-dashboard")
    dashboard = next((app for app in apps if app["component"] == "maia-dashboard"), None)
    if not target or dashboard is None:
        return []
    source = dashboard["spec"]["source"]
    material = {"values": source["helm"]["valuesObject"],
                "chart": {key: source.get(key) for key in ("repoURL", "chart", "path", "targetRevision")}}
    return [dict(target, namespace=dashboard["spec"]["destination"]["namespace"], id="maia-dashboard",
                 trigger=restart_trigger(material))]


def argocd_server_restart(ctx: AdminContext, apps: list[dict]) -> list[dict]:
    """``argocd-server``, when the admin toolkit renders ArgoCD's OIDC and RBAC settings
    (its chart's ``argocd-cm`` and ``argocd-rbac-cm``, from the values ``argocd`` and
    ``admin_group_ID``): the trigger is the hash of those values and of the chart's
    coordinates, so ArgoCD's server restarts once after they change, never on a re-run."""
    target = (ctx.admin.get("restarts") or {}).get("argocd-server")
    toolkit = next((app for app in apps if app["component"] == "admin-toolkit"), None)
    if not target or toolkit is None:
        return []
    source = toolkit["spec"]["source"]
    values = source["helm"]["valuesObject"]
    if not (values.get("argocd") or {}).get("enabled"):
        return []
    material = {
        "argocd": values["argocd"],
        "admin_group_ID": values.get("admin_group_ID"),
        "chart": {key: source.get(key) for key in ("repoURL", "chart", "path", "targetRevision")},
    }
    return [dict(target, namespace=ctx.argocd_namespace, id="argocd-server", trigger=restart_trigger(material))]


def disabled() -> dict:
    """What stage 4 applies with ``maia:admin:enabled: false``: nothing."""
    return {"enabled": False, "namespaces": [], "secrets": [], "project": None, "repositories": [],
            "apps": [], "absent_apps": [], "restarts": [],
            "configure": {"realm_configmap": None, "keycloak": None, "harbor": None}}


def mapdata(defaults: dict, pillar: dict, core_defaults: dict, **kwargs) -> dict:
    """Everything stage 4 applies, from its defaults, the ``maia`` pillar tree and
    stage 3's defaults (the distribution table); ``kwargs`` go to :func:`build_context`."""
    if not is_enabled(defaults, pillar):
        return disabled()
    ctx = build_context(defaults, pillar, core_defaults, **kwargs)
    configure = configuration(ctx, pillar)
    if ctx.errors:
        raise ConfigError("maia.admin: bad input, nothing was changed:\n  - " + "\n  - ".join(ctx.errors))
    apps = applications(ctx, helm_values)
    return {"enabled": True, **layer_mapdata(ctx, ctx.admin, apps), "secrets": secrets(ctx),
            "configure": configure, "restarts": restarts(ctx, apps)}
