"""Settings of the MAIA core layer: its parameters and the site's facts, validated.

:func:`build_context` takes the stage's parameters as the map stack merged them
(``maia/core/map.jinja``: ``parameters/defaults.yaml`` <- ``maia:core:lookup`` <-
``maia:core``; nothing here merges ``maia:core`` again), reads the cluster YAML (``maia:cluster``), ``env.json`` (``maia:env``), the
registry credentials and the inventory (``maia:hosts``, ``maia:nfs_server``),
and raises :class:`ConfigError` naming every bad or missing key before
anything is built.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any


from ..flags import as_bool

#: where the stage's defaults live, relative to a Salt file root
DEFAULTS_RELPATH = "maia/core/parameters/defaults.yaml"
LOCAL_CLUSTER = "https://kubernetes.default.svc"
TRAEFIK_CLASS = "maia-core-traefik"
#: roles whose hosts are Kubernetes nodes (stage 2 installs Kubernetes there only): the control
#: plane and the hosts of the inventory group ``workers`` (role ``worker``), which join its cluster
NODE_ROLES = ("control-plane", "worker")

#: keys of the cluster YAML this stage reads (the reference's core installer
#: reads the same ones); docs/core.md lists what each does
CLUSTER_KEYS = (
    "cluster_name", "domain", "k8s_distribution", "ingress_class", "ingress_resolver_email",
    "traefik_resolver", "traefik_dashboard_password", "selfsigned", "staging_certificates",
    "coredns_mappings", "metallb_ip_pool", "rootCA", "nfs_server", "nfs_path",
    "argocd_destination_cluster_address", "shared_storage_class",
)


class ConfigError(ValueError):
    """Bad or missing input; the message names every key and the fix."""


@dataclass
class App:
    """One component of the catalogue, its source resolved."""

    component: str
    conf: dict
    active: bool
    name: str = ""
    release_name: str = ""
    namespace: str = ""
    repo: str = ""
    chart: str | None = None
    path: str | None = None
    version: str = ""
    oci: bool = False


@dataclass
class Site:
    """What every layer reads the same way (:func:`site_settings`) and where it deploys."""

    cluster: dict
    env: dict
    distribution: str
    dist: dict
    domain: str
    selfsigned: bool
    ingress_class: str
    resolver: str
    admin_group: str
    argocd_namespace: str
    private_registry: str
    registry: dict
    kubeconfig: str
    project_id: str
    destination_server: str

    @property
    def traefik(self) -> bool:
        """True when the cluster's ingress controller is the core layer's Traefik."""
        return self.ingress_class == TRAEFIK_CLASS

    def active(self, component: str) -> bool:
        app = self.apps.get(component)
        return bool(app and app.active)


@dataclass
class Context(Site):
    """Everything the value and spec builders read."""

    core: dict
    nfs_server: dict
    hosts: dict
    apps: dict[str, App] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def node_addresses(self, roles: tuple[str, ...] = NODE_ROLES) -> list[str]:
        """The Kubernetes nodes' addresses, as the API lists nodes (by name).

        A node is an inventory host in one of ``NODE_ROLES`` (the control plane and the
        workers): the NFS server and the NFS clients are hosts of the site, not of the
        cluster, so their addresses never go into the MetalLB pool. ``roles`` narrows it
        (``("control-plane",)``: the hosts that run the controller-manager and the scheduler,
        Prometheus' endpoints). The inventory's address, else the host's default IPv4 from
        its grains (``ip``, set by the ext_pillar)."""
        return [
            str(host.get("address") or host.get("ip"))
            for _name, host in sorted(self.hosts.items())
            if set((host or {}).get("roles") or ()) & set(roles) and (host.get("address") or host.get("ip"))
        ]


def _destination(cluster: dict) -> tuple[str, str]:
    """(project id, destination server), as the reference's core installer decides them.

    A remote ``argocd_destination_cluster_address`` gets its own project
    ``maia-core-<cluster_name>``; Rancher's ``.../k8s/clusters/local`` is this
    cluster, so it stays ``maia-core`` on the in-cluster address.
    """
    address = str(cluster.get("argocd_destination_cluster_address") or "")
    if not address or address.rstrip("/").endswith("/k8s/clusters/local"):
        return "maia-core", LOCAL_CLUSTER
    if address == LOCAL_CLUSTER:
        return "maia-core", address
    return f"maia-core-{cluster.get('cluster_name') or '<cluster_name>'}", address


def site_settings(pillar: dict, distributions: dict, errors: list[str]) -> dict:
    """What every layer reads the same way from the cluster YAML, env.json and the
    registry credentials (the distribution's entry of ``distributions`` as ``dist``);
    appends the problems to ``errors``."""
    cluster = dict(pillar.get("cluster") or {})
    env = dict(pillar.get("env") or {})
    distribution = str(cluster.get("k8s_distribution") or env.get("K8S_DISTRIBUTION") or "microk8s")
    dist = distributions.get(distribution)
    if dist is None:
        errors.append(
            f"maia:cluster:k8s_distribution is {distribution!r}; use one of "
            f"{', '.join(sorted(distributions))} (k8s_distribution in <CLUSTER_NAME>.yaml)"
        )
        dist = {}
    domain = str(cluster.get("domain") or "")
    if not domain:
        errors.append("maia:cluster:domain is missing: set `domain` in <CLUSTER_NAME>.yaml")
    return {
        "cluster": cluster,
        "env": env,
        "distribution": distribution,
        "dist": dist,
        "domain": domain,
        "selfsigned": as_bool(cluster.get("selfsigned", False)),
        "ingress_class": str(cluster.get("ingress_class") or dist.get("ingress_class", "")),
        "resolver": str(cluster.get("traefik_resolver") or "maiaresolver"),
        "admin_group": str(env.get("admin_group_ID") or "MAIA:admin"),
        "argocd_namespace": str(env.get("argocd_namespace") or "argocd"),
        "private_registry": re.sub(r"^oci://", "", str(env.get("MAIA_PRIVATE_REGISTRY") or "").strip()).rstrip("/"),
        "registry": dict(pillar.get("registry") or {}),
    }


def build_context(parameters: dict, pillar: dict) -> Context:
    """Resolve and validate; raises :class:`ConfigError` listing every problem.

    ``parameters``: the stage's merged parameters; ``pillar``: the ``maia`` tree (its facts:
    cluster, env, registry, hosts, nfs_server, kubeconfig)."""
    if not isinstance(parameters, dict) or "apps" not in parameters:
        raise ConfigError(f"{DEFAULTS_RELPATH}: the parameters hold no `apps`: is formulas/ in file_roots?")
    core = dict(parameters)
    errors: list[str] = []
    site = site_settings(pillar, core.get("distributions") or {}, errors)
    cluster = site["cluster"]
    project_id, destination = _destination(cluster)
    project_id = str((core.get("project") or {}).get("name") or project_id)
    if project_id.endswith("<cluster_name>"):
        errors.append(
            "maia:cluster:cluster_name is missing: a remote argocd_destination_cluster_address "
            "needs it (the AppProject is maia-core-<cluster_name>)"
        )
    ctx = Context(
        core=core,
        **site,
        nfs_server=dict(pillar.get("nfs_server") or {}),
        hosts=dict(pillar.get("hosts") or {}),
        # maia:kubeconfig, else the site default core/map.jinja adds (maia/parameters/defaults.yaml);
        # empty: the Kubernetes modules use their own default
        kubeconfig=str(pillar.get("kubeconfig") or core.get("kubeconfig") or ""),
        project_id=project_id,
        destination_server=destination,
        errors=errors,
    )
    ctx.apps = {c: _resolve_app(ctx, c, conf) for c, conf in (core.get("apps") or {}).items()}
    _validate(ctx)
    if errors:
        raise ConfigError("maia.core: bad input, nothing was changed:\n  - " + "\n  - ".join(errors))
    return ctx


# Where an Application is synced: in stage 3 (core), or after Keycloak in the admin stage (admin).
SYNC_STAGES = ("core", "admin")


def _is_on(ctx: Context, conf: dict) -> bool:
    if not as_bool(conf.get("enabled", True)):
        return False
    dists = conf.get("distributions") or []
    if dists and ctx.distribution not in dists:
        return False
    controller = conf.get("ingress_controller")
    if controller == "traefik" and not ctx.traefik:
        return False
    if controller == "other" and ctx.traefik:
        return False
    if as_bool(conf.get("requires_proxy", False)) and not str(ctx.cluster.get("proxy_ip") or "").strip():
        return False
    needs_env = conf.get("requires_env") or []
    return all(ctx.env.get(key) for key in needs_env)


def _resolve_app(ctx: Context, component: str, conf: Any) -> App:
    """Where the chart comes from: a Helm repository, the MAIA git repository
    at a pinned revision, or (with a private registry) the registry as OCI."""
    conf = dict(conf or {})
    suffix = conf.get("name_suffix") or component
    name = conf.get("name") or f"{ctx.project_id}-{suffix}"
    app = App(
        component=component,
        conf=conf,
        active=_is_on(ctx, conf),
        name=name,
        release_name=conf.get("release_name") or name,
        namespace=str(conf.get("namespace") or ""),
    )
    source = conf.get("source")
    if ctx.private_registry and as_bool(conf.get("mirrored", False)):
        oci = conf.get("oci") or {}
        app.oci = True
        app.repo = ctx.private_registry
        app.chart = oci.get("chart") or conf.get("chart") or os.path.basename(str(conf.get("path") or component))
        app.version = str(oci.get("version") or conf.get("version") or "")
    elif source in ("git", "helm"):
        sub = conf.get(source) or {}
        app.repo = str(sub.get("repo") or "")
        app.version = str(sub.get("revision" if source == "git" else "version") or "")
        if source == "git":
            app.path = sub.get("path")
        else:
            app.chart = sub.get("chart")
    else:
        app.repo = str(conf.get("repo") or "")
        app.chart = conf.get("chart")
        app.path = conf.get("path") if not conf.get("chart") else None
        app.version = str(conf.get("version") or "")
    return app


def _validate(ctx: Context) -> None:
    errors, env, cluster = ctx.errors, ctx.env, ctx.cluster
    needs_keycloak = [c for c in ("prometheus", "toolkit", "loginapp", "kubeflow", "traefik") if ctx.active(c)]
    if needs_keycloak and not env.get("keycloak_client_secret"):
        errors.append(
            "maia:env:keycloak_client_secret is missing (env.json key keycloak_client_secret; "
            f"needed by {', '.join(needs_keycloak)}): re-run maia-configure"
        )
    if ctx.active("traefik") and not cluster.get("traefik_dashboard_password"):
        errors.append(
            "maia:cluster:traefik_dashboard_password is missing: set it in <CLUSTER_NAME>.yaml "
            "or switch traefik off (maia:core:apps:traefik:enabled: false)"
        )
    email = str(cluster.get("ingress_resolver_email") or "")
    if ctx.active("toolkit") and not email:
        errors.append("maia:cluster:ingress_resolver_email is missing: set it in <CLUSTER_NAME>.yaml")
    elif email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors.append(f"maia:cluster:ingress_resolver_email {email!r} is not an email address")
    if ctx.active("nfs-provisioner") and not _nfs_given(ctx) and ctx.nfs_server.get("name"):
        errors.append(
            f"maia:nfs_server:address is missing for {ctx.nfs_server['name']}: inventory.yaml gives none and "
            "the master knows no default IPv4 of the host from its grains yet: give it an address in "
            "inventory.yaml, or let the host answer once (maia install --stages prepare) so its grains are known"
        )
    elif ctx.active("nfs-provisioner") and not _nfs_given(ctx):
        errors.append(
            "maia:nfs_server:address is missing (no host in the nfs_server group of "
            "inventory.yaml, and no nfs_server/nfs_path in <CLUSTER_NAME>.yaml): add one, or "
            "switch the NFS provisioner off (maia:core:apps:nfs-provisioner:enabled: false)"
        )
    folder = str(ctx.core.get("drift_textfile_dir") or "")
    if as_bool(ctx.core.get("drift_metric", False)) and not folder.startswith("/"):
        errors.append(
            f"maia:core:drift_metric is on but maia:drift:textfile_dir {folder!r} is not an absolute path: "
            "set it to the folder the drift check writes maia_drift.prom into"
        )
    errors += source_problems(ctx, "core")


def source_problems(ctx, stage: str) -> list[str]:
    """Registry credentials and every active app's source, as ``maia:<stage>:apps`` names them
    (shared by the core and admin layers; ``ctx`` has ``private_registry``, ``registry``, ``apps``)."""
    errors = []
    if ctx.private_registry:
        missing = [k for k in ("username", "password") if not ctx.registry.get(k)]
        if missing:
            errors.append(
                f"MAIA_PRIVATE_REGISTRY is set but maia:registry:{'/'.join(missing)} "
                "is missing (maia-registry-credentials.json)"
            )
    for component, app in ctx.apps.items():
        if not app.active:
            continue
        conf = app.conf
        if conf.get("source") not in (None, "git", "helm"):
            errors.append(f"maia:{stage}:apps:{component}:source is {conf['source']!r}; use git or helm")
        for key, value in (("repo", app.repo), ("version", app.version), ("namespace", app.namespace)):
            if not value:
                where = f"{conf['source']}:" if conf.get("source") and key != "namespace" else ""
                errors.append(f"maia:{stage}:apps:{component}:{where}{key} is empty")
        if not app.chart and not app.path:
            errors.append(f"maia:{stage}:apps:{component}: set `chart` (Helm repo) or `path` (git)")
        if str(conf.get("sync_stage") or "core") not in SYNC_STAGES:
            errors.append(f"maia:{stage}:apps:{component}:sync_stage is {conf['sync_stage']!r}; use {' or '.join(SYNC_STAGES)}")
        if not isinstance(conf.get("values", {}) or {}, dict):
            errors.append(f"maia:{stage}:apps:{component}:values must be a mapping")
    return errors


def nfs_server_address(ctx: Context) -> str:
    """The NFS server's address: the inventory's, else its default IPv4 from its grains
    (``maia:nfs_server:ip``, set by the ext_pillar), as for an inventory without addresses."""
    return str(ctx.nfs_server.get("address") or ctx.nfs_server.get("ip") or "")


def _nfs_given(ctx: Context) -> bool:
    override = ((ctx.apps.get("nfs-provisioner") or App("", {}, False)).conf.get("values") or {}).get("nfs") or {}
    return bool(
        (ctx.cluster.get("nfs_server") and ctx.cluster.get("nfs_path"))
        or nfs_server_address(ctx)
        or override.get("server")
    )
