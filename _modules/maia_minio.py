"""The admin MinIO tenant's buckets and IAM policies, over MinIO's S3 and admin APIs (the ``minio`` SDK).

The collection's ``maia_admin_layer`` runs ``mc mb --ignore-existing local/maia-envs`` and
``mc admin policy create local <admin_group_ID> maia-admin-policy.json`` inside the tenant's pod
(``kubectl exec``, the password on the command line) on every run. This module reads first (``HEAD``
of each bucket, ``info-canned-policy`` of each policy), then makes only a missing bucket and writes
only a policy whose document differs, as the tenant's user ``maia-admin`` (``minio_admin_password``;
the tenant's operator gives its users the ``consoleAdmin`` policy). The policy is attached to nobody:
MinIO gives it to a Keycloak user through the token's ``groups`` claim, as with the collection.

``settings`` is built by ``maia_salt.admin.services.minio``; MinIO is reached at
``minio-api.<domain>`` as ``_utils/maia_service_endpoint.py`` says (its ``pool_manager`` is the SDK's
``http_client``: CA bundle, ingress-address fallback). CLI: ``salt-call maia_minio.plan '<settings as JSON>'``.
"""
import importlib.util
import json
import sys
import types

import maia_error_kinds
import maia_service_endpoint

REGION = "us-east-1"  # MinIO's default; naming it spares the SDK a region lookup per bucket


def _stub_crypto():
    """The SDK imports ``minio.crypto`` (argon2-cffi, pycryptodome: compiled) for the admin calls it
    encrypts. The bucket and canned-policy calls send plain JSON, so where those libraries are
    missing (a salt-ssh thin carries pure-Python packages only) a stand-in module that refuses is given."""
    stub = types.ModuleType("minio.crypto")

    def refuse(*_args, **_kwargs):
        raise RuntimeError("minio.crypto: argon2-cffi and pycryptodome are not installed on this host")

    stub.encrypt = stub.decrypt = refuse
    sys.modules["minio.crypto"] = stub


def _import_minio():
    if "minio" not in sys.modules and not all(importlib.util.find_spec(m) for m in ("argon2", "Crypto")):
        _stub_crypto()
    try:
        from minio import Minio, MinioAdmin  # pylint: disable=import-outside-toplevel
        from minio.credentials import StaticProvider  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise maia_error_kinds.error(
            "no_library", f"the minio SDK cannot be imported by the Python that runs Salt on this host ({exc}): "
                       "maia-salt pins minio==7.2.20; onedir minions: salt-pip install minio==7.2.20; "
                       "salt-ssh: thin_extra_mods in the master configuration (docs/admin.md)"
        ) from None
    return Minio, MinioAdmin, StaticProvider


def _clients(settings):
    """The SDK's S3 client and admin client for the tenant, on one verified connection pool."""
    import urllib3  # pylint: disable=import-outside-toplevel

    Minio, MinioAdmin, StaticProvider = _import_minio()  # pylint: disable=invalid-name
    try:
        end = maia_service_endpoint.from_reach(settings["reach"], __opts__.get("cachedir"))
    except ValueError as exc:
        raise maia_error_kinds.error("invalid", str(exc)) from None
    pool = maia_service_endpoint.pool_manager(end, timeout=urllib3.Timeout(connect=10, read=30), retries=False)
    host = end.base_url.removeprefix("https://")
    s3 = Minio(host, access_key=settings["access_key"], secret_key=settings["secret_key"], secure=True,
               region=REGION, http_client=pool)
    admin = MinioAdmin(endpoint=host, credentials=StaticProvider(settings["access_key"], settings["secret_key"]),
                       region=REGION, secure=True, http_client=pool)
    return s3, admin


def _call(what, func, *args, **kwargs):
    """``func`` with the SDK's and urllib3's errors turned into maia error kinds (no secret in them)."""
    import urllib3  # pylint: disable=import-outside-toplevel
    from minio.error import InvalidResponseError, MinioAdminException, S3Error, ServerError  # pylint: disable=import-outside-toplevel

    try:
        return func(*args, **kwargs)
    except urllib3.exceptions.HTTPError as exc:
        raise maia_error_kinds.error("unreachable", f"MinIO: {what}: not reachable ({type(exc).__name__})") from None
    except (S3Error, MinioAdminException, InvalidResponseError, ServerError) as exc:
        status, code = _status_and_code(exc)
        if status in (502, 503, 504) or (status == 404 and code is None):
            # 404 without MinIO's error document: the ingress has no route for it yet
            raise maia_error_kinds.error("unreachable", f"MinIO: {what}: HTTP {status} (not serving yet)") from None
        if status in (401, 403):
            raise maia_error_kinds.error("api", f"MinIO: {what}: HTTP {status} {code}: the tenant refuses its user "
                                                "maia-admin with minio_admin_password") from None
        raise maia_error_kinds.error("api", f"MinIO: {what}: HTTP {status} {code}") from None


def _status_and_code(exc):
    from minio.error import MinioAdminException, S3Error, ServerError  # pylint: disable=import-outside-toplevel

    if isinstance(exc, S3Error):
        return exc.response.status if exc.response is not None else None, exc.code
    if isinstance(exc, MinioAdminException):
        try:
            code = json.loads(exc._body).get("Code")  # pylint: disable=protected-access
        except (TypeError, ValueError, AttributeError):
            code = None
        return int(exc._code), code  # pylint: disable=protected-access
    if isinstance(exc, ServerError):
        return exc.status_code, None
    return getattr(exc, "_code", None), None


def _normal(document):
    """A policy document in a form two equal policies share: statements with their Action and
    Resource as sorted lists (IAM allows a string), in a fixed order."""
    if not isinstance(document, dict):
        return document
    statements = []
    for stmt in document.get("Statement") or []:
        stmt = dict(stmt)
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if isinstance(stmt.get(key), str):
                stmt[key] = [stmt[key]]
            if isinstance(stmt.get(key), list):
                stmt[key] = sorted(stmt[key])
            if key in stmt and not stmt[key]:
                del stmt[key]
        statements.append(stmt)
    return {"Version": document.get("Version"), "Statement": sorted(statements, key=lambda s: json.dumps(s, sort_keys=True))}


def _policy(admin, name):
    from minio.error import MinioAdminException  # pylint: disable=import-outside-toplevel

    try:
        return json.loads(admin.policy_info(name))
    except MinioAdminException as exc:
        if _status_and_code(exc)[1] == "XMinioAdminNoSuchPolicy":
            return None
        raise  # _call (around this) names it
    except ValueError:
        raise maia_error_kinds.error("api", f"MinIO: read policy {name}: the answer is not JSON") from None


def _read(s3, admin, settings):
    buckets = {b: _call(f"read bucket {b}", s3.bucket_exists, b) for b in settings["buckets"]}
    policies = {}
    for name in settings["policies"]:
        policies[name] = _call(f"read policy {name}", _policy, admin, name)
    return buckets, policies


def _changes(buckets, policies, settings):
    out = {f"bucket {b}": {"old": None, "new": "present"} for b, exists in buckets.items() if not exists}
    for name, wanted in settings["policies"].items():
        if _normal(policies[name]) != _normal(wanted):
            out[f"policy {name}"] = {"old": policies[name], "new": wanted}
    return out


def plan(settings):
    """What ``apply`` would change: ``{"bucket <name>"|"policy <name>": {old, new}}``, empty when MinIO is as wanted."""
    s3, admin = _clients(settings)
    return _changes(*_read(s3, admin, settings), settings)


def apply(settings):
    """Make the missing buckets, write the differing policies, read again; returns the changes made."""
    s3, admin = _clients(settings)
    changes = _changes(*_read(s3, admin, settings), settings)
    for what in sorted(changes):
        kind, name = what.split(" ", 1)
        if kind == "bucket":
            _call(f"make bucket {name}", s3.make_bucket, name)
        else:
            _call(f"write policy {name}", admin.policy_add, name, policy=settings["policies"][name])
    left = _changes(*_read(s3, admin, settings), settings)
    if left:
        raise maia_error_kinds.error("api", f"MinIO: still differs after the change: {', '.join(sorted(left))}")
    return changes
