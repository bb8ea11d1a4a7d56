"""The ArgoCD application-controller stand-in (``maia_lab.standins.argocd_controller``)
against the Kubernetes API stand-in (``maia_lab.standins.kube_api``).

Both are stand-ins (see docs/standins.md: no kube-apiserver, no ArgoCD on this
machine); these tests pin down the ArgoCD behaviour the stand-in must show so
that the argocd states' sync and wait logic is tested against something
faithful: the status fields and their transitions. Passes are driven by hand
(``tick()``), so nothing here depends on timing. Nothing to run against a real
cluster (there the real controller does this), so no MAIA_E2E_KUBECONFIG path.
"""
import subprocess
import sys

import pytest

from support import argocd_manifest

NS = "argocd"


@pytest.fixture(scope="module")
def api():
    from kubernetes import config, dynamic

    from maia_lab.standins.kube_api import KubeApiStandin

    crds = argocd_manifest.crds("applications.argoproj.io")
    with KubeApiStandin() as standin:
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=standin.kubeconfig))
        dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(body=crds[0])
        dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        dyn.resources.invalidate_cache()
        standin.apps = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Application")
        yield standin


def _app(api, name, version="1.0.0", annotations=None, automated=False, finalizers=None):
    body = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": {"name": name, "namespace": NS, "annotations": annotations or {},
                         "finalizers": finalizers or []},
            "spec": {"project": "default",
                     "source": {"repoURL": "https://charts.example.org", "chart": name, "targetRevision": version,
                                "helm": {"releaseName": name, "valuesObject": {"a": 1, "b": 2}}},
                     "destination": {"server": "https://kubernetes.default.svc", "namespace": "ns-" + name}}}
    if automated:
        body["spec"]["syncPolicy"] = {"automated": {"prune": True}}
    api.apps.create(body=body, namespace=NS)


def _get(api, name):
    return api.apps.get(name=name, namespace=NS).to_dict()


def _sync(api, name, sync_id="id-1"):
    api.apps.patch(name=name, namespace=NS, content_type="application/merge-patch+json",
                   body={"operation": {"initiatedBy": {"username": "test"},
                                       "info": [{"name": "maia-salt-sync-id", "value": sync_id}],
                                       "sync": {"prune": True}}})


@pytest.fixture
def controller(api):
    from maia_lab.standins.argocd_controller import ArgoCDControllerStandin

    return ArgoCDControllerStandin(api.kubeconfig, NS, sync_seconds=0, progress_seconds=0)


def test_a_sync_goes_outofsync_running_synced_progressing_healthy(api, controller):
    _app(api, "app-ok")
    controller.tick()
    status = _get(api, "app-ok")["status"]
    assert status["sync"]["status"] == "OutOfSync" and status["health"]["status"] == "Missing"
    assert status["sync"]["comparedTo"]["source"]["targetRevision"] == "1.0.0"

    _sync(api, "app-ok")
    controller.tick()
    app = _get(api, "app-ok")
    assert app["status"]["operationState"]["phase"] == "Running"
    assert app["operation"], "the operation stays until it has finished"

    controller.tick()
    app = _get(api, "app-ok")
    assert "operation" not in app
    op_state = app["status"]["operationState"]
    assert op_state["phase"] == "Succeeded" and op_state["finishedAt"]
    assert op_state["operation"]["info"] == [{"name": "maia-salt-sync-id", "value": "id-1"}]
    assert app["status"]["sync"] == {"status": "Synced", "revision": "1.0.0",
                                     "comparedTo": app["status"]["sync"]["comparedTo"]}
    assert app["status"]["health"]["status"] == "Progressing"
    assert {r["kind"] for r in app["status"]["resources"]} == {"Deployment", "Service"}

    controller.tick()
    app = _get(api, "app-ok")
    assert app["status"]["health"]["status"] == "Healthy"
    assert all(r["health"]["status"] == "Healthy" for r in app["status"]["resources"])


def test_a_spec_change_makes_it_outofsync_and_removed_values_leave_comparedto(api, controller):
    _app(api, "app-change")
    for _ in range(2):
        controller.tick()
    _sync(api, "app-change")
    for _ in range(3):
        controller.tick()
    api.apps.patch(name="app-change", namespace=NS, content_type="application/merge-patch+json",
                   body={"spec": {"source": {"targetRevision": "1.1.0", "helm": {"valuesObject": {"b": None}}}}})
    controller.tick()
    status = _get(api, "app-change")["status"]
    assert status["sync"]["status"] == "OutOfSync"
    assert status["sync"]["revision"] == "1.0.0", "still deployed at the old revision"
    assert status["sync"]["comparedTo"]["source"]["helm"]["valuesObject"] == {"a": 1}
    assert status["health"]["status"] == "Healthy"


@pytest.mark.parametrize("outcome, phase, health, text", [
    ("degraded", "Succeeded", "Degraded", "pod crash-looping"),
    ("sync-failed", "Failed", "Missing", "webhook said no"),
])
def test_outcomes_by_annotation(api, controller, outcome, phase, health, text):
    name = f"app-{outcome}"
    _app(api, name, annotations={"standin.maia-salt.io/outcome": outcome, "standin.maia-salt.io/message": text})
    controller.tick()
    _sync(api, name)
    for _ in range(4):
        controller.tick()
    status = _get(api, name)["status"]
    assert status["operationState"]["phase"] == phase
    assert status["health"]["status"] == health
    shown = status["operationState"]["message"] if outcome == "sync-failed" else status["health"]["message"]
    assert shown == text


def test_stuck_operation_keeps_running(api, controller):
    controller.outcomes["app-stuck"] = ("stuck", "")
    _app(api, "app-stuck")
    controller.tick()
    _sync(api, "app-stuck")
    for _ in range(5):
        controller.tick()
    app = _get(api, "app-stuck")
    assert app["operation"] and app["status"]["operationState"]["phase"] == "Running"
    assert "waiting for completion of hook" in app["status"]["operationState"]["message"]


def test_automated_sync_policy_syncs_by_itself(api, controller):
    _app(api, "app-auto", automated=True)
    for _ in range(5):
        controller.tick()
    app = _get(api, "app-auto")
    assert app["status"]["sync"]["status"] == "Synced" and app["status"]["health"]["status"] == "Healthy"
    assert app["status"]["operationState"]["operation"]["initiatedBy"] == {"automated": True}


def test_resources_finalizer_is_cleared_on_delete(api, controller):
    _app(api, "app-cascade", finalizers=["resources-finalizer.argocd.argoproj.io"])
    api.apps.delete(name="app-cascade", namespace=NS)
    assert _get(api, "app-cascade")["metadata"]["deletionTimestamp"]
    controller.tick()
    from kubernetes.dynamic.exceptions import NotFoundError

    with pytest.raises(NotFoundError):
        _get(api, "app-cascade")


def test_cli_once_makes_one_pass(api):
    _app(api, "app-cli")
    proc = subprocess.run([sys.executable, "-m", "maia_lab.standins.argocd_controller",
                           "--kubeconfig", api.kubeconfig, "--once"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert _get(api, "app-cli")["status"]["sync"]["status"] == "OutOfSync"
    controller_requests = [r for r in api.request_log_copy()
                           if (r["user_agent"] or "").startswith("maia-salt-standin/argocd-controller")]
    assert controller_requests, "the controller identifies itself by its user agent"


def test_waits_quietly_until_the_crds_exist():
    """Started by the lab before stage 2 has installed ArgoCD's CRDs."""
    from kubernetes import config, dynamic

    from maia_lab.standins.argocd_controller import ArgoCDControllerStandin
    from maia_lab.standins.kube_api import KubeApiStandin

    with KubeApiStandin() as bare:
        controller = ArgoCDControllerStandin(bare.kubeconfig, NS)
        controller.tick()  # no CRD yet: no error, and nothing written
        controller.tick()
        assert bare.request_log_copy(), "the controller looked"
        assert {r["method"] for r in bare.request_log_copy()} == {"GET"}
        # once stage 2 has installed the CRD, the next tick takes up an Application
        dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=bare.kubeconfig))
        dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition").create(
            body=argocd_manifest.crds("applications.argoproj.io")[0])
        dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        dyn.resources.invalidate_cache()
        bare.apps = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="Application")
        _app(bare, "app-late")
        controller.tick()
        assert _get(bare, "app-late")["status"]["sync"]["status"] == "OutOfSync"
