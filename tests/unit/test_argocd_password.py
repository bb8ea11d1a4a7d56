"""ArgoCD's admin password as argocd-secret holds it (_utils/maia_argocd_password.py): the
pillar's checks, the ``$2a$`` hash, the Secret's fields and the masked change.

The state's read, compare and apply (``ensure``) against a Kubernetes API run in
tests/k8s/test_k8s_formula.py and tests/k8s/test_k8s_failures.py (the API stand-in)."""
import sys

import bcrypt

from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_argocd_password as password_lib  # noqa: E402

PASSWORD = "argo-Pw-7q1-not-in-any-message"
PW_KEY, HASH_KEY = "maia:env:ARGOCD_PASSWORD", "maia:env:argocd_bcrypt_password"


def _problem(password, hashed):
    return password_lib.pillar_problem(password, hashed, PW_KEY, HASH_KEY)


def test_the_pillar_checks_name_the_keys_never_the_values():
    right = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(4)).decode()
    wrong = bcrypt.hashpw(b"another", bcrypt.gensalt(4)).decode()
    assert _problem(PASSWORD, right) is None
    assert _problem(PASSWORD, "") is None  # no hash in the pillar: the state makes one
    assert _problem("", right) == f"pillar {PW_KEY} is empty: run maia-configure (env.json ARGOCD_PASSWORD)"
    assert _problem(PASSWORD, "plain-text") == f"pillar {HASH_KEY} is not a bcrypt hash"
    mismatch = _problem(PASSWORD, wrong)
    assert mismatch.startswith(f"pillar {HASH_KEY} is not the bcrypt of {PW_KEY}")
    for message in (mismatch, _problem(PASSWORD, "plain-text")):
        assert PASSWORD not in message and wrong not in message and "plain-text" not in message


def test_the_hash_has_the_2a_prefix_and_matches_only_its_password():
    hashed = password_lib.hash_password(PASSWORD)
    assert hashed.startswith("$2a$")
    assert password_lib.matches(PASSWORD, hashed) is True
    assert password_lib.matches("another", hashed) is False
    assert password_lib.matches(PASSWORD, "$2a$not-a-hash") is False


def test_the_secret_holds_hash_and_mtime_and_the_change_masks_the_hash():
    manifest = password_lib.secret_manifest("argocd-secret", "argocd", "$2a$10$hash", "2026-12-07T09:00:00Z")
    assert manifest["metadata"]["labels"]["app.kubernetes.io/part-of"] == "argocd"
    assert password_lib.stored(manifest) == ("$2a$10$hash", "2026-12-07T09:00:00Z")
    assert password_lib.stored(None) == ("", None)
    change = password_lib.change("$2a$10$hash", "2026-12-07T09:00:00Z", "2026-12-07T10:00:00Z")
    assert change == {"admin.password": {"old": "<masked>", "new": "<masked>"},
                      "admin.passwordMtime": {"old": "2026-12-07T09:00:00Z", "new": "2026-12-07T10:00:00Z"}}
    assert password_lib.change("", None, "now")["admin.password"] == {"old": None, "new": "<masked>"}
