"""Rendering of formulas/maia/admin (stage 4) through real Salt renderers
(``salt-call --local state.show_sls`` with a temporary config and pillar): the
states produced per site, without a cluster. The parts are stage 3's
(maia/core/*.sls) rendered with the admin layer's data, so the state ids say
``maia-admin-`` and the specs are the admin library's."""
import base64

import pytest
import yaml

from admin.test_admin_specs import ADMIN_SECRETS, DEFAULTS_FILE, admin_pillar, certificate
from core.helpers import DEFAULTS_FILE as CORE_DEFAULTS_FILE
from core.helpers import SECRETS
from core.salt_local import salt_call, write_config
from core.test_sls_render import show as show_sls
from maia_salt.admin import mapdata

ADMIN_APPS = ("harbor", "keycloak", "rancher", "admin-toolkit", "maia-dashboard")


def show(tmp_path, pillar, sls="maia.admin"):
    return show_sls(tmp_path, pillar, sls)


def library(pillar):
    return mapdata(yaml.safe_load(DEFAULTS_FILE.read_text()), pillar,
                   yaml.safe_load(CORE_DEFAULTS_FILE.read_text()))


def test_default_site_states(tmp_path):
    pillar = admin_pillar()
    states = show(tmp_path, pillar)
    expected = library(pillar)

    ns = states["maia-admin-namespaces-present"]
    assert ns["fun"] == "maia_k8s.objects_present" and ns["kubeconfig"] == "/etc/maia/kubeconfig"
    assert [m["metadata"]["name"] for m in ns["manifests"]] == [
        "harbor", "keycloak", "maia-admin-toolkit", "maia-dashboard", "cattle-system"]

    project = states["maia-admin-argocd-project-present"]
    assert (project["fun"], project["name"], project["namespace"]) == (
        "maia_argocd.project_present", "maia-admin", "argocd")
    assert project["spec"] == expected["project"]["spec"]
    assert project["require"] == [{"sls": "maia.admin.namespaces"}]

    present = {s: a for s, a in states.items() if a["fun"] == "maia_argocd.app_present"}
    assert sorted(present) == sorted(f"maia-admin-app-{c}-present" for c in ADMIN_APPS)
    for app in expected["apps"]:
        state = present[f"maia-admin-app-{app['component']}-present"]
        assert (state["name"], state["spec"], state["secret_keys"]) == (app["name"], app["spec"], app["secret_keys"])
        assert state["require"] == [{"sls": "maia.admin.project"}]
    assert present["maia-admin-app-maia-dashboard-present"]["secret_keys"] == ["DB_PASS"]

    # the chart sets no sync-wave: one wave state, all five apps, the admin layer's timeout
    waves = {s: a for s, a in states.items() if a["fun"] == "maia_argocd.apps_synced"}
    assert list(waves) == ["maia-admin-sync-wave-0"]
    wave = waves["maia-admin-sync-wave-0"]
    assert sorted(a["name"] for a in wave["apps"]) == sorted(a["name"] for a in present.values())
    assert wave["require"] == [{"maia_argocd": s} for s in present]
    assert (wave["timeout"], wave["prune"]) == (900, False)

    # argocd-server restarts after the sync, once per change of the toolkit's ArgoCD settings
    restart = states["maia-admin-argocd-server-rollout-restarted"]
    assert restart["fun"] == "maia_core.rollout_restarted"
    assert (restart["kind"], restart["name"], restart["namespace"]) == ("Deployment", "argocd-server", "argocd")
    assert restart["trigger"] == expected["restarts"][0]["trigger"]
    assert restart["require"] == [{"sls": "maia.admin.sync"}]

    # no externalCA: no Secret; no private registry: no repository secret; nothing of stage 3
    assert not any(a["fun"] in ("maia_k8s.object_present", "maia_argocd.repository_present")
                   for a in states.values())
    assert not any(s.startswith("maia-core-") for s in states)


def test_external_ca_secret_state(tmp_path):
    text = certificate(tmp_path / "ca.crt")
    pillar = admin_pillar(cluster={"externalCA": {"name": "maia-ca", "cert": str(tmp_path / "ca.crt")}})
    states = show(tmp_path, pillar)
    secret = states["maia-admin-secret-maia-ca-present"]
    assert secret["fun"] == "maia_k8s.object_present"
    manifest = secret["manifest"]
    assert (manifest["kind"], manifest["metadata"]["name"], manifest["metadata"]["namespace"], manifest["type"]) == (
        "Secret", "maia-ca", "maia-dashboard", "Opaque")
    assert base64.b64decode(manifest["data"]["public.crt"]).decode() == text
    assert secret["require"] == [{"sls": "maia.admin.namespaces"}]


def test_private_registry_adds_repository_secret_state(tmp_path):
    pillar = admin_pillar(
        env={"MAIA_PRIVATE_REGISTRY": "registry.maia.example.com/maia"},
        registry={"username": "robot", "password": SECRETS["registry_password"]},
    )
    states = show(tmp_path, pillar)
    repo = states["maia-admin-argocd-repository-maia-private-registry-maia-admin-present"]
    assert (repo["url"], repo["username"], repo["enable_oci"], repo["project"]) == (
        "registry.maia.example.com/maia", "robot", True, "maia-admin")
    assert states["maia-admin-app-maia-dashboard-present"]["spec"]["source"]["repoURL"] == "registry.maia.example.com/maia"


@pytest.mark.parametrize("sls", ["maia.admin", "maia.admin.apps", "maia.admin.sync", "maia.admin.restarts",
                                 "maia.admin.clean"])
def test_switched_off_renders_one_skipped_state(tmp_path, sls):
    states = show(tmp_path, admin_pillar(admin={"enabled": False}), sls=sls)
    assert list(states) == ["maia-admin-skipped"]
    assert states["maia-admin-skipped"]["fun"] == "test.succeed_without_changes"
    assert "maia:admin:enabled is false" in states["maia-admin-skipped"]["name"]


def test_each_part_renders_alone(tmp_path):
    states = show(tmp_path, admin_pillar(), sls="maia.admin.sync")
    assert "maia-admin-sync-wave-0" in states
    assert "maia-admin-app-rancher-present" in states  # included
    assert "maia-admin-argocd-project-present" in states


def test_clean_removes_every_application_with_cascade(tmp_path):
    states = show(tmp_path, admin_pillar(), sls="maia.admin.clean")
    assert sorted(states) == sorted(f"maia-admin-app-{c}-clean" for c in ADMIN_APPS)
    assert all(a["fun"] == "maia_argocd.app_absent" and a["cascade"] is True for a in states.values())


def test_auto_sync_off_has_no_sync_states(tmp_path):
    states = show(tmp_path, admin_pillar(admin={"auto_sync": False}))
    assert not any(a["fun"] == "maia_argocd.apps_synced" for a in states.values())


def test_stage3_states_keep_their_ids(tmp_path):
    """The parts are shared: stage 3's render still names its states maia-core-*."""
    states = show(tmp_path, admin_pillar(), sls="maia.core.sync")
    assert "maia-core-app-traefik-present" in states and "maia-core-argocd-project-present" in states
    assert not any(s.startswith("maia-admin-") for s in states)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"env": {"rancher_password": ""}}, "maia:env:rancher_password"),
        ({"cluster": {"url_type": "path"}}, "maia:cluster:url_type"),
        ({"cluster": {"port_range": [31000]}}, "maia:cluster:port_range"),
    ],
)
def test_bad_input_fails_rendering_with_the_key_and_no_secret(tmp_path, overrides, message):
    conf = write_config(tmp_path, admin_pillar(**overrides))
    rc, _data, out, err = salt_call(conf, "state.show_sls", "maia.admin")
    assert rc != 0
    assert message in out + err
    shown = out + err + (tmp_path / "minion.log").read_text()
    assert not [s for s in {**SECRETS, **ADMIN_SECRETS}.values() if s in shown]


def test_whole_installation_includes_the_admin_stage(tmp_path):
    """maia (one host, every stage by default) applies stage 4 on a control-plane host,
    and leaves it out with maia:stages or on a host of another role."""
    assert "maia-admin-sync-wave-0" in show(tmp_path / "all", admin_pillar(), sls="maia")
    core_only = show(tmp_path / "core", admin_pillar(stages=["core"]), sls="maia")
    assert "maia-core-argocd-project-present" in core_only
    assert not any(s.startswith("maia-admin-") for s in core_only)
    worker = admin_pillar(stages=["admin"])
    worker["roles"] = ["nfs_clients"]
    assert list(show(tmp_path / "worker", worker, sls="maia")) == ["maia-nothing-to-apply"]


def test_execution_module_builds_each_layer_and_refuses_another():
    """maia_core.layer (what map.jinja calls): the admin library's data for "admin", stage 3's
    for "core", a clear error naming the layers for anything else; bad input is a config error."""
    from salt.exceptions import CommandExecutionError

    from core.helpers import load_maia_core

    module = load_maia_core()
    pillar = admin_pillar()
    defaults = yaml.safe_load(DEFAULTS_FILE.read_text())
    core_defaults = yaml.safe_load(CORE_DEFAULTS_FILE.read_text())
    assert module.layer("admin", defaults, core_defaults, pillar=pillar) == library(pillar)
    assert module.layer("core", core_defaults, pillar=pillar) == module.mapdata(core_defaults, pillar)
    with pytest.raises(CommandExecutionError, match="'kubeflow' is not one of core, admin"):
        module.layer("kubeflow", defaults, core_defaults, pillar=pillar)
    with pytest.raises(module.MaiaCoreConfigError, match="maia:env:rancher_password"):
        module.layer("admin", defaults, core_defaults, pillar=admin_pillar(env={"rancher_password": ""}))


def test_dashboard_step_applies_the_apps_with_the_recorded_token(tmp_path):
    """maia.admin.dashboard (orch.maia's step after Rancher's): the five Applications, their sync
    and the restarts, the dashboard's values with env.json's rancher_token; a note says whether
    there is one (never the token itself)."""
    token = "token-ab12c:Rancher-Token-Secret-0042"
    for env, note in (({"rancher_token": token}, "carry Rancher's token"), ({}, "env.json has no rancher_token")):
        pillar = admin_pillar(env=env)
        states = show(tmp_path, pillar, "maia.admin.dashboard")
        dashboard = states["maia-admin-app-maia-dashboard-present"]
        values = dashboard["spec"]["source"]["helm"]["valuesObject"]
        assert values["clusters"][0]["maia_dashboard"]["token"] == env.get("rancher_token", "")
        assert "maia-admin-sync-wave-0" in states and "maia-admin-maia-dashboard-rollout-restarted" in states
        noted = states["maia-admin-dashboard-rancher-token-noted"]
        assert noted["fun"] == "test.succeed_without_changes" and note in noted["name"] and token not in noted["name"]
