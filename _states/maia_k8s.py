"""States for the Kubernetes objects of stage 2 (maia.k8s), over ``maia_kube``.

Every state here is one object (or file set) put through the same ``_ensure``
(server-side apply, dry run under test, the prediction when the cluster does not
exist yet, changes without values). What they report is the host-side library
``_utils/maia_kube_changes.py``, the return itself ``maia_state_return``; the ArgoCD admin
password's hash, change and read-compare-apply are ``_utils/maia_argocd_password.py``.

Why not saltext-kubernetes: on salt-ssh targets the thin carries no saltext
package (its loader entry point is not found there) and Debian bookworm's
``python3-kubernetes`` (22.6) is older than saltext-kubernetes 3.0 requires
(>= 24.2). ``maia_kube`` works with both, so every object goes through it.

Every state reads first, returns without changes when the object already
matches, predicts its changes under ``test=True`` (server-side dry run; when the
cluster does not exist yet, a prediction from the inputs alone), and never puts
secret data (CA key, passwords, hashes) in changes, comments or logs: changes
name fields, never values.

.. code-block:: yaml

    maia-k8s-ca-namespace-cert-manager-present:
      maia_k8s.object_present:
        - manifest: {apiVersion: v1, kind: Namespace, metadata: {name: cert-manager}}

    maia-k8s-ca-secret-present:
      maia_k8s.secret_from_files:
        - name: kubernetes-ca
        - namespace: cert-manager
        - secret_type: kubernetes.io/tls
        - files: {tls.crt: /var/snap/microk8s/current/certs/ca.crt,
                  tls.key: /var/snap/microk8s/current/certs/ca.key}
"""
import logging
import os
import time

from salt.exceptions import CommandExecutionError

# _utils/: shipped and put on sys.path by Salt's loader
import maia_argocd_password
import maia_error_kinds
import maia_kube_changes
import maia_plan_overlay
from maia_kube_changes import APPLIED, DIFFERS, PRESENT  # pylint: disable=unused-import
from maia_kube_changes import applied as _applied
from maia_kube_changes import created as _created
from maia_kube_changes import ident as _ident
from maia_kube_changes import labels_change as _labels_change
from maia_kube_changes import read_files as _read_files
from maia_kube_changes import updated as _updated
import maia_state_return

log = logging.getLogger(__name__)

__virtualname__ = "maia_k8s"

def __virtual__():
    # Always load: on a fresh host the Kubernetes client is installed by
    # maia.k8s.client in the same run, and test mode must still predict.
    return __virtualname__


def _no_client(ret, predicted):
    """When maia_kube is not loaded: predict under test=True, else fail clearly."""
    if "maia_kube.ensure" in __salt__:
        return None
    if __opts__["test"]:
        return maia_state_return.predicted(ret, predicted, "would be checked and applied once the Python Kubernetes client is installed")
    ret["result"] = False
    ret["comment"] = (
        "the maia_kube module is not loaded: the Python 'kubernetes' client is missing on this host "
        "(maia:k8s:client_packages installs python3-kubernetes; onedir minions: salt-pip install kubernetes)"
    )
    return ret


def _cluster_pending(exc):
    """True when an error only means the cluster/namespace/CRD does not exist yet
    (its kind, see ``_modules/maia_errors.py``)."""
    return maia_error_kinds.cluster_pending(exc)


def _ensure(ret, manifest, namespace=None, kubeconfig=None, field_manager=None, what=None):
    """Shared body of the object states: SSA with dry run under test, field-name diffs."""
    what = what or _ident(manifest, namespace)
    if _no_client(ret, _created(what)):
        return ret
    kwargs = {"namespace": namespace, "kubeconfig": kubeconfig}
    if field_manager:
        kwargs["field_manager"] = field_manager
    test = bool(__opts__["test"])
    try:
        res = __salt__["maia_kube.ensure"](manifest, dry_run=test, **kwargs)
    except CommandExecutionError as exc:
        if test and _cluster_pending(exc):
            return maia_state_return.predicted(ret, _created(what), f"{what} would be created (cluster not ready to check yet: {exc})")
        return maia_state_return.failed(ret, f"{what}: {exc}")
    if not res["changed"]:
        ret["comment"] = f"{what} is in the desired state"
        return ret
    ret["changes"] = _created(what) if res["created"] else _updated(res["diff"])
    if test:
        ret["result"] = None
        ret["comment"] = f"{what} would be {'created' if res['created'] else 'updated'}"
    else:
        ret["comment"] = f"{what} {'created' if res['created'] else 'updated'}"
    return ret


def object_present(name, manifest, namespace=None, kubeconfig=None):
    """
    Ensure one object (server-side apply of ``manifest``). Changes name the
    object and the fields that changed, never values.
    """
    return _ensure(maia_state_return.new(name), manifest, namespace, kubeconfig)


def secret_from_files(
    name, namespace, files, secret_type="Opaque", labels=None, missing_ok_in_test=False, kubeconfig=None
):
    """
    Ensure Secret ``name`` in ``namespace`` holds the content of ``files``
    (``{data key: path on the minion}``). A missing file stops with a message
    naming it. With ``missing_ok_in_test``, test mode predicts the Secret when
    the files will only exist later in the same run (MicroK8s not installed yet).
    """
    def manifest(data):
        return maia_kube_changes.secret_manifest(name, namespace, data, secret_type, labels)

    hint = (
        " Install MicroK8s first (maia:k8s:install_microk8s) or point "
        "maia:cluster:externalCA (cert, key) / maia:k8s:ca:cert_file, key_file at the CA."
    )
    return _from_files(name, f"Secret {namespace}/{name}", files, manifest, missing_ok_in_test, kubeconfig, hint)


def configmap_from_files(name, namespace, files, missing_ok_in_test=False, kubeconfig=None):
    """
    Ensure ConfigMap ``name`` in ``namespace`` holds the text of ``files``
    (``{data key: path on the minion}``).
    """
    def manifest(data):
        return maia_kube_changes.configmap_manifest(name, namespace, data)

    return _from_files(name, f"ConfigMap {namespace}/{name}", files, manifest, missing_ok_in_test, kubeconfig)


def _from_files(name, what, files, manifest, missing_ok_in_test, kubeconfig, hint=""):
    """Shared body of secret_from_files and configmap_from_files: read ``files``
    (a missing one: predicted under test when allowed, else a clear failure),
    then ensure ``manifest(data)``."""
    ret = maia_state_return.new(name)
    data, missing = _read_files(files)
    if missing:
        if __opts__["test"] and missing_ok_in_test:
            return maia_state_return.predicted(ret, _created(what), f"{what} would be created once {', '.join(missing)} exist")
        return maia_state_return.failed(ret, f"{what}: missing file(s) {', '.join(missing)}" + (f".{hint}" if hint else ""))
    return _ensure(ret, manifest(data), None, kubeconfig)


def node_labeled(name, labels, timeout=120, interval=5, kubeconfig=None):
    """
    Ensure Node ``name`` carries ``labels`` (waits up to ``timeout`` s for the
    node to register).
    """
    ret = maia_state_return.new(name)
    labels = {k: str(v) for k, v in (labels or {}).items()}
    if _no_client(ret, _labels_change(labels, {})):
        return ret
    test = bool(__opts__["test"])
    deadline = time.monotonic() + float(timeout)
    node = None
    while True:
        try:
            node = __salt__["maia_kube.get"]("v1", "Node", name, kubeconfig=kubeconfig)
        except CommandExecutionError as exc:
            if test and _cluster_pending(exc):
                node = None
            else:
                return maia_state_return.failed(ret, f"Node {name}: {exc}")
        if node is not None or test or time.monotonic() > deadline:
            break
        time.sleep(float(interval))
    if node is None:
        if test:
            return maia_state_return.predicted(ret, _labels_change(labels, {}), f"Node {name} would be labeled once it registers")
        ret["result"] = False
        ret["comment"] = (
            f"Node {name} did not register within {timeout}s; set maia:k8s:node_name "
            "if the node name is not the host name"
        )
        return ret
    current = (node.get("metadata") or {}).get("labels") or {}
    todo = {k: v for k, v in labels.items() if current.get(k) != v}
    if not todo:
        ret["comment"] = f"Node {name} has labels {', '.join(sorted(labels))}"
        return ret
    ret["changes"] = _labels_change(todo, current)
    if test:
        ret["result"] = None
        ret["comment"] = f"Node {name} would be labeled"
        return ret
    try:
        __salt__["maia_kube.patch"]("v1", "Node", name, {"metadata": {"labels": todo}}, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"Node {name}: {exc}")
    ret["comment"] = f"Node {name} labeled"
    return ret


def manifest_applied(name, sha256, namespace=None, timeout=120, kubeconfig=None):
    """
    Server-side apply every object of the manifest file ``name`` after checking
    its sha256 (mismatch: nothing applied); CRDs first, waited for
    ``Established``, then the rest. Changes list created/changed objects.
    """
    ret = maia_state_return.new(name)
    test = bool(__opts__["test"])
    if _no_client(ret, _created(name)):
        return ret
    if not os.path.isfile(name):
        if test:
            return maia_state_return.predicted(ret, _created(name), f"{name} is not downloaded yet; it would be checked and applied")
        return maia_state_return.failed(ret, f"manifest {name} does not exist")
    try:
        summary = __salt__["maia_kube.apply_manifest_file"](
            name, sha256=sha256, namespace=namespace, dry_run=test, timeout=timeout, kubeconfig=kubeconfig
        )
    except CommandExecutionError as exc:
        if test and _cluster_pending(exc):  # a bad sha256 is "invalid": it fails
            return maia_state_return.predicted(ret, _created(name), f"{name} would be applied (cluster not ready to check yet: {exc})")
        return maia_state_return.failed(ret, str(exc))
    return _applied(ret, summary, f"{summary['objects']} objects of {os.path.basename(name)} "
                                  f"(sha256 {summary['sha256'][:12]})", test)


def objects_present(name, manifests, namespace=None, timeout=120, kubeconfig=None):
    """
    Server-side apply every object of ``manifests`` (a list), read with one list
    per kind instead of one GET per object (stage 3's namespaces); CRDs and
    Namespaces first. Changes list created/changed objects, as ``manifest_applied``'s.
    """
    ret = maia_state_return.new(name)
    test = bool(__opts__["test"])
    if test and "maia_kube.ensure" not in __salt__:
        return _planned_objects(ret, manifests, namespace, "once the Python Kubernetes client is installed")
    if _no_client(ret, _created(name)):
        return ret
    try:
        summary = __salt__["maia_kube.apply_manifests"](
            manifests, namespace=namespace, dry_run=test, timeout=timeout, kubeconfig=kubeconfig
        )
    except CommandExecutionError as exc:
        if test and _cluster_pending(exc):
            return _planned_objects(ret, manifests, namespace, f"cluster not ready to check yet: {exc}")
        return maia_state_return.failed(ret, str(exc))
    return _applied(ret, summary, f"{summary['objects']} objects", test)


def _planned_objects(ret, manifests, namespace, why):
    """objects_present under test=True before the cluster can be read: every object created, or
    in a plan on a new site, compared with what its earlier steps would have made."""
    overlay = maia_plan_overlay.active(__opts__, __pillar__)
    if overlay is None:
        return maia_state_return.predicted(ret, _created(ret["name"]), f"{len(manifests)} objects would be applied ({why})")
    summary = overlay.predict_objects({_ident(m, namespace): m for m in manifests})
    return _applied(ret, summary, f"{summary['objects']} objects", True)


def crds_established(name, crds, timeout=60, kubeconfig=None):
    """
    Check that each CustomResourceDefinition of ``crds`` is Established (for
    connect-only mode: an ArgoCD installed by someone else).
    """
    ret = maia_state_return.new(name)
    if _no_client(ret, {}):
        return ret
    try:
        for crd in crds:
            __salt__["maia_kube.wait_crd_established"](crd, timeout=timeout, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        ret["result"] = None if __opts__["test"] and _cluster_pending(exc) else False
        ret["comment"] = str(exc)
        return ret
    ret["comment"] = f"Established: {', '.join(crds)}"
    return ret


# ---- ArgoCD admin password (maia_argocd_password) -------------------------------------


def argocd_admin_password(
    name="argocd-secret",
    namespace="argocd",
    password_pillar="maia:env:ARGOCD_PASSWORD",
    bcrypt_pillar="maia:env:argocd_bcrypt_password",
    kubeconfig=None,
):
    """
    Ensure ArgoCD's ``argocd-secret`` has ``admin.password`` (bcrypt, ``$2a$``)
    for the password in pillar ``password_pillar`` and ``admin.passwordMtime``.
    The stored hash and its mtime are kept when they already match the
    password. Values are read from pillar here, so they never appear in the
    state's arguments, changes, comments or logs.
    """
    ret = maia_state_return.new(f"Secret {namespace}/{name}")
    password = __salt__["pillar.get"](password_pillar, "", unmask=True)
    wanted_hash = __salt__["pillar.get"](bcrypt_pillar, "", unmask=True)
    problem = maia_argocd_password.pillar_problem(password, wanted_hash, password_pillar, bcrypt_pillar)
    if problem:
        return maia_state_return.failed(ret, problem)
    if _no_client(ret, maia_argocd_password.change(None, None, "now")):
        return ret
    return maia_argocd_password.ensure(
        ret, name, namespace, password, wanted_hash, bool(__opts__["test"]),
        get=__salt__["maia_kube.get"], apply=__salt__["maia_kube.apply"], kubeconfig=kubeconfig,
    )


def files_present(name, files, missing_ok_in_test=False):
    """
    Stop early with a clear message when an input file is missing
    (``files``: ``{what: path}``). ``missing_ok_in_test``: in test mode the
    files may appear later in the same run (MicroK8s not installed yet).
    """
    ret = maia_state_return.new(name)
    missing = [f"{what} ({path})" for what, path in files.items() if not os.path.isfile(path)]
    if not missing:
        ret["comment"] = f"Present: {', '.join(files)}"
        return ret
    if __opts__["test"] and missing_ok_in_test:
        ret["result"] = None
        ret["comment"] = f"Not present yet (expected after the MicroK8s install): {', '.join(missing)}"
        return ret
    ret["result"] = False
    ret["comment"] = (
        f"Missing: {', '.join(missing)}. Install MicroK8s first (maia:k8s:install_microk8s) or set "
        "maia:cluster:externalCA.cert / maia:k8s:oidc:ca_file / maia:k8s:ca:cert_file, key_file to existing files."
    )
    return ret


def object_absent(name, api_version, kind, namespace=None, wait=True, timeout=120, kubeconfig=None):
    """
    Ensure object ``kind``/``name`` does not exist (for the ``clean.sls`` files).
    """
    what = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    ret = maia_state_return.new(name)
    if _no_client(ret, {}):
        return ret
    try:
        live = __salt__["maia_kube.get"](api_version, kind, name, namespace, kubeconfig=kubeconfig)
    except CommandExecutionError as exc:
        if maia_error_kinds.kind(exc) == "no_kubeconfig":
            ret["comment"] = f"{what}: no kubeconfig, so no cluster to delete it from ({exc})"
            return ret
        return maia_state_return.failed(ret, f"{what}: {exc}")
    if live is None:
        ret["comment"] = f"{what} does not exist"
        return ret
    ret["changes"] = {what: {"old": PRESENT, "new": None}}
    if __opts__["test"]:
        ret["result"] = None
        ret["comment"] = f"{what} would be deleted"
        return ret
    try:
        __salt__["maia_kube.delete"](
            api_version, kind, name, namespace, wait=wait, timeout=timeout, kubeconfig=kubeconfig
        )
    except CommandExecutionError as exc:
        return maia_state_return.failed(ret, f"{what}: {exc}")
    ret["comment"] = f"{what} deleted"
    return ret
