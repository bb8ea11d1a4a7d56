"""The configuration step: collect a site's values and write its CONFIG_FOLDER.

This is the logic behind ``maia-configure`` (also installed as
``MAIA_Configure_Installation.sh``). It writes the same files, keys and defaults
as the MAIA toolkit's ``MAIA_Configure_Installation.sh`` and re-runs on a folder
that script made. Values come from a given env.json, then the environment, then
the existing CONFIG_FOLDER, then prompts. Everything is validated before anything
is written, and the files are written all together or not at all (see
:func:`maia_salt.files.commit_folder`).

Why one module of this size (about 650 lines): it follows the toolkit's script value by value
(each with its prompt, default and check) so that the two can be compared side by side; the
file writing lives in ``maia_salt.files`` and the inventory in ``maia_salt.inventory``.
"""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import bcrypt
import yaml
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from . import cluster_guard
from . import realm as realm_source
from .admin.context import harbor_admin_password
from .files import CommitReport, FolderError, PlannedFile, check_folder, commit_folder, dump_yaml, load_yaml_unique
from .registry_credentials import FILE_NAME as CREDENTIALS_FILE
from .registry_credentials import CredentialsError, read_key_file, toolkit_form

DISTRIBUTIONS = ("microk8s", "rke2", "k3s", "k0s")
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
CHART_VERSION_VARIABLES = {
    "core_project_version": "CORE_PROJECT_CHART_VERSION",
    "admin_project_version": "ADMIN_PROJECT_CHART_VERSION",
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
SSH_PORT_TYPES = ("NodePort", "LoadBalancer")
URL_TYPES = ("subdomain", "subpath")

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

# Whole-string patterns, used with fullmatch (a trailing newline never passes).
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")
_DNS_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_K8S_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_REGISTRY = re.compile(
    r"((https?|oci)://)?"  # optional scheme
    r"[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:\d{1,5})?"  # host[:port]
    r"(/[A-Za-z0-9._-]+)*/?"  # optional project path
)
_CHART_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Prompter = Callable[[str, str, bool], str]


class ConfigError(Exception):
    """Bad or missing input; ``problems`` holds one message per value."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class Existing:
    """What a previous run (ours or the toolkit's) left in CONFIG_FOLDER."""

    env: dict = field(default_factory=dict)
    cluster: dict = field(default_factory=dict)
    credentials: tuple[str, str] | None = None
    cifs_private_pem: bytes | None = None  # None: no key; b"": the empty file of a declined key
    cifs_public: bytes | None = None
    realm: bytes | None = None


@dataclass
class Result:
    config_folder: Path
    written: list[str]
    changed: list[str]
    modes: list[tuple[str, int, int]] = field(default_factory=list)
    atomic: bool = True
    other_clusters: list[str] = field(default_factory=list)  # other cluster YAMLs found in the folder


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


# -------------------------------------------------------------- validation ---


def _one_of(values: dict, name: str, allowed) -> list[str]:
    value = values.get(name)
    if value is None or value in allowed:
        return []
    return [f"{name}={value!r} is not supported: use one of {', '.join(allowed)}"]


def validate(values: dict) -> None:
    problems = []
    for name, value in values.items():
        if not isinstance(value, str):
            problems.append(f"{name}={value!r} is not a string: give it as text")
        elif name != "REGISTRY_PASSWORD" and _CONTROL.search(value):
            problems.append(f"{name}={value!r} holds a newline or control character: remove it")
    if problems:
        raise ConfigError(problems)
    problems += _one_of(values, "K8S_DISTRIBUTION", DISTRIBUTIONS)
    for name in ("INGRESS_RESOLVER_EMAIL", "ADMIN_EMAIL"):
        email = values.get(name, "")
        if email and not _EMAIL.fullmatch(email):
            problems.append(f"{name}={email!r} is not an email address: give e.g. admin@example.com, or leave it empty")
    domain = values.get("CLUSTER_DOMAIN", "")
    if not domain or len(domain) > 253 or not all(_DNS_LABEL.fullmatch(label) for label in domain.split(".")):
        problems.append(
            f"CLUSTER_DOMAIN={domain!r} is not a DNS name: use lowercase letters, digits, '-' and '.', e.g. maia.example.com"
        )
    name = values.get("CLUSTER_NAME", "")
    if not _DNS_LABEL.fullmatch(name):
        problems.append(
            f"CLUSTER_NAME={name!r} is not a DNS label: use up to 63 lowercase letters, digits and '-', e.g. maia-cluster"
        )
    folder = values.get("CONFIG_FOLDER", "")
    if not folder:
        problems.append("CONFIG_FOLDER is empty: give a folder path, e.g. /opt/maia/config")
    registry = values.get("MAIA_PRIVATE_REGISTRY", "")
    if registry and not _REGISTRY.fullmatch(registry):
        problems.append(
            f"MAIA_PRIVATE_REGISTRY={registry!r} is not a registry address: use e.g. registry.example.com/maia "
            f"or https://harbor.example.com"
        )
    problems += _one_of(values, "SSH_PORT_TYPE", SSH_PORT_TYPES)
    problems += _one_of(values, "URL_TYPE", URL_TYPES)
    for var in ("STORAGE_CLASS", "SHARED_STORAGE_CLASS"):
        value = values.get(var)
        if value is not None and not _K8S_NAME.fullmatch(value):
            problems.append(f"{var}={value!r} is not a Kubernetes StorageClass name: use lowercase letters, digits, '-' and '.'")
    bucket = values.get("BUCKET_NAME")
    if bucket is not None and not _BUCKET.fullmatch(bucket):
        problems.append(f"BUCKET_NAME={bucket!r} is not an S3 bucket name: use 3-63 lowercase letters, digits, '-' and '.'")
    for var in ("PORT_RANGE_LOWER_BOUND", "PORT_RANGE_UPPER_BOUND"):
        value = values.get(var)
        if value is not None and not (value.isdigit() and 1 <= int(value) <= 65535):
            problems.append(f"{var}={value!r} is not a port number: use 1-65535")
    for key, var in CHART_VERSION_VARIABLES.items():
        value = values.get(var)
        if value is not None and not _CHART_VERSION.fullmatch(value):
            problems.append(f"{var}={value!r} is not a chart version: use e.g. 1.2.3")
    if problems:
        raise ConfigError(problems)


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


def configure(
    env_json: Path | None,
    environ: dict,
    prompter: Prompter | None,
    cifs_key: bool | None,
    ask_cifs: Callable[[], bool] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
    realm_template: str | None = None,
) -> Result:
    """Collect, validate and write. Raises ConfigError before any write on bad input."""
    values, existing = collect_values(env_json, environ, prompter)
    validate(values)
    folder = Path(values["CONFIG_FOLDER"]).resolve()
    values["CONFIG_FOLDER"] = str(folder)
    try:
        check_folder(folder)
    except FolderError as exc:
        raise ConfigError([str(exc)])
    if env_json is None and not existing.env and folder.is_dir():
        existing = read_existing(folder, values["CLUSTER_NAME"])
    problems = cluster_guard.name_problems(folder, existing.env.get("cluster_name"), values["CLUSTER_NAME"])
    if problems:
        raise ConfigError(problems)
    if cifs_key is None:
        if existing.cifs_private_pem:
            cifs_key = True
        elif ask_cifs is not None:
            cifs_key = ask_cifs()
        else:
            cifs_key = False
    if cifs_key and not existing.cifs_private_pem:
        progress("generating the CIFS RSA-4096 key pair")
    realm = None
    if not _realm_is_kept(existing.realm):
        try:
            realm = realm_source.realm_template(environ, realm_template)
        except realm_source.RealmError as exc:
            raise ConfigError([str(exc)])
    planned = plan_files(values, existing, cifs_key, realm)
    try:
        report: CommitReport = commit_folder(folder, planned, FOLDER_MODE)
    except FolderError as exc:
        raise ConfigError([str(exc)])
    return Result(folder, [p.name for p in planned], report.changed, report.modes, report.atomic,
                  other_clusters=cluster_guard.other_clusters(folder, values["CLUSTER_NAME"]))
