"""Rancher stand-in: the parts of Rancher's v3 API stage 4 uses for the local cluster's kubeconfig.

Over HTTPS (``HttpsServiceStandin``), checked as Rancher checks them:

- ``POST /v3-public/localProviders/local?action=login`` with ``{"username": "admin", "password"}``:
  the admin's password it is started with (or a callable giving it); 201 and a session token
  ``{"token": "token-xxxxx:<secret>"}``, 401 otherwise;
- every ``/v3/`` request needs a token that exists and is not revoked, as ``Authorization: Bearer
  <name>:<secret>`` (or HTTP basic with the name and the secret); 401 otherwise;
- ``GET``/``PUT /v3/settings/<name>`` (``{"value": "<string>"}``; 404 for an unknown setting,
  400 for a value that is not a string);
- ``GET /v3/tokens`` (names and descriptions only, never a secret), ``POST /v3/tokens`` (a new API
  token, 201), ``DELETE /v3/tokens/<name>`` (revoke, 204);
- ``GET /v3/clusters/local`` and ``POST /v3/clusters/local?action=generateKubeconfig``: a
  kubeconfig for ``https://<name>/k8s/clusters/local`` holding a new token made for it, as Rancher
  does with its default ``kubeconfig-generate-token``.

``revoke(name)`` (or ``revoke_all()``) removes tokens as an administrator would in Rancher's UI;
a test uses it to make the recorded token stop working. Not emulated: users other than ``admin``,
token expiry (TTL), other clusters, ``/v1`` (Steve). See docs/standins.md.
"""
from __future__ import annotations

import base64
import hmac
import secrets as _secrets

import yaml

from .https_service import HttpsServiceStandin, ServiceError, current

SETTINGS = {"eula-agreed": "", "first-login": "true", "telemetry-opt": "prompt", "server-url": ""}


def _unauthorized():
    return ServiceError(401, {"type": "error", "status": 401, "code": "Unauthorized", "message": "must authenticate"})


class RancherStandin(HttpsServiceStandin):
    """Rancher on ``https://<names[0]>:<port>``; ``admin_password``: the local admin's password (or a
    callable giving it, asked at each login)."""

    def __init__(self, names, admin_password, **kwargs):
        super().__init__(names, **kwargs)
        self._password = admin_password
        self.settings = dict(SETTINGS)
        self.tokens = {}  # name -> {"secret", "description", "kind"}

    # ---- for tests ------------------------------------------------------------------
    def revoke(self, name):
        self.tokens.pop(name, None)

    def revoke_all(self):
        self.tokens.clear()

    def token_names(self, kind=None):
        return sorted(n for n, t in self.tokens.items() if kind is None or t["kind"] == kind)

    # ---- the API ----------------------------------------------------------------------
    def _new_token(self, prefix, description, kind):
        name = f"{prefix}-{_secrets.token_hex(3)}"
        self.tokens[name] = {"secret": _secrets.token_urlsafe(40), "description": description, "kind": kind}
        return f"{name}:{self.tokens[name]['secret']}", name

    def _authenticate(self, header):
        if header.startswith("Bearer "):
            name, _, secret = header.removeprefix("Bearer ").partition(":")
        elif header.startswith("Basic "):
            try:
                name, _, secret = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
            except ValueError:
                raise _unauthorized() from None
        else:
            raise _unauthorized()
        token = self.tokens.get(name)
        if token is None or not hmac.compare_digest(secret.encode(), token["secret"].encode()):
            raise _unauthorized()

    def handle(self, request):
        path, method = request.path.rstrip("/"), request.method
        action = (request.query.get("action") or [""])[0]
        if path == "/v3-public/localProviders/local" and method == "POST" and action == "login":
            return self._login(request)
        if not path.startswith("/v3/"):
            raise ServiceError(404, {"type": "error", "status": 404, "code": "NotFound"})
        self._authenticate(request.headers.get("Authorization") or "")
        parts = path.split("/")[2:]
        if parts[0] == "settings" and len(parts) == 2:
            return self._setting(request, parts[1])
        if parts[0] == "tokens":
            return self._tokens(request, parts[1:])
        if parts[:2] == ["clusters", "local"] and len(parts) == 2:
            if method == "GET":
                return 200, {"type": "cluster", "id": "local", "name": "local", "state": "active"}
            if method == "POST" and action == "generateKubeconfig":
                return 200, {"type": "generateKubeConfigOutput", "config": self._kubeconfig()}
        raise ServiceError(404 if method == "GET" else 405, {"type": "error", "code": "NotFound"})

    def _login(self, request):
        body = self.json_body(request)
        expected = current(self._password)
        if not (isinstance(body, dict) and body.get("username") == "admin" and isinstance(body.get("password"), str)
                and hmac.compare_digest(body["password"].encode(), str(expected).encode())):
            raise ServiceError(401, {"type": "error", "status": 401, "code": "Unauthorized",
                                     "message": "authentication failed"})
        token, name = self._new_token("token", body.get("description") or "session", "session")
        return 201, {"type": "token", "name": name, "token": token, "userId": "user-admin"}

    def _setting(self, request, name):
        if name not in self.settings:
            raise ServiceError(404, {"type": "error", "code": "NotFound", "message": f"settings {name} not found"})
        if request.method == "PUT":
            body = self.json_body(request)
            if not isinstance(body, dict) or not isinstance(body.get("value"), str):
                raise ServiceError(400, {"type": "error", "code": "InvalidBodyContent", "message": "value must be a string"})
            self.settings[name] = body["value"]
        elif request.method != "GET":
            raise ServiceError(405)
        return 200, {"type": "setting", "id": name, "name": name, "value": self.settings[name]}

    def _tokens(self, request, rest):
        if request.method == "GET" and not rest:
            return 200, {"type": "collection", "data": [
                {"type": "token", "id": n, "name": n, "description": t["description"]} for n, t in self.tokens.items()]}
        if request.method == "POST" and not rest:
            body = self.json_body(request) or {}
            token, name = self._new_token("token", str(body.get("description") or ""), "api")
            return 201, {"type": "token", "name": name, "token": token}
        if request.method == "DELETE" and len(rest) == 1:
            if rest[0] not in self.tokens:
                raise ServiceError(404, {"type": "error", "code": "NotFound"})
            self.revoke(rest[0])
            return 204, None
        raise ServiceError(405)

    def _kubeconfig(self):
        token, _ = self._new_token("kubeconfig-user", "Kubeconfig token", "kubeconfig")
        server = f"{self.url}/k8s/clusters/local"
        return yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "local", "cluster": {"server": server}}],
            "users": [{"name": "local", "user": {"token": token}}],
            "contexts": [{"name": "local", "context": {"user": "local", "cluster": "local"}}],
            "current-context": "local",
        }, sort_keys=False)
