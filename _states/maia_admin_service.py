"""States of the admin layer's services, configured over their own APIs after the sync (docs/admin.md).

``configured(name, service, settings)`` compares a service with ``settings`` through the
execution module ``maia_<service>`` (``plan``: what differs, ``apply``: change it and read again)
and reports ``{what: {old, new}}`` with no secret. Under ``test=True`` it predicts the plan;
when the service cannot be reached yet (a first install: the Application is not deployed in a
dry run), it predicts the whole configuration from the settings. Services: ``keycloak``
(``_modules/maia_keycloak.py``), ``harbor`` (``_modules/maia_harbor.py``), ``minio``
(``_modules/maia_minio.py``).
"""
from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_error_kinds
import maia_state_return

SERVICES = ("keycloak", "harbor", "minio")


def __virtual__():
    return "maia_admin_service"


def configured(name, service, settings):
    """Ensure ``service`` (one of ``SERVICES``) is configured as ``settings`` say."""
    ret = maia_state_return.new(name)
    if service not in SERVICES:
        return maia_state_return.failed(ret, f"unknown service {service!r} (known: {', '.join(SERVICES)})")
    if not settings:
        ret["comment"] = f"{service}: nothing to configure"
        return ret
    try:
        changes = __salt__[f"maia_{service}.plan"](settings)
    except CommandExecutionError as exc:
        # under test on a new site: the service is not up yet, or its client library's Debian
        # dependencies are not installed yet (stage 2 installs them): the whole configuration
        if __opts__["test"] and maia_error_kinds.kind(exc) in ("unreachable", "no_library"):
            return maia_state_return.predicted(
                ret, {service: {"old": None, "new": "configured"}},
                f"{service} would be configured (cannot compare yet: {exc})")
        return maia_state_return.failed(ret, str(exc))
    if not changes:
        ret["comment"] = f"{service} is configured as wanted"
        return ret
    if __opts__["test"]:
        return maia_state_return.predicted(ret, changes, f"{service} would be changed: {', '.join(sorted(changes))}")
    try:
        ret["changes"] = __salt__[f"maia_{service}.apply"](settings)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, str(exc))
    ret["comment"] = f"{service} changed: {', '.join(sorted(ret['changes']))}"
    return ret
