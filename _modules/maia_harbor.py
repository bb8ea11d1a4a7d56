"""Harbor's authentication settings (OIDC against the site's Keycloak) over ``/api/v2.0/configurations``.

The collection's ``configure_oidc_authentication`` role PUTs the settings with ``curl -k`` and the
chart's default admin password on every run; this module reads them first (``GET``, as Harbor's
admin) and PUTs only the keys that differ, with Harbor's admin password of the site
(``harbor_admin_password``). Harbor never returns ``oidc_client_secret``: it is sent with the
first change of the OIDC settings (and with any later change of them), so a client secret
changed on its own is not seen (docs/admin.md).

``settings`` is built by ``maia_salt.admin.services.harbor``; Harbor is reached as
``_utils/maia_service_endpoint.py`` says. CLI: ``salt-call maia_harbor.plan '<settings as JSON>'``.
"""

import maia_error_kinds
import maia_service_endpoint

API = "/api/v2.0/configurations"


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


def _differs(current, wanted, secret_keys):
    return sorted(k for k, v in wanted.items() if k not in secret_keys and current.get(k) != v)


def _changes(current, wanted, differs, secret_keys):
    out = {k: {"old": current.get(k), "new": wanted[k]} for k in differs}
    if differs:
        for key in secret_keys:
            out[key] = {"old": "<not shown>", "new": "<masked>"}
    return out


def plan(settings):
    """What ``apply`` would change: ``{key: {old, new}}`` (secrets masked), empty when Harbor is as wanted."""
    http, url = _session(settings)
    wanted, secret_keys = settings["configurations"], settings.get("secret_keys") or []
    current = _current(http, url)
    return _changes(current, wanted, _differs(current, wanted, secret_keys), secret_keys)


def apply(settings):
    """PUT the keys that differ (with the secrets), read again; returns the changes made."""
    http, url = _session(settings)
    wanted, secret_keys = settings["configurations"], settings.get("secret_keys") or []
    current = _current(http, url)
    differs = _differs(current, wanted, secret_keys)
    if not differs:
        return {}
    body = {k: wanted[k] for k in differs}
    body.update({k: wanted[k] for k in secret_keys if k in wanted})
    _request(http, "PUT", url, "write the configurations", json=body)
    left = _differs(_current(http, url), wanted, secret_keys)
    if left:
        raise maia_error_kinds.error("api", f"Harbor: still differs after the change: {', '.join(left)}")
    return _changes(current, wanted, differs, secret_keys)
