"""Settings of the MAIA admin layer: defaults + pillar, validated.

:func:`build_context` merges ``maia:admin`` over the admin layer's
``parameters/defaults.yaml``, takes the distribution table (storage and
ingress classes) from stage 3's parameters merged with ``maia:core``, reads
the cluster YAML (``maia:cluster``), ``env.json`` (``maia:env``) and the
registry credentials, and raises :class:`~maia_salt.core.context.ConfigError`
naming every bad or missing key before anything is built.

The Application sources resolve exactly as stage 3's (``maia_salt.core``):
Helm repository, MAIA git repository at a pinned revision, or the private
registry as OCI.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable

from ..core.context import (
    LOCAL_CLUSTER, App, ConfigError, Site, _resolve_app, as_bool, site_settings, source_problems,
)
from ..core.values import derived_secret
from ..merge import deep_merge

#: where the defaults live, relative to a Salt file root
DEFAULTS_RELPATH = "maia/admin/parameters/defaults.yaml"

#: keys of the cluster YAML the admin builders read (maia-toolkit 2.5.0's
#: MAIA/maia_admin.py); docs/admin.md says what each does
CLUSTER_KEYS = (
    "cluster_name", "domain", "k8s_distribution", "ingress_class", "storage_class",
    "shared_storage_class", "traefik_resolver", "ingress_resolver_email", "selfsigned",
    "staging_certificates", "rootCA", "externalCA", "url_type", "nginx_cluster_issuer",
    "ssh_hostname", "ssh_port_type", "port_range", "argocd_destination_cluster_address",
    "metallb_ip_pool", "maia_metallb_ip", "metallb_shared_ip", "admin_group", "users_group",
)

#: env.json secrets the admin layer needs (the toolkit's names)
REQUIRED_SECRETS = (
    "keycloak_client_secret", "keycloak_admin_password", "minio_admin_password",
    "minio_root_password", "rancher_password", "ARGOCD_PASSWORD",
)
URL_TYPES = ("subdomain", "subpath")
SSH_PORT_TYPES = ("NodePort", "LoadBalancer")


def read_text(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@dataclass
class AdminContext(Site):
    """Everything the admin value and spec builders read."""

    admin: dict
    storage_class: str
    secrets: dict = field(default_factory=dict)
    root_ca: str | None = None
    external_ca: dict | None = None
    apps: dict[str, App] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _pem_certificate(text: str) -> bool:
    from cryptography import x509  # noqa: PLC0415  (only when a CA is given)

    try:
        return bool(x509.load_pem_x509_certificates(text.encode()))
    except ValueError:
        return False


def _external_ca(cluster: dict, errors: list[str], read: Callable[[str], str]) -> dict | None:
    """``externalCA`` of the cluster YAML: ``{name, cert}`` with the certificate's text."""
    if "externalCA" not in cluster:
        return None
    given = cluster["externalCA"]
    if not isinstance(given, dict) or not given.get("name") or not given.get("cert"):
        errors.append(
            "maia:cluster:externalCA must be a mapping with `name` (the Secret in maia-dashboard) "
            "and `cert` (path of the CA certificate, PEM): fix <CLUSTER_NAME>.yaml"
        )
        return None
    name, path = str(given["name"]), str(given["cert"])
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", name):
        errors.append(f"maia:cluster:externalCA:name {name!r} is not a Kubernetes Secret name")
    try:
        text = read(path)
    except OSError as exc:
        errors.append(f"maia:cluster:externalCA:cert {path}: cannot be read ({exc.strerror or exc})")
        return None
    if not _pem_certificate(text):
        errors.append(f"maia:cluster:externalCA:cert {path}: not a PEM certificate")
        return None
    return {"name": name, "cert": text}


def _root_ca(cluster: dict, selfsigned: bool, read: Callable[[str], str]) -> str | None:
    """The cluster CA (``rootCA``, exported by stage 2) when ``selfsigned``; None until it exists."""
    path = cluster.get("rootCA")
    if not selfsigned or not path:
        return None
    try:
        return read(str(path))
    except OSError:
        return None


def harbor_admin_password(keycloak_client_secret: str, domain: str) -> str:
    """Harbor's admin password when env.json has none: derived from the site's client
    secret, so maia-configure (which writes it) and a folder without it agree."""
    return derived_secret(keycloak_client_secret, f"harbor-admin/{domain}", 24)


def _site_secrets(env: dict, domain: str, errors: list[str]) -> dict:
    """The secrets of env.json the values use; the two the toolkit may draw at random are derived."""
    secrets = {}
    missing = [key for key in REQUIRED_SECRETS if not env.get(key)]
    if missing:
        errors.append(
            f"maia:env:{', maia:env:'.join(missing)} missing (env.json keys {', '.join(missing)}): "
            "re-run maia-configure, which keeps the existing secrets and adds the missing ones"
        )
    for key in REQUIRED_SECRETS:
        secrets[key] = str(env.get(key) or "")
    base = secrets["keycloak_client_secret"]
    # the toolkit draws a new MySQL password on every run when env.json has none
    secrets["mysql_dashboard_password"] = str(
        env.get("mysql_dashboard_password") or derived_secret(base, f"mysql-dashboard/{domain}", 24)
    )
    # never the Harbor chart's default; a folder made by the toolkit has none
    secrets["harbor_admin_password"] = str(env.get("harbor_admin_password") or harbor_admin_password(base, domain))
    secrets["rancher_token"] = str(env.get("rancher_token") or "")
    return secrets


def build_context(defaults: dict, pillar: dict, core_defaults: dict,
                  read: Callable[[str], str] = read_text) -> AdminContext:
    """Merge, resolve and validate; raises ConfigError listing every problem.

    ``core_defaults`` are stage 3's parameters (for its distribution table,
    which ``maia:core:distributions`` overrides); ``read`` reads a file named
    in the cluster YAML (``externalCA.cert``, ``rootCA``).
    """
    admin = deep_merge(defaults, pillar.get("admin") or {})
    distributions = deep_merge(core_defaults.get("distributions") or {},
                               (pillar.get("core") or {}).get("distributions") or {})
    errors: list[str] = []
    site = site_settings(pillar, distributions, errors)
    cluster, env, domain = site["cluster"], site["env"], site["domain"]
    ctx = AdminContext(
        admin=admin,
        **site,
        storage_class=str(cluster.get("storage_class") or site["dist"].get("storage_class", "")),
        kubeconfig=str(pillar.get("kubeconfig") or admin.get("kubeconfig") or ""),
        project_id=str((admin.get("project") or {}).get("name") or "maia-admin"),
        destination_server=LOCAL_CLUSTER,
        errors=errors,
    )
    ctx.secrets = _site_secrets(env, domain, errors)
    ctx.external_ca = _external_ca(cluster, errors, read)
    ctx.root_ca = _root_ca(cluster, ctx.selfsigned, read)
    ctx.apps = {c: _resolve_app(ctx, c, conf) for c, conf in (admin.get("apps") or {}).items()}
    _validate(ctx)
    if errors:
        raise ConfigError("maia.admin: bad input, nothing was changed:\n  - " + "\n  - ".join(errors))
    return ctx


def _validate(ctx: AdminContext) -> None:
    errors, cluster = ctx.errors, ctx.cluster
    url_type = cluster.get("url_type", "subdomain")
    if url_type not in URL_TYPES:
        errors.append(f"maia:cluster:url_type is {url_type!r}; use subdomain or subpath")
    port_type = cluster.get("ssh_port_type", "NodePort")
    if port_type not in SSH_PORT_TYPES:
        errors.append(f"maia:cluster:ssh_port_type is {port_type!r}; use NodePort or LoadBalancer")
    port_range = cluster.get("port_range", [30000, 31000])
    if not (isinstance(port_range, list) and len(port_range) == 2
            and all(isinstance(p, int) and 0 < p < 65536 for p in port_range) and port_range[0] <= port_range[1]):
        errors.append(f"maia:cluster:port_range is {port_range!r}; give [first, last] ports, e.g. [30000, 31000]")
    for key in ("admin_group", "users_group", "ssh_hostname", "nginx_cluster_issuer", "storage_class",
                "maia_metallb_ip", "metallb_shared_ip"):
        if key in cluster and not (isinstance(cluster[key], str) and cluster[key].strip()):
            errors.append(f"maia:cluster:{key} must be a non-empty string (or left out of <CLUSTER_NAME>.yaml)")
    if not ctx.storage_class:
        errors.append("maia:cluster:storage_class is missing and the distribution names none: set it")
    if as_bool(cluster.get("staging_certificates", False)) and not ctx.selfsigned and ctx.external_ca is None:
        errors.append(
            "maia:cluster:staging_certificates needs externalCA (the staging CA the dashboard trusts): "
            "add externalCA {name, cert} to <CLUSTER_NAME>.yaml"
        )
    errors += source_problems(ctx, "admin")


def is_enabled(defaults: dict, pillar: dict) -> bool:
    """``maia:admin:enabled`` (default true): whether stage 4 applies anything."""
    return as_bool(deep_merge(defaults, pillar.get("admin") or {}).get("enabled", True))


__all__ = ["AdminContext", "CLUSTER_KEYS", "ConfigError", "build_context", "is_enabled"]
