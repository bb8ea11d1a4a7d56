"""The values of ``maia-configure``: the variables it asks for, and where each comes from (a
given env.json, the environment, the existing CONFIG_FOLDER, prompts), as the MAIA toolkit's
``MAIA_Configure_Installation.sh`` collects them; checked by ``configure_checks``, written by
``configure_files``, run by ``maia_salt.configure``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from .configure_checks import _DNS_LABEL, CHART_VERSION_VARIABLES, ConfigError
from .files import load_yaml_unique
from .registry_credentials import FILE_NAME as CREDENTIALS_FILE
from .registry_credentials import CredentialsError, read_key_file

SECRET_MODE = 0o600
PUBLIC_MODE = 0o644
FOLDER_MODE = 0o700

# Secrets kept in env.json: generated once (hex, as the toolkit does), kept on every re-run.
ENV_SECRETS = (
    "keycloak_client_secret",
    "dashboard_api_secret",
    "ARGOCD_PASSWORD",
    "rancher_password",
    "keycloak_admin_password",
    "minio_admin_password",
    "minio_root_password",
    "mysql_dashboard_password",
    "mongodb_dashboard_password",
)
# The toolkit 2.5.0 writes these on every run (MAIA.versions gives the versions,
# which CORE_PROJECT_CHART_VERSION / ADMIN_PROJECT_CHART_VERSION override).
MAIA_PROJECT_CHARTS = {
    "core_project_chart": "maia-core-project",
    "core_project_repo": "https://minnelab.github.io/MAIA/",
    "core_project_version": "1.2.3",
    "admin_project_chart": "maia-admin-project",
    "admin_project_repo": "https://minnelab.github.io/MAIA/",
    "admin_project_version": "1.1.0",
}
DEFAULT_ADMIN_EMAIL = "admin@maia.io"

# Cluster YAML keys the toolkit's environment overrides set: (variable, key, default).
CLUSTER_OVERRIDES = (
    ("SSH_PORT_TYPE", "ssh_port_type", "NodePort"),
    ("SHARED_STORAGE_CLASS", "shared_storage_class", "nfs-client"),
    ("URL_TYPE", "url_type", "subdomain"),
    ("BUCKET_NAME", "bucket_name", "maia-envs"),
)
PORT_RANGE_DEFAULT = (30000, 31000)

VARIABLES = (
    "MAIA_PRIVATE_REGISTRY",
    "CLUSTER_DOMAIN",
    "CLUSTER_NAME",
    "CONFIG_FOLDER",
    "INGRESS_RESOLVER_EMAIL",
    "K8S_DISTRIBUTION",
)
CREDENTIAL_VARIABLES = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD")
# The Ansible collection's documentation names these; the toolkit reads REGISTRY_*.
CREDENTIAL_ALIASES = {"REGISTRY_USERNAME": "HARBOR_USERNAME", "REGISTRY_PASSWORD": "HARBOR_PASSWORD"}
OPTIONAL_VARIABLES = (
    "PUBLIC_REGISTRY", "JSON_KEY_PATH", "RANCHER_TOKEN", "ADMIN_EMAIL", "STORAGE_CLASS",
    "PORT_RANGE_LOWER_BOUND", "PORT_RANGE_UPPER_BOUND",
    *(variable for variable, _, _ in CLUSTER_OVERRIDES),
    *CHART_VERSION_VARIABLES.values(),
)
SECRET_VARIABLES = ("REGISTRY_PASSWORD",)

PROMPTS = {
    "MAIA_PRIVATE_REGISTRY": "Private MAIA registry URL (empty for public registries)",
    "REGISTRY_USERNAME": "Private registry username",
    "REGISTRY_PASSWORD": "Private registry password",
    "CLUSTER_DOMAIN": "Cluster domain (e.g. maia.example.com)",
    "CLUSTER_NAME": "Cluster name (e.g. maia-cluster)",
    "CONFIG_FOLDER": "Configuration folder (e.g. /opt/maia/config)",
    "INGRESS_RESOLVER_EMAIL": "Email for Let's Encrypt (may be empty)",
    "K8S_DISTRIBUTION": "Kubernetes distribution (microk8s, rke2, k3s, k0s)",
}

Prompter = Callable[[str, str, bool], str]


@dataclass
class Existing:
    """What a previous run (ours or the toolkit's) left in CONFIG_FOLDER."""

    env: dict = field(default_factory=dict)
    cluster: dict = field(default_factory=dict)
    credentials: tuple[str, str] | None = None
    cifs_private_pem: bytes | None = None  # None: no key; b"": the empty file of a declined key
    cifs_public: bytes | None = None
    realm: bytes | None = None


# ---------------------------------------------------------------- reading ---


def _load_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError([f"{what} {path} does not exist: give the path of an existing file"])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError([f"{what} {path} is not valid JSON ({exc}): fix or remove the file"])
    if not isinstance(data, dict):
        raise ConfigError([f"{what} {path} must hold a JSON object"])
    return data


# Keys of env.json that must be strings (the toolkit writes every one as a string).
ENV_STRING_KEYS = (
    "MAIA_PRIVATE_REGISTRY", "cluster_name", "CLUSTER_NAME", "CLUSTER_DOMAIN", "INGRESS_RESOLVER_EMAIL",
    "K8S_DISTRIBUTION", "JSON_KEY_PATH", "DEPLOY_KUBECONFIG", "MAIA_DASHBOARD_DOMAIN", "argocd_namespace",
    "admin_group_ID", "argocd_bcrypt_password", "rancher_token", "admin_email", "PUBLIC_REGISTRY",
    "CONFIG_FOLDER", "harbor_admin_password", *ENV_SECRETS, *MAIA_PROJECT_CHARTS,
)
CLUSTER_STRING_KEYS = (
    "domain", "ingress_resolver_email", "cluster_name", "k8s_distribution", "traefik_resolver",
    "traefik_dashboard_password", "rootCA", "storage_class", *(key for _, key, _ in CLUSTER_OVERRIDES),
)


def _check_types(data: dict, keys, where: str) -> list[str]:
    return [
        f"{where}: {key} is {data[key]!r} ({type(data[key]).__name__}), not a string: write it as a string"
        for key in keys
        if key in data and not isinstance(data[key], str)
    ]


def _read_cifs(folder: Path, existing: Existing) -> None:
    key = folder / "cifs_key"
    if not key.is_file():
        return
    try:
        existing.cifs_private_pem = key.read_bytes()
        pub = folder / "cifs_key.pub"
        existing.cifs_public = pub.read_bytes() if pub.is_file() else None
    except OSError as exc:
        raise ConfigError([f"{key} cannot be read ({exc.strerror}): fix its permissions"])


def read_existing(folder: Path, cluster_name: str | None, env: dict | None = None) -> Existing:
    existing = Existing()
    env_path = folder / "env.json"
    if env is not None:
        existing.env = env
    elif env_path.is_file():
        existing.env = _load_json(env_path, "env.json")
    problems = _check_types(existing.env, ENV_STRING_KEYS, str(env_path))
    name = cluster_name or existing.env.get("cluster_name")
    cluster_path = folder / f"{name}.yaml" if isinstance(name, str) and _DNS_LABEL.fullmatch(name) else None
    if cluster_path is not None and cluster_path.is_file():
        try:
            existing.cluster = load_yaml_unique(cluster_path.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError([f"{cluster_path} is not valid YAML ({exc}): fix or remove it".replace("\n", " ")])
        if not isinstance(existing.cluster, dict):
            raise ConfigError([f"{cluster_path} must hold a mapping"])
        problems += _check_types(existing.cluster, CLUSTER_STRING_KEYS, str(cluster_path))
    creds = folder / CREDENTIALS_FILE
    if creds.is_file():
        try:
            existing.credentials = read_key_file(creds)
        except CredentialsError as exc:
            problems.append(str(exc))
    _read_cifs(folder, existing)
    realm_file = folder / "MAIA_realm.json"
    if realm_file.is_file():
        existing.realm = realm_file.read_bytes()
    if problems:
        raise ConfigError(problems)
    return existing


def _from_env_json(env_data: dict, cluster: dict, folder: Path) -> dict:
    """The variables an env.json (ours or the toolkit's) and its cluster YAML hold."""
    from_file = {
        "MAIA_PRIVATE_REGISTRY": env_data.get("MAIA_PRIVATE_REGISTRY"),
        "CLUSTER_NAME": env_data.get("cluster_name", env_data.get("CLUSTER_NAME")),
        "CLUSTER_DOMAIN": cluster.get("domain", env_data.get("CLUSTER_DOMAIN")),
        "INGRESS_RESOLVER_EMAIL": cluster.get("ingress_resolver_email", env_data.get("INGRESS_RESOLVER_EMAIL")),
        "K8S_DISTRIBUTION": cluster.get("k8s_distribution", env_data.get("K8S_DISTRIBUTION")),
        "CONFIG_FOLDER": str(folder),
    }
    return {k: v for k, v in from_file.items() if v is not None}


def _credentials(values: dict, environ: dict, env_data: dict, existing: Existing, problems: list[str]) -> None:
    """Registry credentials, first found: REGISTRY_*/HARBOR_* variables, the JSON_KEY_PATH
    file, the folder's maia-registry-credentials.json."""
    for name, alias in CREDENTIAL_ALIASES.items():
        given = {var: environ[var] for var in (name, alias) if environ.get(var)}
        if len(set(given.values())) > 1:
            problems.append(f"{name} and {alias} are both set and differ: set only one")
        elif given:
            values[name] = next(iter(given.values()))
    if all(values.get(name) for name in CREDENTIAL_VARIABLES):
        return
    key_path = environ.get("JSON_KEY_PATH")
    if key_path:  # given explicitly: it must be readable
        try:
            user, password = read_key_file(key_path)
        except CredentialsError as exc:
            problems.append(str(exc))
            return
    elif isinstance(env_data.get("JSON_KEY_PATH"), str) and Path(env_data["JSON_KEY_PATH"]).is_file():
        try:
            user, password = read_key_file(env_data["JSON_KEY_PATH"])
        except CredentialsError as exc:
            problems.append(str(exc))
            return
    elif existing.credentials is not None:
        user, password = existing.credentials
    else:
        return
    for name, value in zip(CREDENTIAL_VARIABLES, (user, password)):
        if not values.get(name):
            values[name] = value


def collect_values(
    env_json: Path | None,
    environ: dict,
    prompter: Prompter | None,
) -> tuple[dict, Existing]:
    """Resolve every variable: env.json first, then the environment, then the existing
    CONFIG_FOLDER, then prompts.

    ``prompter`` is None in non-interactive mode: then every missing value is
    reported at once.
    """
    values: dict[str, str] = {}
    env_data: dict = {}
    existing = Existing()
    if env_json is not None:
        env_json = Path(env_json).resolve()
        env_data = _load_json(env_json, "env.json")
        existing = read_existing(env_json.parent, None, env_data)
        values.update(_from_env_json(env_data, existing.cluster, env_json.parent))

    for name in (*VARIABLES, *OPTIONAL_VARIABLES):
        if name not in values and name in environ:
            values[name] = environ[name]

    folder = values.get("CONFIG_FOLDER")
    if env_json is None and folder and Path(folder, "env.json").is_file():
        env_data = _load_json(Path(folder, "env.json"), "env.json")
        existing = read_existing(Path(folder), values.get("CLUSTER_NAME"), env_data)
        for name, value in _from_env_json(env_data, existing.cluster, Path(folder)).items():
            values.setdefault(name, value)
    elif env_json is None and folder and Path(folder).is_dir():
        existing = read_existing(Path(folder), values.get("CLUSTER_NAME"))

    if values.get("PUBLIC_REGISTRY") == "1" and "MAIA_PRIVATE_REGISTRY" not in values:
        values["MAIA_PRIVATE_REGISTRY"] = ""

    problems: list[str] = []
    missing = []
    for name in VARIABLES:
        if name in values:
            continue
        if prompter is None:
            missing.append(name)
            continue
        values[name] = prompter(name, PROMPTS[name], False).strip()
    if values.get("MAIA_PRIVATE_REGISTRY"):
        _credentials(values, environ, env_data, existing, problems)
        for name in CREDENTIAL_VARIABLES:
            if values.get(name):
                continue
            if prompter is None:
                problems.append(
                    f"{name} is not set but MAIA_PRIVATE_REGISTRY is set: export {name} (or "
                    f"{CREDENTIAL_ALIASES[name]}), or give JSON_KEY_PATH, a key file with username and password"
                )
                continue
            values[name] = prompter(name, PROMPTS[name], name in SECRET_VARIABLES).strip()
    problems = [
        f"{name} is not set: export {name}=... or pass an env.json that has it" for name in missing
    ] + problems
    if problems:
        raise ConfigError(problems)
    if not values.get("MAIA_PRIVATE_REGISTRY"):
        values["PUBLIC_REGISTRY"] = "1"
        for name in CREDENTIAL_VARIABLES:
            values.pop(name, None)
    return values, existing


