"""The Helm values of each core Application, derived from the :class:`Context`.

The values are those the MAIA toolkit's core installer writes for the same
site, key for key (the parity test in ``tests/core/test_parity.py`` compares
them with maia-toolkit itself); ``docs/core.md`` lists every deliberate
difference and its reason. As in the toolkit, each Application's values also
carry its chart coordinates (``namespace``, ``chart_version``, ``repo_url``,
``chart_name`` or ``path``): the MAIA core project chart renders the whole
values file into ``valuesObject``, so an installation made by the toolkit has
them, and keeping them lets maia-salt adopt it without a diff.

One builder per core Application, in the order of the toolkit's installer: the third-party
charts here, MAIA's own Applications in ``values_apps``, what they share in
``values_common``; ``BUILDERS`` and ``helm_values`` here hold them together.
"""
from __future__ import annotations

from typing import Callable

from ..flags import as_bool
from ..merge import deep_merge

from .context import App, Context, nfs_server_address
from .values_apps import gpu_booking, kubeflow, loginapp, toolkit
from .values_common import (  # noqa: F401  (chart_coordinates, derived_secret, ingress_annotations: admin's too)
    chart_coordinates,
    client_secret,
    derived_secret,
    iam_url,
    ingress_annotations,
    tls,
)

# node-exporter sees the host's root at /host/root (the chart's hostRootFsMount); kube-prometheus-stack
# 45.5.0 gives it these two arguments, which a site's extraArgs replaces, so they are repeated
NODE_EXPORTER_ROOT = "/host/root"
NODE_EXPORTER_ARGS = [
    "--collector.filesystem.mount-points-exclude=^/(dev|proc|sys|var/lib/docker/.+|var/lib/kubelet/.+)($|/)",
    "--collector.filesystem.fs-types-exclude=^(autofs|binfmt_misc|bpf|cgroup2?|configfs|debugfs|devpts|devtmpfs"
    "|fusectl|hugetlbfs|iso9660|mqueue|nsfs|overlay|proc|procfs|pstore|rpc_pipefs|securityfs|selinuxfs|squashfs"
    "|sysfs|tracefs)$",
]
LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
OIDC_PLUGIN = {"moduleName": "github.com/sevensolutions/traefik-oidc-auth", "version": "v0.17.0"}


def prometheus(ctx: Context, app: App) -> dict:
    domain, iam, group = ctx.domain, iam_url(ctx), ctx.admin_group
    host = f"grafana.{domain}"
    # the controller-manager and the scheduler run on the control plane only, not on the workers
    nodes = ctx.node_addresses(("control-plane",))
    return {
        **chart_coordinates(app),
        "kubeControllerManager": {"endpoints": nodes},
        "kubeScheduler": {"endpoints": nodes},
        "grafana": {
            "grafana.ini": {
                "server": {"root_url": f"https://{host}"},
                "auth.generic_oauth": {
                    "enabled": True,
                    "name": "OAuth",
                    "client_id": "maia",
                    "client_secret": client_secret(ctx),
                    "scopes": "openid profile email",
                    "empty_scopes": False,
                    "auth_url": f"{iam}/protocol/openid-connect/auth",
                    "token_url": f"{iam}/protocol/openid-connect/token",
                    "api_url": f"{iam}/protocol/openid-connect/userinfo",
                    "teams_url": f"{iam}/protocol/openid-connect/userinfo",
                    "team_ids": group,
                    "team_ids_attribute_path": "groups[*]",
                    "role_attribute_path": f"contains(groups[*], '{group}') && 'Admin' || 'Viewer'",
                    "tls_skip_verify_insecure": True,
                },
            },
            "assertNoLeakedSecrets": False,
            "defaultDashboardsEnabled": True,
            "persistence": {"enabled": True},
            "ingress": {
                "enabled": True,
                "annotations": ingress_annotations(ctx),
                "hosts": [host],
                "tls": tls(ctx, host, host),
            },
            "additionalDataSources": [
                {"name": "loki", "type": "loki", "url": "http://maia-core-loki.observability.svc.cluster.local:3100"},
                {"name": "tempo", "type": "tempo", "url": "http://maia-core-tempo.observability.svc.cluster.local:3100"},
            ],
        },
        "prometheus": {
            "prometheusSpec": {
                "serviceMonitorSelectorNilUsesHelmValues": False,
                "additionalScrapeConfigs": [
                    {
                        "job_name": "gpu-metrics",
                        "scrape_interval": "1s",
                        "metrics_path": "/metrics",
                        "scheme": "http",
                        "kubernetes_sd_configs": [{"role": "endpoints", "namespaces": {"names": ["gpu-operator"]}}],
                        "relabel_configs": [
                            {
                                "action": "replace",
                                "source_labels": ["__meta_kubernetes_pod_node_name"],
                                "target_label": "kubernetes_node",
                            }
                        ],
                    }
                ],
            }
        },
        **drift_metric(ctx),
    }


def drift_metric(ctx: Context) -> dict:
    """With ``maia:core:drift_metric``: node-exporter's textfile collector reads the folder the
    scheduled drift check writes ``maia_drift.prom`` into (a deliberate difference, off by
    default: docs/core.md)."""
    if not as_bool(ctx.core.get("drift_metric", False)):
        return {}
    folder = str(ctx.core["drift_textfile_dir"])  # an absolute path (context._validate)
    textfile = f"--collector.textfile.directory={NODE_EXPORTER_ROOT}{folder.rstrip('/')}"
    return {"prometheus-node-exporter": {"extraArgs": [*NODE_EXPORTER_ARGS, textfile]}}


def loki(ctx: Context, app: App) -> dict:
    return {**chart_coordinates(app), "grafana": {"sidecar": {"datasources": {"enabled": False}}}}


def coordinates_only(ctx: Context, app: App) -> dict:
    return chart_coordinates(app)


def traefik(ctx: Context, app: App) -> dict:
    domain, cluster = ctx.domain, ctx.cluster
    dashboard = {
        "enabled": True,
        "matchRule": f"Host(`traefik.{domain}`)",
        "entryPoints": ["websecure"],
        "middlewares": [{"name": "oidc"}, {"name": "traefik-dashboard-replace-path"}],
    }
    values = {
        **chart_coordinates(app),
        "ingressRoute": {"dashboard": dashboard},
        "extraObjects": [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "traefik-dashboard-auth-secret"},
                "type": "kubernetes.io/basic-auth",
                "stringData": {"username": "admin", "password": str(cluster.get("traefik_dashboard_password") or "")},
            },
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "Middleware",
                "metadata": {"name": "traefik-dashboard-replace-path"},
                "spec": {"replacePathRegex": {"regex": "^/dashboard/(.*)", "replacement": "/dashboard/$1"}},
            },
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "Middleware",
                "metadata": {"name": "traefik-dashboard-auth"},
                "spec": {"basicAuth": {"secret": "traefik-dashboard-auth-secret"}},
            },
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "oidc-secret"},
                "type": "Opaque",
                "stringData": {
                    "pluginSecret": derived_secret(client_secret(ctx), f"traefik-oidc/{domain}"),
                    "providerClientSecret": client_secret(ctx),
                },
            },
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "Middleware",
                "metadata": {"name": "oidc"},
                "spec": {
                    "plugin": {
                        "traefik-oidc-auth": {
                            "Secret": "urn:k8s:secret:oidc-secret:pluginSecret",
                            "Provider": {
                                "ClientId": "maia",
                                "ClientSecret": "urn:k8s:secret:oidc-secret:providerClientSecret",
                                "Url": iam_url(ctx),
                                "Scopes": ["openid", "email", "profile"],
                                "InsecureSkipVerify": True,
                            },
                            "Authorization": {"AssertClaims": [{"Name": "groups", "AnyOf": [ctx.admin_group]}]},
                        }
                    }
                },
            },
        ],
        "globalArguments": [
            "--global.checknewversion",
            "--global.sendanonymoususage",
            "--api.dashboard=true",
            "--ping=true",
            "--metrics.prometheus=true",
            "--metrics.prometheus.entrypoint=metrics",
            "--providers.kubernetescrd",
            "--providers.kubernetesingress",
            "--api.insecure",
            "--accesslog",
            "--entryPoints.websecure.forwardedHeaders.insecure",
            "--entryPoints.web.forwardedHeaders.insecure",
        ],
        "experimental": {"plugins": {"traefik-oidc-auth": dict(OIDC_PLUGIN)}},
        "persistence": {"enabled": True},
    }
    if not ctx.selfsigned:
        dashboard["tls"] = {"certResolver": ctx.resolver}
        staging = bool(cluster.get("staging_certificates"))
        values["certificatesResolvers"] = {
            ctx.resolver: {
                "acme": {
                    "email": cluster.get("ingress_resolver_email") or "",
                    "httpchallenge": {"entryPoint": "web"},
                    "storage": "/data/acme.json",
                    "caserver": LETSENCRYPT_STAGING if staging else LETSENCRYPT,
                }
            }
        }
    return values


def cert_manager(ctx: Context, app: App) -> dict:
    # the toolkit keeps cert-manager's chart coordinates in a separate file
    return {"crds": {"enabled": True}}


def gpu_operator(ctx: Context, app: App) -> dict:
    return {**chart_coordinates(app), **(ctx.dist.get("gpu_operator_values") or {})}


def nvidia_dra(ctx: Context, app: App) -> dict:
    return {
        "featureGates": {"MPSSupport": True, "TimeSlicingSettings": True},
        "gpuResourcesEnabledOverride": True,
        "nvidiaDriverRoot": "/",
        "resources": {"gpus": {"enabled": True}},
    }


def nfs_provisioner(ctx: Context, app: App) -> dict:
    cluster = ctx.cluster
    if cluster.get("nfs_server") and cluster.get("nfs_path"):
        nfs = {"server": str(cluster["nfs_server"]), "path": str(cluster["nfs_path"])}
    else:
        nfs = {"server": nfs_server_address(ctx), "path": str(ctx.core["nfs_path"])}
    values = {**chart_coordinates(app), "nfs": nfs}
    shared = str(cluster.get("shared_storage_class") or "nfs-client")
    if shared != "nfs-client":  # the chart's own default class name is nfs-client
        values["storageClass"] = {"name": shared}
    return values


def local_path(ctx: Context, app: App) -> dict:
    values = chart_coordinates(app)
    if ctx.dist.get("storage_class") == "local-path":
        values.update(
            enabled=True,
            storage_class="local-path",
            local_path_provisioner_path=ctx.core["local_path_provisioner_path"],
        )
    else:
        values["enabled"] = False
    return values



BUILDERS: dict[str, Callable[[Context, App], dict]] = {
    "prometheus": prometheus,
    "loki": loki,
    "tempo": coordinates_only,
    "traefik": traefik,
    "ingress-nginx": coordinates_only,
    "metallb": coordinates_only,
    "cert-manager": cert_manager,
    "gpu-operator": gpu_operator,
    "nvidia-dra-driver-gpu": nvidia_dra,
    "nfs-provisioner": nfs_provisioner,
    "metrics-server": coordinates_only,
    "minio-operator": coordinates_only,
    "loginapp": loginapp,
    "toolkit": toolkit,
    "gpu-booking": gpu_booking,
    "local-path": local_path,
    "kubeflow": kubeflow,
}


def helm_values(ctx: Context, app: App, builders: dict | None = None) -> dict:
    """The values of ``app``: the derived ones (``builders``, stage 3's by default), with
    ``values`` from pillar deep-merged over."""
    builder = (BUILDERS if builders is None else builders).get(app.component)
    derived = builder(ctx, app) if builder else {}
    return deep_merge(derived, app.conf.get("values") or {})
