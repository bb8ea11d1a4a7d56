"""The Helm values of each core Application, derived from the :class:`Context`.

The values are those the MAIA toolkit's core installer writes for the same
site, key for key (the parity test in ``tests/core/test_parity.py`` compares
them with maia-toolkit itself); ``docs/core.md`` lists every deliberate
difference and its reason. As in the toolkit, each Application's values also
carry its chart coordinates (``namespace``, ``chart_version``, ``repo_url``,
``chart_name`` or ``path``): the MAIA core project chart renders the whole
values file into ``valuesObject``, so an installation made by the toolkit has
them, and keeping them lets maia-salt adopt it without a diff.

Why one module of this size (about 450 lines): one builder per core Application (16 of them)
in one place, in the order of the toolkit's installer, so the parity test and a reader can
compare them app by app; each builder is short and independent.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Callable

from ..merge import deep_merge

from .context import App, Context

LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"
OIDC_PLUGIN = {"moduleName": "github.com/sevensolutions/traefik-oidc-auth", "version": "v0.17.0"}


def derived_secret(key: str, purpose: str, length: int = 32) -> str:
    """A secret derived from the site secret ``key`` and ``purpose``.

    Stable across runs (a re-run changes nothing) and different per purpose
    and site; stands in for the tokens the toolkit draws at random per run.
    """
    digest = hmac.new(str(key).encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "_")[:length]


def chart_coordinates(app: App) -> dict:
    """The chart keys the toolkit keeps in every values file."""
    out = {"namespace": app.namespace, "chart_version": app.version, "repo_url": app.repo}
    if app.chart:
        out["chart_name"] = app.chart
    else:
        out["path"] = app.path
    return out


def _iam(ctx: Context) -> str:
    return f"https://iam.{ctx.domain}/realms/maia"


def _client_secret(ctx: Context) -> str:
    return str(ctx.env.get("keycloak_client_secret") or "")


def ingress_annotations(ctx: Context) -> dict:
    """TLS for an Ingress: Traefik's websecure entry point and ACME resolver, or
    cert-manager's issuer on nginx."""
    if ctx.traefik:
        annotations = {
            "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
            "traefik.ingress.kubernetes.io/router.tls": "true",
        }
        if not ctx.selfsigned:
            annotations["traefik.ingress.kubernetes.io/router.tls.certresolver"] = ctx.resolver
        return annotations
    if ctx.ingress_class == "nginx":
        return {"cert-manager.io/cluster-issuer": "kubernetes-ca-issuer" if ctx.selfsigned else "cluster-issuer"}
    return {}


def _tls(ctx: Context, host: str, secret_name: str) -> list:
    entry = {"hosts": [host]}
    if ctx.ingress_class == "nginx":
        entry["secretName"] = secret_name
    return [entry]


def prometheus(ctx: Context, app: App) -> dict:
    domain, iam, group = ctx.domain, _iam(ctx), ctx.admin_group
    host = f"grafana.{domain}"
    nodes = ctx.node_addresses()
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
                    "client_secret": _client_secret(ctx),
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
                "tls": _tls(ctx, host, host),
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
    }


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
                    "pluginSecret": derived_secret(_client_secret(ctx), f"traefik-oidc/{domain}"),
                    "providerClientSecret": _client_secret(ctx),
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
                                "Url": _iam(ctx),
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
        nfs = {"server": str(ctx.nfs_server.get("address") or ""), "path": str(ctx.core["nfs_path"])}
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


def loginapp(ctx: Context, app: App) -> dict:
    domain = ctx.domain
    host = f"login.{domain}"
    root_ca = ctx.cluster.get("rootCA")
    ca_text = None  # stage 2 writes rootCA; until then (test=True before it) no CA
    if root_ca and os.path.isfile(str(root_ca)):
        with open(str(root_ca), encoding="utf-8") as handle:
            ca_text = handle.read()
    cluster_entry = {
        "server": f"https://{domain}:{ctx.dist.get('api_port', 6443)}",
        "name": "MAIA",
        "insecure-skip-tls-verify": True,
    }
    if ca_text is not None:  # a null would not survive the API server anyway
        cluster_entry["certificate-authority"] = ca_text
    return {
        **chart_coordinates(app),
        "env": {"LOGINAPP_NAME": "MAIA Login"},
        "configOverwrites": {"oidc": {"scopes": ["openid", "profile", "email"]}, "service": {"type": "ClusterIP"}},
        "ingress": {
            "enabled": True,
            "annotations": ingress_annotations(ctx),
            "tls": _tls(ctx, host, f"loginapp.{domain}"),
            "hosts": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
        },
        "config": {
            "tls": {"enabled": False},
            "issuerInsecureSkipVerify": True,
            "refreshToken": True,
            "clientRedirectURL": f"https://{host}/callback",
            "secret": derived_secret(_client_secret(ctx), f"loginapp/{domain}", 22),
            "clientID": "maia",
            "clientSecret": _client_secret(ctx),
            "issuerURL": _iam(ctx),
            "clusters": [cluster_entry],
        },
    }


def toolkit(ctx: Context, app: App) -> dict:
    domain, cluster = ctx.domain, ctx.cluster
    nodes = ctx.node_addresses()
    if len(nodes) == 1:  # a one-address MetalLB range: first-last
        nodes = nodes * 2
    pool = cluster["metallb_ip_pool"] if "metallb_ip_pool" in cluster else "-".join(nodes)
    values = {
        **chart_coordinates(app),
        "admin_group_ID": ctx.admin_group,
        "default_ingress_class": ctx.ingress_class,
        "cert_manager": {"enabled": True, "email": cluster.get("ingress_resolver_email") or ""},
        "metallb": {"enabled": True, "addresses": pool},
        "k3s_coredns": {"enabled": False},
        "k3s_coredns_mappings": {"enabled": False},
    }
    if ctx.traefik:
        values["dashboard"] = {
            "enabled": True,
            "dashboard_domain": f"dashboard.{domain}",
            "plugin_secret": derived_secret(_client_secret(ctx), f"toolkit-dashboard/{domain}"),
            "keycloak_client_secret": _client_secret(ctx),
            "admin_group_ID": ctx.admin_group,
            "domain": domain,
        }
    else:
        values["dashboard"] = {"enabled": False}
    if ctx.selfsigned:
        values["selfsigned"] = {"enabled": True, "cluster_domain": domain, "coredns_ip": nodes[0] if nodes else ""}
        if ctx.distribution == "k3s":
            values["k3s_coredns"] = {"enabled": True}
    else:
        values["selfsigned"] = {"enabled": False}
        values["certResolver"] = ctx.resolver
    if "coredns_mappings" in cluster:
        values["cluster_domain"] = domain
        values["coredns_mappings"] = cluster["coredns_mappings"]
        if ctx.distribution == "k3s":
            values["k3s_coredns_mappings"] = {"enabled": True}
    return values


def gpu_booking(ctx: Context, app: App) -> dict:
    env = ctx.env
    registry = str(env.get("MAIA_REGISTRY") or ctx.core["maia_image_registry"])
    dashboard = env.get("MAIA_DASHBOARD_DOMAIN")
    return {
        **chart_coordinates(app),
        "image": {
            "repository": f"{registry}/maia-gpu-booking-admission-controller",
            "pullPolicy": "IfNotPresent",
            "tag": "1.6",
            "pod_terminator": {
                "repository": f"{registry}/maia-gpu-booking-pod-terminator",
                "pullPolicy": "IfNotPresent",
                "tag": "1.4",
            },
        },
        "apiUrl": f"https://{dashboard}/maia-api/gpu-schedulability",
        "gpuStatsUrl": f"https://{dashboard}/maia/resources/gpu_status_summary/",
        "apiToken": str(env.get("dashboard_api_secret") or ""),
    }


def kubeflow(ctx: Context, app: App) -> dict:
    domain = ctx.domain
    host = f"kubeflow.{domain}"
    annotations = ingress_annotations(ctx)
    ingress = {"enabled": True, "className": ctx.ingress_class, "annotations": annotations}
    if ctx.ingress_class == "nginx":
        annotations.update(
            {
                "nginx.ingress.kubernetes.io/proxy-body-size": "8g",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "300",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "300",
            }
        )
        ingress["tls"] = _tls(ctx, host, host)
    return {
        **chart_coordinates(app),
        "kubeflow_values": {
            "oidcClientId": "kubeflow-oidc-authservice",
            "oidcClientSecret": derived_secret(_client_secret(ctx), f"kubeflow-oidc/{domain}", 22),
            "domain": host,
            "keycloakIssuerUrl": _iam(ctx),
            "keycloakClientId": "maia",
            "keycloakClientSecret": _client_secret(ctx),
            "cookieSecret": derived_secret(_client_secret(ctx), f"kubeflow-cookie/{domain}", 22),
            "sslInsecureSkipVerify": ctx.selfsigned,
            "ingress": ingress,
        },
    }


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
