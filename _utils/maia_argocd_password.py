"""ArgoCD's admin password as ``argocd-secret`` holds it: a bcrypt hash with the ``$2a$``
prefix Go's x/crypto/bcrypt expects, and its mtime; the change a state reports (masked).

A host-side library (``_utils/``, see docs/development.md, "Host-side library"), imported by
``_states/maia_k8s.py``. Nothing here logs or returns the password or its hash in a change.
"""
import base64
import datetime

from salt.exceptions import CommandExecutionError

HASH_KEY = "admin.password"
MTIME_KEY = "admin.passwordMtime"


def _b64(value):
    return base64.b64encode(value.encode()).decode()


def matches(password, hashed):
    """True/False whether ``hashed`` is the bcrypt of ``password``; None without python3-bcrypt."""
    try:
        import bcrypt  # pylint: disable=import-outside-toplevel; python3-bcrypt on Debian targets
    except ImportError:
        return None
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def hash_password(password):
    """The bcrypt of ``password`` with the ``$2a$`` prefix ArgoCD expects."""
    try:
        import bcrypt  # pylint: disable=import-outside-toplevel
    except ImportError as exc:
        raise CommandExecutionError(
            "maia:env:argocd_bcrypt_password is empty and python3-bcrypt is not installed "
            "on this host: run maia-configure again (it writes the hash) or install python3-bcrypt"
        ) from exc
    return "$2a$" + bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10)).decode()[4:]


def stored(live):
    """``(hash, mtime)`` the live Secret holds (``""``/None when absent)."""
    data = (live or {}).get("data") or {}
    current_hash = base64.b64decode(data[HASH_KEY]).decode() if data.get(HASH_KEY) else ""
    mtime = base64.b64decode(data[MTIME_KEY]).decode() if data.get(MTIME_KEY) else None
    return current_hash, mtime


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def change(current_hash, old_mtime, mtime):
    """The password's change, masked: that it changed, never the hash."""
    return {
        HASH_KEY: {"old": "<masked>" if current_hash else None, "new": "<masked>"},
        MTIME_KEY: {"old": old_mtime, "new": mtime},
    }


def secret_manifest(name, namespace, hashed, mtime):
    """The fields of ``argocd-secret`` this password owns (applied with their own field manager)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "argocd"},
        },
        "type": "Opaque",
        "data": {HASH_KEY: _b64(hashed), MTIME_KEY: _b64(mtime)},
    }
