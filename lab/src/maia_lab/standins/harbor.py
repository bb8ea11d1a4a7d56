"""Harbor stand-in: ``/api/v2.0/configurations`` as Harbor 2.x serves it, for stage 4's OIDC settings.

Over HTTPS (``HttpsServiceStandin``), with HTTP basic authentication of the user ``admin`` and
the admin password it is started with (401 otherwise, as Harbor answers a wrong password):

- ``GET`` gives every setting as ``{"value": ..., "editable": true}``; like Harbor it never
  returns ``oidc_client_secret`` (nor any other password);
- ``PUT`` takes a flat ``{key: value}`` of known keys with values of the key's type (400 naming
  the key otherwise) and stores them; ``auth_mode`` must be ``db_auth``, ``ldap_auth``,
  ``uaa_auth``, ``http_auth`` or ``oidc_auth``.

Not emulated: Harbor's refusal to change ``auth_mode`` once users other than admin exist, the
other endpoints. See docs/standins.md.
"""
from __future__ import annotations

import base64
import hmac

from .https_service import HttpsServiceStandin, ServiceError, current

DEFAULTS = {
    "auth_mode": "db_auth",
    "oidc_name": "",
    "oidc_endpoint": "",
    "oidc_client_id": "",
    "oidc_scope": "",
    "oidc_verify_cert": True,
    "oidc_auto_onboard": False,
    "oidc_user_claim": "",
    "oidc_groups_claim": "",
    "oidc_admin_group": "",
    "oidc_group_filter": "",
    "project_creation_restriction": "everyone",
    "self_registration": False,
}
SECRET_KEYS = ("oidc_client_secret",)
AUTH_MODES = ("db_auth", "ldap_auth", "uaa_auth", "http_auth", "oidc_auth")


class HarborStandin(HttpsServiceStandin):
    """Harbor on ``https://<names[0]>:<port>``; ``admin_password`` is its admin's password (or a
    callable giving it, asked at each request)."""

    def __init__(self, names, admin_password, **kwargs):
        super().__init__(names, **kwargs)
        self._password = admin_password
        self.settings = dict(DEFAULTS)
        self.secrets = {}

    def handle(self, request):
        if request.path.rstrip("/") != "/api/v2.0/configurations":
            raise ServiceError(404, {"errors": [{"code": "NOT_FOUND", "message": "not found"}]})
        self._authenticate(request.headers.get("Authorization") or "")
        if request.method == "GET":
            return 200, {k: {"value": v, "editable": True} for k, v in self.settings.items()}
        if request.method != "PUT":
            raise ServiceError(405, {"errors": [{"code": "METHOD_NOT_ALLOWED", "message": request.method}]})
        body = self.json_body(request)
        if not isinstance(body, dict):
            raise ServiceError(400, {"errors": [{"code": "BAD_REQUEST", "message": "a JSON object is required"}]})
        for key, value in body.items():
            known = DEFAULTS.get(key, "" if key in SECRET_KEYS else None)
            if known is None or type(value) is not type(known):
                raise ServiceError(400, {"errors": [{"code": "BAD_REQUEST", "message": f"invalid value of {key}"}]})
        if "auth_mode" in body and body["auth_mode"] not in AUTH_MODES:
            raise ServiceError(400, {"errors": [{"code": "BAD_REQUEST", "message": "invalid auth_mode"}]})
        for key, value in body.items():
            (self.secrets if key in SECRET_KEYS else self.settings)[key] = value
        return 200, None

    def _authenticate(self, header):
        try:
            user, _, password = base64.b64decode(header.removeprefix("Basic ")).decode().partition(":")
        except ValueError:
            user, password = "", ""
        expected = current(self._password)
        if not header.startswith("Basic ") or user != "admin" or not hmac.compare_digest(password.encode(), expected.encode()):
            raise ServiceError(401, {"errors": [{"code": "UNAUTHORIZED", "message": "UnAuthorized"}]})
