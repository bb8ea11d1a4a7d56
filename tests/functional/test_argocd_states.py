"""The maia_argocd states through real Salt (``salt-call --local`` with a temporary
config and state tree, loading maia-salt's modules through its salt.loader
entry point) against a Kubernetes API.

STAND-INS (see docs/standins.md: no kube-apiserver and no ArgoCD can run on
this machine):
- ``maia_lab.standins.kube_api`` stands in for the kube-apiserver (with the
  Application and AppProject CRDs of the pinned ArgoCD v3.5.1 install file);
- ``maia_lab.standins.argocd_controller`` stands in for the ArgoCD
  application controller (sync operations, health, status), and makes apps
  degrade or hang on demand.

With ``MAIA_E2E_KUBECONFIG`` set the same tests run against that cluster, which
must have ArgoCD installed (the controller stand-in is not started; the tests
that need an app to fail on demand, and the request counting, are skipped).
"""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from support import argocd_manifest
from support.extmods import synced_extension_modules
from support.paths import SALT_CALL
from support.minion import SKIP_MACHINE_GRAINS

E2E_KUBECONFIG = os.environ.get("MAIA_E2E_KUBECONFIG")
NS = "argocd"
CONTROLLER_UA = "maia-salt-standin/argocd-controller"
APP_PATH = re.compile(r"^/apis/argoproj\.io/v1alpha1/namespaces/[^/]+/applications(/|$)")

# Values that must never appear in any output, changes, comment or log line.
GRAFANA_PASSWORD = "grafana-Adm1n-pw-7781"
GRAFANA_PASSWORD_NEW = "grafana-Adm1n-pw-8892"
OAUTH_SECRET = "oauth-client-S3cret-4410"
REGISTRY_PASSWORD = "registry-Pw-9931-xq"
REGISTRY_PASSWORD_NEW = "registry-Pw-0042-zr"
DASHBOARD_USERS = "admin:$apr1$standin$hashhashhash"
ALL_SECRETS = (GRAFANA_PASSWORD, GRAFANA_PASSWORD_NEW, OAUTH_SECRET, REGISTRY_PASSWORD,
               REGISTRY_PASSWORD_NEW, DASHBOARD_USERS)

pytestmark = pytest.mark.slow

needs_standin = pytest.mark.skipif(
    bool(E2E_KUBECONFIG), reason="needs the controller stand-in to make an app fail on demand")


def chart_app(chart, repo, version, namespace, values=None, project="maia-test"):
    return {
        "project": project,
        "source": {"repoURL": repo, "chart": chart, "targetRevision": version,
                   "helm": {"releaseName": f"maia-test-{chart}", "valuesObject": values or {}}},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        "syncPolicy": {"syncOptions": ["CreateNamespace=true"]},
    }


APPS = {
    "maia-test-tempo": chart_app("tempo", "https://grafana.github.io/helm-charts", "1.0.0", "observability"),
    "maia-test-loki": chart_app(
        "loki-stack", "https://grafana.github.io/helm-charts", "2.9.9", "observability",
        {"grafana": {"enabled": True, "adminPassword": GRAFANA_PASSWORD,
                     "grafana.ini": {"auth.generic_oauth": {"client_id": "maia", "client_secret": OAUTH_SECRET}}}}),
    "maia-test-traefik": chart_app(
        "traefik", "https://traefik.github.io/charts", "33.2.1", "traefik",
        {"dashboard": {"users": DASHBOARD_USERS}, "ports": {"websecure": {"tls": {"enabled": True}}}}),
    "maia-test-metrics-server": chart_app(
        "metrics-server", "https://kubernetes-sigs.github.io/metrics-server", "3.13.0", "metrics-server"),
}
SECRET_KEYS = {"maia-test-traefik": ["dashboard.users"]}
PROJECT = {
    "description": "maia-salt functional test project",
    "sourceRepos": sorted({a["source"]["repoURL"] for a in APPS.values()}),
    "destinations": [{"server": "https://kubernetes.default.svc", "namespace": ns}
                     for ns in ("observability", "traefik", "metrics-server", "maia-test-failing")],
    "clusterResourceWhitelist": [{"group": "", "kind": "Namespace"}],
    "roles": [{"name": "admin", "groups": ["MAIA:admin"],
               "policies": ["p, proj:maia-test:admin, applications, *, maia-test/*, allow"]}],
}


# --------------------------------------------------------------------------- fixtures


class Cluster:
    """The API the states talk to: the stand-ins, or the real cluster of MAIA_E2E_KUBECONFIG."""

    def __init__(self, kubeconfig, api=None, controller=None):
        from kubernetes import config, dynamic

        self.kubeconfig = kubeconfig
        self.api = api  # the KubeApiStandin, None on a real cluster
        self.controller = controller
        self.dyn = dynamic.DynamicClient(config.new_client_from_config(config_file=kubeconfig))

    def get(self, kind, name, api_version="argoproj.io/v1alpha1", namespace=NS):
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            return self.dyn.resources.get(api_version=api_version, kind=kind).get(
                name=name, namespace=namespace).to_dict()
        except NotFoundError:
            return None

    def salt_requests(self):
        """Requests Salt made since the last reset (the controller stand-in's left out)."""
        return [r for r in self.api.request_log_copy() if not (r["user_agent"] or "").startswith(CONTROLLER_UA)]


@pytest.fixture(scope="module")
def cluster():
    if E2E_KUBECONFIG:
        yield Cluster(E2E_KUBECONFIG)
        return
    from maia_lab.standins.argocd_controller import ArgoCDControllerStandin
    from maia_lab.standins.kube_api import KubeApiStandin

    crds = argocd_manifest.crds("applications.argoproj.io", "appprojects.argoproj.io")
    with KubeApiStandin() as api:
        handle = Cluster(api.kubeconfig, api)
        crd = handle.dyn.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
        for doc in crds:
            crd.create(body=doc)
        handle.dyn.resources.get(api_version="v1", kind="Namespace").create(
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
        handle.dyn.invalidate_cache() if hasattr(handle.dyn, "invalidate_cache") else None
        controller = ArgoCDControllerStandin(api.kubeconfig, NS, interval=0.1, sync_seconds=0.3,
                                             progress_seconds=0.3)
        handle.controller = controller.start()
        try:
            yield handle
        finally:
            controller.stop()


class SaltCall:
    """``salt-call --local`` with its own config dir, state tree and debug log file.

    Every stdout, stderr and log text is kept in ``outputs`` for the secret scan."""

    def __init__(self, root: Path, kubeconfig: str):
        self.root = root
        self.states = root / "states"
        self.states.mkdir(parents=True)
        (root / "conf").mkdir()
        self.log = root / "root" / "salt.log"  # under root_dir, or Salt prefixes it
        config = {
            "id": "maia-node-0",
            "file_client": "local", **SKIP_MACHINE_GRAINS,
            "root_dir": str(root / "root"),
            "file_roots": {"base": [str(self.states)]},
            "extension_modules": synced_extension_modules(root / "root"),
            "log_file": str(self.log),
            "log_level_logfile": "debug",
            "maia": {"kubeconfig": kubeconfig},
        }
        (root / "conf" / "minion").write_text(yaml.safe_dump(config))
        self.kubeconfig = kubeconfig
        self.outputs = []
        self.count = 0

    def run(self, *args, check=True):
        proc = subprocess.run([SALT_CALL, "--local", "-c", str(self.root / "conf"), "--out=json",
                               "--log-level=info", *args], capture_output=True, text=True, timeout=600)
        self.outputs += [proc.stdout, proc.stderr]
        if check:
            assert proc.stdout.strip(), f"salt-call printed nothing: {proc.stderr[-2000:]}"
        return json.loads(proc.stdout)["local"] if proc.stdout.strip() else None

    def apply(self, states: dict, test=False):
        """Apply ``states`` (a state-tree dict); returns {state id: ret}."""
        self.count += 1
        name = f"t{self.count}"
        (self.states / f"{name}.sls").write_text(json.dumps(states, indent=1))
        out = self.run("state.apply", name, *(["test=True"] if test else []))
        assert isinstance(out, dict), f"state.apply failed to run: {out}"
        return {ret["__id__"]: ret for ret in out.values()}

    def all_output(self):
        return "\n".join(self.outputs + [self.log.read_text() if self.log.exists() else ""])


@pytest.fixture(scope="module")
def salt(cluster, tmp_path_factory):
    return SaltCall(tmp_path_factory.mktemp("salt"), cluster.kubeconfig)


def app_states(apps: dict, sync=True, timeout=60, retries=0, retry_interval=0.2, wave=None, together=False,
               presents_first=False):
    """app_present states for ``apps`` {name: spec}, in order, and (``sync``) their
    ``apps_synced`` wave states: ``together``, one wave of all of ``apps`` (state ID
    ``maia-test-wave-synced``); else one wave per app (``<name>-synced``), right after
    its app_present or, ``presents_first`` (and ``together``), after every app_present
    (as formulas/maia/core)."""
    states, waves = {}, {}
    for i, (name, spec) in enumerate(apps.items()):
        present = [{"name": name}, {"spec": spec}, {"sync_wave": wave if wave is not None else i}]
        if name in SECRET_KEYS:
            present.append({"secret_keys": SECRET_KEYS[name]})
        states[f"{name}-present"] = {"maia_argocd.app_present": present}
        if sync:
            members = waves.setdefault("maia-test-wave-synced" if together else f"{name}-synced", [])
            members.append(name)
            states[f"{name}-synced" if not together else "maia-test-wave-synced"] = None  # its place
    for sid, members in waves.items():
        states[sid] = {"maia_argocd.apps_synced": [
            {"apps": [{"name": n, "spec": apps[n]} for n in members]},
            {"timeout": timeout}, {"interval": 0.2}, {"retries": retries}, {"retry_interval": retry_interval},
            {"require": [{"maia_argocd": f"{n}-present"} for n in members]}]}
    if together or presents_first:
        states = dict(sorted(states.items(), key=lambda item: item[0].endswith("-synced")))
    return states


def app_sync(rets, name, sid=None):
    """One app's part of its wave state's return: the wave's result, the app's changes
    and the app's line of the comment."""
    ret = rets[sid or f"{name}-synced"]
    lines = [line for line in ret["comment"].splitlines() if line.startswith(f"Application {NS}/{name} ")]
    assert len(lines) == 1, ret["comment"]
    return {"result": ret["result"], "changes": ret["changes"].get(name, {}), "comment": lines[0]}


def project_state(spec=PROJECT):
    return {"maia-test-project-present": {"maia_argocd.project_present": [{"name": "maia-test"}, {"spec": spec}]}}


def expected_spec(spec):
    from_salt = copy.deepcopy(spec)
    from_salt["source"]["helm"]["valuesObject"] = from_salt["source"]["helm"]["valuesObject"] or None
    if from_salt["source"]["helm"]["valuesObject"] is None:
        del from_salt["source"]["helm"]["valuesObject"]
    return from_salt


# --------------------------------------------------------------------------- tests


def test_apps_created_as_specified_and_synced(cluster, salt):
    rets = salt.apply({**project_state(), **app_states(APPS)})
    assert all(r["result"] is True for r in rets.values()), {k: r["comment"] for k, r in rets.items()}
    project = cluster.get("AppProject", "maia-test")
    assert project["spec"]["destinations"] == PROJECT["destinations"]
    assert project["spec"]["roles"][0]["groups"] == ["MAIA:admin"]
    for i, (name, spec) in enumerate(APPS.items()):
        live = cluster.get("Application", name)
        assert live["spec"] == expected_spec(spec)
        assert live["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == str(i)
        assert rets[f"{name}-present"]["changes"][f"Application {NS}/{name}"]["old"] is None
        assert app_sync(rets, name)["changes"]["sync"]["new"] == "Synced/Healthy"
    listed = {a["name"]: a for a in salt.run("maia_argocd_sync.apps")}
    for name, spec in APPS.items():
        assert listed[name]["sync"] == "Synced" and listed[name]["health"] == "Healthy"
        assert listed[name]["revision"] == spec["source"]["targetRevision"]


def test_rerun_changes_nothing_within_two_requests_per_app(cluster, salt):
    if cluster.api:
        cluster.api.reset_requests()
    rets = salt.apply({**project_state(), **app_states(APPS)})
    assert {k: r["changes"] for k, r in rets.items() if r["changes"]} == {}
    assert all(r["result"] is True for r in rets.values())
    assert "is Synced and Healthy at revision 2.9.9" in app_sync(rets, "maia-test-loki")["comment"]
    if cluster.api:
        requests = cluster.salt_requests()
        app_requests = [r for r in requests if APP_PATH.match(r["path"])]
        assert all(r["method"] == "GET" for r in requests), requests
        assert len(app_requests) <= 2 * len(APPS), app_requests
        # the project: one GET; nothing else (no discovery: maia_kube's cache is warm)
        assert len(requests) - len(app_requests) == 1, requests


def test_execution_functions_for_people(cluster, salt):
    started = salt.run("maia_argocd_sync.sync", "maia-test-metrics-server")
    assert started["name"] == "maia-test-metrics-server" and len(started["sync_id"]) == 32
    waited = salt.run("maia_argocd_sync.wait", "maia-test-metrics-server", "timeout=60", "interval=0.2",
                      f"sync_id={started['sync_id']}")
    assert waited["result"] is True and waited["reason"] == "converged", waited["report"]
    status = salt.run("maia_argocd_sync.status", "maia-test-metrics-server")
    assert status["phase"] == "Succeeded" and status["sync"] == "Synced" and status["unhealthy"] == []
    spec = copy.deepcopy(APPS["maia-test-loki"])
    spec["source"]["helm"]["valuesObject"]["grafana"]["adminPassword"] = GRAFANA_PASSWORD_NEW
    spec["source"]["targetRevision"] = "2.9.10"
    diff = salt.run("maia_argocd.app_diff", "maia-test-loki", json.dumps(spec), "sync_wave=1")
    assert diff == {"exists": True, "changes": {
        "spec.source.targetRevision": {"old": "2.9.9", "new": "2.9.10"},
        "spec.source.helm.valuesObject.grafana.adminPassword": {"old": "<masked>", "new": "<masked>"}}}


def test_test_mode_predicts_a_version_change_then_only_that_app_is_patched(cluster, salt):
    changed = copy.deepcopy(APPS)
    changed["maia-test-tempo"]["source"]["targetRevision"] = "1.0.1"
    if cluster.api:
        cluster.api.reset_requests()
    predicted = salt.apply(app_states(changed), test=True)
    assert predicted["maia-test-tempo-present"]["result"] is None
    assert predicted["maia-test-tempo-present"]["changes"] == {
        "spec.source.targetRevision": {"old": "1.0.0", "new": "1.0.1"}}
    assert app_sync(predicted, "maia-test-tempo")["result"] is None
    assert app_sync(predicted, "maia-test-tempo")["changes"]["sync"]["new"] == "Synced/Healthy"
    others = {k: r for k, r in predicted.items() if not k.startswith("maia-test-tempo")}
    assert all(r["result"] is True and not r["changes"] for r in others.values()), others
    assert cluster.get("Application", "maia-test-tempo")["spec"]["source"]["targetRevision"] == "1.0.0"
    if cluster.api:
        assert {r["method"] for r in cluster.salt_requests()} == {"GET"}, "test=True must not write"

    rets = salt.apply(app_states(changed))
    assert rets["maia-test-tempo-present"]["changes"] == predicted["maia-test-tempo-present"]["changes"]
    assert app_sync(rets, "maia-test-tempo")["changes"]["revision"] == {"old": "1.0.0", "new": "1.0.1"}
    assert {k for k, r in rets.items() if r["changes"]} == {"maia-test-tempo-present", "maia-test-tempo-synced"}
    assert all(r["result"] is True for r in rets.values())
    live = cluster.get("Application", "maia-test-tempo")
    assert live["spec"]["source"]["targetRevision"] == "1.0.1"
    assert live["status"]["sync"]["revision"] == "1.0.1"
    APPS["maia-test-tempo"] = changed["maia-test-tempo"]  # later tests start from here


def test_changed_secret_value_is_reported_masked(cluster, salt):
    changed = copy.deepcopy(APPS)
    changed["maia-test-loki"]["source"]["helm"]["valuesObject"]["grafana"]["adminPassword"] = GRAFANA_PASSWORD_NEW
    changed["maia-test-traefik"]["source"]["helm"]["valuesObject"]["dashboard"]["users"] = DASHBOARD_USERS + "2"
    rets = salt.apply(app_states(changed, sync=False))
    assert rets["maia-test-loki-present"]["changes"] == {
        "spec.source.helm.valuesObject.grafana.adminPassword": {"old": "<masked>", "new": "<masked>"}}
    assert rets["maia-test-traefik-present"]["changes"] == {
        "spec.source.helm.valuesObject.dashboard.users": {"old": "<masked>", "new": "<masked>"}}
    live = cluster.get("Application", "maia-test-loki")
    assert live["spec"]["source"]["helm"]["valuesObject"]["grafana"]["adminPassword"] == GRAFANA_PASSWORD_NEW
    APPS.update({k: changed[k] for k in ("maia-test-loki", "maia-test-traefik")})


def test_removed_value_is_removed_and_the_app_synced_again(cluster, salt):
    changed = copy.deepcopy(APPS)
    del changed["maia-test-traefik"]["source"]["helm"]["valuesObject"]["ports"]
    rets = salt.apply(app_states(changed))
    assert rets["maia-test-traefik-present"]["changes"] == {
        "spec.source.helm.valuesObject.ports": {"old": {"websecure": {"tls": {"enabled": True}}}, "new": None}}
    traefik = app_sync(rets, "maia-test-traefik")
    assert traefik["result"] is True, traefik["comment"]
    assert traefik["changes"]["sync"]["new"] == "Synced/Healthy"
    live = cluster.get("Application", "maia-test-traefik")
    assert "ports" not in live["spec"]["source"]["helm"]["valuesObject"]
    assert "ports" not in live["status"]["sync"]["comparedTo"]["source"]["helm"]["valuesObject"]
    APPS["maia-test-traefik"] = changed["maia-test-traefik"]
    again = salt.apply(app_states(APPS))
    assert {k for k, r in again.items() if r["changes"]} == set()


@needs_standin
def test_degraded_app_fails_the_state_with_its_message(cluster, salt):
    message = 'Back-off pulling image "registry.invalid/maia/bad:0.0"'
    cluster.controller.outcomes["maia-test-failing"] = ("degraded", message)
    spec = chart_app("failing", "https://grafana.github.io/helm-charts", "0.1.0", "maia-test-failing")
    rets = salt.apply(app_states({"maia-test-failing": spec}, retries=1, retry_interval=0.2))
    synced = app_sync(rets, "maia-test-failing")
    assert synced["result"] is False
    assert "health Degraded" in synced["comment"] and message in synced["comment"]
    assert "Deployment/maia-test-failing/maia-test-failing" in synced["comment"]
    assert "after 2 attempts" in synced["comment"]
    assert rets["maia-test-failing-present"]["result"] is True


@needs_standin
def test_a_wave_is_synced_together_and_each_app_reports_its_own_outcome(cluster, salt):
    """Three Applications of one sync wave: all three syncs are requested before
    the first poll, the waiting reads them with one list per poll (no GET of
    one app), and each app's state reports its own result: the Degraded one
    fails with its message after its retry, the others are synced."""
    message = 'Readiness probe failed: HTTP probe failed with statuscode: 503'
    cluster.controller.outcomes["maia-test-wave-c"] = ("degraded", message)
    apps = {f"maia-test-wave-{x}": chart_app(f"wave-{x}", "https://grafana.github.io/helm-charts", "0.4.0",
                                             "maia-test-failing") for x in "abc"}
    cluster.api.reset_requests()
    rets = salt.apply(app_states(apps, retries=1, retry_interval=0.2, wave=0, together=True))
    requests = [r for r in cluster.salt_requests() if APP_PATH.match(r["path"])]
    for name in ("maia-test-wave-a", "maia-test-wave-b"):
        synced = app_sync(rets, name, "maia-test-wave-synced")
        assert synced["changes"]["sync"]["new"] == "Synced/Healthy", synced
        assert synced["comment"].startswith(f"Application {NS}/{name} synced (in one wave with"), synced
    failed = app_sync(rets, "maia-test-wave-c", "maia-test-wave-synced")
    assert failed["result"] is False and "after 2 attempts" in failed["comment"]
    assert "health Degraded" in failed["comment"] and message in failed["comment"]
    # one GET per app (app_present's), none while waiting: the wave polls with lists
    single = [r for r in requests if r["method"] == "GET" and not r["path"].endswith("/applications")]
    assert sorted(r["path"].rsplit("/", 1)[1] for r in single) == sorted(apps)
    syncs = [i for i, r in enumerate(requests) if r["method"] == "PATCH"]
    assert len(syncs) == 4 and syncs[:3] == list(range(syncs[0], syncs[0] + 3))  # together, then c's retry
    assert all(r["path"].endswith("/applications") for r in requests[syncs[0]:] if r["method"] == "GET")
    cluster.controller.outcomes.pop("maia-test-wave-c")


@needs_standin
def test_a_converged_catalogue_is_read_with_one_list(cluster, salt):
    """Three sync waves, each app Synced and Healthy: the first wave's one list shows the
    later waves converged too and is kept for them, so the wave states make one request
    in all; each wave still reports its app. Then one later app goes OutOfSync: the kept
    list no longer shows it converged, its own wave lists and syncs it."""
    apps = {f"maia-test-later-{x}": chart_app(f"later-{x}", "https://grafana.github.io/helm-charts", "0.5.0",
                                              "maia-test-later") for x in "abc"}
    first = salt.apply(app_states(apps, presents_first=True))
    assert all(r["result"] is True for r in first.values()), {k: r["comment"] for k, r in first.items()}
    cluster.api.reset_requests()
    rets = salt.apply(app_states(apps, presents_first=True))
    assert {k: r["changes"] for k, r in rets.items() if r["changes"]} == {}
    for name in apps:
        assert "is Synced and Healthy at revision 0.5.0" in app_sync(rets, name)["comment"], rets
    requests = [r for r in cluster.salt_requests() if APP_PATH.match(r["path"])]
    lists = [r for r in requests if r["path"].endswith("/applications")]
    assert len(lists) == 1, requests
    assert len(requests) == len(apps) + 1  # app_present's GET of each app, and the one list

    apps["maia-test-later-c"]["source"]["targetRevision"] = "0.5.1"  # c's spec changes: c must be synced
    cluster.api.reset_requests()
    rets = salt.apply(app_states(apps, presents_first=True))
    assert all(r["result"] is True for r in rets.values()), {k: r["comment"] for k, r in rets.items()}
    assert app_sync(rets, "maia-test-later-c")["changes"]["revision"] == {"old": "0.5.0", "new": "0.5.1"}, rets
    assert not rets["maia-test-later-b-synced"]["changes"]
    lists = [r for r in cluster.salt_requests() if r["path"].endswith("/applications") and r["method"] == "GET"]
    assert len(lists) >= 2  # the first wave's, then c's own wave (and its polls)


@needs_standin
def test_sync_that_never_finishes_times_out_with_a_clear_report(cluster, salt):
    cluster.controller.outcomes["maia-test-stuck"] = ("stuck", "waiting for completion of hook batch/Job/db-migrate")
    spec = chart_app("stuck", "https://grafana.github.io/helm-charts", "0.2.0", "maia-test-failing")
    started = time.monotonic()
    rets = salt.apply(app_states({"maia-test-stuck": spec}, timeout=3, retries=3))
    elapsed = time.monotonic() - started
    synced = app_sync(rets, "maia-test-stuck")
    assert synced["result"] is False
    assert "timed out after 3s waiting for the sync operation to finish" in synced["comment"]
    assert "last operation Running: waiting for completion of hook batch/Job/db-migrate" in synced["comment"]
    assert elapsed < 30, "the timeout bounds the whole state, retries included"
    cluster.controller.outcomes.pop("maia-test-stuck")


@needs_standin
def test_synced_but_progressing_app_is_waited_for_without_a_new_sync(cluster, salt):
    cluster.controller.outcomes["maia-test-slow"] = ("never-healthy", "")
    spec = chart_app("slow", "https://grafana.github.io/helm-charts", "0.3.0", "maia-test-failing")
    first = salt.apply(app_states({"maia-test-slow": spec}, timeout=3))["maia-test-slow-synced"]
    assert first["result"] is False
    assert "timed out after 3s waiting for Synced and Healthy" in first["comment"]
    assert "health Progressing" in first["comment"]
    op_before = cluster.get("Application", "maia-test-slow")["status"]["operationState"]
    # it becomes Healthy once apps_synced of the next run has read it (Salt's second read: app_present's
    # GET, then apps_synced's list of the namespace's Applications)
    import threading

    cluster.api.reset_requests()

    def heal_when_read_twice():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            reads = [r for r in cluster.salt_requests()
                     if r["method"] == "GET" and r["path"].endswith(("/applications/maia-test-slow",
                                                                     "/applications"))]
            if len(reads) >= 2:
                break
            time.sleep(0.05)
        cluster.controller.outcomes.pop("maia-test-slow")

    threading.Thread(target=heal_when_read_twice, daemon=True).start()
    again = salt.apply(app_states({"maia-test-slow": spec}, timeout=30))["maia-test-slow-synced"]
    assert again["result"] is True and again["changes"] == {}, again
    assert "(waited)" in again["comment"]
    op_after = cluster.get("Application", "maia-test-slow")["status"]["operationState"]
    assert op_after["operation"]["info"] == op_before["operation"]["info"], "no second sync"


def test_bad_spec_fails_before_any_write(cluster, salt):
    if cluster.api:
        cluster.api.reset_requests()
    bad = chart_app("broken", "https://grafana.github.io/helm-charts", "1.0.0", "observability")
    del bad["source"]["repoURL"]
    rets = salt.apply(app_states({"maia-test-broken": bad}))
    present = rets["maia-test-broken-present"]
    assert present["result"] is False
    assert "maia-test-broken: spec.source.repoURL is required" in present["comment"]
    assert rets["maia-test-broken-synced"]["result"] is False  # its requisite failed
    if cluster.api:
        assert cluster.salt_requests() == [], "refused before any request"
    assert cluster.get("Application", "maia-test-broken") is None


def test_before_the_cluster_exists_test_mode_predicts_everything_created_and_a_run_fails(salt, tmp_path):
    """A new site's plan (docs/orchestration.md, "The plan on a new site"): no kubeconfig yet, so
    under test=True the project, the app and its wave are predicted as on an empty cluster, with the
    changes a first run reports; a real run without a cluster fails, changing nothing."""
    missing = str(tmp_path / "no-such-kubeconfig")
    spec = chart_app("tempo", "https://grafana.github.io/helm-charts", "1.0.0", "observability")
    states = {**project_state(), **app_states({"maia-test-early": spec})}
    for args in states.values():
        for fun in args.values():
            fun.append({"kubeconfig": missing})
    rets = salt.apply(states, test=True)
    assert {sid: r["result"] for sid, r in rets.items()} == dict.fromkeys(rets, None), rets
    project = rets["maia-test-project-present"]["changes"][f"AppProject {NS}/maia-test"]
    assert project["old"] is None and project["new"]["spec"]
    assert list(rets["maia-test-early-present"]["changes"]) == [f"Application {NS}/maia-test-early"]
    assert "would be created (no cluster to read yet: kubeconfig" in rets["maia-test-early-present"]["comment"]
    assert app_sync(rets, "maia-test-early")["changes"] == {"sync": {"old": "not created yet", "new": "Synced/Healthy"}}
    rets = salt.apply(states)
    assert rets["maia-test-project-present"]["result"] is False
    assert f"kubeconfig {missing} does not exist" in rets["maia-test-project-present"]["comment"]
    assert all(r["changes"] == {} for r in rets.values()), rets


@pytest.mark.parametrize("apps", [[], [{"spec": {"project": "maia-test"}}], ["maia-test-loki", 7]])
def test_wave_state_refuses_apps_it_cannot_name_before_any_request(cluster, salt, apps):
    if cluster.api:
        cluster.api.reset_requests()
    ret = salt.apply({"maia-test-bad-wave": {"maia_argocd.apps_synced": [{"apps": apps}]}})["maia-test-bad-wave"]
    assert ret["result"] is False and ret["changes"] == {}
    assert "apps must be a non-empty list of Application names or {name, spec} mappings" in ret["comment"]
    if cluster.api:
        assert cluster.salt_requests() == [], "refused before any request"


def test_repository_secret_never_shows_the_password(cluster, salt):
    def state(password):
        return {"maia-test-registry-present": {"maia_argocd.repository_present": [
            {"name": "maia-test-registry"}, {"url": "registry.example.org/maia"},
            {"username": "robot$maia"}, {"password": password}]}}

    first = salt.apply(state(REGISTRY_PASSWORD))["maia-test-registry-present"]
    assert first["result"] is True and first["changes"][f"repository secret {NS}/maia-test-registry"]["new"]["data"]["password"] == "<masked>"
    secret = cluster.get("Secret", "maia-test-registry", api_version="v1")
    assert secret["metadata"]["labels"]["argocd.argoproj.io/secret-type"] == "repository"
    import base64

    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert data == {"name": "maia-test-registry", "type": "helm", "url": "registry.example.org/maia",
                    "username": "robot$maia", "password": REGISTRY_PASSWORD, "enableOCI": "true"}
    again = salt.apply(state(REGISTRY_PASSWORD))["maia-test-registry-present"]
    assert again["result"] is True and again["changes"] == {}
    predicted = salt.apply(state(REGISTRY_PASSWORD_NEW), test=True)["maia-test-registry-present"]
    assert predicted["result"] is None
    assert predicted["changes"] == {"data.password": {"old": "<masked>", "new": "<masked>"}}
    changed = salt.apply(state(REGISTRY_PASSWORD_NEW))["maia-test-registry-present"]
    assert changed["changes"] == predicted["changes"]


def test_app_absent_with_cascade(cluster, salt):
    spec = chart_app("doomed", "https://grafana.github.io/helm-charts", "1.0.0", "observability")
    salt.apply(app_states({"maia-test-doomed": spec}, sync=False))
    absent = {"maia-test-doomed-absent": {"maia_argocd.app_absent": [{"name": "maia-test-doomed"}, {"cascade": True}]}}
    predicted = salt.apply(absent, test=True)["maia-test-doomed-absent"]
    assert predicted["result"] is None and cluster.get("Application", "maia-test-doomed") is not None
    ret = salt.apply(absent)["maia-test-doomed-absent"]
    assert ret["result"] is True and ret["changes"]["resources"] == {"old": "present", "new": None}
    deadline = time.monotonic() + 30
    while cluster.get("Application", "maia-test-doomed") is not None:
        assert time.monotonic() < deadline, "the resources finalizer was never cleared"
        time.sleep(0.2)
    again = salt.apply(absent)["maia-test-doomed-absent"]
    assert again["result"] is True and again["changes"] == {} and "already absent" in again["comment"]


def test_no_secret_in_any_output(salt):
    """Runs last: every stdout, stderr and debug log line of this module's Salt runs."""
    text = salt.all_output()
    assert "<masked>" in text, "the secrets were never exercised"
    assert "[DEBUG   ]" in salt.log.read_text(), "the debug log was not written"
    leaked = [s for s in ALL_SECRETS if s in text]
    assert leaked == []


@needs_standin
def test_an_app_waiting_for_its_address_does_not_hold_up_the_wave_that_brings_it(cluster, salt):
    """ArgoCD keeps an app with a LoadBalancer Service Progressing until the Service has an
    address; in the core layer that address comes from the MetalLB pool of a later wave (the
    toolkit's chart, a wave after Traefik's). A wave that waits for Healthy waits out its
    timeout (3 s here); with address_pending the wave goes on once only the Service waits,
    the later wave brings the pool, and apps_healthy waits until the app is Healthy."""
    ctl = cluster.controller

    def lb_states(x, address_pending):
        lb, pool = f"maia-test-lb-{x}", f"maia-test-pool-{x}"
        ctl.needs_address, ctl.address_pool = {lb}, pool
        apps = {lb: chart_app(f"lb-{x}", "https://traefik.github.io/charts", "0.6.0", "maia-test-lb"),
                pool: chart_app(f"pool-{x}", "https://grafana.github.io/helm-charts", "0.6.0", "maia-test-lb")}
        states = app_states(apps, timeout=3 if not address_pending else 60, presents_first=True)
        for sid in (f"{lb}-synced", f"{pool}-synced"):
            states[sid]["maia_argocd.apps_synced"].append({"address_pending": address_pending})
        if address_pending:
            states["maia-test-lb-healthy"] = {"maia_argocd.apps_healthy": [
                {"apps": [lb, pool]}, {"timeout": 30}, {"interval": 0.2},
                {"require": [{"maia_argocd": f"{pool}-synced"}]}]}
        return states

    try:
        started = time.monotonic()
        stuck = app_sync(salt.apply(lb_states("a", False)), "maia-test-lb-a")
        assert stuck["result"] is False and "timed out after 3s waiting for Synced and Healthy" in stuck["comment"]
        assert "Service/maia-test-lb/maia-test-lb-a Progressing (waiting for a load-balancer address" in stuck["comment"]
        assert time.monotonic() - started >= 3

        rets = salt.apply(lb_states("b", True))
        assert all(r["result"] is True for r in rets.values()), {k: r["comment"] for k, r in rets.items()}
        lb = app_sync(rets, "maia-test-lb-b")
        assert lb["changes"]["sync"]["new"] == "Synced/Progressing", lb
        assert "Healthy but for an address its Services or Ingresses wait for (the later waves go on)" in lb["comment"]
        healthy = rets["maia-test-lb-healthy"]
        assert healthy["changes"] == {}
        assert healthy["comment"].startswith("2 Application(s) checked: all Synced and Healthy"), healthy
        assert cluster.get("Application", "maia-test-lb-b")["status"]["health"]["status"] == "Healthy"
        # a re-run changes nothing; under test=True the last state reads nothing and predicts no change
        again = salt.apply(lb_states("b", True))
        assert {k: r["changes"] for k, r in again.items() if r["changes"]} == {}
        assert again["maia-test-lb-healthy"]["comment"] == "2 Application(s) checked: all Synced and Healthy"
        planned = salt.apply(lb_states("b", True), test=True)["maia-test-lb-healthy"]
        assert planned["result"] is True and planned["changes"] == {} and "would wait until 2" in planned["comment"]

        # apps_healthy waits: the address comes a second after the wave went on without it
        import threading

        from maia_lab.standins.argocd_controller import ADDRESS_MESSAGE

        states = lb_states("c", True)
        del states["maia-test-pool-c-present"], states["maia-test-pool-c-synced"]
        states["maia-test-lb-healthy"]["maia_argocd.apps_healthy"] = [
            {"apps": ["maia-test-lb-c"]}, {"timeout": 30}, {"interval": 0.2},
            {"require": [{"maia_argocd": "maia-test-lb-c-synced"}]}]

        def address_after_the_wave():
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                app = cluster.get("Application", "maia-test-lb-c") or {}
                if ((app.get("status") or {}).get("health") or {}).get("message") == ADDRESS_MESSAGE:
                    time.sleep(1.0)
                    break
                time.sleep(0.05)
            ctl.address_pool = None  # the pool is there now

        threading.Thread(target=address_after_the_wave, daemon=True).start()
        rets = salt.apply(states)
        assert all(r["result"] is True for r in rets.values()), {k: r["comment"] for k, r in rets.items()}
        assert "(the later waves go on)" in app_sync(rets, "maia-test-lb-c")["comment"]
        waited = rets["maia-test-lb-healthy"]
        assert waited["changes"] == {}
        assert f"Application {NS}/maia-test-lb-c is Synced and Healthy (waited)" in waited["comment"], waited
    finally:
        ctl.needs_address, ctl.address_pool = set(), None
