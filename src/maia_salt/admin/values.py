"""The Helm values of each admin Application, derived from the :class:`AdminContext`.

The values are those maia-toolkit 2.5.0's ``MAIA/maia_admin.py`` writes for
the same site, key for key (``tests/admin/test_parity.py`` compares them with
the toolkit itself); ``docs/admin.md`` lists every deliberate difference. As
in the toolkit, each values object also carries its chart coordinates: the
maia-admin-project chart renders the whole values file into ``valuesObject``.
"""
from __future__ import annotations

from typing import Callable

from ..core.context import App
from ..core.values import chart_coordinates, ingress_annotations
from ..core.values import helm_values as core_helm_values

from .context import AdminContext

TRAEFIK_TLS = {
    "traefik.ingress.kubernetes.io/router.entrypoints": "websecure",
    "traefik.ingress.kubernetes.io/router.tls": "true",
}
CERT_RESOLVER = "traefik.ingress.kubernetes.io/router.tls.certresolver"
CLUSTER_ISSUER = "cert-manager.io/cluster-issuer"


def _realm(ctx: AdminContext) -> str:
    return f"https://iam.{ctx.domain}/realms/maia"


def _tls_annotations(ctx: AdminContext, selfsigned_resolver: str | None = None) -> dict:
    """Harbor's and Rancher's: Traefik's TLS (the ACME resolver, or ``selfsigned_resolver``
    with ``selfsigned``), or on nginx cert-manager's issuer unless ``selfsigned``."""
    if ctx.traefik:
        resolver = selfsigned_resolver if ctx.selfsigned else ctx.resolver
        return {**TRAEFIK_TLS, **({CERT_RESOLVER: resolver} if resolver else {})}
    if ctx.ingress_class == "nginx" and not ctx.selfsigned:
        return {CLUSTER_ISSUER: "cluster-issuer"}
    return {}


def _claim(subpath: str) -> dict:
    return {"existingClaim": "pvc-harbor", "subPath": subpath, "accessMode": "ReadWriteMany"}


def harbor(ctx: AdminContext, app: App) -> dict:
    domain, storage = ctx.domain, ctx.storage_class
    claims = {
        name: dict(_claim(sub), storageClass=storage)
        for name, sub in (("registry", "registry"), ("database", "database"), ("redis", "redis"), ("trivy", "trivy"))
    }
    claims["jobservice"] = {"jobLog": dict(_claim("job_logs"), storageClass=storage)}
    tls = {"enabled": True}
    if ctx.traefik:
        tls["certSource"] = "none"
    metrics = {"path": "/metrics", "port": 8001}
    return {
        **chart_coordinates(app),
        "expose": {
            "type": "ingress",
            "tls": tls,
            "ingress": {
                "hosts": {"core": f"registry.{domain}"},
                "annotations": _tls_annotations(ctx, "kubernetes-ca-issuer"),
                "controller": "default",
                "className": ctx.ingress_class,
            },
        },
        "externalURL": f"https://registry.{domain}",
        "harborAdminPassword": ctx.secrets["harbor_admin_password"],
        "persistence": {
            "enabled": True,
            "resourcePolicy": "keep",
            "persistentVolumeClaim": claims,
            "imageChartStorage": {"type": "filesystem"},
        },
        "database": {"internal": {"password": "harbor"}},
        "metrics": {"enabled": True, **{part: dict(metrics) for part in ("core", "registry", "jobservice", "exporter")}},
    }


def keycloak(ctx: AdminContext, app: App) -> dict:
    host = f"iam.{ctx.domain}"
    return {
        **chart_coordinates(app),
        "extraEnvVars": [
            {"name": "KEYCLOAK_EXTRA_ARGS", "value": "--import-realm"},
            {"name": "PROXY_ADDRESS_FORWARDING", "value": "true"},
            {"name": "KEYCLOAK_HOSTNAME", "value": host},
        ],
        "proxy": "edge",
        "ingress": {
            "enabled": True,
            "tls": True,
            "ingressClassName": ctx.ingress_class,
            "hostname": host,
            "annotations": ingress_annotations(ctx),
        },
        "auth": {"adminPassword": ctx.secrets["keycloak_admin_password"]},
        "extraVolumeMounts": [
            {"name": "keycloak-import", "mountPath": "/opt/bitnami/keycloak/data/import"},
            {"name": "keycloak-themes", "mountPath": "/opt/bitnami/keycloak/themes"},
        ],
        "extraVolumes": [
            {"name": "keycloak-import", "configMap": {"name": "maia-realm-import"}},
            {"name": "keycloak-themes", "persistentVolumeClaim": {"claimName": "pvc-keycloak-themes"}},
        ],
    }


def rancher(ctx: AdminContext, app: App) -> dict:
    tls: dict = {"source": "letsEncrypt"}
    if ctx.traefik:
        tls["secretName"] = None  # Helm drops the chart's default secret name
    return {
        **chart_coordinates(app),
        "hostname": f"mgmt.{ctx.domain}",
        "ingress": {"extraAnnotations": _tls_annotations(ctx), "tls": tls},
        "letsEncrypt": {
            "email": ctx.cluster.get("ingress_resolver_email") or "",
            "ingress": {"class": ctx.ingress_class},
        },
        "bootstrapPassword": ctx.secrets["rancher_password"],
    }


def admin_toolkit(ctx: AdminContext, app: App) -> dict:
    domain, storage, secrets = ctx.domain, ctx.storage_class, ctx.secrets
    client_secret = secrets["keycloak_client_secret"]
    argocd = {
        "enabled": True,
        "argocd_namespace": ctx.argocd_namespace,
        "argocd_domain": f"argocd.{domain}",
        "keycloak_issuer_url": _realm(ctx),
        "keycloak_client_id": "maia",
        "keycloak_client_secret": client_secret,
    }
    minio_ingress: dict = {"annotations": ingress_annotations(ctx)}
    minio = {
        "enabled": True,
        "namespace": "maia-dashboard",
        "adminAccessKey": "maia-admin",
        "adminSecretKey": secrets["minio_admin_password"],
        "image": ctx.admin["minio_image"],
        "storageSize": "10Gi",
        "storageClassName": storage,
        "consoleDomain": f"minio.{domain}",
        "apiDomain": f"minio-api.{domain}",
        "rootAccessKey": "root",
        "rootSecretKey": secrets["minio_root_password"],
        "openIdClientId": "maia",
        "openIdClientSecret": client_secret,
        "openIdConfigUrl": f"{_realm(ctx)}/.well-known/openid-configuration",
        "ingress": minio_ingress,
    }
    values = {
        **chart_coordinates(app),
        "argocd": argocd,
        "admin_group_ID": ctx.admin_group,
        "harbor": {"enabled": True, "values": {"namespace": "harbor", "storageClassName": storage}},
        "keycloak": {"enabled": True, "values": {"namespace": "keycloak", "storageClassName": storage}},
        "minio": minio,
    }
    if ctx.external_ca:
        minio["externalCA"] = dict(ctx.external_ca)
        argocd["rootCA"] = ctx.external_ca["cert"]
    if ctx.selfsigned and ctx.root_ca is not None:
        argocd["rootCA"] = ctx.root_ca
    if ctx.traefik and not ctx.selfsigned:
        values["certResolver"] = ctx.resolver
    elif ctx.ingress_class == "nginx":
        minio_ingress["tlsSecretName"] = f"{ctx.project_id}-tls"
        minio_ingress["tlsSecretNameApi"] = f"{ctx.project_id}-tls-api"
    return values


def _dashboard_ingress(ctx: AdminContext, host: str) -> dict:
    ingress = {
        "enabled": True,
        "className": ctx.ingress_class,
        "annotations": {},
        "hosts": [{"host": host, "paths": [
            {"path": path, "pathType": "ImplementationSpecific"} for path in ("/", "/maia-api/", "/maia/")
        ]}],
        "tls": [{"hosts": [host]}],
    }
    if ctx.traefik:
        ingress["annotations"] = ingress_annotations(ctx)
        ingress["annotations_redirect"] = {"traefik.ingress.kubernetes.io/router.entrypoints": "web"}
    elif ctx.ingress_class == "nginx":
        issuer = "kubernetes-ca-issuer" if ctx.selfsigned else ctx.cluster.get("nginx_cluster_issuer", "cluster-issuer")
        ingress["annotations"] = {
            "nginx.ingress.kubernetes.io/proxy-body-size": "8g",
            "nginx.ingress.kubernetes.io/proxy-read-timeout": "300",
            "nginx.ingress.kubernetes.io/proxy-send-timeout": "300",
            CLUSTER_ISSUER: issuer,
        }
        ingress["tls"][0]["secretName"] = ctx.domain
    return ingress


def _oidc_env(ctx: AdminContext) -> list[dict]:
    realm = _realm(ctx)
    endpoint = f"{realm}/protocol/openid-connect"
    return [
        {"name": "OIDC_RP_CLIENT_ID", "value": "maia"},
        {"name": "OIDC_RP_PUBLIC_CLIENT_ID", "value": "maia-public"},
        {"name": "OIDC_RP_CLIENT_SECRET", "value": ctx.secrets["keycloak_client_secret"]},
        {"name": "OIDC_SERVER_URL", "value": f"https://iam.{ctx.domain}"},
        {"name": "OIDC_REALM_NAME", "value": "maia"},
        {"name": "OIDC_USERNAME", "value": "admin"},
        {"name": "OIDC_ISSUER_URL", "value": realm},
        {"name": "OIDC_OP_AUTHORIZATION_ENDPOINT", "value": f"{endpoint}/auth"},
        {"name": "OIDC_OP_TOKEN_ENDPOINT", "value": f"{endpoint}/token"},
        {"name": "OIDC_OP_USER_ENDPOINT", "value": f"{endpoint}/userinfo"},
        {"name": "OIDC_OP_JWKS_ENDPOINT", "value": f"{endpoint}/certs"},
        {"name": "OIDC_RP_SIGN_ALGO", "value": "RS256"},
        {"name": "OIDC_RP_SCOPES", "value": "openid email profile"},
    ]


def _dashboard_cluster(ctx: AdminContext) -> dict:
    """The dashboard's entry for this cluster (``clusters[0]``)."""
    cluster, domain = ctx.cluster, ctx.domain
    entry: dict = {
        "api": f"https://mgmt.{domain}/k8s/clusters/local",
        "cluster_name": cluster.get("cluster_name") or ctx.env.get("cluster_name") or "",
        "ssh_hostname": cluster.get("ssh_hostname", domain),
        "maia_dashboard": {"enabled": True, "token": ctx.secrets["rancher_token"]},
    }
    if ctx.selfsigned or cluster.get("staging_certificates"):
        entry["selfsigned"] = True
    if not ctx.selfsigned:
        if "traefik_resolver" in cluster:
            entry["traefik_resolver"] = cluster["traefik_resolver"]
        elif "nginx_cluster_issuer" in cluster:
            entry["nginx_cluster_issuer"] = cluster["nginx_cluster_issuer"]
    entry.update(
        ssh_port_type=cluster.get("ssh_port_type", "NodePort"),
        port_range=cluster.get("port_range", [30000, 31000]),
        shared_storage_class=cluster.get("shared_storage_class", "nfs-client"),
        storage_class=ctx.storage_class,
        domain=domain,
        url_type=cluster.get("url_type", "subdomain"),
        argocd_destination_cluster_address=cluster.get("argocd_destination_cluster_address", ctx.destination_server),
        services={
            "argocd": f"https://argocd.{domain}",
            "dashboard": f"https://dashboard.{domain}",
            "traefik": f"https://traefik.{domain}",
            "grafana": f"https://grafana.{domain}",
            "keycloak": f"https://iam.{domain}/admin/maia/console/",
            "login": f"https://login.{domain}",
            "rancher": f"https://mgmt.{domain}",
            "registry": f"https://registry.{domain}",
            "minio": f"https://minio.{domain}",
        },
    )
    for key in ("metallb_ip_pool", "maia_metallb_ip", "metallb_shared_ip"):
        if key in cluster:
            entry[key] = cluster[key]
    return entry


def maia_dashboard(ctx: AdminContext, app: App) -> dict:
    domain, env, cluster, conf = ctx.domain, ctx.env, ctx.cluster, ctx.admin
    registry = str(env.get("MAIA_REGISTRY") or conf["maia_image_registry"])
    host = domain if cluster.get("url_type") == "subpath" else f"maia.{domain}"
    db_password = ctx.secrets["mysql_dashboard_password"]
    project = conf["maia_project"]
    environment = [
        {"name": "DEBUG", "value": "False"},
        {"name": "LOCAL_DB_PATH", "value": "/etc/MAIA-Dashboard/db"},
        {"name": "SERVER", "value": host},
        *_oidc_env(ctx),
        {"name": "ARGOCD_CLUSTER", "value": cluster.get("cluster_name") or env.get("cluster_name") or ""},
        {"name": "CLUSTER_CONFIG_PATH", "value": "/mnt/dashboard-config"},
        {"name": "GLOBAL_NAMESPACES", "value": "xnat,istio-system"},
    ]
    values: dict = {**chart_coordinates(app)}
    ca_text = ctx.root_ca if ctx.selfsigned else (
        ctx.external_ca["cert"] if cluster.get("staging_certificates") and ctx.external_ca else None)
    if ctx.selfsigned or cluster.get("staging_certificates"):
        environment.append({"name": "OIDC_CA_BUNDLE", "value": "/mnt/dashboard-config/ca.crt"})
    if ca_text is not None:
        values["ca_crt"] = ca_text
    environment += [
        {"name": "maia_project_chart", "value": str(env.get("maia_project_chart") or project["chart"])},
        {"name": "maia_project_repo", "value": str(env.get("maia_project_repo") or project["repo"])},
        {"name": "maia_project_version", "value": str(env.get("maia_project_version") or project["version"])},
        {"name": "ADMIN_GROUP", "value": cluster.get("admin_group", "admin")},
        {"name": "admin_group_ID", "value": ctx.admin_group},
        {"name": "USERS_GROUP", "value": cluster.get("users_group", "users")},
        {"name": "argocd_namespace", "value": ctx.argocd_namespace},
        {"name": "ARGOCD_SERVER", "value": f"https://argocd.{domain}"},
        {"name": "ARGOCD_PASSWORD", "value": ctx.secrets["ARGOCD_PASSWORD"]},
        {"name": "MINIO_URL", "value": "minio:80"},
        {"name": "MINIO_ACCESS_KEY", "value": "maia-admin"},
        {"name": "MINIO_SECRET_KEY", "value": ctx.secrets["minio_admin_password"]},
        {"name": "MINIO_SECURE", "value": "False"},
        {"name": "BUCKET_NAME", "value": "maia-envs"},
        {"name": "MINIO_CONSOLE_URL", "value": f"https://minio.{domain}/browser/maia-envs"},
        {"name": "MONAI_TOOLKIT_IMAGE", "value": f"{registry}/monai-toolkit"},
        {"name": "MAIA_REGISTRY", "value": registry},
        {"name": "DB_ENGINE", "value": "mysql"},
        {"name": "DB_NAME", "value": "mysql"},
        {"name": "DB_HOST", "value": f"{app.release_name}-mysql"},
        {"name": "DB_PORT", "value": "3306"},
        {"name": "DB_USERNAME", "value": "maia-admin"},
        {"name": "DB_PASS", "value": db_password},
    ]
    values.update(
        ingress=_dashboard_ingress(ctx, host),
        env=environment,
        storageClass=ctx.storage_class,
        image={"repository": f"{registry}/maia-dashboard", "tag": str(conf["dashboard_image_tag"])},
        dashboard={"local_config_path": "/mnt/dashboard-config"},
        mysql={
            "enabled": True,
            "image": conf["mysql_image"],
            "tag": str(conf["mysql_image_tag"]),
            "mysqlRootPassword": db_password,
            "mysqlUser": "maia-admin",
            "mysqlPassword": db_password,
            "mysqlDatabase": "mysql",
        },
        clusters=[_dashboard_cluster(ctx)],
        gpuList=[],
        hostAliases=[],
    )
    return values


BUILDERS: dict[str, Callable[[AdminContext, App], dict]] = {
    "harbor": harbor,
    "keycloak": keycloak,
    "rancher": rancher,
    "admin-toolkit": admin_toolkit,
    "maia-dashboard": maia_dashboard,
}


def helm_values(ctx: AdminContext, app: App) -> dict:
    """The values of ``app``: the derived ones, with ``values`` from pillar deep-merged over."""
    return core_helm_values(ctx, app, BUILDERS)
