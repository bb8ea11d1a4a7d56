"""The Helm values of MAIA's own core Applications (loginapp, the MAIA core toolkit, GPU
booking, Kubeflow), as the MAIA toolkit's core installer writes them; the third-party
charts' values are in ``values``.
"""
from __future__ import annotations

import os

from .context import App, Context
from .values_common import chart_coordinates, client_secret, derived_secret, iam_url, ingress_annotations, tls


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
            "tls": tls(ctx, host, f"loginapp.{domain}"),
            "hosts": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
        },
        "config": {
            "tls": {"enabled": False},
            "issuerInsecureSkipVerify": True,
            "refreshToken": True,
            "clientRedirectURL": f"https://{host}/callback",
            "secret": derived_secret(client_secret(ctx), f"loginapp/{domain}", 22),
            "clientID": "maia",
            "clientSecret": client_secret(ctx),
            "issuerURL": iam_url(ctx),
            "clusters": [cluster_entry],
        },
    }


def toolkit(ctx: Context, app: App) -> dict:
    domain, cluster = ctx.domain, ctx.cluster
    nodes = ctx.node_addresses()
    # first-last of the nodes as the API lists them (by name); one node: a one-address range
    pool = cluster["metallb_ip_pool"] if "metallb_ip_pool" in cluster else f"{nodes[0]}-{nodes[-1]}" if nodes else ""
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
            "plugin_secret": derived_secret(client_secret(ctx), f"toolkit-dashboard/{domain}"),
            "keycloak_client_secret": client_secret(ctx),
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
        ingress["tls"] = tls(ctx, host, host)
    return {
        **chart_coordinates(app),
        "kubeflow_values": {
            "oidcClientId": "kubeflow-oidc-authservice",
            "oidcClientSecret": derived_secret(client_secret(ctx), f"kubeflow-oidc/{domain}", 22),
            "domain": host,
            "keycloakIssuerUrl": iam_url(ctx),
            "keycloakClientId": "maia",
            "keycloakClientSecret": client_secret(ctx),
            "cookieSecret": derived_secret(client_secret(ctx), f"kubeflow-cookie/{domain}", 22),
            "sslInsecureSkipVerify": ctx.selfsigned,
            "ingress": ingress,
        },
    }

