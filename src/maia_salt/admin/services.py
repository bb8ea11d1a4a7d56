"""What the admin layer's services are configured with after their sync (issue 23, docs/admin.md
"Configuring the services"): the Keycloak realm ConfigMap, Keycloak's admin REST settings,
Harbor's OIDC settings and MinIO's bucket and policy, with how the control-plane host reaches each service.

Plain data for the states (``maia.admin.realm``, ``maia.admin.configure``); nothing here talks to
a service. The reference is maia-toolkit 2.5.0 (``MAIA_change_keycloak_client_secret``,
``MAIA_configure_keycloak``) and the collection's ``maia_admin_layer`` and
``configure_oidc_authentication`` roles.
"""
from __future__ import annotations

import json
import os
import re

from ..core.values import derived_secret

REALM = "maia"
REALM_CONFIGMAP = "maia-realm-import"
REALM_KEY = "MAIA_realm.json"
CLIENT_ID = "maia"
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def realm_problems(pillar: dict, errors: list[str]) -> dict | None:
    """The site's realm export (``maia:realm``, read from CONFIG_FOLDER/MAIA_realm.json by the
    ext_pillar), checked: a mapping named ``maia`` with a client ``maia``. None when absent."""
    realm = pillar.get("realm")
    if realm is None:
        return None
    if not (isinstance(realm, dict) and realm.get("realm") == REALM
            and any(isinstance(c, dict) and c.get("clientId") == CLIENT_ID for c in realm.get("clients") or [])):
        errors.append("maia:realm (CONFIG_FOLDER/MAIA_realm.json) is not a Keycloak realm export of realm "
                      "'maia' with a client 'maia': re-run maia-configure (it writes the toolkit's template)")
        return None
    return realm


def realm_configmap(realm: dict, client_secret: str) -> dict:
    """ConfigMap ``maia-realm-import`` in ``keycloak``: the realm with client ``maia``'s secret set,
    serialised as the toolkit's ``MAIA_change_keycloak_client_secret`` writes the file."""
    realm = json.loads(json.dumps(realm))  # a copy: the pillar's tree stays as it is
    for client in realm.get("clients") or []:
        if client.get("clientId") == CLIENT_ID:
            client["secret"] = client_secret
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": REALM_CONFIGMAP, "namespace": "keycloak",
                     "labels": {"app.kubernetes.io/managed-by": "maia-salt"}},
        "data": {REALM_KEY: json.dumps(realm)},
    }


def reach(ctx, pillar: dict, service: str) -> dict:
    """How the control-plane host reaches ``https://<service>.<domain>``: the arguments of
    ``maia_service_endpoint.service_endpoint`` (name, port, ca_pem, address)."""
    conf = ctx.admin["services"]
    if conf.get("ca_pem"):
        ca_pem = conf["ca_pem"]
    elif ctx.external_ca:
        ca_pem = ctx.external_ca["cert"]
    elif ctx.selfsigned:
        ca_pem = ctx.root_ca
    else:
        ca_pem = None
    address = conf.get("address") or (pillar.get("host") or {}).get("address") or None
    return {"name": f"{service}.{ctx.domain}", "port": int(conf["port"]), "ca_pem": ca_pem,
            "address": address}


def admin_user_password(env: dict, domain: str) -> str:
    """The MAIA admin user's temporary first password: env.json ``admin_initial_password``, else
    derived from the site's client secret (the toolkit uses the fixed word ``admin``)."""
    return str(env.get("admin_initial_password")
               or derived_secret(str(env.get("keycloak_client_secret") or ""), f"maia-admin-user/{domain}", 20))


def keycloak(ctx, pillar: dict) -> dict:
    """Settings of ``maia_admin_service.configured`` for keycloak: what ``MAIA_configure_keycloak`` creates."""
    conf = ctx.admin["keycloak"]
    users_group = f"MAIA:{ctx.cluster.get('users_group', 'users')}"
    return {
        "reach": reach(ctx, pillar, "iam"),
        "realm": REALM,
        "client_id": CLIENT_ID,
        "client_secret": ctx.secrets["keycloak_client_secret"],
        "public_client": dict(conf.get("public_client") or {}),
        "admin_email": str(conf["admin_email"] or ctx.env.get("admin_email") or f"admin@{ctx.domain}"),
        "admin_password": admin_user_password(ctx.env, ctx.domain),
        "users_group": users_group,
        "admin_group": ctx.admin_group,
        "groups": [users_group, ctx.admin_group],
        "admin_roles_client": "realm-management",
    }


def harbor(ctx, pillar: dict) -> dict:
    """Settings of ``maia_admin_service.configured`` for harbor: the collection's ``PUT /api/v2.0/configurations``."""
    conf = ctx.admin["harbor"]
    verify_cert = conf.get("oidc_verify_cert")
    return {
        "reach": reach(ctx, pillar, "registry"),
        "username": "admin",
        "password": ctx.secrets["harbor_admin_password"],
        "configurations": {
            "auth_mode": "oidc_auth",
            "oidc_name": str(conf["oidc_name"]),
            "oidc_endpoint": f"https://iam.{ctx.domain}/realms/{REALM}",
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": ctx.secrets["keycloak_client_secret"],
            "oidc_scope": str(conf["oidc_scope"]),
            # Harbor checks Keycloak's certificate with its own trust store; on a site whose
            # certificates come from its own CA (selfsigned, externalCA) Harbor does not have it
            "oidc_verify_cert": bool(verify_cert if verify_cert is not None
                                     else not (ctx.selfsigned or ctx.external_ca)),
            "oidc_groups_claim": "groups",
            "oidc_admin_group": ctx.admin_group,
        },
        "secret_keys": ["oidc_client_secret"],
        # the record of what Harbor was sent (fingerprints only), beside the host's kubeconfig:
        # the same file whether the host runs a minion or is reached over salt-ssh
        "record": os.path.join(os.path.dirname(ctx.kubeconfig) or "/etc/maia", "harbor-secrets.json"),
    }


# The admin tenant's policy for the admin group (the collection's maia-admin-policy.json): every
# admin, KMS and S3 action, S3 on every resource. MinIO maps the group claim of a Keycloak token
# to the policy of that name (the tenant's MINIO_IDENTITY_OPENID_CLAIM_NAME is "groups").
MINIO_ADMIN_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": [f"{area}:*"], **({"Resource": ["arn:aws:s3:::*"]} if area == "s3" else {})}
        for area in ("admin", "kms", "s3")
    ],
}


def minio(ctx, pillar: dict) -> dict:
    """Settings of ``maia_admin_service.configured`` for minio: the bucket and the admin group's
    policy the collection's ``maia_admin_layer`` makes with ``mc`` inside the tenant's pod, here
    over the tenant's S3 and admin API at ``minio-api.<domain>`` as its user ``maia-admin``."""
    conf = ctx.admin["minio"]
    buckets = conf.get("buckets")
    if not isinstance(buckets, list) or not all(isinstance(b, str) and BUCKET_NAME.match(b) for b in buckets):
        ctx.errors.append(f"maia:admin:minio:buckets must be a list of S3 bucket names (3-63 of a-z, 0-9, '.', '-'), "
                          f"not {buckets!r}")
        buckets = []
    return {
        "reach": reach(ctx, pillar, "minio-api"),
        "access_key": "maia-admin",
        "secret_key": ctx.secrets["minio_admin_password"],
        "buckets": list(buckets),
        "policies": {ctx.admin_group: MINIO_ADMIN_POLICY},
    }


def configuration(ctx, pillar: dict) -> dict:
    """Everything stage 4 configures after the sync; ``errors`` collects bad input."""
    conf = ctx.admin["configure"]
    realm = realm_problems(pillar, ctx.errors)
    out = {"realm_configmap": None, "keycloak": None, "harbor": None, "minio": None}
    if realm is not None and ctx.active("keycloak"):
        out["realm_configmap"] = realm_configmap(realm, ctx.secrets["keycloak_client_secret"])
    if conf["keycloak"] and ctx.active("keycloak"):
        out["keycloak"] = keycloak(ctx, pillar)
    if conf["harbor"] and ctx.active("harbor"):
        out["harbor"] = harbor(ctx, pillar)
    if conf["minio"] and ctx.active("admin-toolkit"):
        out["minio"] = minio(ctx, pillar)
    return out
