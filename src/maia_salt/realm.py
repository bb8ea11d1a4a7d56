"""The MAIA Keycloak realm, as the MAIA toolkit ships it.

``MAIA_realm.json`` is the toolkit's ``MAIA/configs/MAIA_realm_template.json``.
It is taken from the ``maia-toolkit`` wheel on PyPI, pinned by exact version and
checked against the wheel's sha256 and the template's own sha256; nothing of it is
kept in this repository. Offline sites give a local copy (the template or the
wheel) with ``--realm-template PATH`` or ``MAIA_REALM_TEMPLATE``; it must match
the same checksums. A verified template is cached under
``$XDG_CACHE_HOME/maia-salt`` (default ``~/.cache/maia-salt``).
"""
from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import zipfile
from pathlib import Path

TOOLKIT_VERSION = "2.5.0"
WHEEL_URL = (
    "https://files.pythonhosted.org/packages/ef/88/03f72f12ca5ec5f89823acaa408217932a091b68cdd95b3466f9f9b8cd33/"
    "maia_toolkit-2.5.0-py3-none-any.whl"
)
WHEEL_SHA256 = "89b7a4359256488b625e4c43242696543a7daac5fdfcacb33baf2bb49cdcc921"
TEMPLATE_MEMBER = "MAIA/configs/MAIA_realm_template.json"
TEMPLATE_SHA256 = "e1f8a4c948245a121e94036ef6b9650f14976414ae7ca469a7182d0f0ee2c201"
ENV_VAR = "MAIA_REALM_TEMPLATE"


class RealmError(ValueError):
    """The template cannot be had or does not match its checksum."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _from_wheel(wheel: bytes, where: str) -> bytes:
    if _sha256(wheel) != WHEEL_SHA256:
        raise RealmError(
            f"{where}: sha256 {_sha256(wheel)} is not the pinned maia-toolkit {TOOLKIT_VERSION} wheel ({WHEEL_SHA256})"
        )
    with zipfile.ZipFile(io.BytesIO(wheel)) as archive:
        return archive.read(TEMPLATE_MEMBER)


def _checked(template: bytes, where: str) -> bytes:
    if _sha256(template) != TEMPLATE_SHA256:
        raise RealmError(
            f"{where}: sha256 {_sha256(template)} is not the pinned MAIA_realm_template.json of maia-toolkit "
            f"{TOOLKIT_VERSION} ({TEMPLATE_SHA256})"
        )
    return template


def cache_path(environ: dict) -> Path:
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "maia-salt" / f"MAIA_realm_template-{TEMPLATE_SHA256[:16]}.json"


def from_local(path) -> bytes:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RealmError(f"{ENV_VAR}={str(path)!r} cannot be read ({exc.strerror}): give the template or the wheel")
    if data[:2] == b"PK":
        data = _from_wheel(data, str(path))
    return _checked(data, str(path))


def download(timeout: float = 60) -> bytes:
    try:
        with urllib.request.urlopen(WHEEL_URL, timeout=timeout) as response:
            wheel = response.read()
    except OSError as exc:
        raise RealmError(
            f"cannot download maia-toolkit {TOOLKIT_VERSION} from PyPI for MAIA_realm.json ({exc}): on an offline "
            f"site give a local copy of MAIA_realm_template.json or of the wheel with --realm-template PATH "
            f"(or {ENV_VAR}=PATH)"
        ) from None
    return _checked(_from_wheel(wheel, WHEEL_URL), WHEEL_URL)


def realm_template(environ: dict, local: str | None = None) -> bytes:
    """The pinned template: from ``local`` / $MAIA_REALM_TEMPLATE, else the cache, else PyPI."""
    local = local or environ.get(ENV_VAR)
    if local:
        return from_local(local)
    cached = cache_path(environ)
    try:
        return _checked(cached.read_bytes(), str(cached))
    except (OSError, RealmError):
        pass
    template = download()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}")
        tmp.write_bytes(template)
        os.replace(tmp, cached)
    except OSError:
        pass  # a cache we cannot write only costs a download next time
    return template
