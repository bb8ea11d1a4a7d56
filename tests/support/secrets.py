"""Every generated secret of a site, and a search for them where Salt writes.

``site_secrets(folder)`` collects the secrets of a CONFIG_FOLDER: the secret
values of env.json (passwords, tokens, client secrets, the bcrypt hash), those
the admin layer uses or derives from them (``admin:<name>``), the
cluster YAML's passwords, the registry credentials, the CIFS private key and
the token (and client key) of every kubeconfig in the folder. ``find_secrets``
searches files and directories (Salt logs, the master's job cache, the
minion's cache) and texts (state returns, ``maia install`` output) for them
and returns where each was found, without printing the values.

Salt stores job returns msgpack-encoded: strings are stored as raw UTF-8 bytes,
so a byte search of the cache files finds them.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

# env.json / cluster YAML keys whose values are generated secrets.
SECRET_KEY = re.compile(r"(password|secret|token|_key$|^ARGOCD_PASSWORD$|bcrypt)", re.I)
MIN_LENGTH = 6  # shorter values (flags, empty strings) would match by chance


def _secret_values(data: dict) -> dict[str, str]:
    return {
        key: value
        for key, value in data.items()
        if isinstance(value, str) and len(value) >= MIN_LENGTH and SECRET_KEY.search(key)
    }


def _kubeconfig_secrets(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    found = {}
    for user in data.get("users") or []:
        for key in ("token", "client-key-data", "password"):
            value = (user.get("user") or {}).get(key)
            if isinstance(value, str) and len(value) >= MIN_LENGTH:
                found[f"{path.name}:{user.get('name')}:{key}"] = value
    return found


def admin_secrets(env: dict, cluster: dict) -> dict[str, str]:
    """The secrets the admin layer (stage 4) puts in its Applications, as its library
    takes them: env.json's, and those it derives when env.json has none (the
    dashboard's MySQL password, Harbor's admin password)."""
    from maia_salt.admin.context import _site_secrets
    from maia_salt.admin.services import admin_user_password

    used = _site_secrets(env, str(cluster.get("domain") or ""), [])
    # the Keycloak admin user's first password (stage 4's configuration)
    used["admin_initial_password"] = admin_user_password(env, str(cluster.get("domain") or ""))
    return {f"admin:{k}": v for k, v in used.items() if isinstance(v, str) and len(v) >= MIN_LENGTH}


def site_secrets(folder) -> dict[str, str]:
    """``{label: value}`` of every secret the site's CONFIG_FOLDER holds."""
    folder = Path(folder)
    secrets: dict[str, str] = {}
    env = json.loads((folder / "env.json").read_text(encoding="utf-8"))
    secrets.update({f"env.json:{k}": v for k, v in _secret_values(env).items()})
    cluster_file = folder / f"{env['cluster_name']}.yaml"
    cluster = {}
    if cluster_file.is_file():
        cluster = yaml.safe_load(cluster_file.read_text(encoding="utf-8")) or {}
        secrets.update({f"{cluster_file.name}:{k}": v for k, v in _secret_values(cluster).items()})
    secrets.update(admin_secrets(env, cluster))
    credentials = folder / "maia-registry-credentials.json"
    if credentials.is_file():
        data = json.loads(credentials.read_text(encoding="utf-8"))
        secrets.update({f"registry:{k}": v for k, v in data.items()
                        if isinstance(v, str) and len(v) >= MIN_LENGTH and "password" in k.lower()})
    cifs_key = folder / "cifs_key"
    if cifs_key.is_file():
        body = [line for line in cifs_key.read_text(encoding="ascii").splitlines() if line and "-----" not in line]
        # one line of the key's base64 body is enough to recognise it anywhere
        secrets.update({f"cifs_key:line{i}": line for i, line in enumerate(body[:3]) if len(line) >= 32})
    # local.yaml: Rancher's kubeconfig of the local cluster (maia_rancher.local_kubeconfig)
    for kubeconfig in [*folder.glob("*kubeconfig*.yaml"), folder / "local.yaml"]:
        secrets.update(_kubeconfig_secrets(kubeconfig))
    return secrets


def _paths(where) -> list[Path]:
    out = []
    for item in where:
        path = Path(item)
        if path.is_dir():
            out += [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
        elif path.is_file():
            out.append(path)
    return out


def find_secrets(secrets: dict[str, str], paths=(), texts: dict[str, str] | None = None) -> list[str]:
    """``["<label> in <where>", ...]`` for every secret found; empty when clean."""
    hits = []
    needles = {label: value.encode() for label, value in secrets.items() if value}
    for path in _paths(paths):
        try:
            data = path.read_bytes()
        except OSError:
            continue
        hits += [f"{label} in {path}" for label, needle in needles.items() if needle in data]
    for name, text in (texts or {}).items():
        hits += [f"{label} in {name}" for label, value in secrets.items() if value and value in text]
    return hits


# Where Salt keeps job data in its cache directory: the master's job cache,
# a minion's running jobs and its own job returns. (The master's cache of each
# minion's compiled pillar, cachedir/minions, holds pillar by design and is
# not searched.)
JOB_DIRS = ("jobs", "proc", "minion_jobs")


def salt_places(*configs) -> list[Path]:
    """Log files and job caches of Salt daemons (salt-factories daemons or opts dicts)."""
    places = []
    for config in configs:
        config = getattr(config, "config", config)
        for key in ("log_file", "key_logfile"):
            if config.get(key):
                places.append(Path(config[key]))
        if config.get("cachedir"):
            places += [Path(config["cachedir"]) / d for d in JOB_DIRS]
    return places


# derived on the control plane when stage 4 renders (maia_salt.admin.services), from a secret the
# folder holds: in neither the folder's files nor the pillar
DERIVED_ON_HOSTS = frozenset({"admin:admin_initial_password"})


def stored_secrets(folder) -> dict[str, str]:
    """``site_secrets`` less the ones the hosts derive (``DERIVED_ON_HOSTS``) when env.json has none."""
    env = json.loads((Path(folder) / "env.json").read_text(encoding="utf-8")) if (Path(folder) / "env.json").is_file() else {}
    return {k: v for k, v in site_secrets(folder).items() if k not in DERIVED_ON_HOSTS or k.split(":", 1)[1] in env}
