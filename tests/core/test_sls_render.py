"""Rendering of formulas/maia/core through real Salt renderers
(``salt-call --local state.show_sls`` with a temporary config and pillar):
the states produced per site, without a cluster."""
import json

import pytest

from core.helpers import SECRETS, site_pillar
from core.salt_local import salt_call, state_args, write_config


def show(tmp_path, pillar, sls="maia.core"):
    conf = write_config(tmp_path, pillar)
    rc, data, out, err = salt_call(conf, "state.show_sls", sls)
    assert rc == 0, out + err
    return {sid: state_args(chunk) for sid, chunk in data.items()}


def test_default_site_states(tmp_path):
    states = show(tmp_path, site_pillar())
    ns = states["maia-core-namespaces-present"]
    assert ns["fun"] == "maia_k8s.objects_present"
    namespaces = sorted(m["metadata"]["name"] for m in ns["manifests"])
    assert len(namespaces) == 14 and "observability" in namespaces and "kubeflow" in namespaces
    assert {m["kind"] for m in ns["manifests"]} == {"Namespace"}
    assert all(m["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "maia-salt"} for m in ns["manifests"])
    assert ns["kubeconfig"] == "/etc/maia/kubeconfig"

    project = states["maia-core-argocd-project-present"]
    assert project["fun"] == "maia_argocd.project_present"
    assert project["name"] == "maia-core" and project["namespace"] == "argocd"
    assert project["spec"]["roles"][0]["groups"] == ["MAIA:admin"]
    assert project["require"] == [{"sls": "maia.core.namespaces"}]

    present = {s: a for s, a in states.items() if a["fun"] == "maia_argocd.app_present"}
    waves = {s: a for s, a in states.items() if a["fun"] == "maia_argocd.apps_synced"}
    assert len(present) == 15
    assert "maia-core-proxy-policy-present" not in states and "maia-core-app-kyverno-present" not in states
    # one state per sync wave, each naming its apps with their specs and requiring their app_present
    assert sorted(a["name"] for w in waves.values() for a in w["apps"]) == sorted(
        a["name"] for s, a in present.items() if s != "maia-core-app-loginapp-present")  # sync_stage admin: test_loginapp_...
    for sid, wave in waves.items():
        members = {s: a for s, a in present.items() if a["name"] in {app["name"] for app in wave["apps"]}}
        assert members
        assert wave["require"] == [{"maia_argocd": s} for s in members]
        assert {f"maia-core-sync-wave-{a['sync_wave']}" for a in members.values()} == {sid}
    assert list(waves) == sorted(waves, key=lambda sid: int(sid[len("maia-core-sync-wave-"):]))
    traefik = states["maia-core-app-traefik-present"]
    assert traefik["name"] == "maia-core-traefik"
    assert traefik["spec"]["source"]["targetRevision"] == "33.2.1"
    assert traefik["sync_wave"] == -2 and traefik["secret_keys"] == ["password", "pluginSecret", "providerClientSecret"]
    assert traefik["kubeconfig"] == "/etc/maia/kubeconfig"
    assert traefik["require"] == [{"sls": "maia.core.project"}]
    sync = states["maia-core-sync-wave--2"]
    assert (sync["timeout"], sync["interval"], sync["retries"], sync["retry_interval"], sync["force"]) == (600, 5, 3, 10, False)
    assert sync["prune"] is False  # the reference never prunes
    # Traefik's address comes from the toolkit's MetalLB pool (wave 1): the waves go on without it,
    # and the last state waits for every app of the waves to be Healthy
    assert all(w["address_pending"] is True for w in waves.values())
    healthy = states["maia-core-sync-healthy"]
    assert healthy["fun"] == "maia_argocd.apps_healthy" and healthy["timeout"] == 600
    assert sorted(healthy["apps"]) == sorted(a["name"] for w in waves.values() for a in w["apps"])
    assert healthy["require"] == [{"maia_argocd": sid} for sid in waves]
    assert {"name": "maia-core-traefik", "spec": traefik["spec"]} in sync["apps"]
    assert {"maia_argocd": "maia-core-app-traefik-present"} in sync["require"]
    assert not any(s.endswith("-rollout-restarted") for s in states)
    assert not any(a["fun"] == "maia_argocd.repository_present" for a in states.values())


def test_loginapp_is_created_but_its_sync_waits_for_the_admin_stage(tmp_path):
    """loginapp (sync_stage: admin in the catalogue) gets its Application in stage 3 but
    no sync and no wait: its pod cannot pass OIDC discovery before Keycloak answers
    (docs/core.md). No sync wave names it; a site that sets sync_stage: core gets the
    stage-3 sync back."""

    def synced_apps(states):
        return {app["name"] for a in states.values() if a["fun"] == "maia_argocd.apps_synced" for app in a["apps"]}

    states = show(tmp_path, site_pillar())
    assert states["maia-core-app-loginapp-present"]["name"] == "maia-core-loginapp"
    skipped = states["maia-core-app-loginapp-sync-deferred-skipped"]
    assert skipped["fun"] == "test.succeed_without_changes" and "admin stage" in skipped["name"]
    assert "maia-core-loginapp" not in synced_apps(states)
    assert "maia-core-toolkit" in synced_apps(states)

    states = show(tmp_path / "core", site_pillar(core={"apps": {"loginapp": {"sync_stage": "core"}}}))
    assert "maia-core-loginapp" in synced_apps(states)
    assert "maia-core-app-loginapp-sync-deferred-skipped" not in states


def test_rke2_site_gets_ingress_nginx(tmp_path):
    states = show(tmp_path, site_pillar(cluster={"k8s_distribution": "rke2"}))
    assert "maia-core-app-ingress-nginx-present" in states
    assert "maia-core-app-traefik-present" not in states
    env = {e["name"]: e["value"] for e in
           states["maia-core-app-gpu-operator-present"]["spec"]["source"]["helm"]["valuesObject"]["toolkit"]["env"]}
    assert env["CONTAINERD_CONFIG"] == "/var/lib/rancher/rke2/agent/etc/containerd/config.toml.tmpl"


def test_private_registry_adds_repository_secret_state(tmp_path):
    pillar = site_pillar(
        env={"MAIA_PRIVATE_REGISTRY": "registry.maia.example.com/maia"},
        registry={"username": "robot", "password": SECRETS["registry_password"]},
    )
    states = show(tmp_path, pillar)
    repo = states["maia-core-argocd-repository-maia-private-registry-maia-core-present"]
    assert repo["fun"] == "maia_argocd.repository_present"
    assert (repo["url"], repo["username"], repo["repo_type"], repo["enable_oci"], repo["project"]) == (
        "registry.maia.example.com/maia", "robot", "helm", True, "maia-core")
    assert states["maia-core-app-toolkit-present"]["spec"]["source"]["repoURL"] == "registry.maia.example.com/maia"
    assert states["maia-core-app-traefik-present"]["spec"]["source"]["repoURL"] == "https://traefik.github.io/charts"


def test_auto_sync_off_has_no_sync_states(tmp_path):
    states = show(tmp_path, site_pillar(core={"auto_sync": False}, cluster={"selfsigned": True}))
    assert not any(a["fun"] == "maia_argocd.apps_synced" for a in states.values())
    assert states["maia-core-traefik-rollout-restarted"]["require"] == [{"sls": "maia.core.apps"}]


def test_switched_off_app_is_removed_without_cascade(tmp_path):
    states = show(tmp_path, site_pillar(core={"apps": {"kubeflow": {"enabled": False}}}))
    assert "maia-core-app-kubeflow-present" not in states
    absent = states["maia-core-app-kubeflow-absent"]
    assert absent["fun"] == "maia_argocd.app_absent"
    assert absent["name"] == "maia-core-kubeflow" and absent["cascade"] is False


def test_selfsigned_restart_states(tmp_path):
    states = show(tmp_path, site_pillar(cluster={"selfsigned": True}))
    for rid, name, namespace in (("traefik", "maia-core-traefik", "traefik"), ("coredns", "coredns", "kube-system")):
        restart = states[f"maia-core-{rid}-rollout-restarted"]
        assert restart["fun"] == "maia_core.rollout_restarted"
        assert (restart["kind"], restart["name"], restart["namespace"]) == ("Deployment", name, namespace)
        assert len(restart["trigger"]) >= 8
        assert restart["require"] == [{"sls": "maia.core.sync"}]


def test_each_part_renders_alone(tmp_path):
    states = show(tmp_path, site_pillar(), sls="maia.core.sync")
    assert any(a["fun"] == "maia_argocd.apps_synced" and "maia-core-toolkit" in [x["name"] for x in a["apps"]]
               for a in states.values())
    assert "maia-core-app-toolkit-present" in states  # included
    assert "maia-core-argocd-project-present" in states


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cluster": {"k8s_distribution": "openshift"}}, "maia:cluster:k8s_distribution"),
        ({"nfs_server": {"address": ""}}, "maia:nfs_server:address"),
        ({"env": {"keycloak_client_secret": ""}}, "maia:env:keycloak_client_secret"),
        ({"core": {"apps": {"loginapp": {"sync_stage": "later"}}}}, "maia:core:apps:loginapp:sync_stage"),
    ],
)
def test_bad_input_fails_rendering_with_the_key(tmp_path, overrides, message):
    conf = write_config(tmp_path, site_pillar(**overrides))
    rc, _data, out, err = salt_call(conf, "state.show_sls", "maia.core")
    assert rc != 0
    assert message in out + err
    for secret in SECRETS.values():
        assert secret not in out + err


def test_pillar_override_reaches_the_state(tmp_path):
    core = {"apps": {"cert-manager": {"version": "1.17.0", "values": {"replicaCount": 2}}}}
    states = show(tmp_path, site_pillar(core=core))
    source = states["maia-core-app-cert-manager-present"]["spec"]["source"]
    assert source["targetRevision"] == "1.17.0"
    assert source["helm"]["valuesObject"] == {"crds": {"enabled": True}, "replicaCount": 2}
    # the version reaches cert-manager's spec only: its app_present and its entry in its sync wave's apps
    wave = next(a for a in states.values() if a["fun"] == "maia_argocd.apps_synced"
                and "maia-core-cert-manager" in [x["name"] for x in a["apps"]])
    assert [x["spec"] for x in wave["apps"] if x["name"] == "maia-core-cert-manager"] == [
        states["maia-core-app-cert-manager-present"]["spec"]]
    assert json.dumps(states).count("1.17.0") == 2


def test_clean_removes_every_application_with_cascade(tmp_path):
    states = show(tmp_path, site_pillar(core={"apps": {"kubeflow": {"enabled": False}}}), sls="maia.core.clean")
    assert len(states) == 16  # 14 enabled on microk8s + the switched-off kubeflow and DRA driver
    assert states["maia-core-app-kubeflow-clean"]["name"] == "maia-core-kubeflow"
    assert all(a["fun"] == "maia_argocd.app_absent" and a["cascade"] is True for a in states.values())
    assert states["maia-core-app-traefik-clean"]["name"] == "maia-core-traefik"


@pytest.mark.parametrize("distribution", ["openshift"])
def test_stage2_refuses_a_distribution_it_cannot_install(tmp_path, distribution):
    """A K8S_DISTRIBUTION other than the four: maia.k8s (which installs MicroK8s, k3s, k0s and
    rke2) does not render, so nothing is applied, and the message says what is supported."""
    conf = write_config(tmp_path, site_pillar(cluster={"k8s_distribution": distribution}))
    rc, _data, out, err = salt_call(conf, "state.apply", "maia.k8s", "test=True")
    assert rc != 0
    text = out + err
    assert f"K8S_DISTRIBUTION is {distribution}" in text and "installs microk8s, k3s, k0s and rke2 only" in text
    assert "connect_only" in text


def test_stage2_connect_only_leaves_the_cluster_alone(tmp_path):
    pillar = site_pillar(cluster={"k8s_distribution": "k3s"}, k8s={"connect_only": True})
    states = show(tmp_path, pillar, sls="maia.k8s")
    assert "maia-k8s-connect-only" in states
    assert not any(s.startswith(("maia-k8s-microk8s", "maia-k8s-oidc", "maia-k8s-ca", "maia-k8s-argocd"))
                   for s in states)


def test_orchestration_stops_before_stage1_for_an_unsupported_distribution(tmp_path):
    """orch.maia renders to one failing step, ahead of every stage."""
    from support.paths import REPO

    conf = write_config(tmp_path, site_pillar(cluster={"k8s_distribution": "openshift"}),
                        extra_opts={"file_roots": {"base": [str(REPO / "formulas"), str(REPO)]}})
    rc, data, out, err = salt_call(conf, "state.show_sls", "orch.maia")
    assert rc == 0, out + err
    assert list(data) == ["maia-orch-distribution-supported"]
    step = state_args(data["maia-orch-distribution-supported"])
    assert step["fun"] == "test.configurable_test_state" and step["failhard"] is True
    assert "K8S_DISTRIBUTION is openshift" in step["name"]
    # under test=True (maia install --test) the refusal fails with its own reason, not Salt's
    # "If we weren't testing, this would be a failure!"
    rc, data, out, err = salt_call(conf, "state.sls", "orch.maia", "test=True")
    ret = next(iter(data.values()))
    assert ret["result"] is False and "K8S_DISTRIBUTION is openshift" in ret["comment"], out + err
    assert "If we weren't testing" not in out + err


def test_proxy_site_renders_kyverno_and_its_policy_before_the_other_waves(tmp_path):
    """proxy_ip set: the kyverno Application in the first wave, the ClusterPolicy after it and
    before every later wave (no refusal any more); without proxy_ip neither (test_default_site_states)."""
    states = show(tmp_path, site_pillar(cluster={"proxy_ip": "10.0.0.1", "no_proxy_ips": "10.1.0.0/16"}))
    kyverno = states["maia-core-app-kyverno-present"]
    assert kyverno["sync_wave"] == -4 and kyverno["spec"]["source"]["targetRevision"] == "3.7.2"
    policy = states["maia-core-proxy-policy-present"]
    assert policy["fun"] == "maia_k8s.object_present" and policy["name"] == "inject-proxy-env-vars"
    env = policy["manifest"]["spec"]["rules"][0]["mutate"]["patchStrategicMerge"]["spec"]["containers"][0]["env"]
    assert {"name": "NO_PROXY", "value": "localhost,127.0.0.1,10.0.0.1,10.1.0.0/16"} in env
    assert {"name": "https_proxy", "value": "http://10.0.0.1:3130"} in env
    assert policy["require"] == [{"maia_argocd": "maia-core-sync-wave--4"}]
    later = {s for s, a in states.items() if a["fun"] == "maia_argocd.apps_synced" and s != "maia-core-sync-wave--4"}
    assert later and {r["maia_argocd"] for r in policy["require_in"]} == later


def test_the_one_job_applies_the_parts_named_for_this_host_and_refuses_others(tmp_path):
    """`maia` with maia:orch:parts (orch.maia's one-job run, docs/orchestration.md): the stage SLS
    named for this host's id, and nothing else; a name that is no stage SLS is one failing state."""
    pillar = site_pillar()
    pillar["orch"] = {"parts": {"maia-node-0": ["maia.core"], "maia-node-1": ["maia.prepare"]}}
    states = show(tmp_path / "one", pillar, sls="maia")
    assert "maia-core-namespaces-present" in states
    assert not [s for s in states if s.startswith(("maia-prepare-", "maia-k8s-", "maia-admin-", "maia-preflight-"))]
    # the host's own preflight first (order 1), failhard, with the master's clock to check against
    clock = {"at": 1765000000.5, "slack": 10, "max_skew": 5}
    pillar["orch"] = {"parts": {"maia-node-0": ["maia.preflight", "maia.core"]}, "clock": clock}
    states = show(tmp_path / "first", pillar, sls="maia")
    checked = states["maia-preflight-checked"]
    assert checked["fun"] == "maia_preflight.checked" and checked["order"] == 1 and checked["failhard"] is True
    assert checked["clock"] == clock and checked["name"] == "maia-node-0"
    assert "maia-core-namespaces-present" in states
    pillar["orch"] = {"parts": {"maia-node-0": ["maia.core", "maia.k8s.clean"]}}
    refused = show(tmp_path / "two", pillar, sls="maia")
    assert list(refused) == ["maia-parts-known"]
    assert refused["maia-parts-known"]["fun"] == "test.fail_without_changes"
    assert "maia.k8s.clean" in refused["maia-parts-known"]["name"]
