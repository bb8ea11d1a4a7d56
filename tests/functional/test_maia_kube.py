"""Functional tests of the maia_kube execution module through real Salt.

The module is loaded by Salt's own loader (``salt.loader.minion_mods`` with a
minion config whose pillar sets ``maia:kubeconfig``), and some tests run the
real ``salt-call --local`` command.

STAND-IN: without a kube-apiserver on this machine (see docs/standins.md) the
Kubernetes API is the stand-in ``maia_lab.standins.kube_api``. With
``MAIA_E2E_KUBECONFIG=/path/to/kubeconfig`` the same tests run against that
real cluster instead (tests that count the stand-in's requests or change its
timing are skipped there). The ArgoCD install manifest is maia-salt's generated
stand-in (``support.argocd_manifest``), or a real release file given as
``MAIA_ARGOCD_MANIFEST``.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from support import argocd_manifest
from support.extmods import synced_extension_modules
from support.minion import SKIP_MACHINE_GRAINS

ARGOCD_MANIFEST, ARGOCD_SHA256 = argocd_manifest.manifest()
ARGOCD_OBJECTS = len(argocd_manifest.documents())
E2E_KUBECONFIG = os.environ.get("MAIA_E2E_KUBECONFIG")
ARGOCD_NAMESPACE = os.environ.get("MAIA_E2E_ARGOCD_NAMESPACE", "argocd")
standin_only = pytest.mark.skipif(bool(E2E_KUBECONFIG), reason="counts or tunes the API stand-in's behaviour")


@pytest.fixture(scope="module")
def kube(tmp_path_factory):
    """(kubeconfig path, stand-in or None): the stand-in, or the real cluster of MAIA_E2E_KUBECONFIG."""
    if E2E_KUBECONFIG:
        yield E2E_KUBECONFIG, None
        return
    from maia_lab.standins.kube_api import KubeApiStandin

    with KubeApiStandin(tls_dir=tmp_path_factory.mktemp("kube-api")) as api:
        yield api.kubeconfig, api


def _minion_opts(root, pillar):
    import salt.config

    opts = salt.config.minion_config(None)
    opts.update({
        "id": "maia-node-0",
        "file_client": "local", **SKIP_MACHINE_GRAINS,
        "root_dir": str(root),
        "cachedir": str(root / "cache"),
        "pki_dir": str(root / "pki"),
        "sock_dir": str(root / "sock"),
        "extension_modules": synced_extension_modules(root),
        "pillar": pillar,
    })
    return opts


@pytest.fixture(scope="module")
def salt_mods(kube, tmp_path_factory):
    """Salt's execution modules, loaded by the real Salt loader; pillar maia:kubeconfig -> the API."""
    import salt.loader

    opts = _minion_opts(tmp_path_factory.mktemp("minion"), {"maia": {"kubeconfig": kube[0]}})
    mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))  # as a minion and salt-call load them
    assert "maia_kube.apply" in mods, mods.missing_fun_string("maia_kube.apply")
    return mods


@pytest.fixture(scope="module")
def ns(salt_mods):
    name = f"maia-kube-test-{uuid.uuid4().hex[:6]}"
    salt_mods["maia_kube.apply"]({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    salt_mods["maia_kube.delete"]("v1", "Namespace", name)


def _cm(name, ns, data, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}}, "data": data}


def test_ping_and_version(salt_mods, kube, tmp_path):
    assert salt_mods["maia_kube.ping"]() is True
    assert salt_mods["maia_kube.version"]()["major"] == "1"
    bad = yaml.safe_load(Path(kube[0]).read_text())
    for user in bad["users"]:
        user["user"] = {"token": "not-the-token"}
    bad_path = tmp_path / "bad-kubeconfig"
    bad_path.write_text(yaml.safe_dump(bad))
    assert salt_mods["maia_kube.ping"](kubeconfig=str(bad_path)) is False


def test_missing_kubeconfig_is_a_clear_error(salt_mods):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError, match="kubeconfig /nonexistent/kubeconfig does not exist"):
        salt_mods["maia_kube.get"]("v1", "Namespace", "default", kubeconfig="/nonexistent/kubeconfig")


def test_get_apply_and_cluster_scoped_namespace(salt_mods, ns):
    assert salt_mods["maia_kube.get"]("v1", "ConfigMap", "absent", namespace=ns) is None
    live = salt_mods["maia_kube.get"]("v1", "Namespace", ns)
    assert type(live) is dict and live["kind"] == "Namespace" and live["metadata"]["name"] == ns
    json.dumps(live)  # plain data
    assert salt_mods["maia_kube.exists"]("v1", "Namespace", ns) is True


def test_ensure_reports_created_changed_and_noop(salt_mods, ns):
    ensure = salt_mods["maia_kube.ensure"]
    first = ensure(_cm("ens", ns, {"a": "1"}))
    assert first["created"] and first["changed"] and first["id"] == f"ConfigMap {ns}/ens"
    second = ensure(_cm("ens", ns, {"a": "1"}))
    assert not second["created"] and not second["changed"] and second["diff"] == []
    predicted = ensure(_cm("ens", ns, {"a": "2"}), dry_run=True)
    assert predicted["changed"] and predicted["diff"] == ["data.a"]
    assert salt_mods["maia_kube.get"]("v1", "ConfigMap", "ens", ns)["data"] == {"a": "1"}  # dry run stored nothing
    third = ensure(_cm("ens", ns, {"a": "2", "b": "3"}))
    assert third["changed"] and third["diff"] == ["data.a", "data.b"]


@standin_only
def test_ensure_writes_only_what_differs(salt_mods, kube, ns):
    """A re-run of ensure is one GET and no write; a field dropped from the
    manifest, a value changed by another field manager and a value changed
    by the manifest each cost one apply, which puts the object right."""
    api = kube[1]
    ensure = salt_mods["maia_kube.ensure"]
    ensure(_cm("only", ns, {"a": "1", "b": "2"}, labels={"app": "x"}))
    api.reset_requests()
    again = ensure(_cm("only", ns, {"a": "1", "b": "2"}, labels={"app": "x"}))
    assert not again["changed"] and again["object"]["data"] == {"a": "1", "b": "2"}
    assert api.request_counts() == {f"GET /api/v1/namespaces/{ns}/configmaps/only": 1}
    predicted = ensure(_cm("only", ns, {"a": "1"}, labels={"app": "x"}), dry_run=True)
    assert predicted["changed"] and predicted["diff"] == ["data.b"]  # a dropped field is still removed
    dropped = ensure(_cm("only", ns, {"a": "1"}, labels={"app": "x"}))
    assert dropped["changed"] and dropped["object"]["data"] == {"a": "1"}
    salt_mods["maia_kube.patch"]("v1", "ConfigMap", "only", {"data": {"a": "changed"}}, namespace=ns,
                                 field_manager="someone-else")
    restored = ensure(_cm("only", ns, {"a": "1"}, labels={"app": "x"}))
    assert restored["changed"] and restored["diff"] == ["data.a"] and restored["object"]["data"] == {"a": "1"}
    salt_mods["maia_kube.patch"]("v1", "ConfigMap", "only", {"data": {"other": "kept"}}, namespace=ns,
                                 field_manager="someone-else")
    api.reset_requests()
    kept = ensure(_cm("only", ns, {"a": "1"}, labels={"app": "x"}))  # another manager's field: not ours
    assert not kept["changed"] and all(k.startswith("GET ") for k in api.request_counts())
    bare = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}  # name and kind only
    ensure(bare)
    api.reset_requests()
    assert not ensure(bare)["changed"] and list(api.request_counts()) == [f"GET /api/v1/namespaces/{ns}"]


@standin_only
def test_a_remembered_read_serves_the_next_ensure_once(salt_mods, kube, ns):
    """get(remember=True), then ensure of the same object: one GET in all (two states that manage
    fields of one object: the ArgoCD admin password and the install manifest's Secret). The read is
    used once, and a write in between forgets it, so ensure then sees the change and puts it right."""
    api = kube[1]
    ensure, get = salt_mods["maia_kube.ensure"], salt_mods["maia_kube.get"]
    path = f"GET /api/v1/namespaces/{ns}/configmaps/shared"
    manifest = _cm("shared", ns, {"a": "1"})
    ensure(manifest)
    api.reset_requests()
    assert get("v1", "ConfigMap", "shared", ns, remember=True)["data"] == {"a": "1"}
    assert not ensure(manifest)["changed"]
    assert api.request_counts() == {path: 1}
    api.reset_requests()
    assert not ensure(manifest)["changed"]  # used once: this ensure reads again
    assert api.request_counts() == {path: 1}
    get("v1", "ConfigMap", "shared", ns, remember=True)
    salt_mods["maia_kube.patch"]("v1", "ConfigMap", "shared", {"data": {"a": "2"}}, namespace=ns,
                                 field_manager="someone-else")
    api.reset_requests()
    again = ensure(manifest)
    assert again["changed"] and again["diff"] == ["data.a"] and again["object"]["data"] == {"a": "1"}
    assert api.request_counts()[path] == 1


def test_ensure_diff_names_secret_keys_never_values(salt_mods, ns):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
              "stringData": {"password": "first-value"}}
    salt_mods["maia_kube.ensure"](secret)
    result = salt_mods["maia_kube.ensure"](dict(secret, stringData={"password": "second-value"}))
    assert result["changed"] and result["diff"] == ["data.password"]
    shown = json.dumps({k: v for k, v in result.items() if k != "object"})
    assert "second-value" not in shown and base64.b64encode(b"second-value").decode() not in shown


def test_create_conflict_is_a_command_error(salt_mods, ns):
    from salt.exceptions import CommandExecutionError

    salt_mods["maia_kube.create"](_cm("dup", ns, {"a": "1"}))
    with pytest.raises(CommandExecutionError, match="HTTP 409"):
        salt_mods["maia_kube.create"](_cm("dup", ns, {"a": "1"}))
    with pytest.raises(CommandExecutionError, match="is namespaced, pass namespace="):
        salt_mods["maia_kube.get"]("v1", "ConfigMap", "dup")
    with pytest.raises(CommandExecutionError, match="serves no kind Nope"):
        salt_mods["maia_kube.get"]("v1", "Nope", "x", namespace=ns)


def test_replace_with_stale_resource_version_conflicts(salt_mods, ns):
    from salt.exceptions import CommandExecutionError

    created = salt_mods["maia_kube.create"](_cm("rep", ns, {"a": "1"}))
    body = _cm("rep", ns, {"a": "2"})
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    replaced = salt_mods["maia_kube.replace"](body)
    assert replaced["data"] == {"a": "2"}
    with pytest.raises(CommandExecutionError, match="HTTP 409"):
        salt_mods["maia_kube.replace"](body)  # the resourceVersion is stale now


def test_patch_types_list_and_status_subresource(salt_mods, ns):
    salt_mods["maia_kube.apply"](_cm("p1", ns, {"a": "1"}, {"app": "maia"}))
    salt_mods["maia_kube.apply"](_cm("p2", ns, {"a": "1"}, {"app": "other"}))
    merged = salt_mods["maia_kube.patch"]("v1", "ConfigMap", "p1", {"data": {"b": "2"}}, namespace=ns)
    assert merged["data"] == {"a": "1", "b": "2"}
    jsoned = salt_mods["maia_kube.patch"]("v1", "ConfigMap", "p1", [{"op": "remove", "path": "/data/a"}],
                                          namespace=ns, patch_type="json")
    assert jsoned["data"] == {"b": "2"}
    names = [o["metadata"]["name"] for o in salt_mods["maia_kube.list"]("v1", "ConfigMap", ns, label_selector="app=maia")]
    assert names == ["p1"]
    every = salt_mods["maia_kube.list"]("v1", "ConfigMap", label_selector="app=maia")
    assert all(o["kind"] == "ConfigMap" for o in every) and f"{ns}/p1" in [
        f'{o["metadata"]["namespace"]}/{o["metadata"]["name"]}' for o in every]
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "namespace": ns},
           "spec": {"replicas": 0, "selector": {"matchLabels": {"a": "b"}},
                    "template": {"metadata": {"labels": {"a": "b"}},
                                 "spec": {"containers": [{"name": "c", "image": "registry.invalid/none"}]}}}}
    salt_mods["maia_kube.apply"](dep)
    restarted = salt_mods["maia_kube.patch"](
        "apps/v1", "Deployment", "d",
        {"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}}}}},
        namespace=ns, patch_type="strategic")
    assert restarted["spec"]["template"]["metadata"]["annotations"] == {"kubectl.kubernetes.io/restartedAt": "now"}


@standin_only
def test_status_subresource_patch(salt_mods, ns):
    salt_mods["maia_kube.apply"]({"apiVersion": "apps/v1", "kind": "Deployment",
                                  "metadata": {"name": "st", "namespace": ns},
                                  "spec": {"selector": {"matchLabels": {"a": "b"}},
                                           "template": {"metadata": {"labels": {"a": "b"}},
                                                        "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
    out = salt_mods["maia_kube.patch"]("apps/v1", "Deployment", "st", {"status": {"readyReplicas": 1}},
                                       namespace=ns, subresource="status")
    assert out["status"]["readyReplicas"] == 1


def test_delete_absent_finalizers_and_wait(salt_mods, ns):
    from salt.exceptions import CommandExecutionError

    assert salt_mods["maia_kube.delete"]("v1", "ConfigMap", "never-there", ns) is False
    cm = _cm("fin", ns, {"a": "1"})
    cm["metadata"]["finalizers"] = ["maia-salt.io/test"]
    salt_mods["maia_kube.apply"](cm)
    with pytest.raises(CommandExecutionError, match="still exists"):
        salt_mods["maia_kube.delete"]("v1", "ConfigMap", "fin", ns, wait=True, timeout=1, interval=0.2)
    assert salt_mods["maia_kube.get"]("v1", "ConfigMap", "fin", ns)["metadata"]["deletionTimestamp"]
    salt_mods["maia_kube.patch"]("v1", "ConfigMap", "fin", {"metadata": {"finalizers": None}}, namespace=ns)
    assert salt_mods["maia_kube.get"]("v1", "ConfigMap", "fin", ns) is None
    salt_mods["maia_kube.apply"](_cm("gone", ns, {}))
    assert salt_mods["maia_kube.delete"]("v1", "ConfigMap", "gone", ns, wait=True, timeout=10) is True
    assert salt_mods["maia_kube.get"]("v1", "ConfigMap", "gone", ns) is None


def test_wait_crd_established_missing_crd_times_out(salt_mods):
    from salt.exceptions import CommandExecutionError

    with pytest.raises(CommandExecutionError, match="does not exist after 0.5s"):
        salt_mods["maia_kube.wait_crd_established"]("nothings.maia.io", timeout=0.5, interval=0.1)


def test_apply_manifests_puts_crds_first_and_waits(salt_mods, ns, tmp_path):
    group = f"t{uuid.uuid4().hex[:6]}.maia.io"
    text = yaml.safe_dump_all([
        {"apiVersion": f"{group}/v1", "kind": "Gizmo", "metadata": {"name": "g1"}, "spec": {"size": 1}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": f"gizmos.{group}"},
         "spec": {"group": group, "scope": "Namespaced",
                  "names": {"kind": "Gizmo", "plural": "gizmos", "singular": "gizmo", "listKind": "GizmoList"},
                  "versions": [{"name": "v1", "served": True, "storage": True,
                                "schema": {"openAPIV3Schema": {"type": "object",
                                                               "x-kubernetes-preserve-unknown-fields": True}}}]}},
    ])
    path = tmp_path / "m.yaml"
    path.write_text(text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    predicted = salt_mods["maia_kube.apply_manifest_file"](str(path), sha256=digest, namespace=ns, dry_run=True)
    assert len(predicted["created"]) == 2 and salt_mods["maia_kube.get"](
        "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gizmos.{group}") is None
    summary = salt_mods["maia_kube.apply_manifest_file"](str(path), sha256=digest, namespace=ns)
    assert summary["objects"] == 2 and len(summary["created"]) == 2 and summary["sha256"] == digest
    assert salt_mods["maia_kube.get"](f"{group}/v1", "Gizmo", "g1", ns)["spec"] == {"size": 1}
    salt_mods["maia_kube.delete"]("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gizmos.{group}")


def test_dry_run_of_a_manifest_into_a_new_namespace(salt_mods):
    name = f"maia-kube-new-{uuid.uuid4().hex[:6]}"
    manifest = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}},
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}]
    predicted = salt_mods["maia_kube.apply_manifests"](manifest, namespace=name, dry_run=True)
    assert sorted(predicted["created"]) == sorted([f"Namespace {name}", f"ConfigMap {name}/c"])
    assert salt_mods["maia_kube.get"]("v1", "Namespace", name) is None


@standin_only
def test_crd_wait_with_slow_establishment(tmp_path):
    """STAND-IN with crd_establish_delay: custom resources are applied only after the CRD is Established."""
    import salt.loader

    from maia_lab.standins.kube_api import KubeApiStandin

    with KubeApiStandin(crd_establish_delay=1.0) as api:
        opts = _minion_opts(tmp_path, {"maia": {"kubeconfig": api.kubeconfig}})
        mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
        manifest = [
            {"apiVersion": "example.maia.io/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "default"}},
            {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "metadata": {"name": "widgets.example.maia.io"},
             "spec": {"group": "example.maia.io", "scope": "Namespaced",
                      "names": {"kind": "Widget", "plural": "widgets"},
                      "versions": [{"name": "v1", "served": True, "storage": True}]}},
        ]
        summary = mods["maia_kube.apply_manifests"](manifest)
        assert len(summary["created"]) == 2
        crd_gets = api.request_counts()["GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.maia.io"]
        assert crd_gets >= 2  # polled until Established
        assert api.get_object("example.maia.io/v1", "Widget", "w", "default") is not None


# ------------------------------------------------------------------ the pinned ArgoCD manifest


def _salt_call(root, kubeconfig, *args):
    """Run the real `salt-call --local` with a minion config whose pillar points at the API."""
    conf = root / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (root / "pillar").mkdir(exist_ok=True)
    (root / "pillar" / "top.sls").write_text("base:\n  '*': [maia]\n")
    (root / "pillar" / "maia.sls").write_text(yaml.safe_dump({"maia": {"kubeconfig": kubeconfig}}))
    (conf / "minion").write_text(yaml.safe_dump({
        "id": "maia-node-0", "file_client": "local", **SKIP_MACHINE_GRAINS, "root_dir": str(root),
        "pillar_roots": {"base": [str(root / "pillar")]}, "cachedir": str(root / "cache"),
        "pki_dir": str(root / "pki"), "sock_dir": str(root / "sock"), "log_file": str(root / "minion.log"),
        "log_level_logfile": "debug", "extension_modules": synced_extension_modules(root)}))
    salt_call = str(Path(sys.executable).with_name("salt-call"))
    proc = subprocess.run([salt_call, "--local", "-c", str(conf), "--out=json", "--retcode-passthrough", *args],
                          capture_output=True, text=True, timeout=600)
    return proc


def test_argocd_manifest_applies_and_reapplies_unchanged(kube, tmp_path):
    kubeconfig, api = kube
    assert hashlib.sha256(ARGOCD_MANIFEST.read_bytes()).hexdigest() == ARGOCD_SHA256
    ns_manifest = tmp_path / "ns.yaml"
    ns_manifest.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace",
                                           "metadata": {"name": ARGOCD_NAMESPACE}}))
    proc = _salt_call(tmp_path / "run0", kubeconfig, "maia_kube.apply_manifest_file", str(ns_manifest))
    assert proc.returncode == 0, proc.stderr
    proc = _salt_call(tmp_path / "run1", kubeconfig, "maia_kube.apply_manifest_file", str(ARGOCD_MANIFEST),
                      f"sha256={ARGOCD_SHA256}", f"namespace={ARGOCD_NAMESPACE}")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    first = json.loads(proc.stdout)["local"]
    assert first["objects"] == ARGOCD_OBJECTS and first["sha256"] == ARGOCD_SHA256
    assert "CustomResourceDefinition applications.argoproj.io" in first["created"] + first["changed"] or E2E_KUBECONFIG

    import salt.loader

    opts = _minion_opts(tmp_path / "check", {"maia": {"kubeconfig": kubeconfig}})
    mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
    for crd in ("applications.argoproj.io", "appprojects.argoproj.io", "applicationsets.argoproj.io"):
        assert mods["maia_kube.wait_crd_established"](crd, timeout=5) is True
    assert mods["maia_kube.get"]("apps/v1", "Deployment", "argocd-server", ARGOCD_NAMESPACE)["spec"]["template"]
    assert mods["maia_kube.get"]("apps/v1", "StatefulSet", "argocd-application-controller", ARGOCD_NAMESPACE)
    assert mods["maia_kube.get"]("rbac.authorization.k8s.io/v1", "ClusterRole", "argocd-server")
    # the CRDs serve their kinds: an AppProject can be created now
    project = mods["maia_kube.apply"]({"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject",
                                       "metadata": {"name": "maia-kube-test", "namespace": ARGOCD_NAMESPACE},
                                       "spec": {"sourceRepos": ["*"]}})
    assert project["spec"]["sourceRepos"] == ["*"]
    mods["maia_kube.delete"]("argoproj.io/v1alpha1", "AppProject", "maia-kube-test", ARGOCD_NAMESPACE)

    if api is not None:
        api.reset_requests()
    proc = _salt_call(tmp_path / "run2", kubeconfig, "maia_kube.apply_manifest_file", str(ARGOCD_MANIFEST),
                      f"sha256={ARGOCD_SHA256}", f"namespace={ARGOCD_NAMESPACE}")
    assert proc.returncode == 0, proc.stderr
    second = json.loads(proc.stdout)["local"]
    assert second["created"] == [] and second["changed"] == [] and second["unchanged"] == ARGOCD_OBJECTS
    if api is not None:
        counts = api.request_counts()
        writes = {k: v for k, v in counts.items() if not k.startswith("GET ")}
        assert writes == {}  # compared before applying: a re-run that changes nothing writes nothing
        reads = sum(v for k, v in counts.items() if "/namespaces/" in k or "customresourcedefinitions" in k
                    or "/clusterrole" in k)
        assert reads <= ARGOCD_OBJECTS  # at most one read per object (one list per kind where a kind has several)


def test_argocd_manifest_wrong_checksum_applies_nothing(kube, tmp_path):
    kubeconfig, api = kube
    if api is not None:
        api.reset_requests()
    wrong = hashlib.sha256(b"").hexdigest()
    proc = _salt_call(tmp_path / "run", kubeconfig, "maia_kube.apply_manifest_file", str(ARGOCD_MANIFEST),
                      f"sha256={wrong}", f"namespace={ARGOCD_NAMESPACE}")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert f"sha256 mismatch for {ARGOCD_MANIFEST}: expected {wrong}, got {ARGOCD_SHA256}; nothing applied" in out
    if api is not None:
        assert api.request_log == []  # checked before a single API request


def test_secret_values_never_reach_the_log(kube, tmp_path):
    kubeconfig, _ = kube
    marker = f"sekret-{uuid.uuid4().hex}"
    manifest = tmp_path / "secret.yaml"
    manifest.write_text(yaml.safe_dump_all([
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "maia-kube-log-test"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "maia-kube-log-test"},
         "stringData": {"password": marker}},
    ]))
    proc = _salt_call(tmp_path / "run", kubeconfig, "maia_kube.apply_manifest_file", str(manifest))
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "run" / "minion.log").read_text()
    encoded = base64.b64encode(marker.encode()).decode()
    assert "maia_kube" in log or "salt" in log  # the debug log was written
    for text in (log, proc.stdout, proc.stderr):
        assert marker not in text and encoded not in text
    _salt_call(tmp_path / "cleanup", kubeconfig, "maia_kube.delete", "v1", "Namespace", "maia-kube-log-test")


def test_virtual_explains_missing_kubernetes_client(tmp_path):
    """Where the kubernetes client is missing the module does not load, and says why."""
    code = f"""
import sys, importlib.abc
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "kubernetes" or name.startswith("kubernetes."):
            raise ModuleNotFoundError(name)
sys.meta_path.insert(0, Block())
import importlib.util
importlib.util.find_spec = (lambda orig: (lambda name, *a: None if name.split(".")[0] == "kubernetes" else orig(name, *a)))(importlib.util.find_spec)
import salt.config, salt.loader
opts = salt.config.minion_config(None)
opts.update(file_client="local", cachedir={str(tmp_path)!r}, pki_dir={str(tmp_path)!r},
            extension_modules={synced_extension_modules(tmp_path)!r})
mods = salt.loader.minion_mods(opts, utils=salt.loader.utils(opts))
print("LOADED" if "maia_kube.get" in mods else mods.missing_fun_string("maia_kube.get"))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "LOADED" not in proc.stdout
    assert "the Python 'kubernetes' client is not installed" in proc.stdout, proc.stdout + proc.stderr


def test_kind_removed_after_discovery_is_reported(salt_mods, ns):
    """A CRD deleted after discovery cached its kind: get says the kind is not served (not 'absent')."""
    from salt.exceptions import CommandExecutionError

    group = f"r{uuid.uuid4().hex[:6]}.maia.io"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"gones.{group}"},
           "spec": {"group": group, "scope": "Namespaced", "names": {"kind": "Gone", "plural": "gones"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {"type": "object",
                                                                 "x-kubernetes-preserve-unknown-fields": True}}}]}}
    salt_mods["maia_kube.apply"](crd)
    salt_mods["maia_kube.wait_crd_established"](f"gones.{group}", timeout=30)
    assert salt_mods["maia_kube.get"](f"{group}/v1", "Gone", "x", ns) is None  # kind cached, object absent
    salt_mods["maia_kube.delete"]("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gones.{group}",
                                  wait=True, timeout=60)
    import time

    deadline = time.monotonic() + 60  # a real API server stops serving the kind shortly after
    while True:
        try:
            salt_mods["maia_kube.get"](f"{group}/v1", "Gone", "x", ns)
        except CommandExecutionError as exc:
            assert "serves no kind Gone" in str(exc)
            break
        assert time.monotonic() < deadline, "the deleted CRD's kind is still served"
        time.sleep(1)


def test_ensure_ignores_status_written_by_controllers(salt_mods, ns):
    """A custom resource without a status subresource (like an ArgoCD Application): a controller's
    status writes are not changes of ours."""
    group = f"s{uuid.uuid4().hex[:6]}.maia.io"
    salt_mods["maia_kube.apply"]({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"apps.{group}"},
        "spec": {"group": group, "scope": "Namespaced", "names": {"kind": "App", "plural": "apps"},
                 "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {},
                               "schema": {"openAPIV3Schema": {"type": "object",
                                                              "x-kubernetes-preserve-unknown-fields": True}}}]}})
    salt_mods["maia_kube.wait_crd_established"](f"apps.{group}", timeout=30)
    app = {"apiVersion": f"{group}/v1", "kind": "App", "metadata": {"name": "a", "namespace": ns},
           "spec": {"chart": "x", "version": "1.0.0"}}
    assert salt_mods["maia_kube.ensure"](app)["created"]
    salt_mods["maia_kube.patch"](f"{group}/v1", "App", "a", {"status": {"sync": {"status": "Synced"}}},
                                 namespace=ns, field_manager="controller")
    again = salt_mods["maia_kube.ensure"](app)
    assert not again["changed"] and again["object"]["status"] == {"sync": {"status": "Synced"}}
    bumped = salt_mods["maia_kube.ensure"](dict(app, spec={"chart": "x", "version": "1.0.1"}))
    assert bumped["changed"] and bumped["diff"] == ["spec.version"]
    salt_mods["maia_kube.delete"]("apiextensions.k8s.io/v1", "CustomResourceDefinition", f"apps.{group}")
