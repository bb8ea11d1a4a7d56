"""Keycloak stand-in: the token endpoint and the admin REST API that python-keycloak calls for stage 4.

Serves one or more realms seeded from a realm export (the JSON of ``MAIA_realm.json``: its
``clients`` with their ``secret`` and ``serviceAccountsEnabled``, ``roles.client`` and top-level
``groups``), over HTTPS (``HttpsServiceStandin``). Checked as Keycloak checks them:

- ``POST /realms/<realm>/protocol/openid-connect/token``: ``client_credentials`` (a confidential
  client with a service account, its secret) and ``password`` (a user of the realm and its
  password, through any client of the realm); 401 ``invalid_client``/``invalid_grant`` otherwise;
- ``/admin/realms/<realm>/...``: a bearer token of that realm, else 401; clients (list with
  ``clientId``, get, create, update), client roles, users (list with ``username``/``exact``/
  ``email``, get, create with credentials), a user's groups (list, join), groups (list, create,
  by path) and a group's client role mappings (list, add); 409 on a duplicate client id, user
  name or e-mail, or group name; 404 for an unknown id; ``first``/``max`` paging.

Not emulated: fine-grained admin permissions (any service account or user token of the realm
may administer it), sub-groups, realm roles, events, sessions. See docs/standins.md.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from urllib.parse import parse_qs

from .https_service import HttpsServiceStandin, ServiceError


def _hash(password):
    return hashlib.sha256(str(password).encode()).hexdigest()


def _page(items, query):
    first = int((query.get("first") or ["0"])[0])
    size = int((query.get("max") or ["100"])[0])
    return items[first:first + size]


class Realm:
    """One realm's objects: clients, client roles, users, groups, memberships, role mappings."""

    def __init__(self, export):
        self.name = export["realm"]
        self.clients, self.roles, self.users, self.groups = {}, {}, {}, {}
        self.members, self.group_roles, self.passwords = {}, {}, {}
        for client in export.get("clients") or []:
            cid = client.get("id") or str(uuid.uuid4())
            self.clients[cid] = {**client, "id": cid}
        by_client_id = {c["clientId"]: cid for cid, c in self.clients.items()}
        for client_id, roles in ((export.get("roles") or {}).get("client") or {}).items():
            cid = by_client_id.get(client_id)
            if cid is None:
                cid = str(uuid.uuid4())
                self.clients[cid] = {"id": cid, "clientId": client_id}
            self.roles[cid] = {r["name"]: {"id": r.get("id") or str(uuid.uuid4()), "name": r["name"],
                                           "clientRole": True, "containerId": cid} for r in roles}
        for group in export.get("groups") or []:
            gid = group.get("id") or str(uuid.uuid4())
            self.groups[gid] = {"id": gid, "name": group["name"], "path": f"/{group['name']}", "subGroupCount": 0}

    def client_by_client_id(self, client_id):
        return next((c for c in self.clients.values() if c.get("clientId") == client_id), None)


class KeycloakAdminStandin(HttpsServiceStandin):
    """Keycloak on ``https://<names[0]>:<port>`` with the realms of ``exports``.

    ``exports`` is a list of realm exports, or a callable giving them (None while there is
    nothing to import) that is called on the first request, as Keycloak imports its realms
    when it starts (``--import-realm`` of the ConfigMap ``maia-realm-import``); until it gives
    them every request gets 503, as from an ingress whose backend is not up.
    """

    def __init__(self, names, exports, **kwargs):
        super().__init__(names, **kwargs)
        self._exports = exports if callable(exports) else (lambda: exports)
        self.realms = None
        self._tokens = {}
        self._state = threading.Lock()

    def _started(self):
        if self.realms is None:
            exports = self._exports()
            if exports is None:
                raise ServiceError(503, {"error": "Keycloak is not up: no realm to import yet"})
            self.realms = {e["realm"]: Realm(e) for e in exports}

    # ---- for tests --------------------------------------------------------------------
    def user(self, realm, username):
        return next((u for u in self.realms[realm].users.values() if u["username"] == username.lower()), None)

    def password_matches(self, realm, username, password):
        user = self.user(realm, username)
        return bool(user) and self.realms[realm].passwords.get(user["id"], (None, None))[0] == _hash(password)

    def set_password(self, realm, username, password, temporary=False):
        """What a user does on the account page: a new password (the required action is done)."""
        user = self.user(realm, username)
        self.realms[realm].passwords[user["id"]] = (_hash(password), temporary)
        user["requiredActions"] = []

    def group_names_of(self, realm, username):
        r = self.realms[realm]
        uid = self.user(realm, username)["id"]
        return sorted(r.groups[g]["name"] for g, m in r.members.items() if uid in m)

    def group_role_names(self, realm, group_name, client_id):
        r = self.realms[realm]
        gid = next(g for g, rep in r.groups.items() if rep["name"] == group_name)
        cid = r.client_by_client_id(client_id)["id"]
        ids = r.group_roles.get((gid, cid), set())
        return sorted(role["name"] for role in r.roles.get(cid, {}).values() if role["id"] in ids)

    # ---- HTTP -------------------------------------------------------------------------
    def handle(self, request):
        parts = [p for p in request.path.split("/") if p]
        with self._state:
            self._started()
            if len(parts) == 5 and parts[0] == "realms" and parts[2:] == ["protocol", "openid-connect", "token"]:
                return self._token(self._realm(parts[1]), request)
            if len(parts) >= 3 and parts[:2] == ["admin", "realms"]:
                realm = self._realm(parts[2])
                self._authorize(realm, request)
                return self._admin(realm, request, parts[3:])
        raise ServiceError(404, {"error": "Unable to find matching target resource method"})

    def _realm(self, name):
        if name not in self.realms:
            raise ServiceError(404, {"error": "Realm does not exist"})
        return self.realms[name]

    def _token(self, realm, request):
        if request.method != "POST":
            raise ServiceError(405, {"error": "HTTP 405 Method Not Allowed"})
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        client = realm.client_by_client_id(form.get("client_id", ""))
        if client is None:
            raise ServiceError(401, {"error": "invalid_client", "error_description": "Invalid client or Invalid client credentials"})
        if not client.get("publicClient") and client.get("secret") != form.get("client_secret"):
            raise ServiceError(401, {"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"})
        grant = form.get("grant_type")
        if grant == "client_credentials":
            if client.get("publicClient") or not client.get("serviceAccountsEnabled"):
                raise ServiceError(401, {"error": "unauthorized_client", "error_description": "Client not enabled to retrieve service account"})
            subject = f"service-account-{client['clientId']}"
        elif grant == "password":
            user = next((u for u in realm.users.values() if u["username"] == form.get("username", "").lower()), None)
            stored = realm.passwords.get(user["id"]) if user else None
            if not stored or stored[0] != _hash(form.get("password", "")):
                raise ServiceError(401, {"error": "invalid_grant", "error_description": "Invalid user credentials"})
            if stored[1] or user.get("requiredActions"):
                raise ServiceError(400, {"error": "invalid_grant", "error_description": "Account is not fully set up"})
            subject = user["username"]
        else:
            raise ServiceError(400, {"error": "unsupported_grant_type"})
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (realm.name, subject)
        return 200, {"access_token": token, "expires_in": 300, "refresh_expires_in": 0, "token_type": "Bearer",
                     "not-before-policy": 0, "scope": "profile email"}

    def _authorize(self, realm, request):
        header = request.headers.get("Authorization") or ""
        token = header[7:] if header.startswith("Bearer ") else None
        if not token or self._tokens.get(token, (None,))[0] != realm.name:
            raise ServiceError(401, {"error": "HTTP 401 Unauthorized"})

    @staticmethod
    def _created(path, oid):
        return 201, None, {"Location": f"{path}/{oid}"}

    def _admin(self, realm, request, parts):  # noqa: C901  (one dispatch table of the endpoints used)
        method, query, base = request.method, request.query, f"{self.url}/admin/realms/{realm.name}"
        if parts == ["clients"]:
            if method == "GET":
                wanted = (query.get("clientId") or [None])[0]
                return 200, _page([c for c in realm.clients.values() if wanted in (None, c.get("clientId"))], query)
            body = self.json_body(request)
            if realm.client_by_client_id(body.get("clientId")):
                raise ServiceError(409, {"errorMessage": f"Client {body.get('clientId')} already exists"})
            cid = str(uuid.uuid4())
            realm.clients[cid] = {**body, "id": cid}
            return self._created(f"{base}/clients", cid)
        if len(parts) >= 2 and parts[0] == "clients":
            client = realm.clients.get(parts[1])
            if client is None:
                raise ServiceError(404, {"error": "Could not find client"})
            if len(parts) == 2 and method == "GET":
                return 200, client
            if len(parts) == 2 and method == "PUT":
                client.update({k: v for k, v in self.json_body(request).items() if k != "id"})
                return 204, None
            if parts[2:] == ["roles"] and method == "GET":
                return 200, list(realm.roles.get(client["id"], {}).values())
        if parts == ["users"]:
            if method == "GET":
                return 200, _page(self._users(realm, query), query)
            body = self.json_body(request)
            username = str(body.get("username") or "").lower()
            if not username:
                raise ServiceError(400, {"errorMessage": "User name is missing"})
            if any(u["username"] == username or (body.get("email") and u.get("email") == body["email"])
                   for u in realm.users.values()):
                raise ServiceError(409, {"errorMessage": "User exists with same username or email"})
            uid = str(uuid.uuid4())
            creds = body.pop("credentials", None) or []
            realm.users[uid] = {**body, "id": uid, "username": username}
            for cred in creds:
                if cred.get("type") == "password":
                    realm.passwords[uid] = (_hash(cred.get("value", "")), bool(cred.get("temporary")))
            return self._created(f"{base}/users", uid)
        if len(parts) >= 2 and parts[0] == "users":
            user = realm.users.get(parts[1])
            if user is None:
                raise ServiceError(404, {"error": "User not found"})
            if len(parts) == 2 and method == "GET":
                return 200, user
            if parts[2:] == ["groups"] and method == "GET":
                return 200, _page([realm.groups[g] for g, m in realm.members.items() if user["id"] in m], query)
            if len(parts) == 4 and parts[2] == "groups" and method in ("PUT", "DELETE"):
                if parts[3] not in realm.groups:
                    raise ServiceError(404, {"error": "Group not found"})
                members = realm.members.setdefault(parts[3], set())
                (members.add if method == "PUT" else members.discard)(user["id"])
                return 204, None
        if parts == ["groups"]:
            if method == "GET":
                search = (query.get("search") or [None])[0]
                groups = [g for g in realm.groups.values() if search is None or search in g["name"]]
                return 200, _page(groups, query)
            body = self.json_body(request)
            if any(g["name"] == body.get("name") for g in realm.groups.values()):
                raise ServiceError(409, {"errorMessage": f"Top level group named '{body.get('name')}' already exists."})
            gid = str(uuid.uuid4())
            realm.groups[gid] = {"id": gid, "name": body["name"], "path": f"/{body['name']}", "subGroupCount": 0}
            return self._created(f"{base}/groups", gid)
        if len(parts) == 2 and parts[0] == "group-by-path" and method == "GET":
            group = next((g for g in realm.groups.values() if g["path"] == f"/{parts[1]}"), None)
            if group is None:
                raise ServiceError(404, {"error": "Group path does not exist"})
            return 200, group
        if len(parts) == 5 and parts[0] == "groups" and parts[2:4] == ["role-mappings", "clients"]:
            if parts[1] not in realm.groups or parts[4] not in realm.clients:
                raise ServiceError(404, {"error": "Could not find group or client"})
            key, roles = (parts[1], parts[4]), realm.roles.get(parts[4], {})
            if method == "GET":
                ids = realm.group_roles.get(key, set())
                return 200, [r for r in roles.values() if r["id"] in ids]
            if method == "POST":
                known = {r["id"] for r in roles.values()}
                wanted = [r.get("id") for r in self.json_body(request) or []]
                if not all(w in known for w in wanted):
                    raise ServiceError(404, {"error": "Could not find role"})
                realm.group_roles.setdefault(key, set()).update(wanted)
                return 204, None
        raise ServiceError(404 if method == "GET" else 405, {"error": "Unable to find matching target resource method"})

    @staticmethod
    def _users(realm, query):
        username = (query.get("username") or [None])[0]
        email = (query.get("email") or [None])[0]
        exact = (query.get("exact") or ["false"])[0].lower() == "true"
        out = []
        for user in realm.users.values():
            for value, field in ((username, "username"), (email, "email")):
                have = str(user.get(field) or "").lower()
                if value is not None and not (have == value.lower() if exact else value.lower() in have):
                    break
            else:
                out.append(user)
        return out
