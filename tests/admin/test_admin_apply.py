"""``state.apply maia.admin`` (stage 4) through real Salt (``salt-call --local``).

STAND-INS (see docs/standins.md: this machine runs no kube-apiserver and no
ArgoCD): the Kubernetes API stand-in (``maia_lab.standins.kube_api``) with
ArgoCD's CRDs, and the ArgoCD application-controller stand-in
(``maia_lab.standins.argocd_controller``), which moves the admin layer's
Applications through OutOfSync/Synced and Progressing/Healthy as ArgoCD would.
The stand-ins do not deploy the charts; what is checked is what Salt writes
and how a re-run compares it.

The services the layer configures after its sync (Keycloak's admin REST, Harbor's
configurations, MinIO's S3 and admin API) are the Keycloak, Harbor and MinIO stand-ins behind an ingress stand-in on loopback
(``tests/support/admin_services.py``), whose certificate the site's externalCA signed. The
Keycloak stand-in imports the realm from the ConfigMap ``maia-realm-import`` that the states
wrote into the API stand-in, as Keycloak does at start.

With ``MAIA_E2E_KUBECONFIG=path`` the same tests run against that real cluster
(ArgoCD installed by stage 2) and its real services, reached as the site's settings say.
"""
import copy
import json
import time

import pytest

from admin.test_admin_specs import ADMIN_SECRETS, certificate
from admin.test_sls_render import ADMIN_APPS, library
from core.helpers import SECRETS, merge, site_pillar
from core.salt_local import salt_call
from core.test_core_apply import APP, E2E, FAST_SYNC, Site, _deployment, changed, cluster, failures  # noqa: F401  (cluster: the fixture)
from support.admin_services import ca_pair, ingress, realm_export
from support.modules import load_salt_module

pytestmark = pytest.mark.slow


class AdminSite(Site):
    """A control-plane minion config pointed at ``cluster``, applying maia.admin."""

    DOMAIN = "maia.example.com"

    @staticmethod
    def base_pillar():
        return merge(site_pillar(), {"env": dict(ADMIN_SECRETS)})

    def __init__(self, root, kube, **overrides):
        super().__init__(root, kube, **merge({"env": dict(ADMIN_SECRETS), "admin": copy.deepcopy(FAST_SYNC)}, overrides))

    def apply(self, sls="maia.admin", test=False):
        return super().apply(sls, test)

    def expected(self):
        return library(self.pillar)


RESTART = "maia-admin-argocd-server-rollout-restarted"


def argocd_server(cluster):
    return cluster.get("apps/v1", "Deployment", "argocd-server", "argocd")


ADMIN_EMAIL = "site-admin@example.com"


def _realm_from_configmap(cluster):
    """What Keycloak imports at start: the realm of ConfigMap maia-realm-import (None until it exists)."""
    def exports():
        cm = cluster.get("v1", "ConfigMap", "maia-realm-import", "keycloak")
        return [json.loads(cm["data"]["MAIA_realm.json"])] if cm else None
    return exports


@pytest.fixture(scope="module")
def services(cluster):
    """The ingress stand-in with Keycloak and Harbor (None against a real cluster)."""
    if E2E:
        yield None
        return
    ca = ca_pair()
    domain = AdminSite.DOMAIN
    front = ingress(domain, library(AdminSite.base_pillar())["configure"]["harbor"]["password"],
                    _realm_from_configmap(cluster), ca,
                    minio_credentials={"maia-admin": ADMIN_SECRETS["minio_admin_password"]})
    front.ca = ca
    yield front
    front.stop()


@pytest.fixture(scope="module")
def site(tmp_path_factory, cluster, services):
    if cluster.standin is not None:  # stage 2's ArgoCD install has it on a real cluster
        cluster.create(_deployment("argocd-server", "argocd"))
    root = tmp_path_factory.mktemp("admin-site")
    if services is None:
        certificate(root / "ca.crt")
        reach = {}
    else:
        (root / "ca.crt").write_text(services.ca[0])
        reach = {"admin": {"services": {"address": "127.0.0.1", "port": services.port}}}
    return AdminSite(root, cluster, cluster={"externalCA": {"name": "maia-ca", "cert": str(root / "ca.crt")}},
                     realm=realm_export(), env={"admin_email": ADMIN_EMAIL}, **reach)


# The tests below run in file order on one cluster: prediction, first apply, re-runs.


def test_first_run_with_test_true_predicts_and_changes_nothing(site, cluster):
    rc, data = site.apply(test=True)
    assert rc == 0, failures(data)
    predicted = {v["__id__"] for v in data.values() if v["result"] is None}
    site.predicted = predicted  # the first run must change exactly these
    assert {"maia-admin-namespaces-present", "maia-admin-secret-maia-ca-present",
            "maia-admin-argocd-project-present"} <= predicted
    assert {f"maia-admin-app-{c}-present" for c in ADMIN_APPS} <= predicted
    assert {"maia-admin-keycloak-realm-configmap-present", "maia-admin-keycloak-configured",
            "maia-admin-harbor-configured", "maia-admin-minio-configured"} <= predicted
    assert RESTART in predicted
    assert cluster.get(*APP, "maia-admin-rancher", "argocd") is None
    assert "maia-salt/restart-trigger" not in (argocd_server(cluster)["metadata"].get("annotations") or {})
    assert cluster.get("v1", "Namespace", "cattle-system") is None


def test_first_run_creates_the_layer_and_waits_healthy(site, cluster):
    rc, data = site.apply()
    assert rc == 0, failures(data)
    # test=True predicted exactly what the first run changed (the previous test's dry run)
    assert changed(data) == site.predicted, changed(data) ^ site.predicted
    expected = site.expected()
    for namespace in expected["namespaces"]:
        assert cluster.get("v1", "Namespace", namespace), namespace
    secret = cluster.get("v1", "Secret", "maia-ca", "maia-dashboard")
    assert secret["type"] == "Opaque" and set(secret["data"]) == {"public.crt"}
    project = cluster.get("argoproj.io/v1alpha1", "AppProject", "maia-admin", "argocd")
    assert project["spec"] == expected["project"]["spec"]
    live = cluster.apps()
    normalize = load_salt_module("_modules/maia_argocd.py", "maia_argocd_admin_apply").normalize
    for app in expected["apps"]:
        spec = live[app["name"]]["spec"]
        # as maia_argocd writes it: nulls and empty lists/maps left out (see docs/admin.md, open points)
        assert spec["source"] == normalize(app["spec"]["source"]), app["name"]
        assert spec["destination"] == app["spec"]["destination"]
        status = live[app["name"]].get("status") or {}
        assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy"), app["name"]
    # Rancher's tls.secretName: null is not written (normalised away on both sides, so a
    # re-run sees no difference: test_rerun_changes_nothing)
    rancher = live["maia-admin-rancher"]["spec"]["source"]["helm"]["valuesObject"]
    assert rancher["ingress"]["tls"] == {"source": "letsEncrypt"}
    wave = next(v for v in data.values() if v["__id__"] == "maia-admin-sync-wave-0")
    assert wave["result"] is True
    # maia.admin lists the realm after the sync; only the requisite puts the ConfigMap first
    realm = next(v for v in data.values() if v["__id__"] == "maia-admin-keycloak-realm-configmap-present")
    assert realm["__run_num__"] < wave["__run_num__"]
    # argocd-server restarted once, after the sync, for the toolkit's ArgoCD settings
    assert RESTART in changed(data)
    server = argocd_server(cluster)
    assert server["metadata"]["annotations"]["maia-salt/restart-trigger"] == expected["restarts"][0]["trigger"]
    assert "kubectl.kubernetes.io/restartedAt" in server["spec"]["template"]["metadata"]["annotations"]
    assert all(f"Application argocd/maia-admin-{c} " in wave["comment"] for c in ADMIN_APPS), wave["comment"]


def test_first_run_configured_keycloak_and_harbor(site, services):
    """The realm ConfigMap came before Keycloak's wave (the stand-in imported it: the client
    credentials grant worked), then the admin user, groups, roles and Harbor's OIDC settings."""
    if services is None:
        pytest.skip("real services: checked by tests/admin/test_admin_services.py with MAIA_E2E_KEYCLOAK_URL")
    keycloak, harbor = services.keycloak, services.harbor
    assert keycloak.group_names_of("maia", ADMIN_EMAIL) == ["MAIA:admin", "MAIA:users"]
    assert keycloak.user("maia", ADMIN_EMAIL)["requiredActions"] == ["UPDATE_PASSWORD"]
    assert keycloak.realms["maia"].client_by_client_id("maia-public")["publicClient"] is True
    assert "realm-admin" in keycloak.group_role_names("maia", "MAIA:admin", "realm-management")
    assert (harbor.settings["auth_mode"], harbor.settings["oidc_client_id"]) == ("oidc_auth", "maia")
    assert harbor.secrets["oidc_client_secret"] == SECRETS["keycloak_client_secret"]
    assert services.minio.buckets == {"maia-envs"}
    assert services.minio.policies["MAIA:admin"] == site.expected()["configure"]["minio"]["policies"]["MAIA:admin"]


def test_rerun_changes_nothing(site, services):
    if services is not None:
        services.keycloak.reset_requests()
        services.harbor.reset_requests()
        services.minio.reset_requests()
    rc, data = site.apply()
    assert rc == 0, failures(data)
    assert changed(data) == set()
    if services is not None:  # no write request: Keycloak's only POSTs are the sign-ins
        assert {r.path for r in services.keycloak.writes()} <= {"/realms/maia/protocol/openid-connect/token"}
        assert services.harbor.writes() == []
        assert services.minio.writes() == []


def test_rerun_with_test_true_predicts_nothing(site):
    rc, data = site.apply(test=True)
    assert rc == 0
    assert changed(data) == set()
    assert all(v["result"] is True for v in data.values())


def test_changed_value_patches_only_that_app(site, cluster):
    before = {n: a["metadata"]["resourceVersion"] for n, a in cluster.apps().items()}
    site.update(admin={"apps": {"keycloak": {"values": {"replicaCount": 2}}}})
    rc, data = site.apply(test=True)
    assert rc == 0
    assert "maia-admin-app-keycloak-present" in changed(data)
    assert changed(data) <= {"maia-admin-app-keycloak-present", "maia-admin-sync-wave-0"}
    rc, data = site.apply()
    assert rc == 0, failures(data)
    after = cluster.apps()
    assert after["maia-admin-keycloak"]["spec"]["source"]["helm"]["valuesObject"]["replicaCount"] == 2
    assert {n for n, a in after.items() if a["metadata"]["resourceVersion"] != before.get(n)} == {"maia-admin-keycloak"}
    rc, data = site.apply()
    assert rc == 0 and changed(data) == set()


def test_changed_argocd_settings_restart_argocd_server_once(site, cluster):
    """A value the toolkit renders into argocd-cm changes: the toolkit app is patched and
    argocd-server restarted once; the re-run restarts nothing (a Deployment patch is the
    rollout restart, as kubectl does it; on the stand-in nothing rolls pods)."""
    before = argocd_server(cluster)
    site.update(admin={"apps": {"admin-toolkit": {"values": {"argocd": {"keycloak_client_id": "maia-argocd"}}}}})
    rc, data = site.apply()
    assert rc == 0, failures(data)
    assert RESTART in changed(data)
    after = argocd_server(cluster)
    assert (after["metadata"]["annotations"]["maia-salt/restart-trigger"]
            != before["metadata"]["annotations"]["maia-salt/restart-trigger"])
    rc, data = site.apply()
    assert rc == 0 and changed(data) == set()
    assert argocd_server(cluster)["metadata"]["resourceVersion"] == after["metadata"]["resourceVersion"]


def test_switched_off_applies_nothing_and_keeps_the_layer(site, cluster):
    site.update(admin={"enabled": False})
    rc, data = site.apply()
    assert rc == 0, failures(data)
    assert [v["__id__"] for v in data.values()] == ["maia-admin-skipped"] and changed(data) == set()
    assert cluster.get(*APP, "maia-admin-harbor", "argocd")
    site.update(admin={"enabled": True})


def test_bad_input_changes_nothing_and_names_the_key(tmp_path, cluster):
    bad = AdminSite(tmp_path, cluster, env={"minio_root_password": ""}, admin={"project": {"name": "maia-admin-bad"}})
    rc, _data, out, err = salt_call(bad.conf, "state.apply", "maia.admin")
    assert rc != 0
    assert "maia:env:minio_root_password" in out + err
    assert ADMIN_SECRETS["rancher_password"] not in out + err + bad.log_text()
    assert cluster.get("argoproj.io/v1alpha1", "AppProject", "maia-admin-bad", "argocd") is None


def test_clean_removes_every_application(site, cluster):
    rc, data = site.apply("maia.admin.clean")
    assert rc == 0, failures(data)
    assert {f"maia-admin-app-{c}-clean" for c in ADMIN_APPS} <= changed(data)
    # a cascading delete ends when the controller has run the Application's finalizer: wait for it
    deadline = time.monotonic() + 30
    while [n for n in cluster.apps() if n.startswith("maia-admin-")] and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [n for n in cluster.apps() if n.startswith("maia-admin-")]
    rc, data = site.apply("maia.admin.clean")
    assert rc == 0 and changed(data) == set()


def test_no_secret_in_any_output_or_log(site):
    text = "\n".join(site.outputs) + site.log_text()
    derived = library(merge(site.pillar, {"admin": {"enabled": True}}))
    values = {a["component"]: a["spec"]["source"]["helm"]["valuesObject"] for a in derived["apps"]}
    secrets = {**ADMIN_SECRETS, "keycloak_client_secret": SECRETS["keycloak_client_secret"],
               "harbor_admin_password": values["harbor"]["harborAdminPassword"],
               "mysql_dashboard_password": values["maia-dashboard"]["mysql"]["mysqlPassword"],
               "admin_initial_password": derived["configure"]["keycloak"]["admin_password"]}
    assert not [name for name, secret in secrets.items() if secret in text]

