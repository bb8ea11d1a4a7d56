"""The admin layer's library (``maia_salt.admin``): bad input refused by name before
anything is built, secrets derived deterministically, the externalCA Secret, the
switch, pillar overrides, and folders made by the toolkit's own
``MAIA_Configure_Installation.sh``."""
from __future__ import annotations

import datetime
import json

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.helpers import DEFAULTS_FILE as CORE_DEFAULTS_FILE
from core.helpers import SECRETS, site_pillar
from maia_salt.admin import mapdata
from maia_salt.admin.context import REQUIRED_SECRETS, harbor_admin_password
from maia_salt.core.context import ConfigError
from maia_salt.merge import deep_merge
from maia_salt.pillar_map import site_pillar as folder_pillar
from support.paths import REPO
from support.reference_config import PRIVATE_SITE, PUBLIC_SITE, reference_or_skip

DEFAULTS_FILE = REPO / "formulas" / "maia" / "admin" / "parameters" / "defaults.yaml"
ADMIN_SECRETS = {
    "keycloak_admin_password": "kc-admin-Secret-0005",
    "minio_admin_password": "minio-admin-Secret-0006",
    "minio_root_password": "minio-root-Secret-0007",
    "rancher_password": "rancher-Secret-0008",
    "ARGOCD_PASSWORD": "argocd-Secret-0009",
}


@pytest.fixture
def defaults():
    return yaml.safe_load(DEFAULTS_FILE.read_text())


@pytest.fixture
def core_defaults():
    return yaml.safe_load(CORE_DEFAULTS_FILE.read_text())


def admin_pillar(**overrides):
    return site_pillar(**deep_merge({"env": dict(ADMIN_SECRETS)}, overrides))


def values_of(data, component):
    return next(a for a in data["apps"] if a["component"] == component)["spec"]["source"]["helm"]["valuesObject"]


def env_value(values, name):
    return next(e["value"] for e in values["env"] if e["name"] == name)


def certificate(path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "MAIA unit test CA")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path.read_text()


# ------------------------------------------------------------------ what is built


def test_objects_of_the_admin_layer(defaults, core_defaults):
    data = mapdata(defaults, admin_pillar(), core_defaults)
    assert data["namespaces"] == ["harbor", "keycloak", "maia-admin-toolkit", "maia-dashboard", "cattle-system"]
    assert [a["name"] for a in data["apps"]] == [
        "maia-admin-admin-toolkit", "maia-admin-harbor", "maia-admin-keycloak", "maia-admin-maia-dashboard",
        "maia-admin-rancher"]
    assert {a["sync_wave"] for a in data["apps"]} == {0}  # the chart sets no sync-wave
    sources = {a["component"]: a["spec"]["source"] for a in data["apps"]}
    assert (sources["harbor"]["repoURL"], sources["harbor"]["chart"], sources["harbor"]["targetRevision"]) == (
        "https://helm.goharbor.io", "harbor", "1.18.2")
    assert (sources["keycloak"]["chart"], sources["keycloak"]["targetRevision"]) == ("keycloak", "24.2.0")
    assert (sources["rancher"]["chart"], sources["rancher"]["targetRevision"]) == ("rancher", "2.13.0")
    for component, path in (("admin-toolkit", "charts/maia-admin-toolkit"), ("maia-dashboard", "charts/maia-dashboard")):
        assert sources[component]["path"] == path and sources[component]["targetRevision"] == "v2.5.0"
    assert data["project"]["name"] == "maia-admin"
    assert data["secrets"] == [] and data["repositories"] == []


def test_argocd_server_restart_follows_the_argocd_settings_the_toolkit_renders(defaults, core_defaults):
    """The trigger changes with what the toolkit's argocd-cm/argocd-rbac-cm templates read
    (client secret, admin group, chart), not with another app's values; no secret in it."""
    def trigger(pillar):
        restarts = [r for r in mapdata(defaults, pillar, core_defaults)["restarts"] if r["id"] == "argocd-server"]
        assert [(r["id"], r["kind"], r["name"], r["namespace"]) for r in restarts] == [
            ("argocd-server", "Deployment", "argocd-server", "argocd")]
        return restarts[0]["trigger"]

    base = trigger(admin_pillar())
    assert base == trigger(admin_pillar())
    assert base == trigger(admin_pillar(admin={"apps": {"keycloak": {"values": {"replicaCount": 2}}}}))
    secret = {"keycloak_client_secret": "kc-Other-Secret-0099"}
    for changed in (admin_pillar(env=secret), admin_pillar(env={"admin_group_ID": "MAIA:ops"}),
                    admin_pillar(admin={"apps": {"admin-toolkit": {"git": {"revision": "v2.6.0"}}}})):
        assert trigger(changed) != base
    assert SECRETS["keycloak_client_secret"] not in json.dumps(mapdata(defaults, admin_pillar(), core_defaults)["restarts"])
    def ids(pillar):
        return restart_ids(defaults, core_defaults, pillar)

    assert ids(admin_pillar(admin={"restarts": {"argocd-server": None}})) == ["maia-dashboard"]
    off = admin_pillar(admin={"apps": {"admin-toolkit": {"values": {"argocd": {"enabled": False}}}}})
    assert ids(off) == ["maia-dashboard"]


def restart_ids(defaults, core_defaults, pillar):
    return [r["id"] for r in mapdata(defaults, pillar, core_defaults)["restarts"]]


def test_dashboard_restart_follows_its_values_and_rancher_token(defaults, core_defaults):
    """The dashboard reads its values (Rancher's token among them) at start: its Deployment is
    restarted once per change of them, and for nothing else; the token is not in the trigger."""
    def restart(pillar):
        found = [r for r in mapdata(defaults, pillar, core_defaults)["restarts"] if r["id"] == "maia-dashboard"]
        assert [(r["kind"], r["name"], r["namespace"]) for r in found] == [
            ("Deployment", "maia-admin-maia-dashboard", "maia-dashboard")]
        return found[0]

    base = restart(admin_pillar())["trigger"]
    assert base == restart(admin_pillar(admin={"apps": {"keycloak": {"values": {"replicaCount": 2}}}}))["trigger"]
    token = "token-ab12c:Rancher-Token-Secret-0042"
    with_token = restart(admin_pillar(env={"rancher_token": token}))
    assert with_token["trigger"] != base and token not in json.dumps(with_token)
    assert restart(admin_pillar(env={"rancher_token": token}))["trigger"] == with_token["trigger"]
    for off in ({"restarts": {"maia-dashboard": None}}, {"apps": {"maia-dashboard": {"enabled": False}}}):
        assert restart_ids(defaults, core_defaults, admin_pillar(admin=off)) == ["argocd-server"]


def test_private_registry_serves_maia_charts_as_oci(defaults, core_defaults):
    pillar = admin_pillar(env={"MAIA_PRIVATE_REGISTRY": "registry.example.test/maia"},
                          registry={"username": "robot", "password": "reg-Secret-0004"})
    data = mapdata(defaults, pillar, core_defaults)
    sources = {a["component"]: a["spec"]["source"] for a in data["apps"]}
    assert sources["admin-toolkit"]["repoURL"] == "registry.example.test/maia"
    assert sources["admin-toolkit"]["chart"] == "maia-admin-toolkit" and "path" not in sources["admin-toolkit"]
    assert sources["harbor"]["repoURL"] == "https://helm.goharbor.io"
    assert data["repositories"][0]["name"] == "maia-private-registry-maia-admin"
    assert "registry.example.test/maia" in data["project"]["spec"]["sourceRepos"]


def test_switched_off_applies_nothing(defaults, core_defaults):
    """maia:admin:enabled false: nothing built, and no input needed (secrets missing are fine)."""
    data = mapdata(defaults, site_pillar(admin={"enabled": False}), core_defaults)
    assert data["enabled"] is False and data["apps"] == [] and data["namespaces"] == []


def test_pillar_overrides_version_values_and_distribution_table(defaults, core_defaults):
    pillar = admin_pillar(
        admin={"apps": {"harbor": {"version": "1.19.0", "values": {"expose": {"type": "clusterIP"}}},
                        "rancher": {"enabled": False}}},
        core={"distributions": {"microk8s": {"storage_class": "site-ssd"}}},
    )
    data = mapdata(defaults, pillar, core_defaults)
    harbor = next(a for a in data["apps"] if a["component"] == "harbor")
    assert harbor["spec"]["source"]["targetRevision"] == "1.19.0"
    values = values_of(data, "harbor")
    assert values["expose"]["type"] == "clusterIP" and values["expose"]["ingress"]["hosts"]  # merged, not replaced
    assert values["persistence"]["persistentVolumeClaim"]["registry"]["storageClass"] == "site-ssd"
    assert "rancher" not in {a["component"] for a in data["apps"]}
    assert data["absent_apps"] == [{"component": "rancher", "name": "maia-admin-rancher"}]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("cluster, named", [
    ({"url_type": "path"}, "maia:cluster:url_type"),
    ({"ssh_port_type": "HostPort"}, "maia:cluster:ssh_port_type"),
    ({"port_range": [31000, 30000]}, "maia:cluster:port_range"),
    ({"port_range": "30000-31000"}, "maia:cluster:port_range"),
    ({"admin_group": ""}, "maia:cluster:admin_group"),
    ({"users_group": ["users"]}, "maia:cluster:users_group"),
    ({"ssh_hostname": 42}, "maia:cluster:ssh_hostname"),
    ({"nginx_cluster_issuer": " "}, "maia:cluster:nginx_cluster_issuer"),
    ({"storage_class": ""}, "maia:cluster:storage_class"),
    ({"maia_metallb_ip": None}, "maia:cluster:maia_metallb_ip"),
    ({"metallb_shared_ip": 1}, "maia:cluster:metallb_shared_ip"),
    ({"externalCA": "ca.crt"}, "maia:cluster:externalCA must be a mapping"),
    ({"externalCA": {"name": "maia-ca", "cert": "/nonexistent/ca.crt"}}, "maia:cluster:externalCA:cert"),
    ({"externalCA": {"name": "Not_A_Name", "cert": "/nonexistent/ca.crt"}}, "maia:cluster:externalCA:name"),
    ({"staging_certificates": True}, "maia:cluster:staging_certificates needs externalCA"),
    ({"k8s_distribution": "kind"}, "maia:cluster:k8s_distribution"),
    ({"domain": ""}, "maia:cluster:domain"),
])
def test_bad_cluster_keys_are_refused_by_name(defaults, core_defaults, cluster, named):
    with pytest.raises(ConfigError) as raised:
        mapdata(defaults, admin_pillar(cluster=cluster), core_defaults)
    assert named in str(raised.value)
    assert str(raised.value).startswith("maia.admin: bad input, nothing was changed")


def test_external_ca_that_is_not_a_certificate_is_refused(defaults, core_defaults, tmp_path):
    (tmp_path / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match=r"externalCA:cert .*not a PEM certificate"):
        mapdata(defaults, admin_pillar(cluster={"externalCA": {"name": "maia-ca", "cert": str(tmp_path / "ca.crt")}}),
                core_defaults)


def test_every_missing_secret_is_named_at_once(defaults, core_defaults):
    pillar = site_pillar()  # keycloak_client_secret only
    with pytest.raises(ConfigError) as raised:
        mapdata(defaults, pillar, core_defaults)
    for key in REQUIRED_SECRETS:
        if key != "keycloak_client_secret":
            assert f"maia:env:{key}" in str(raised.value), key
    assert "kc-Secret-0001" not in str(raised.value)


def test_bad_app_source_and_registry_are_refused(defaults, core_defaults):
    pillar = admin_pillar(admin={"apps": {"maia-dashboard": {"source": "svn"}, "keycloak": {"version": ""}}},
                          env={"MAIA_PRIVATE_REGISTRY": "registry.example.test/maia"})
    with pytest.raises(ConfigError) as raised:
        mapdata(defaults, pillar, core_defaults)
    text = str(raised.value)
    assert "maia:admin:apps:maia-dashboard:source is 'svn'" in text
    assert "maia:admin:apps:keycloak:version is empty" in text
    assert "maia:registry:username/password is missing" in text


# ------------------------------------------------------------------ secrets


def test_secrets_come_from_env_json(defaults, core_defaults):
    pillar = admin_pillar(env={"mysql_dashboard_password": "mysql-Secret-0010", "harbor_admin_password": "hb-0011",
                               "rancher_token": "token-xyz"})
    data = mapdata(defaults, pillar, core_defaults)
    assert values_of(data, "harbor")["harborAdminPassword"] == "hb-0011"
    assert values_of(data, "keycloak")["auth"]["adminPassword"] == ADMIN_SECRETS["keycloak_admin_password"]
    assert values_of(data, "rancher")["bootstrapPassword"] == ADMIN_SECRETS["rancher_password"]
    minio = values_of(data, "admin-toolkit")["minio"]
    assert (minio["adminSecretKey"], minio["rootSecretKey"]) == (ADMIN_SECRETS["minio_admin_password"],
                                                                 ADMIN_SECRETS["minio_root_password"])
    dashboard = values_of(data, "maia-dashboard")
    assert env_value(dashboard, "DB_PASS") == dashboard["mysql"]["mysqlPassword"] == "mysql-Secret-0010"
    assert env_value(dashboard, "ARGOCD_PASSWORD") == ADMIN_SECRETS["ARGOCD_PASSWORD"]
    assert dashboard["clusters"][0]["maia_dashboard"]["token"] == "token-xyz"


def test_secrets_the_toolkit_draws_at_random_are_derived(defaults, core_defaults):
    """Without mysql_dashboard_password / harbor_admin_password in env.json: the same value on
    every run (a re-run changes nothing), another one per site, never the chart default."""
    first = mapdata(defaults, admin_pillar(), core_defaults)
    second = mapdata(defaults, admin_pillar(), core_defaults)
    other = mapdata(defaults, admin_pillar(cluster={"domain": "other.example.com"}), core_defaults)
    mysql = [values_of(d, "maia-dashboard")["mysql"]["mysqlPassword"] for d in (first, second, other)]
    harbor = [values_of(d, "harbor")["harborAdminPassword"] for d in (first, second, other)]
    assert mysql[0] == mysql[1] != mysql[2] and len(mysql[0]) == 24
    assert harbor[0] == harbor[1] != harbor[2] and harbor[0] != "Harbor12345"
    assert harbor[0] == harbor_admin_password("kc-Secret-0001", "maia.example.com")
    assert mysql[0] != harbor[0]
    assert "kc-Secret-0001" not in (mysql[0], harbor[0])


# ------------------------------------------------------------------ CAs


def test_external_ca_secret_and_values(defaults, core_defaults, tmp_path):
    pem = certificate(tmp_path / "site-ca.crt")
    pillar = admin_pillar(cluster={"externalCA": {"name": "maia-site-ca", "cert": str(tmp_path / "site-ca.crt")}})
    data = mapdata(defaults, pillar, core_defaults)
    assert data["secrets"] == [{"name": "maia-site-ca", "namespace": "maia-dashboard", "type": "Opaque",
                                "string_data": {"public.crt": pem}}]
    toolkit = values_of(data, "admin-toolkit")
    assert toolkit["minio"]["externalCA"] == {"name": "maia-site-ca", "cert": pem}
    assert toolkit["argocd"]["rootCA"] == pem


def test_selfsigned_uses_the_cluster_ca_once_exported(defaults, core_defaults, tmp_path):
    """Before stage 2 has exported rootCA (test=True on a new site) no CA value; after, the file's text."""
    ca = tmp_path / "ca.crt"
    pillar = admin_pillar(cluster={"selfsigned": True, "rootCA": str(ca)})
    before = mapdata(defaults, pillar, core_defaults)
    assert "rootCA" not in values_of(before, "admin-toolkit")["argocd"]
    assert "ca_crt" not in values_of(before, "maia-dashboard")
    pem = certificate(ca)
    after = mapdata(defaults, pillar, core_defaults)
    assert values_of(after, "admin-toolkit")["argocd"]["rootCA"] == pem
    assert values_of(after, "maia-dashboard")["ca_crt"] == pem
    assert env_value(values_of(after, "maia-dashboard"), "OIDC_CA_BUNDLE") == "/mnt/dashboard-config/ca.crt"


# ------------------------------------------------------------------ toolkit folders


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    return reference_or_skip(tmp_path_factory.mktemp("maia-toolkit"))


@pytest.mark.slow
@pytest.mark.parametrize("site", [PUBLIC_SITE, PRIVATE_SITE], ids=["public", "private"])
def test_folder_of_the_toolkits_configure_script_works_as_it_is(reference, defaults, core_defaults, tmp_path,
                                                               site):
    """A CONFIG_FOLDER written by maia-toolkit 2.5.0's MAIA_Configure_Installation.sh (run as it is,
    tests/support/reference_config.py): the admin layer builds from it unchanged, its secrets are
    the folder's, and Harbor's password (which the toolkit does not write) is the derived one."""
    folder = reference.make_folder(tmp_path / "site", site, "n")
    env = json.loads((folder / "env.json").read_text())
    assert "harbor_admin_password" not in env
    # the toolkit's folder has no inventory: only salt-call --local on a one-host site gets its secrets
    pillar = folder_pillar(folder, "any-host", local_run=True)["maia"]
    data = mapdata(defaults, pillar, core_defaults)
    assert len(data["apps"]) == 5
    assert values_of(data, "rancher")["bootstrapPassword"] == env["rancher_password"]
    assert env_value(values_of(data, "maia-dashboard"), "DB_PASS") == env["mysql_dashboard_password"]
    assert values_of(data, "harbor")["harborAdminPassword"] == harbor_admin_password(
        env["keycloak_client_secret"], site["CLUSTER_DOMAIN"])
    assert mapdata(defaults, pillar, core_defaults) == data


def test_every_secret_is_masked_in_what_the_states_show(defaults, core_defaults, tmp_path):
    """maia_secrets.mask with each app's secret_keys (what the ArgoCD states show in changes
    and comments) leaves no secret of env.json, nor a derived one, in any Application."""
    from support.modules import load_salt_module

    masking = load_salt_module("_modules/maia_secrets.py", "maia_secrets_admin_test")
    pillar = admin_pillar(env={"rancher_token": "token-Secret-0012"}, cluster={"selfsigned": True})
    data = mapdata(defaults, pillar, core_defaults)
    secrets = set(ADMIN_SECRETS.values()) | {"kc-Secret-0001", "token-Secret-0012"}
    secrets |= {values_of(data, "harbor")["harborAdminPassword"],
                values_of(data, "maia-dashboard")["mysql"]["mysqlPassword"]}
    for app in data["apps"]:
        shown = json.dumps(masking.mask(app["spec"], extra_keys=app["secret_keys"]))
        assert not [s for s in secrets if s in shown], app["name"]
    # secret_keys name DB_PASS, whose env entry is {name, value}: a key-word mask alone cannot tell it
    dashboard = next(a for a in data["apps"] if a["component"] == "maia-dashboard")
    assert "DB_PASS" in dashboard["secret_keys"]
