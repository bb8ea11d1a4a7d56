"""ArgoCD's admin password as ``argocd-secret`` holds it: a bcrypt hash with the ``$2a$``
prefix Go's x/crypto/bcrypt expects, and its mtime; the change a state reports (masked); and
the body of the state ``maia_k8s.argocd_admin_password`` (``pillar_problem``, ``ensure``).

A host-side library (``_utils/``, see docs/development.md, "Host-side library"), imported by
``_states/maia_k8s.py``, which reads the pillar and passes ``maia_kube``'s get and apply. Nothing here logs or returns the password or its hash in a change.
"""
import base64
import datetime

from salt.exceptions import CommandExecutionError

import maia_error_kinds
import maia_state_return

HASH_KEY = "admin.password"
MTIME_KEY = "admin.passwordMtime"
# Own field manager: applying the ArgoCD install manifest (whose argocd-secret has no data)
# must not drop these fields.
FIELD_MANAGER = "maia-salt-argocd-admin"


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


def pillar_problem(password, wanted_hash, password_pillar, bcrypt_pillar):
    """Why the pillar's password and hash cannot be used (a message naming the pillar keys,
    never their values), or None."""
    if not password:
        return f"pillar {password_pillar} is empty: run maia-configure (env.json ARGOCD_PASSWORD)"
    if wanted_hash:
        if not wanted_hash.startswith("$2"):
            return f"pillar {bcrypt_pillar} is not a bcrypt hash"
        if matches(password, wanted_hash) is False:
            return (
                f"pillar {bcrypt_pillar} is not the bcrypt of {password_pillar}: "
                "run maia-configure again so both come from the same password"
            )
    return None


def ensure(ret, name, namespace, password, wanted_hash, test, get, apply, kubeconfig=None):
    """The state's body once the pillar is checked: read the live Secret ``namespace/name``
    with ``get`` (``maia_kube.get``), keep its hash and mtime when they match ``password``,
    else set them with ``apply`` (``maia_kube.apply``; under ``test``: the change predicted).
    ``ret``: the state's return."""
    try:
        # remember=True: the ArgoCD install manifest holds the same Secret; its apply reuses this read
        live = get("v1", "Secret", name, namespace, kubeconfig=kubeconfig, remember=True)
    except CommandExecutionError as exc:
        if test and maia_error_kinds.cluster_pending(exc):
            live = None
        else:
            return maia_state_return.failed(ret, str(exc))
    current_hash, old_mtime = stored(live)
    if current_hash and old_mtime and (current_hash == wanted_hash or matches(password, current_hash)):
        ret["comment"] = "ArgoCD admin password is set and unchanged"
        return ret
    verb = "changed" if current_hash else "set"
    mtime = now()
    ret["changes"] = change(current_hash, old_mtime, mtime)
    if test:
        ret["result"] = None
        ret["comment"] = f"ArgoCD admin password would be {verb}"
        return ret
    try:
        manifest = secret_manifest(name, namespace, wanted_hash or hash_password(password), mtime)
        apply(manifest, namespace=namespace, field_manager=FIELD_MANAGER, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"ArgoCD admin password: {exc}")
    ret["comment"] = f"ArgoCD admin password {verb}"
    return ret
