"""Rancher's local cluster, as the controller keeps it: an API token and the ``local.yaml`` kubeconfig.

What the collection's ``configure_oidc_authentication`` (Rancher EULA) and
``get_kubeconfig_from_rancher_local`` do, over Rancher's v3 API (docs/admin.md, "Rancher"):

1. the recorded token (env.json ``rancher_token``) is kept when Rancher still accepts it
   (``GET /v3/clusters/local``) and ``local.yaml`` holds it: then nothing is written anywhere;
2. otherwise log in as ``admin`` with ``rancher_password``
   (``POST /v3-public/localProviders/local?action=login``);
3. the first-login settings: ``eula-agreed`` (set to the time of acceptance when empty) and
   ``first-login`` (``"false"``), each read first and written only when it differs;
4. when the token is not kept: ``POST /v3/clusters/local?action=generateKubeconfig``, which makes
   a new token for the kubeconfig; that token is the one recorded, as the collection records it.

``converge`` returns what to write; it never writes a file (the runner does). What Rancher
returns is data: the kubeconfig is rebuilt from its server, CA data and token only, and its
server must be ``https://mgmt.<domain>[:port]/k8s/clusters/local``. No message holds a
token or the password.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import yaml

LOGIN = "/v3-public/localProviders/local?action=login"
LOCAL_CLUSTER = "/v3/clusters/local"
SETTINGS = {"first-login": "false"}
EULA = "eula-agreed"


class RancherError(RuntimeError):
    """Rancher refused or answered something unusable; the message holds no secret."""


@dataclass
class Outcome:
    token: str
    kubeconfig: str | None  # None: local.yaml stays as it is
    token_replaced: bool
    settings: dict = field(default_factory=dict)  # {name: {"old", "new"}} (changed or, under test, to change)


def kubeconfig_token(text: str | None) -> str | None:
    """The token of ``local.yaml``'s first user (None when there is none)."""
    try:
        doc = yaml.safe_load(text or "") or {}
        return str(((doc.get("users") or [{}])[0].get("user") or {}).get("token") or "") or None
    except (yaml.YAMLError, AttributeError, IndexError, TypeError):
        return None


def checked_kubeconfig(text: str, base_url: str) -> tuple[str, str]:
    """``(local.yaml text, token)`` rebuilt from Rancher's answer: one cluster with ``server`` (and
    ``certificate-authority-data``), one user with ``token``; nothing else passes."""
    try:
        doc = yaml.safe_load(text)
        cluster = doc["clusters"][0]["cluster"]
        token = doc["users"][0]["user"]["token"]
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        raise RancherError("Rancher's generateKubeconfig answer is not a kubeconfig with a cluster and a user token") from None
    server = cluster.get("server") if isinstance(cluster, dict) else None
    expected = urlsplit(base_url)
    got = urlsplit(server) if isinstance(server, str) else None
    if not got or (got.scheme, got.hostname, got.path.rstrip("/")) != ("https", expected.hostname, "/k8s/clusters/local"):
        raise RancherError(f"Rancher's kubeconfig names server {server!r}, not {base_url}/k8s/clusters/local: nothing written")
    if not isinstance(token, str) or not token or "\n" in token:
        raise RancherError("Rancher's kubeconfig holds no usable token: nothing written")
    entry = {"server": server}
    if isinstance(cluster.get("certificate-authority-data"), str):
        entry["certificate-authority-data"] = cluster["certificate-authority-data"]
    out = {"apiVersion": "v1", "kind": "Config", "clusters": [{"name": "local", "cluster": entry}],
           "users": [{"name": "local", "user": {"token": token}}],
           "contexts": [{"name": "local", "context": {"cluster": "local", "user": "local"}}],
           "current-context": "local"}
    return yaml.safe_dump(out, sort_keys=False), token


class Rancher:
    """Rancher's v3 API at ``base_url`` over ``http`` (a requests Session that verifies TLS)."""

    def __init__(self, http, base_url, timeout=30):
        self.http, self.base_url, self.timeout = http, base_url.rstrip("/"), timeout

    def _call(self, method, path, token=None, body=None, ok=(200, 201)):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            resp = self.http.request(method, self.base_url + path, json=body, headers=headers, timeout=self.timeout)
        except Exception as exc:  # requests' errors name the URL, never a header
            raise RancherError(f"cannot reach Rancher at {self.base_url}: {type(exc).__name__}: {exc}") from None
        if resp.status_code not in ok:
            raise RancherError(f"Rancher answered {resp.status_code} to {method} {path.split('?')[0]}")
        return resp

    def token_works(self, token):
        if not token:
            return False
        try:
            self._call("GET", LOCAL_CLUSTER, token)
        except RancherError as exc:
            if " 401 " in f" {exc} " or " 403 " in f" {exc} ":
                return False
            raise
        return True

    def login(self, password):
        try:
            resp = self._call("POST", LOGIN, body={"username": "admin", "password": password, "responseType": "json"})
        except RancherError as exc:
            if "answered 401" in str(exc):
                raise RancherError(f"Rancher at {self.base_url} refused user admin with env.json rancher_password "
                                   "(was the password changed in Rancher?): nothing written") from None
            raise
        token = (resp.json() or {}).get("token") if resp.content else None
        if not isinstance(token, str) or not token:
            raise RancherError("Rancher's login answer holds no token")
        return token

    def setting(self, name, token):
        return str((self._call("GET", f"/v3/settings/{name}", token).json() or {}).get("value") or "")

    def set_setting(self, name, value, token):
        self._call("PUT", f"/v3/settings/{name}", token, {"value": value})

    def generate_kubeconfig(self, token):
        resp = self._call("POST", f"{LOCAL_CLUSTER}?action=generateKubeconfig", token)
        return checked_kubeconfig(str((resp.json() or {}).get("config") or ""), self.base_url)


def wanted_settings(current: dict, now=None) -> dict:
    """{name: new value} of the first-login settings that differ from ``current``."""
    now = now or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    out = {k: v for k, v in SETTINGS.items() if current.get(k) != v}
    if not current.get(EULA):
        out[EULA] = now
    return out


def converge(api: Rancher, password: str, recorded: str | None, local_yaml: str | None, test=False) -> Outcome:
    """What the site's Rancher files must become (module docstring); under ``test`` nothing is
    written to Rancher and a token that must be replaced is predicted, not made."""
    keep = bool(recorded) and kubeconfig_token(local_yaml) == recorded and api.token_works(recorded)
    if test and not keep:
        return Outcome(token="", kubeconfig=None, token_replaced=True,
                       settings={k: {"old": None, "new": v} for k, v in wanted_settings({}).items()})
    auth = recorded if keep else api.login(password)
    current = {name: api.setting(name, auth) for name in (*SETTINGS, EULA)}
    changes = {}
    for name, value in wanted_settings(current).items():
        if not test:
            api.set_setting(name, value, auth)
        changes[name] = {"old": current.get(name), "new": value}
    if keep:
        return Outcome(token=recorded, kubeconfig=None, token_replaced=False, settings=changes)
    text, token = api.generate_kubeconfig(auth)
    return Outcome(token=token, kubeconfig=text, token_replaced=True, settings=changes)
