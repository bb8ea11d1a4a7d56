"""The configuration step: collect a site's values and write its CONFIG_FOLDER.

This is the logic behind ``maia-configure`` (also installed as
``MAIA_Configure_Installation.sh``). Values come from an existing env.json,
then the environment, then prompts. Everything is validated before anything
is written, and the files are written all together or not at all.
"""
from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import bcrypt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .files import PlannedFile, dump_yaml, load_yaml_unique, write_files_atomically

DISTRIBUTIONS = ("microk8s", "rke2", "k3s", "k0s")
SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
FOLDER_MODE = 0o700

# Secrets kept in env.json: generated once, kept on every re-run.
ENV_SECRETS = (
    "keycloak_client_secret",
    "dashboard_api_secret",
    "ARGOCD_PASSWORD",
    "rancher_password",
    "keycloak_admin_password",
    "rancher_token",
    "minio_admin_password",
    "minio_root_password",
    "mysql_dashboard_password",
    "mongodb_dashboard_password",
)

# Charts of the MAIA projects (overridable by editing env.json or pillar).
MAIA_CHART_DEFAULTS = {
    "core_project_chart": "maia-core",
    "core_project_repo": "https://minnelab.github.io/MAIA/",
    "core_project_version": "1.7.0",
    "admin_project_chart": "maia-admin",
    "admin_project_repo": "https://minnelab.github.io/MAIA/",
    "admin_project_version": "1.7.0",
}

CLUSTER_YAML_DEFAULTS = {
    "traefik_resolver": "maiaresolver",
    "bucket_name": "maia-envs",
    "ssh_port_type": "NodePort",
    "port_range": [30000, 31000],
    "shared_storage_class": "nfs-client",
    "url_type": "subdomain",
}

VARIABLES = (
    "MAIA_PRIVATE_REGISTRY",
    "HARBOR_USERNAME",
    "HARBOR_PASSWORD",
    "CLUSTER_DOMAIN",
    "CLUSTER_NAME",
    "CONFIG_FOLDER",
    "INGRESS_RESOLVER_EMAIL",
    "K8S_DISTRIBUTION",
)
SECRET_VARIABLES = ("HARBOR_PASSWORD",)

PROMPTS = {
    "MAIA_PRIVATE_REGISTRY": "Private MAIA registry URL (empty for public registries)",
    "HARBOR_USERNAME": "Harbor registry username",
    "HARBOR_PASSWORD": "Harbor registry password",
    "CLUSTER_DOMAIN": "Cluster domain (e.g. maia.example.com)",
    "CLUSTER_NAME": "Cluster name (e.g. maia-cluster)",
    "CONFIG_FOLDER": "Configuration folder (e.g. /opt/maia/config)",
    "INGRESS_RESOLVER_EMAIL": "Email for Let's Encrypt (may be empty)",
    "K8S_DISTRIBUTION": "Kubernetes distribution (microk8s, rke2, k3s, k0s)",
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

Prompter = Callable[[str, str, bool], str]


class ConfigError(Exception):
    """Bad or missing input; ``problems`` holds one message per value."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Existing:
    """What a previous run left in CONFIG_FOLDER (secrets to keep)."""

    env: dict = field(default_factory=dict)
    cluster: dict = field(default_factory=dict)
    credentials: dict = field(default_factory=dict)
    cifs_private_pem: bytes | None = None


@dataclass
class Result:
    config_folder: Path
    written: list[str]
    changed: list[str]


# ---------------------------------------------------------------- reading ---


def _load_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{what} {path} does not exist: give the path of an existing file"])
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError([f"{what} {path} is not valid JSON ({exc}): fix or remove the file"])
    if not isinstance(data, dict):
        raise ConfigError([f"{what} {path} must hold a JSON object"])
    return data


def read_existing(folder: Path, cluster_name: str | None) -> Existing:
    existing = Existing()
    env_path = folder / "env.json"
    if env_path.is_file():
        existing.env = _load_json(env_path, "env.json")
    name = cluster_name or existing.env.get("cluster_name")
    if name and (folder / f"{name}.yaml").is_file():
        try:
            existing.cluster = load_yaml_unique((folder / f"{name}.yaml").read_text()) or {}
        except Exception as exc:  # yaml errors
            raise ConfigError([f"{folder / (name + '.yaml')} is not valid YAML ({exc}): fix or remove it"])
    creds = folder / "maia-registry-credentials.json"
    if creds.is_file():
        existing.credentials = _load_json(creds, "maia-registry-credentials.json")
    key = folder / "cifs_key"
    if key.is_file():
        existing.cifs_private_pem = key.read_bytes()
    return existing


def collect_values(
    env_json: Path | None,
    environ: dict,
    prompter: Prompter | None,
) -> tuple[dict, Existing]:
    """Resolve every variable: env.json first, then the environment, then prompts.

    ``prompter`` is None in non-interactive mode: then every missing value is
    reported at once.
    """
    values: dict[str, str] = {}
    existing = Existing()
    if env_json is not None:
        env_json = Path(env_json).resolve()
        env_data = _load_json(env_json, "env.json")
        folder = env_json.parent
        existing = read_existing(folder, env_data.get("cluster_name"))
        existing.env = env_data
        from_file = {
            "MAIA_PRIVATE_REGISTRY": env_data.get("MAIA_PRIVATE_REGISTRY"),
            "CLUSTER_NAME": env_data.get("cluster_name", env_data.get("CLUSTER_NAME")),
            "CLUSTER_DOMAIN": env_data.get("CLUSTER_DOMAIN", existing.cluster.get("domain")),
            "INGRESS_RESOLVER_EMAIL": env_data.get(
                "INGRESS_RESOLVER_EMAIL", existing.cluster.get("ingress_resolver_email")
            ),
            "K8S_DISTRIBUTION": env_data.get(
                "K8S_DISTRIBUTION", existing.cluster.get("k8s_distribution")
            ),
            "JSON_KEY_PATH": env_data.get("JSON_KEY_PATH") or None,
            "HARBOR_USERNAME": existing.credentials.get("harbor_username") or None,
            "HARBOR_PASSWORD": existing.credentials.get("harbor_password") or None,
            "CONFIG_FOLDER": str(folder),
        }
        values.update({k: v for k, v in from_file.items() if v is not None})

    for name in (*VARIABLES, "PUBLIC_REGISTRY", "JSON_KEY_PATH"):
        if name not in values and name in environ:
            values[name] = environ[name]

    public = values.get("PUBLIC_REGISTRY") == "1"
    if public and "MAIA_PRIVATE_REGISTRY" not in values:
        values["MAIA_PRIVATE_REGISTRY"] = ""

    if values.get("JSON_KEY_PATH") and values.get("MAIA_PRIVATE_REGISTRY"):
        key_data = _load_json(Path(values["JSON_KEY_PATH"]), "JSON_KEY_PATH file")
        for var, key in (("HARBOR_USERNAME", "harbor_username"), ("HARBOR_PASSWORD", "harbor_password")):
            if var not in values and key_data.get(key):
                values[var] = key_data[key]

    missing = []
    for name in VARIABLES:
        if name in values:
            continue
        if name in ("HARBOR_USERNAME", "HARBOR_PASSWORD") and not values.get("MAIA_PRIVATE_REGISTRY"):
            continue  # credentials are asked only for a private registry
        if prompter is None:
            missing.append(name)
            continue
        values[name] = prompter(name, PROMPTS[name], name in SECRET_VARIABLES).strip()
    if missing:
        raise ConfigError(
            [f"{name} is not set: export {name}=... or pass an env.json that has it" for name in missing]
        )
    if not values.get("MAIA_PRIVATE_REGISTRY"):
        values["PUBLIC_REGISTRY"] = "1"
        values.pop("HARBOR_USERNAME", None)
        values.pop("HARBOR_PASSWORD", None)
    return values, existing


def validate(values: dict) -> None:
    problems = []
    dist = values.get("K8S_DISTRIBUTION", "")
    if dist not in DISTRIBUTIONS:
        problems.append(
            f"K8S_DISTRIBUTION={dist!r} is not supported: use one of {', '.join(DISTRIBUTIONS)}"
        )
    email = values.get("INGRESS_RESOLVER_EMAIL", "")
    if email and not _EMAIL.match(email):
        problems.append(
            f"INGRESS_RESOLVER_EMAIL={email!r} is not an email address: give e.g. admin@example.com, or leave it empty"
        )
    domain = values.get("CLUSTER_DOMAIN", "")
    labels = domain.split(".")
    if not domain or len(domain) > 253 or not all(_DNS_LABEL.match(label) for label in labels):
        problems.append(
            f"CLUSTER_DOMAIN={domain!r} is not a DNS name: use lowercase letters, digits, '-' and '.', e.g. maia.example.com"
        )
    name = values.get("CLUSTER_NAME", "")
    if not _DNS_LABEL.match(name):
        problems.append(
            f"CLUSTER_NAME={name!r} is not a DNS label: use up to 63 lowercase letters, digits and '-', e.g. maia-cluster"
        )
    folder = values.get("CONFIG_FOLDER", "")
    if not folder:
        problems.append("CONFIG_FOLDER is empty: give a folder path, e.g. /opt/maia/config")
    elif Path(folder).exists() and not Path(folder).is_dir():
        problems.append(f"CONFIG_FOLDER={folder!r} exists and is not a folder: choose another path")
    registry = values.get("MAIA_PRIVATE_REGISTRY", "")
    if registry:
        if any(c.isspace() for c in registry) or "/" in registry.split("://", 1)[-1].rstrip("/").split("/", 1)[0]:
            problems.append(f"MAIA_PRIVATE_REGISTRY={registry!r} is not a registry URL: use e.g. https://harbor.example.com")
        for var in ("HARBOR_USERNAME", "HARBOR_PASSWORD"):
            if not values.get(var):
                problems.append(f"{var} is empty but MAIA_PRIVATE_REGISTRY is set: give the registry credentials, or JSON_KEY_PATH")
    if problems:
        raise ConfigError(problems)


# ---------------------------------------------------------------- writing ---


def _secret(existing: dict, key: str) -> str:
    value = existing.get(key)
    return value if isinstance(value, str) and value else secrets.token_urlsafe(24)


def argocd_bcrypt(password: str, previous_hash: str | None) -> str:
    """bcrypt hash with the ``$2a$`` prefix ArgoCD expects; kept if it still matches."""
    if previous_hash and previous_hash.startswith("$2a$"):
        try:
            if bcrypt.checkpw(password.encode(), previous_hash.encode()):
                return previous_hash
        except ValueError:
            pass
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(prefix=b"2a")).decode()


def build_env(values: dict, existing: dict) -> dict:
    domain = values["CLUSTER_DOMAIN"]
    folder = values["CONFIG_FOLDER"]
    name = values["CLUSTER_NAME"]
    env = {
        "MAIA_PRIVATE_REGISTRY": values.get("MAIA_PRIVATE_REGISTRY", ""),
        "cluster_name": name,
        "JSON_KEY_PATH": values.get("JSON_KEY_PATH", ""),
        "DEPLOY_KUBECONFIG": str(Path(folder) / f"{name}-kubeconfig.yaml"),
        "MAIA_DASHBOARD_DOMAIN": f"maia.{domain}",
        "argocd_namespace": existing.get("argocd_namespace", "argocd"),
        "admin_group_ID": existing.get("admin_group_ID", "MAIA:admin"),
        "admin_email": existing.get("admin_email") or values.get("INGRESS_RESOLVER_EMAIL") or f"admin@{domain}",
    }
    for key, default in MAIA_CHART_DEFAULTS.items():
        env[key] = existing.get(key, default)
    for key in ENV_SECRETS:
        env[key] = _secret(existing, key)
    env["argocd_bcrypt_password"] = argocd_bcrypt(env["ARGOCD_PASSWORD"], existing.get("argocd_bcrypt_password"))
    # The inputs themselves, so a re-run from env.json needs nothing else.
    env.update(
        {
            "CLUSTER_DOMAIN": domain,
            "CLUSTER_NAME": name,
            "CONFIG_FOLDER": folder,
            "INGRESS_RESOLVER_EMAIL": values.get("INGRESS_RESOLVER_EMAIL", ""),
            "K8S_DISTRIBUTION": values["K8S_DISTRIBUTION"],
            "PUBLIC_REGISTRY": values.get("PUBLIC_REGISTRY", "0") if not values.get("MAIA_PRIVATE_REGISTRY") else "0",
        }
    )
    # Keep any other key the site added.
    for key, value in existing.items():
        env.setdefault(key, value)
    return env


def build_cluster_yaml(values: dict, existing: dict) -> dict:
    dist = values["K8S_DISTRIBUTION"]
    cluster = {
        "domain": values["CLUSTER_DOMAIN"],
        "ingress_resolver_email": values.get("INGRESS_RESOLVER_EMAIL", ""),
        "cluster_name": values["CLUSTER_NAME"],
        "k8s_distribution": dist,
        "traefik_dashboard_password": _secret(existing, "traefik_dashboard_password"),
        "rootCA": str(Path(values["CONFIG_FOLDER"]) / "ca.crt"),
        "storage_class": "microk8s-hostpath" if dist == "microk8s" else "local-path",
    }
    for key, default in CLUSTER_YAML_DEFAULTS.items():
        cluster[key] = existing.get(key, default)
    if "storage_class" in existing and existing.get("k8s_distribution") == dist:
        cluster["storage_class"] = existing["storage_class"]
    for key, value in existing.items():  # optional keys: selfsigned, externalCA, ...
        cluster.setdefault(key, value)
    return cluster


def build_microk8s_launch_config(domain: str) -> dict:
    return {"version": "0.2.0", "extraSANs": [domain], "addons": [{"name": "dns"}]}


def build_realm(domain: str, client_secret: str, admin_group: str) -> dict:
    """A Keycloak realm ``maia`` with the ``maia`` OIDC client and the admin group."""
    return {
        "realm": "maia",
        "enabled": True,
        "sslRequired": "external",
        "groups": [{"name": admin_group, "path": f"/{admin_group}"}],
        "clients": [
            {
                "clientId": "maia",
                "name": "MAIA",
                "enabled": True,
                "protocol": "openid-connect",
                "publicClient": False,
                "clientAuthenticatorType": "client-secret",
                "secret": client_secret,
                "standardFlowEnabled": True,
                "directAccessGrantsEnabled": False,
                "rootUrl": f"https://maia.{domain}",
                "redirectUris": [f"https://{domain}/*", f"https://*.{domain}/*"],
                "webOrigins": [f"https://{domain}", f"https://*.{domain}"],
                "protocolMappers": [
                    {
                        "name": "groups",
                        "protocol": "openid-connect",
                        "protocolMapper": "oidc-group-membership-mapper",
                        "config": {
                            "claim.name": "groups",
                            "full.path": "false",
                            "id.token.claim": "true",
                            "access.token.claim": "true",
                            "userinfo.token.claim": "true",
                        },
                    }
                ],
            }
        ],
    }


def generate_cifs_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=4096)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return private, public_pem(private)


def public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2) + "\n").encode()


def plan_files(values: dict, existing: Existing, cifs_key: bool) -> list[PlannedFile]:
    env = build_env(values, existing.env)
    cluster = build_cluster_yaml(values, existing.cluster)
    name = values["CLUSTER_NAME"]
    credentials = {
        "harbor_username": values.get("HARBOR_USERNAME", ""),
        "harbor_password": values.get("HARBOR_PASSWORD", ""),
    }
    planned = [
        PlannedFile("env.json", _json_bytes(env), SECRET_MODE),
        PlannedFile(f"{name}.yaml", dump_yaml(cluster).encode(), SECRET_MODE),
        PlannedFile("microk8s-config.yaml", dump_yaml(build_microk8s_launch_config(values["CLUSTER_DOMAIN"])).encode(), PUBLIC_MODE),
        PlannedFile("maia-registry-credentials.json", _json_bytes(credentials), SECRET_MODE),
        PlannedFile(
            "MAIA_realm.json",
            _json_bytes(build_realm(values["CLUSTER_DOMAIN"], env["keycloak_client_secret"], env["admin_group_ID"])),
            SECRET_MODE,
        ),
    ]
    if cifs_key:
        private = existing.cifs_private_pem
        public = public_pem(private) if private else None
        if private is None:
            private, public = generate_cifs_key()
        planned += [
            PlannedFile("cifs_key", private, SECRET_MODE),
            PlannedFile("cifs_key.pub", public, PUBLIC_MODE),
        ]
    return planned


def configure(
    env_json: Path | None,
    environ: dict,
    prompter: Prompter | None,
    cifs_key: bool | None,
    ask_cifs: Callable[[], bool] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> Result:
    """Collect, validate and write. Raises ConfigError before any write on bad input."""
    values, existing = collect_values(env_json, environ, prompter)
    validate(values)
    folder = Path(values["CONFIG_FOLDER"]).resolve()
    values["CONFIG_FOLDER"] = str(folder)
    if env_json is None and folder.is_dir():
        existing = read_existing(folder, values["CLUSTER_NAME"])
    if cifs_key is None:
        if existing.cifs_private_pem is not None:
            cifs_key = True
        elif ask_cifs is not None:
            cifs_key = ask_cifs()
        else:
            cifs_key = False
    if cifs_key and existing.cifs_private_pem is None:
        progress("generating the CIFS RSA-4096 key pair")
    planned = plan_files(values, existing, cifs_key)

    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    old_mode = folder.stat().st_mode & 0o7777
    try:
        os.chmod(folder, FOLDER_MODE)
        changed = write_files_atomically(folder, planned)
    except BaseException:
        os.chmod(folder, old_mode)
        if created:
            for leftover in folder.iterdir():
                leftover.unlink()
            folder.rmdir()
        raise
    return Result(folder, [p.name for p in planned], changed)
