"""MAIA core layer (stage 3): the AppProject and Application specs, from pillar.

All the logic of ``formulas/maia/core`` lives here; the SLS files only loop
over what :func:`mapdata` returns. Inputs (pillar, see pillar.example):

- ``maia:cluster``   the ``<CLUSTER_NAME>.yaml`` (domain, k8s_distribution,
  ingress_resolver_email, traefik_resolver, traefik_dashboard_password,
  selfsigned, coredns_mappings, metallb_ip_pool, ...)
- ``maia:env``       ``env.json`` (keycloak_client_secret, admin_group_ID,
  argocd_namespace, MAIA_PRIVATE_REGISTRY, dashboard_api_secret, ...)
- ``maia:registry``  private registry credentials
- ``maia:nfs_server`` / ``maia:hosts``  NFS server address, node addresses
- ``maia:core``      overrides of ``parameters/defaults.yaml`` (versions,
  repos, values, switches, sync settings)

CLI::

    salt-call maia_core.applications          # every Application spec
    salt-call maia_core.application traefik   # one
    salt-call maia_core.project
    salt-call maia_core.namespaces
    salt-call maia_core.restart_pending traefik

Secrets in the returned specs are those the charts need (they end up in the
Application object, as with the Ansible collection); states mask them.
"""
from __future__ import annotations

import base64
import copy
import datetime
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import sys

from salt.exceptions import CommandExecutionError

log = logging.getLogger(__name__)

__virtualname__ = "maia_core"

DEFAULTS_URL = "salt://maia/core/parameters/defaults.yaml"
TRIGGER_ANNOTATION = "maia-salt/restart-trigger"
RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt"
APP_PREFIX = "maia-core-"
LETSENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
LETSENCRYPT_STAGING = "https://acme-staging-v02.api.letsencrypt.org/directory"


def __virtual__():
    return __virtualname__


class MaiaCoreConfigError(CommandExecutionError):
    """Bad or missing input; the message names every key and the fix."""


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def _merge(base, override):
    """Deep merge: dicts merge key by key, everything else is replaced."""
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _derived_secret(key, purpose, length=32):
    """A secret derived from ``key`` (a site secret) and ``purpose``.

    Stable across runs, so re-applying changes nothing, and different per
    purpose; replaces the random tokens the MAIA toolkit draws on every run.
    """
    digest = hmac.new(str(key).encode(), purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "_")[:length]


_BCRYPT_ALPHABET = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_TO_BCRYPT = str.maketrans(_B64_ALPHABET, _BCRYPT_ALPHABET)


def htpasswd_bcrypt(user, password, context, rounds=10):
    """``user:$2y$...`` htpasswd line, deterministic for (password, context).

    The bcrypt salt comes from HMAC-SHA256(password, context), so the same
    password on the same site always gives the same line (no change on a
    re-run) while two sites (different ``context``) get different hashes.

    CLI example::

        salt-call maia_core.htpasswd_bcrypt admin 's3cret' maia.example.com
    """
    return _htpasswd_bcrypt(str(user), str(password), str(context), int(rounds))


# (a plain function above: Salt's loader does not expose an lru_cache wrapper as a module function)
@functools.lru_cache(maxsize=16)
def _htpasswd_bcrypt(user, password, context, rounds):
    try:
        import bcrypt  # pylint: disable=import-outside-toplevel
    except ImportError:
        raise MaiaCoreConfigError(
            "hashing traefik_dashboard_password needs bcrypt on this minion: install "
            "python3-bcrypt (maia:k8s:client_packages does on control-plane hosts), or give "
            "the htpasswd line as maia:core:traefik_dashboard_users"
        ) from None
    raw = hmac.new(
        str(password).encode(), f"maia-salt/htpasswd/{context}".encode(), hashlib.sha256
    ).digest()[:16]
    salt_chars = base64.b64encode(raw).decode().rstrip("=").translate(_TO_BCRYPT)
    salt = f"$2b${rounds:02d}${salt_chars}".encode()
    hashed = bcrypt.hashpw(str(password).encode(), salt).decode()
    # Apache htpasswd -B writes $2y$; same algorithm, and what Traefik expects.
    return f"{user}:$2y${hashed[4:]}"


def _strip_scheme(url):
    return re.sub(r"^[a-z]+://", "", str(url)).rstrip("/")


def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _seconds(value):
    number = float(value)
    return int(number) if number.is_integer() else number


def _pillar(key, default=None):
    """Pillar value, unmasked (Salt 3008 masks pillar.get in modules): _utils/maia_pillar.py."""
    installed = sys.modules.get("maia_salt.loader")
    get = installed and installed.utils_function("maia_pillar.get")  # (Salt gives it no __utils__)
    return (get or __utils__["maia_pillar.get"])(__pillar__, key, default)


# --------------------------------------------------------------------------
# settings: defaults + pillar, validated
# --------------------------------------------------------------------------


def _load_defaults():
    text = __salt__["cp.get_file_str"](DEFAULTS_URL, saltenv=__opts__.get("saltenv") or "base")
    if not text:
        raise MaiaCoreConfigError(
            f"cannot read {DEFAULTS_URL}: is formulas/ in file_roots?"
        )
    import yaml  # pylint: disable=import-outside-toplevel

    return yaml.safe_load(text)


def _context(defaults=None, pillar=None):
    """Everything the spec builders read, merged and validated."""
    if defaults is None:
        defaults = _load_defaults()
    if pillar is None:
        pillar = _pillar("maia", {}) or {}
    core = _merge(defaults, pillar.get("core") or {})
    cluster = dict(pillar.get("cluster") or {})
    env = dict(pillar.get("env") or {})
    errors = []

    distribution = str(cluster.get("k8s_distribution") or "microk8s")
    dist = (core.get("distributions") or {}).get(distribution)
    if dist is None:
        errors.append(
            f"maia:cluster:k8s_distribution is {distribution!r}; use one of "
            f"{', '.join(sorted(core.get('distributions') or {}))} (k8s_distribution "
            "in <CLUSTER_NAME>.yaml)"
        )
        dist = {}
    domain = cluster.get("domain")
    if not domain:
        errors.append("maia:cluster:domain is missing: set `domain` in <CLUSTER_NAME>.yaml")

    private = str(env.get("MAIA_PRIVATE_REGISTRY") or "").strip()
    ctx = {
        "core": core,
        "cluster": cluster,
        "env": env,
        "distribution_name": distribution,
        "dist": dist,
        "domain": domain or "",
        "selfsigned": _bool(cluster.get("selfsigned", False)),
        "ingress_class": cluster.get("ingress_class") or dist.get("ingress_class", ""),
        "storage_class": cluster.get("storage_class") or dist.get("storage_class", ""),
        "shared_storage_class": cluster.get("shared_storage_class") or "nfs-client",
        "resolver": cluster.get("traefik_resolver") or "maiaresolver",
        "admin_group": env.get("admin_group_ID") or "MAIA:admin",
        "argocd_namespace": env.get("argocd_namespace") or "argocd",
        "private_registry": private,
        "registry": dict(pillar.get("registry") or {}),
        "nfs_server": dict(pillar.get("nfs_server") or {}),
        "hosts": dict(pillar.get("hosts") or {}),
        "kubeconfig": pillar.get("kubeconfig") or "/etc/maia/kubeconfig",
        "errors": errors,
    }
    ctx["apps"] = _select_apps(ctx)
    _validate(ctx)
    if errors:
        raise MaiaCoreConfigError(
            "maia.core: bad input, nothing was changed:\n  - " + "\n  - ".join(errors)
        )
    return ctx


def _select_apps(ctx):
    """{component: merged settings} of every app, with an ``active`` flag."""
    selected = {}
    for component, conf in (ctx["core"].get("apps") or {}).items():
        conf = dict(conf or {})
        dists = conf.get("distributions") or []
        on_this_distribution = not dists or ctx["distribution_name"] in dists
        conf["active"] = _bool(conf.get("enabled", True)) and on_this_distribution
        selected[component] = conf
    return selected


def _active(ctx, component):
    return component in ctx["apps"] and ctx["apps"][component]["active"]


def _validate(ctx):
    errors = ctx["errors"]
    env, cluster = ctx["env"], ctx["cluster"]
    needs_keycloak = [
        c for c in ("prometheus", "toolkit", "loginapp", "kubeflow", "traefik") if _active(ctx, c)
    ]
    if needs_keycloak and not env.get("keycloak_client_secret"):
        errors.append(
            "maia:env:keycloak_client_secret is missing (env.json key keycloak_client_secret; "
            f"needed by {', '.join(needs_keycloak)}): re-run maia-configure"
        )
    if (
        _active(ctx, "traefik")
        and not cluster.get("traefik_dashboard_password")
        and not ctx["core"].get("traefik_dashboard_users")
    ):
        errors.append(
            "maia:cluster:traefik_dashboard_password is missing: set it in <CLUSTER_NAME>.yaml "
            "or switch traefik off (maia:core:apps:traefik:enabled: false)"
        )
    if _active(ctx, "gpu-booking") and not env.get("dashboard_api_secret"):
        errors.append(
            "maia:env:dashboard_api_secret is missing (env.json): re-run maia-configure or "
            "switch gpu-booking off (maia:core:apps:gpu-booking:enabled: false)"
        )
    email = cluster.get("ingress_resolver_email") or ""
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", str(email)):
        errors.append(f"maia:cluster:ingress_resolver_email {email!r} is not an email address")
    nfs_override = (ctx["apps"].get("nfs-provisioner") or {}).get("values", {}).get("nfs", {})
    if (
        _active(ctx, "nfs-provisioner")
        and not ctx["nfs_server"].get("address")
        and not nfs_override.get("server")
    ):
        errors.append(
            "maia:nfs_server:address is missing (no host in the nfs_server group of "
            "inventory.yaml): add one, or switch the NFS provisioner off "
            "(maia:core:apps:nfs-provisioner:enabled: false)"
        )
    if ctx["private_registry"]:
        creds = ctx["registry"]
        missing = [k for k in ("username", "password") if not creds.get(k)]
        if missing:
            errors.append(
                f"MAIA_PRIVATE_REGISTRY is set but maia:registry:{'/'.join(missing)} "
                "is missing (maia-registry-credentials.json)"
            )
    for component, conf in ctx["apps"].items():
        if not conf["active"]:
            continue
        for key in ("repo", "version", "namespace"):
            if not conf.get(key):
                errors.append(f"maia:core:apps:{component}:{key} is empty")
        if not conf.get("chart") and not conf.get("path"):
            errors.append(f"maia:core:apps:{component}: set `chart` (Helm repo) or `path` (git)")
        if not isinstance(conf.get("values", {}) or {}, dict):
            errors.append(f"maia:core:apps:{component}:values must be a mapping")


# --------------------------------------------------------------------------
# Helm values per component, derived from the cluster configuration
# --------------------------------------------------------------------------


def _iam(ctx):
    return f"https://iam.{ctx['domain']}/realms/maia"


def _control_plane_addresses(ctx):
    addresses = []
    for _name, host in sorted(ctx["hosts"].items()):
        host = host or {}
        if "control-plane" in (host.get("roles") or []) and host.get("address"):
            addresses.append(str(host["address"]))
    return addresses


def _ingress_annotations(ctx):
    """Annotations that give an Ingress TLS on this cluster's ingress controller."""
    if ctx["ingress_class"] == "nginx":
        issuer = "kubernetes-ca-issuer" if ctx["selfsigned"] else "cluster-issuer"
        return {"cert-manager.io/cluster-issuer": issuer}
    annotations = {
        "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
        "traefik.ingress.kubernetes.io/router.tls": "true",
    }
    if not ctx["selfsigned"]:
        annotations["traefik.ingress.kubernetes.io/router.tls.certresolver"] = ctx["resolver"]
    return annotations


def _tls(ctx, host):
    entry = {"hosts": [host]}
    if ctx["ingress_class"] == "nginx":
        entry["secretName"] = host
    return [entry]


def _values_prometheus(ctx):
    domain, iam, group = ctx["domain"], _iam(ctx), ctx["admin_group"]
    host = f"grafana.{domain}"
    values = {
        "grafana": {
            "grafana.ini": {
                "server": {"root_url": f"https://{host}"},
                "auth.generic_oauth": {
                    "enabled": True,
                    "name": "OAuth",
                    "client_id": "maia",
                    "client_secret": ctx["env"].get("keycloak_client_secret", ""),
                    "scopes": "openid profile email",
                    "empty_scopes": False,
                    "auth_url": f"{iam}/protocol/openid-connect/auth",
                    "token_url": f"{iam}/protocol/openid-connect/token",
                    "api_url": f"{iam}/protocol/openid-connect/userinfo",
                    "teams_url": f"{iam}/protocol/openid-connect/userinfo",
                    "team_ids": group,
                    "team_ids_attribute_path": "groups[*]",
                    "role_attribute_path": f"contains(groups[*], '{group}') && 'Admin' || 'Viewer'",
                    "tls_skip_verify_insecure": ctx["selfsigned"],
                },
            },
            "assertNoLeakedSecrets": False,
            "defaultDashboardsEnabled": True,
            "persistence": {"enabled": True},
            "ingress": {
                "enabled": True,
                "ingressClassName": ctx["ingress_class"],
                "annotations": _ingress_annotations(ctx),
                "hosts": [host],
                "tls": _tls(ctx, host),
            },
            "additionalDataSources": [
                {
                    "name": "loki",
                    "type": "loki",
                    "url": "http://maia-core-loki.observability.svc.cluster.local:3100",
                },
                {
                    "name": "tempo",
                    "type": "tempo",
                    "url": "http://maia-core-tempo.observability.svc.cluster.local:3100",
                },
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
                        "kubernetes_sd_configs": [
                            {"role": "endpoints", "namespaces": {"names": ["gpu-operator"]}}
                        ],
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
    endpoints = _control_plane_addresses(ctx)
    if endpoints:
        values["kubeControllerManager"] = {"endpoints": endpoints}
        values["kubeScheduler"] = {"endpoints": endpoints}
    return values


def _values_loki(ctx):
    return {"grafana": {"sidecar": {"datasources": {"enabled": False}}}}


def _values_traefik(ctx):
    domain, cluster = ctx["domain"], ctx["cluster"]
    users = ctx["core"].get("traefik_dashboard_users") or htpasswd_bcrypt(
        "admin", cluster["traefik_dashboard_password"], domain
    )
    dashboard = {
        "enabled": True,
        "matchRule": f"Host(`traefik.{domain}`)",
        "entryPoints": ["websecure"],
        "middlewares": [{"name": "traefik-dashboard-auth"}],
    }
    values = {
        "ingressClass": {"enabled": True, "name": ctx["ingress_class"]},
        "ingressRoute": {"dashboard": dashboard},
        "extraObjects": [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "traefik-dashboard-auth-secret"},
                "type": "Opaque",
                "stringData": {"users": users},
            },
            {
                "apiVersion": "traefik.io/v1alpha1",
                "kind": "Middleware",
                "metadata": {"name": "traefik-dashboard-auth"},
                "spec": {"basicAuth": {"secret": "traefik-dashboard-auth-secret"}},
            },
        ],
        "globalArguments": [
            "--api.dashboard=true",
            "--ping=true",
            "--metrics.prometheus=true",
            "--metrics.prometheus.entrypoint=metrics",
            "--providers.kubernetescrd",
            "--providers.kubernetesingress",
            "--accesslog",
        ],
        "persistence": {"enabled": True},
    }
    if not ctx["selfsigned"]:
        acme = {
            "httpChallenge": {"entryPoint": "web"},
            "storage": "/data/acme.json",
            "caServer": LETSENCRYPT_STAGING
            if _bool(cluster.get("staging_certificates", False))
            else LETSENCRYPT,
        }
        if cluster.get("ingress_resolver_email"):
            acme["email"] = cluster["ingress_resolver_email"]
        values["certificatesResolvers"] = {ctx["resolver"]: {"acme": acme}}
        dashboard["tls"] = {"certResolver": ctx["resolver"]}
    else:
        dashboard["tls"] = {}
    return values


def _values_ingress_nginx(ctx):
    return {
        "controller": {
            "ingressClassResource": {"name": ctx["ingress_class"], "default": True},
            "ingressClass": ctx["ingress_class"],
        }
    }


def _values_cert_manager(ctx):
    return {"crds": {"enabled": True}}


def _values_gpu_operator(ctx):
    dist = ctx["dist"]
    env = [
        {"name": "CONTAINERD_CONFIG", "value": dist["containerd_config"]},
        {"name": "CONTAINERD_SOCKET", "value": dist["containerd_socket"]},
        {"name": "CONTAINERD_RUNTIME_CLASS", "value": "nvidia"},
    ]
    if dist.get("containerd_set_as_default", True):
        env.append({"name": "CONTAINERD_SET_AS_DEFAULT", "value": "true"})
    env.append({"name": "NODE_LABEL_FOR_GPU_POD_EVICTION", "value": "nvidia.com/dra-kubelet-plugin"})
    values = {
        "cdi": {"enabled": True},
        "devicePlugin": {"enabled": True, "mps": {"enabled": True}},
        "driver": {"enabled": False},
        "toolkit": {"env": env},
    }
    if dist.get("gpu_operator_default_runtime"):
        values["operator"] = {"defaultRuntime": dist["gpu_operator_default_runtime"]}
    return values


def _values_nvidia_dra(ctx):
    return {
        "featureGates": {"MPSSupport": True, "TimeSlicingSettings": True},
        "gpuResourcesEnabledOverride": True,
        "nvidiaDriverRoot": "/",
        "resources": {"gpus": {"enabled": True}},
    }


def _values_nfs_provisioner(ctx):
    return {
        "nfs": {"server": ctx["nfs_server"].get("address", ""), "path": ctx["core"]["nfs_path"]},
        "storageClass": {"name": ctx["shared_storage_class"], "defaultClass": False},
    }


def _values_local_path(ctx):
    if ctx["storage_class"] != "local-path":
        return {"enabled": False}
    return {
        "enabled": True,
        "storage_class": ctx["storage_class"],
        "local_path_provisioner_path": ctx["core"]["local_path_provisioner_path"],
    }


def _values_loginapp(ctx):
    domain, env = ctx["domain"], ctx["env"]
    host = f"login.{domain}"
    client_secret = env.get("keycloak_client_secret", "")
    cluster_entry = {
        "name": "MAIA",
        "server": f"https://{domain}:{ctx['dist'].get('api_port', 6443)}",
        "insecure-skip-tls-verify": True,
    }
    root_ca = ctx["cluster"].get("rootCA")
    if root_ca and os.path.isfile(str(root_ca)):
        with open(root_ca, encoding="utf-8") as handle:
            cluster_entry["certificate-authority"] = handle.read()
    return {
        "env": {"LOGINAPP_NAME": "MAIA Login"},
        "configOverwrites": {
            "oidc": {"scopes": ["openid", "profile", "email"]},
            "service": {"type": "ClusterIP"},
        },
        "ingress": {
            "enabled": True,
            "annotations": _ingress_annotations(ctx),
            "hosts": [{"host": host, "paths": [{"path": "/", "pathType": "Prefix"}]}],
            "tls": _tls(ctx, host),
        },
        "config": {
            "tls": {"enabled": False},
            "issuerInsecureSkipVerify": ctx["selfsigned"],
            "refreshToken": True,
            "clientRedirectURL": f"https://{host}/callback",
            "secret": _derived_secret(client_secret, f"loginapp/{domain}", 22),
            "clientID": "maia",
            "clientSecret": client_secret,
            "issuerURL": _iam(ctx),
            "clusters": [cluster_entry],
        },
    }


def _values_toolkit(ctx):
    domain, env, cluster = ctx["domain"], ctx["env"], ctx["cluster"]
    client_secret = env.get("keycloak_client_secret", "")
    addresses = _control_plane_addresses(ctx) or [
        str(h.get("address")) for _n, h in sorted(ctx["hosts"].items()) if (h or {}).get("address")
    ]
    pool = cluster.get("metallb_ip_pool")
    if not pool and addresses:
        pool = f"{addresses[0]}-{addresses[0]}"
    values = {
        "admin_group_ID": ctx["admin_group"],
        "default_ingress_class": ctx["ingress_class"],
        "cert_manager": {"enabled": True, "email": cluster.get("ingress_resolver_email") or ""},
        "metallb": {"enabled": bool(pool), "addresses": pool or ""},
        "k3s_coredns": {"enabled": False},
        "k3s_coredns_mappings": {"enabled": False},
    }
    if ctx["ingress_class"] == "maia-core-traefik":
        values["dashboard"] = {
            "enabled": True,
            "dashboard_domain": f"dashboard.{domain}",
            "domain": domain,
            "admin_group_ID": ctx["admin_group"],
            "keycloak_client_secret": client_secret,
            "plugin_secret": _derived_secret(client_secret, f"toolkit-dashboard/{domain}"),
        }
    else:
        values["dashboard"] = {"enabled": False}
    if ctx["selfsigned"]:
        values["selfsigned"] = {
            "enabled": True,
            "cluster_domain": domain,
            "coredns_ip": addresses[0] if addresses else "",
        }
        if ctx["distribution_name"] == "k3s":
            values["k3s_coredns"] = {"enabled": True}
    else:
        values["selfsigned"] = {"enabled": False}
        values["certResolver"] = ctx["resolver"]
    if cluster.get("coredns_mappings"):
        values["cluster_domain"] = domain
        values["coredns_mappings"] = cluster["coredns_mappings"]
        if ctx["distribution_name"] == "k3s":
            values["k3s_coredns_mappings"] = {"enabled": True}
    return values


def _values_gpu_booking(ctx):
    env, registry = ctx["env"], ctx["core"]["maia_image_registry"]
    dashboard = env.get("MAIA_DASHBOARD_DOMAIN") or f"maia.{ctx['domain']}"
    return {
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
        "apiToken": env.get("dashboard_api_secret", ""),
    }


def _values_kubeflow(ctx):
    domain = ctx["domain"]
    client_secret = ctx["env"].get("keycloak_client_secret", "")
    host = f"kubeflow.{domain}"
    annotations = _ingress_annotations(ctx)
    ingress = {"enabled": True, "className": ctx["ingress_class"], "annotations": annotations}
    if ctx["ingress_class"] == "nginx":
        annotations.update(
            {
                "nginx.ingress.kubernetes.io/proxy-body-size": "8g",
                "nginx.ingress.kubernetes.io/proxy-read-timeout": "300",
                "nginx.ingress.kubernetes.io/proxy-send-timeout": "300",
            }
        )
        ingress["tls"] = _tls(ctx, host)
    return {
        "kubeflow_values": {
            "domain": host,
            "oidcClientId": "kubeflow-oidc-authservice",
            "oidcClientSecret": _derived_secret(client_secret, f"kubeflow-oidc/{domain}", 22),
            "cookieSecret": _derived_secret(client_secret, f"kubeflow-cookie/{domain}", 22),
            "keycloakIssuerUrl": _iam(ctx),
            "keycloakClientId": "maia",
            "keycloakClientSecret": client_secret,
            "sslInsecureSkipVerify": ctx["selfsigned"],
            "ingress": ingress,
        }
    }


VALUE_BUILDERS = {
    "prometheus": _values_prometheus,
    "loki": _values_loki,
    "tempo": lambda ctx: {},
    "traefik": _values_traefik,
    "ingress-nginx": _values_ingress_nginx,
    "metallb": lambda ctx: {},
    "cert-manager": _values_cert_manager,
    "gpu-operator": _values_gpu_operator,
    "nvidia-dra-driver-gpu": _values_nvidia_dra,
    "nfs-provisioner": _values_nfs_provisioner,
    "metrics-server": lambda ctx: {},
    "minio-operator": lambda ctx: {},
    "loginapp": _values_loginapp,
    "toolkit": _values_toolkit,
    "gpu-booking": _values_gpu_booking,
    "local-path": _values_local_path,
    "kubeflow": _values_kubeflow,
}


# --------------------------------------------------------------------------
# specs
# --------------------------------------------------------------------------


def _destination_server(ctx):
    return ctx["cluster"].get("argocd_destination_cluster_address") or ctx["core"]["project"][
        "destination_server"
    ]


def _source(ctx, conf):
    """The Application source: the private registry (OCI) or the public repo."""
    version = str(conf["version"])
    mirrored = _bool(conf.get("mirrored", True))
    if ctx["private_registry"] and mirrored:
        url = _private_repo_url(ctx)
        chart = conf.get("chart") or os.path.basename(str(conf["path"]).rstrip("/"))
        return {"repoURL": url, "chart": chart, "targetRevision": version}
    source = {"repoURL": str(conf["repo"]), "targetRevision": version}
    if conf.get("chart"):
        source["chart"] = conf["chart"]
    else:
        source["path"] = conf["path"]
    return source


def _private_repo_url(ctx):
    return _strip_scheme(ctx["core"]["private_registry"].get("url") or ctx["private_registry"])


def _app(ctx, component, conf):
    name = conf.get("name") or f"{APP_PREFIX}{component}"
    builder = VALUE_BUILDERS.get(component, lambda _ctx: {})
    values = _merge(builder(ctx), conf.get("values") or {})
    source = _source(ctx, conf)
    source["helm"] = {"releaseName": conf.get("release_name") or name, "valuesObject": values}
    spec = {
        "project": ctx["core"]["project"]["name"],
        "source": source,
        "destination": {"server": _destination_server(ctx), "namespace": conf["namespace"]},
    }
    sync_options = list(conf.get("sync_options") or [])
    if sync_options:
        spec["syncPolicy"] = {"syncOptions": sync_options}
    return {
        "component": component,
        "name": name,
        "spec": spec,
        "secret_keys": sorted(set(conf.get("secret_keys") or [])),
        "sync_wave": int(conf.get("sync_wave", 0)),
    }


def _applications(ctx):
    apps = [
        _app(ctx, component, conf) for component, conf in ctx["apps"].items() if conf["active"]
    ]
    return sorted(apps, key=lambda a: (a["sync_wave"], a["name"]))


def _namespaces(ctx, apps):
    names = list(ctx["core"].get("namespaces") or [])
    for app in apps:
        namespace = app["spec"]["destination"]["namespace"]
        if namespace not in names:
            names.append(namespace)
    return names


def _project(ctx, apps, namespaces):
    project = ctx["core"]["project"]
    name = project["name"]
    server = _destination_server(ctx)
    destinations = [
        {"namespace": ns, "server": server}
        for ns in namespaces + [
            n for n in (project.get("extra_destination_namespaces") or []) if n not in namespaces
        ]
    ]
    repos = []
    for app in apps:
        repo = app["spec"]["source"]["repoURL"]
        if repo not in repos:
            repos.append(repo)
    spec = {
        "description": project.get("description", ""),
        "sourceRepos": sorted(repos),
        "destinations": destinations,
        "clusterResourceWhitelist": [
            {"group": "*", "kind": kind} for kind in project.get("cluster_resource_whitelist") or []
        ],
        "roles": [
            {
                "name": "admin",
                "description": "Admin privileges",
                "policies": [p.format(project=name) for p in project.get("admin_policies") or []],
                "groups": [ctx["admin_group"]],
            }
        ],
    }
    return {"name": name, "namespace": ctx["argocd_namespace"], "spec": spec}


def _trigger(material):
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def _restarts(ctx):
    """Deployments to restart, each with the hash of what triggers its restart."""
    out = []
    targets = ctx["core"].get("restarts") or {}
    toolkit = ctx["apps"].get("toolkit") or {}
    common = {
        "domain": ctx["domain"],
        "selfsigned": ctx["selfsigned"],
        "toolkit_version": str(toolkit.get("version", "")),
    }
    if ctx["selfsigned"] and _active(ctx, "traefik") and "traefik" in targets:
        out.append(dict(targets["traefik"], id="traefik", trigger=_trigger(common)))
    mappings = ctx["cluster"].get("coredns_mappings")
    if (ctx["selfsigned"] or mappings) and "coredns" in targets:
        material = dict(common, coredns_mappings=mappings or None)
        out.append(dict(targets["coredns"], id="coredns", trigger=_trigger(material)))
    return out


def _repositories(ctx):
    if not ctx["private_registry"]:
        return []
    return [
        {
            "name": ctx["core"]["private_registry"]["repository_name"],
            "url": _private_repo_url(ctx),
            "username": ctx["registry"].get("username", ""),
            "password": ctx["registry"].get("password", ""),
            "repo_type": "helm",
            "enable_oci": True,
        }
    ]


def mapdata(defaults=None, pillar=None):
    """Everything ``formulas/maia/core`` applies, from defaults + pillar.

    ``defaults`` is the parsed ``parameters/defaults.yaml`` (map.jinja passes
    it); without it the file is fetched from ``salt://``. ``pillar`` (the
    ``maia`` tree) defaults to this minion's pillar. Raises with every bad key
    named when the input is incomplete.

    CLI example::

        salt-call maia_core.mapdata
    """
    ctx = _context(defaults, pillar)
    apps = _applications(ctx)
    namespaces = _namespaces(ctx, apps)
    core = ctx["core"]
    absent = []
    if _bool(core.get("remove_disabled", True)):
        absent = [
            {"component": component, "name": conf.get("name") or f"{APP_PREFIX}{component}"}
            for component, conf in sorted(ctx["apps"].items())
            if not _bool(conf.get("enabled", True))
        ]
    sync = dict(core.get("sync") or {})
    return {
        "kubeconfig": ctx["kubeconfig"],
        "argocd_namespace": ctx["argocd_namespace"],
        "distribution": ctx["distribution_name"],
        "auto_sync": _bool(core.get("auto_sync", True)),
        "clean_cascade": _bool(core.get("clean_cascade", True)),
        "sync": {
            "timeout": _seconds(sync.get("timeout", 600)),
            "interval": _seconds(sync.get("interval", 5)),
            "retries": int(sync.get("retries", 3)),
            "retry_interval": _seconds(sync.get("retry_interval", 10)),
            "force": _bool(sync.get("force", False)),
        },
        "namespaces": namespaces,
        "project": _project(ctx, apps, namespaces),
        "repositories": _repositories(ctx),
        "apps": apps,
        "absent_apps": absent,
        "restarts": _restarts(ctx),
    }


def applications(defaults=None, pillar=None):
    """Every enabled Application: name, spec, secret_keys, sync_wave (by wave).

    CLI example::

        salt-call maia_core.applications
    """
    return mapdata(defaults, pillar)["apps"]


def application(component, defaults=None, pillar=None):
    """One Application (``component`` as in the catalogue, e.g. ``traefik``).

    CLI example::

        salt-call maia_core.application prometheus
    """
    for app in applications(defaults, pillar):
        if app["component"] == component or app["name"] == component:
            return app
    raise CommandExecutionError(f"no enabled MAIA core component {component!r}")


def project(defaults=None, pillar=None):
    """The AppProject: name, namespace, spec.

    CLI example::

        salt-call maia_core.project
    """
    return mapdata(defaults, pillar)["project"]


def namespaces(defaults=None, pillar=None):
    """The namespaces of the core layer.

    CLI example::

        salt-call maia_core.namespaces
    """
    return mapdata(defaults, pillar)["namespaces"]


# --------------------------------------------------------------------------
# rollout restarts, used by restarts.sls (module.run + onlyif), so that a
# re-run with nothing to do makes no change
# --------------------------------------------------------------------------


def _kubeconfig(kubeconfig):
    return kubeconfig or _pillar("maia:kubeconfig", "/etc/maia/kubeconfig")


def _deployment(kind, name, namespace, kubeconfig):
    return __salt__["maia_kube.get"](
        "apps/v1", kind, name, namespace=namespace, kubeconfig=_kubeconfig(kubeconfig)
    )


def restart_pending(kind, name, namespace, trigger, kubeconfig=None):
    """True when ``kind/name`` exists and was not yet restarted for ``trigger``.

    CLI example::

        salt-call maia_core.restart_pending Deployment coredns kube-system 0123abcd
    """
    try:
        obj = _deployment(kind, name, namespace, kubeconfig)
    except CommandExecutionError as exc:
        if __opts__.get("test"):
            # test=True before the cluster can answer (e.g. stage 2 not applied yet):
            # predict the restart rather than fail the prediction
            log.info("maia_core: cannot read %s %s/%s (%s): predicting a restart", kind, namespace, name, exc)
            return True
        raise
    if not obj:
        log.info("maia_core: %s %s/%s not found, no restart needed yet", kind, namespace, name)
        return False
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(TRIGGER_ANNOTATION) != trigger


def rollout_restart(kind, name, namespace, trigger, kubeconfig=None):
    """Rollout restart of ``kind/name`` (as ``kubectl rollout restart``),
    recording ``trigger`` in the ``maia-salt/restart-trigger`` annotation.

    CLI example::

        salt-call maia_core.rollout_restart Deployment coredns kube-system 0123abcd
    """
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {
        "metadata": {"annotations": {TRIGGER_ANNOTATION: trigger}},
        "spec": {"template": {"metadata": {"annotations": {RESTARTED_AT_ANNOTATION: now}}}},
    }
    __salt__["maia_kube.patch"](
        "apps/v1",
        kind,
        name,
        patch,
        namespace=namespace,
        kubeconfig=_kubeconfig(kubeconfig),
    )
    return {"restarted": f"{kind.lower()}/{name}", "namespace": namespace, "trigger": trigger}
