"""Keycloak's realm ``maia``, configured over its admin REST API with python-keycloak.

What maia-toolkit 2.5.0's ``MAIA_configure_keycloak`` does after the realm import, done so that a
re-run changes nothing: the public client ``maia-public``, the site admin user (``admin_email``)
with a temporary password and the required action UPDATE_PASSWORD, the groups ``MAIA:users``
and ``MAIA:admin``, the user in both, and every ``realm-management`` client role for the admin
group. The toolkit's way of signing in is kept: client ``maia``'s service account (client
credentials with ``keycloak_client_secret``), which the realm export gives ``realm-admin``.

``settings`` is the dict the admin library builds (``maia_salt.admin.services.keycloak``); the
service is reached as ``_utils/maia_service_endpoint.py`` says (docs/admin.md, "Reaching the
services"). A user that exists is never given a password again, so a password the admin
changed stays.

CLI: ``salt-call maia_keycloak.plan '<settings as JSON>'`` shows what would change.
"""
import logging
import sys
import types
from importlib import metadata

import maia_error_kinds
import maia_service_endpoint

log = logging.getLogger(__name__)

PUBLIC_CLIENT = {
    "name": "maia-public",
    "clientId": "maia-public",
    "redirectUris": ["http://localhost:8080"],
    "publicClient": True,
    "standardFlowEnabled": True,
    "directAccessGrantsEnabled": True,
}


def _endpoint(settings):
    try:
        return maia_service_endpoint.from_reach(settings["reach"], __opts__.get("cachedir"))
    except ValueError as exc:
        raise maia_error_kinds.error("invalid", str(exc)) from None


def _import_keycloak():
    """python-keycloak's two classes. A salt-ssh thin carries the package without its dist-info,
    and ``keycloak._version`` asks importlib.metadata for it: that one module is given then."""
    if "keycloak" not in sys.modules:
        try:
            metadata.version("python-keycloak")
        except metadata.PackageNotFoundError:
            stub = types.ModuleType("keycloak._version")
            stub.__version__ = "unknown (salt-ssh thin)"
            sys.modules["keycloak._version"] = stub
    try:
        from keycloak import KeycloakAdmin, KeycloakOpenIDConnection  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise maia_error_kinds.error(
            "no_library", f"python-keycloak cannot be imported by the Python that runs Salt on this host ({exc}): "
                       "maia-salt pins python-keycloak==7.1.1; onedir minions: salt-pip install python-keycloak==7.1.1; "
                       "salt-ssh: thin_extra_mods in the master configuration (docs/admin.md)"
        ) from None
    return KeycloakAdmin, KeycloakOpenIDConnection


def _admin(settings):
    """A KeycloakAdmin on realm ``settings['realm']``, signed in as client ``maia``'s service account."""
    KeycloakAdmin, KeycloakOpenIDConnection = _import_keycloak()  # pylint: disable=invalid-name
    end = _endpoint(settings)
    conn = KeycloakOpenIDConnection(
        server_url=end.base_url, realm_name=settings["realm"], client_id=settings["client_id"],
        client_secret_key=settings["client_secret"], grant_type="client_credentials", verify=end.verify, timeout=30,
    )
    # python-keycloak offers no session hook: its two requests sessions (admin REST, token) get the
    # endpoint's adapter (CA bundle, ingress-address fallback) mounted
    maia_service_endpoint.session(end, conn._s)  # pylint: disable=protected-access
    maia_service_endpoint.session(end, conn.keycloak_openid.connection._s)  # pylint: disable=protected-access
    return KeycloakAdmin(connection=conn)


def _call(what, func, *args, **kwargs):
    """``func`` with python-keycloak's and requests' errors turned into maia error kinds."""
    import requests  # pylint: disable=import-outside-toplevel
    from keycloak import exceptions as kc_exc  # pylint: disable=import-outside-toplevel

    try:
        return func(*args, **kwargs)
    except (kc_exc.KeycloakConnectionError, requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise maia_error_kinds.error("unreachable", f"Keycloak: {what}: not reachable ({type(exc).__name__})") from None
    except kc_exc.KeycloakError as exc:
        code = getattr(exc, "response_code", None)
        kind = "unreachable" if code in (404, 502, 503, 504) and what == "sign in" else "api"
        raise maia_error_kinds.error(kind, f"Keycloak: {what}: HTTP {code}") from None


def _groups_by_name(kc):
    return {g["name"]: g for g in _call("list groups", kc.get_groups)}


def _read(kc, settings):
    """The live facts the plan compares with ``settings``."""
    _call("sign in", kc.connection.get_token)
    facts = {}
    uuid = _call("find client maia-public", kc.get_client_id, "maia-public")
    facts["public_client"] = _call("read client maia-public", kc.get_client, uuid) if uuid else None
    users = _call("find the admin user", kc.get_users, {"username": settings["admin_email"], "exact": True})
    user = next((u for u in users if u.get("username") == settings["admin_email"].lower()), None)
    facts["user"] = user
    facts["groups"] = _groups_by_name(kc)
    facts["user_groups"] = sorted(g["name"] for g in _call("read the user's groups", kc.get_user_groups, user["id"])) if user else []
    rm = _call("find client realm-management", kc.get_client_id, settings["admin_roles_client"])
    if rm is None:
        raise maia_error_kinds.error("api", f"Keycloak: realm {settings['realm']} has no client {settings['admin_roles_client']}")
    facts["rm_uuid"] = rm
    facts["rm_roles"] = _call("list realm-management roles", kc.get_client_roles, rm)
    admin_group = facts["groups"].get(settings["admin_group"])
    facts["admin_group_roles"] = sorted(
        r["name"] for r in _call("read the admin group's roles", kc.get_group_client_roles, admin_group["id"], rm)
    ) if admin_group else []
    return facts


def _public_client(settings):
    return {**PUBLIC_CLIENT, **(settings.get("public_client") or {})}


def _changes(facts, settings):
    """``{what: {old, new}}`` for everything that differs; no secret in it."""
    changes = {}
    wanted = _public_client(settings)
    current = facts["public_client"]
    if current is None:
        changes["client maia-public"] = {"old": None, "new": "present"}
    else:
        differs = sorted(k for k, v in wanted.items() if current.get(k) != v)
        if differs:
            changes["client maia-public"] = {"old": {k: current.get(k) for k in differs},
                                             "new": {k: wanted[k] for k in differs}}
    email = settings["admin_email"]
    if facts["user"] is None:
        changes[f"user {email}"] = {"old": None, "new": "present (temporary password, required action UPDATE_PASSWORD)"}
    for group in settings["groups"]:
        if group not in facts["groups"]:
            changes[f"group {group}"] = {"old": None, "new": "present"}
    missing = [g for g in settings["groups"] if g not in facts["user_groups"]]
    if missing:
        changes[f"user {email} groups"] = {"old": facts["user_groups"],
                                           "new": sorted(set(facts["user_groups"]) | set(missing))}
    all_roles = sorted(r["name"] for r in facts["rm_roles"])
    if set(all_roles) - set(facts["admin_group_roles"]):
        changes[f"group {settings['admin_group']} {settings['admin_roles_client']} roles"] = {
            "old": facts["admin_group_roles"], "new": sorted(set(all_roles) | set(facts["admin_group_roles"]))}
    return changes


def plan(settings):
    """What ``apply`` would change: ``{what: {old, new}}``, empty when Keycloak is as wanted."""
    kc = _admin(settings)
    return _changes(_read(kc, settings), settings)


def apply(settings):
    """Change what differs, then read again; returns the changes made (empty on a converged realm)."""
    kc = _admin(settings)
    facts = _read(kc, settings)
    changes = _changes(facts, settings)
    if not changes:
        return {}
    wanted = _public_client(settings)
    if facts["public_client"] is None:
        _call("create client maia-public", kc.create_client, wanted)
    elif "client maia-public" in changes:
        _call("update client maia-public", kc.update_client, facts["public_client"]["id"], changes["client maia-public"]["new"])
    email = settings["admin_email"]
    user_id = facts["user"]["id"] if facts["user"] else None
    if user_id is None:
        user_id = _call("create the admin user", kc.create_user, {
            "username": email, "email": email, "emailVerified": True, "enabled": True,
            "firstName": "Admin", "lastName": "Maia", "requiredActions": ["UPDATE_PASSWORD"],
            "credentials": [{"type": "password", "temporary": True, "value": settings["admin_password"]}],
        })
    groups = facts["groups"]
    for name in settings["groups"]:
        if name not in groups:
            gid = _call(f"create group {name}", kc.create_group, {"name": name})
            groups[name] = {"id": gid, "name": name}
    for name in settings["groups"]:
        if name not in facts["user_groups"]:
            _call(f"add the user to {name}", kc.group_user_add, user_id, groups[name]["id"])
    have = set(facts["admin_group_roles"])
    missing = [{"id": r["id"], "name": r["name"]} for r in facts["rm_roles"] if r["name"] not in have]
    if missing:
        _call(f"give {settings['admin_group']} the {settings['admin_roles_client']} roles",
              kc.assign_group_client_roles, groups[settings["admin_group"]]["id"], facts["rm_uuid"], missing)
    left = _changes(_read(kc, settings), settings)
    if left:
        raise maia_error_kinds.error("api", f"Keycloak: still differs after the change: {', '.join(sorted(left))}")
    return changes
