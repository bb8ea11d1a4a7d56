"""Harbor's authentication settings (OIDC against the site's Keycloak) over ``/api/v2.0/configurations``.

The collection's ``configure_oidc_authentication`` role PUTs the settings with ``curl -k`` and the
chart's default admin password on every run; this module reads them first (``GET``, as Harbor's
admin) and PUTs only the keys that differ, with Harbor's admin password of the site
(``harbor_admin_password``). Harbor never returns ``oidc_client_secret``, so the module keeps a
record of what it sent: a salted PBKDF2 fingerprint of each secret, per Harbor, in
``settings["record"]`` (``harbor-secrets.json`` beside the host's kubeconfig, 0600, never the
secret). A secret whose fingerprint differs from the record (a changed
``keycloak_client_secret``, or no record yet) is sent again, with no other key needed to change
(docs/admin.md, C6).

``settings`` is built by ``maia_salt.admin.services.harbor``; Harbor is reached as
``_utils/maia_service_endpoint.py`` says. CLI: ``salt-call maia_harbor.plan '<settings as JSON>'``.
"""

import hashlib
import hmac
import json
import os
import secrets

import maia_error_kinds
import maia_files
import maia_service_endpoint

API = "/api/v2.0/configurations"
RECORD = "harbor-secrets.json"
ITERATIONS = 100_000


def _session(settings):
    import requests  # pylint: disable=import-outside-toplevel

    try:
        end = maia_service_endpoint.from_reach(settings["reach"], __opts__.get("cachedir"))
    except ValueError as exc:
        raise maia_error_kinds.error("invalid", str(exc)) from None
    http = maia_service_endpoint.session(end, requests.Session())
    http.auth = (settings["username"], settings["password"])
    http.headers["Accept"] = "application/json"
    return http, end.base_url + API


def _request(http, method, url, what, **kwargs):
    import requests  # pylint: disable=import-outside-toplevel

    try:
        reply = http.request(method, url, timeout=30, **kwargs)
    except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
        raise maia_error_kinds.error("unreachable", f"Harbor: {what}: not reachable ({type(exc).__name__})") from None
    if reply.status_code in (502, 503, 504) or (reply.status_code == 404 and method == "GET"):
        raise maia_error_kinds.error("unreachable", f"Harbor: {what}: HTTP {reply.status_code} (not serving yet)")
    if reply.status_code == 401:
        raise maia_error_kinds.error("api", f"Harbor: {what}: HTTP 401: the admin password (harbor_admin_password) "
                                            "is refused; Harbor keeps the one it first started with")
    if reply.status_code >= 400:
        raise maia_error_kinds.error("api", f"Harbor: {what}: HTTP {reply.status_code}: {reply.text[:300]}")
    return reply


def _current(http, url):
    data = _request(http, "GET", url, "read the configurations").json()
    return {k: (v.get("value") if isinstance(v, dict) else v) for k, v in data.items()}


def _record_path(settings):
    """``settings["record"]`` (the admin library puts it beside the host's kubeconfig, the same
    file for a minion and for salt-ssh), else under Salt's cachedir."""
    return settings.get("record") or os.path.join(__opts__.get("cachedir") or "/var/cache/salt", "maia", RECORD)


def _records(path):
    """The whole record file: ``{harbor base URL: {key: {"salt", "fingerprint"}}}`` ({} when none or unreadable)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _fingerprint(value, salt_hex):
    return hashlib.pbkdf2_hmac("sha256", str(value).encode(), bytes.fromhex(salt_hex), ITERATIONS).hex()


def _unsent(record, wanted, secret_keys):
    """The secret keys whose wanted value does not match the record of what Harbor was sent."""
    unsent = []
    for key in secret_keys:
        entry = record.get(key)
        try:
            same = isinstance(entry, dict) and hmac.compare_digest(
                str(entry.get("fingerprint")), _fingerprint(wanted[key], str(entry.get("salt"))))
        except ValueError:  # a salt that is not hex: the record is not ours to trust
            same = False
        if key in wanted and not same:
            unsent.append(key)
    return unsent


def _write_record(path, base_url, wanted, secret_keys):
    """Record the fingerprints of the secrets just sent (0600, written whole, then renamed)."""
    data = _records(path)
    entry = {}
    for key in secret_keys:
        if key in wanted:
            salt_hex = secrets.token_hex(16)
            entry[key] = {"salt": salt_hex, "fingerprint": _fingerprint(wanted[key], salt_hex)}
    data[base_url] = entry
    maia_files.write_private(path, json.dumps(data), "0600")


def _differs(current, wanted, secret_keys):
    return sorted(k for k, v in wanted.items() if k not in secret_keys and current.get(k) != v)


def _changes(current, wanted, differs, secret_keys):
    """The plain keys that differ as {old, new}; with them, or alone when not sent yet, the secrets masked."""
    out = {k: {"old": current.get(k), "new": wanted[k]} for k in differs}
    for key in secret_keys:
        out[key] = {"old": "<not shown>", "new": "<masked>"}
    return out


def _plan(settings):
    http, url = _session(settings)
    wanted, secret_keys = settings["configurations"], settings.get("secret_keys") or []
    current = _current(http, url)
    differs = _differs(current, wanted, secret_keys)
    record = _records(_record_path(settings)).get(url)
    unsent = _unsent(record if isinstance(record, dict) else {}, wanted, secret_keys)
    send = [k for k in secret_keys if k in wanted] if differs or unsent else []
    return http, url, wanted, current, differs, send


def plan(settings):
    """What ``apply`` would change: ``{key: {old, new}}`` (secrets masked), empty when Harbor is as wanted."""
    _http, _url, _wanted, current, differs, send = _plan(settings)
    return _changes(current, _wanted, differs, send) if differs or send else {}


def apply(settings):
    """PUT the keys that differ and the secrets not sent yet, read again, record what was sent;
    returns the changes made."""
    http, url, wanted, current, differs, send = _plan(settings)
    if not (differs or send):
        return {}
    body = {k: wanted[k] for k in differs + send}
    _request(http, "PUT", url, "write the configurations", json=body)
    left = _differs(_current(http, url), wanted, settings.get("secret_keys") or [])
    if left:
        raise maia_error_kinds.error("api", f"Harbor: still differs after the change: {', '.join(left)}")
    _write_record(_record_path(settings), url, wanted, send)
    return _changes(current, wanted, differs, send)
