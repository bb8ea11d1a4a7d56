"""What ``maia-configure`` writes into CONFIG_FOLDER: env.json (secrets kept on re-runs), the
cluster YAML, the MicroK8s launch configuration, the registry credentials, the realm and the
CIFS key pair, planned as files that ``maia_salt.files.commit_folder`` writes all together.
"""
from __future__ import annotations

import json
import secrets
from pathlib import Path

import bcrypt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .admin.context import harbor_admin_password
from .configure_checks import CHART_VERSION_VARIABLES, ConfigError
from .configure_values import (
    CLUSTER_OVERRIDES,
    DEFAULT_ADMIN_EMAIL,
    ENV_SECRETS,
    MAIA_PROJECT_CHARTS,
    PORT_RANGE_DEFAULT,
    PUBLIC_MODE,
    SECRET_MODE,
    Existing,
)
from .files import PlannedFile, dump_yaml
from .registry_credentials import FILE_NAME as CREDENTIALS_FILE
from .registry_credentials import toolkit_form

# ---------------------------------------------------------------- writing ---


def _secret(existing: dict, key: str) -> str:
    value = existing.get(key)
    return value if isinstance(value, str) and value else secrets.token_hex(12)


def argocd_bcrypt(password: str, previous_hash: str | None) -> str:
    """bcrypt hash with the ``$2a$`` prefix ArgoCD expects; kept if it still matches."""
    if previous_hash and previous_hash.startswith("$2a$"):
        try:
            if bcrypt.checkpw(password.encode(), previous_hash.encode()):
                return previous_hash
        except ValueError:
            pass
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()


def build_env(values: dict, existing: dict) -> dict:
    domain = values["CLUSTER_DOMAIN"]
    folder = values["CONFIG_FOLDER"]
    name = values["CLUSTER_NAME"]
    env = {
        "MAIA_PRIVATE_REGISTRY": values.get("MAIA_PRIVATE_REGISTRY", ""),
        "cluster_name": name,
        "JSON_KEY_PATH": str(Path(folder) / CREDENTIALS_FILE),
        "DEPLOY_KUBECONFIG": str(Path(folder) / f"{name}-kubeconfig.yaml"),
        "MAIA_DASHBOARD_DOMAIN": f"maia.{domain}",
        "argocd_namespace": existing.get("argocd_namespace") or "argocd",
        "admin_group_ID": existing.get("admin_group_ID") or "MAIA:admin",
    }
    for key, default in MAIA_PROJECT_CHARTS.items():
        env[key] = values.get(CHART_VERSION_VARIABLES.get(key, ""), default)
    for key in ENV_SECRETS:
        env[key] = _secret(existing, key)
    # not written by the toolkit; derived as maia.admin derives it for a folder without it
    env["harbor_admin_password"] = existing.get("harbor_admin_password") or harbor_admin_password(
        env["keycloak_client_secret"], domain)
    env["argocd_bcrypt_password"] = argocd_bcrypt(env["ARGOCD_PASSWORD"], existing.get("argocd_bcrypt_password"))
    # As given: a Rancher token cannot be generated, an empty one stays empty.
    env["rancher_token"] = values.get("RANCHER_TOKEN", existing.get("rancher_token", ""))
    env["admin_email"] = values.get("ADMIN_EMAIL") or existing.get("admin_email") or DEFAULT_ADMIN_EMAIL
    # The inputs themselves, so a re-run from env.json needs nothing else.
    env.update(
        {
            "CLUSTER_DOMAIN": domain,
            "CLUSTER_NAME": name,
            "CONFIG_FOLDER": folder,
            "INGRESS_RESOLVER_EMAIL": values.get("INGRESS_RESOLVER_EMAIL", ""),
            "K8S_DISTRIBUTION": values["K8S_DISTRIBUTION"],
            "PUBLIC_REGISTRY": "0" if values.get("MAIA_PRIVATE_REGISTRY") else "1",
        }
    )
    # Keep any other key the site added.
    for key, value in existing.items():
        env.setdefault(key, value)
    return env


def default_storage_class(distribution: str) -> str:
    return "microk8s-hostpath" if distribution == "microk8s" else "local-path"


def _port_range(values: dict, existing: dict) -> list[int]:
    old = existing.get("port_range")
    if not (isinstance(old, list) and len(old) == 2 and all(isinstance(p, int) for p in old)):
        old = list(PORT_RANGE_DEFAULT)
    lower = int(values.get("PORT_RANGE_LOWER_BOUND", old[0]))
    upper = int(values.get("PORT_RANGE_UPPER_BOUND", old[1]))
    if lower > upper:
        raise ConfigError([f"port range {lower}-{upper}: PORT_RANGE_LOWER_BOUND must not be above PORT_RANGE_UPPER_BOUND"])
    return [lower, upper]


def build_cluster_yaml(values: dict, existing: dict) -> dict:
    dist = values["K8S_DISTRIBUTION"]
    storage_class = values.get("STORAGE_CLASS")
    if storage_class is None:
        same_dist = existing.get("k8s_distribution") == dist
        storage_class = existing["storage_class"] if same_dist and "storage_class" in existing else default_storage_class(dist)
    cluster = {
        "domain": values["CLUSTER_DOMAIN"],
        "ingress_resolver_email": values.get("INGRESS_RESOLVER_EMAIL", ""),
        "cluster_name": values["CLUSTER_NAME"],
        "k8s_distribution": dist,
        "traefik_resolver": existing.get("traefik_resolver") or "maiaresolver",
        "traefik_dashboard_password": _secret(existing, "traefik_dashboard_password"),
        "rootCA": str(Path(values["CONFIG_FOLDER"]) / "ca.crt"),
    }
    for variable, key, default in CLUSTER_OVERRIDES:
        cluster[key] = values.get(variable) or existing.get(key) or default
    cluster["port_range"] = _port_range(values, existing)
    cluster["storage_class"] = storage_class
    for key, value in existing.items():  # optional keys: selfsigned, externalCA, ...
        cluster.setdefault(key, value)
    return cluster


def build_microk8s_launch_config(domain: str) -> dict:
    return {"version": "0.2.0", "extraSANs": [domain], "addons": [{"name": "dns"}]}


def generate_cifs_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, public_pem(private)


def _load_private_key(private: bytes):
    if b"OPENSSH PRIVATE KEY" in private:  # the toolkit's ssh-keygen writes this form
        return serialization.load_ssh_private_key(private, password=None)
    return serialization.load_pem_private_key(private, password=None)


def public_pem(private: bytes) -> bytes:
    return _load_private_key(private).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _cifs_files(existing: Existing, folder: Path) -> list[PlannedFile]:
    """The existing key pair kept (its public half rewritten only if it does not match)."""
    private = existing.cifs_private_pem
    try:
        key = _load_private_key(private)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ConfigError([
            f"{folder / 'cifs_key'} is not a private key ({exc}): restore it, or remove cifs_key and "
            f"cifs_key.pub to generate a new pair (credentials encrypted with the old key must then be made again)"
        ])
    public = existing.cifs_public
    if public is not None and not _public_matches(key, public):
        public = None
    if public is None:
        public = public_pem(private)
    return [PlannedFile("cifs_key", private, SECRET_MODE), PlannedFile("cifs_key.pub", public, PUBLIC_MODE)]


def _public_matches(private_key, public: bytes) -> bool:
    try:
        if public.startswith(b"ssh-"):
            loaded = serialization.load_ssh_public_key(public.strip())
        else:
            loaded = serialization.load_pem_public_key(public)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        return False
    return loaded.public_numbers() == private_key.public_key().public_numbers()


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def _realm_is_kept(realm: bytes | None) -> bool:
    """A realm export (it has an ``id``, as the toolkit's template has) is kept as the site has it."""
    if not realm:
        return False
    try:
        data = json.loads(realm)
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(data, dict) and "id" in data and data.get("realm") == "maia"


def plan_files(values: dict, existing: Existing, cifs_key: bool, realm: bytes | None = None) -> list[PlannedFile]:
    env = build_env(values, existing.env)
    cluster = build_cluster_yaml(values, existing.cluster)
    name = values["CLUSTER_NAME"]
    folder = Path(values["CONFIG_FOLDER"])
    credentials = toolkit_form(values.get("REGISTRY_USERNAME", ""), values.get("REGISTRY_PASSWORD", ""))
    if realm is None:
        realm = existing.realm
    planned = [
        PlannedFile("env.json", _json_bytes(env), SECRET_MODE),
        PlannedFile(f"{name}.yaml", dump_yaml(cluster).encode(), SECRET_MODE),
        PlannedFile("microk8s-config.yaml", dump_yaml(build_microk8s_launch_config(values["CLUSTER_DOMAIN"])).encode(), PUBLIC_MODE),
        PlannedFile(CREDENTIALS_FILE, _json_bytes(credentials), SECRET_MODE),
        PlannedFile("MAIA_realm.json", realm, SECRET_MODE),
    ]
    if existing.cifs_private_pem:
        planned += _cifs_files(existing, folder)
    elif cifs_key:
        private, public = generate_cifs_key()
        planned += [
            PlannedFile("cifs_key", private, SECRET_MODE),
            PlannedFile("cifs_key.pub", public, PUBLIC_MODE),
        ]
    elif existing.cifs_private_pem == b"":
        # The toolkit leaves empty cifs_key/cifs_key.pub when CIFS is declined: kept, made private.
        planned += [
            PlannedFile("cifs_key", b"", SECRET_MODE),
            PlannedFile("cifs_key.pub", existing.cifs_public or b"", PUBLIC_MODE),
        ]
    return planned


