"""Stage 4's service configuration modules, ``_modules/maia_keycloak.py`` and ``_modules/maia_harbor.py``,
with the settings the admin library builds (``maia_salt.admin.services``), the realm ConfigMap, and
the state ``maia_admin_service.configured``.

STAND-INS (docs/standins.md: this machine runs no Keycloak and no Harbor): the Keycloak admin-REST
and Harbor stand-ins of maia_lab.standins behind one ingress stand-in on loopback, with a
certificate for ``iam.<domain>``/``registry.<domain>`` signed by the site's externalCA. The names
do not resolve here, so every request also goes through the ingress-address fallback of
``_utils/maia_service_endpoint.py``. The python-keycloak client is the real one.

Against real services: ``MAIA_E2E_KEYCLOAK_URL=https://iam.<domain>`` with
``MAIA_E2E_KEYCLOAK_CLIENT_SECRET`` (client maia's secret) and optionally ``MAIA_E2E_CA_FILE``
run the Keycloak tests on that Keycloak (the write counts are then not checked: there is no
request record); ``MAIA_E2E_HARBOR_URL`` with ``MAIA_E2E_HARBOR_PASSWORD`` the Harbor tests.
"""
import copy
import json
import os
import stat
from urllib.parse import urlsplit

import pytest
import yaml
from salt.exceptions import CommandExecutionError

from admin.test_admin_specs import ADMIN_SECRETS, DEFAULTS_FILE
from core.helpers import DEFAULTS_FILE as CORE_DEFAULTS_FILE
from core.helpers import SECRETS, site_pillar
from maia_salt.admin import mapdata
from maia_salt.admin.context import harbor_admin_password
from maia_salt.core.context import ConfigError
from maia_salt.merge import deep_merge
from support.admin_services import ca_pair, ingress, realm_export
from support.modules import load_salt_module

DOMAIN = "maia.example.com"
REAL_KEYCLOAK = os.environ.get("MAIA_E2E_KEYCLOAK_URL")
REAL_HARBOR = os.environ.get("MAIA_E2E_HARBOR_URL")
CLIENT_SECRET = SECRETS["keycloak_client_secret"]


@pytest.fixture(scope="module")
def ca():
    return ca_pair()


@pytest.fixture(scope="module")
def front(ca):
    standins = ingress(DOMAIN, harbor_admin_password(CLIENT_SECRET, DOMAIN), [realm_export(CLIENT_SECRET)], ca)
    yield standins
    standins.stop()


def _reach_override(front, url):
    if url:
        parts = urlsplit(url)
        return {"name": parts.hostname, "port": parts.port or 443, "ca_pem": None, "address": None,
                **({"ca_file": os.environ["MAIA_E2E_CA_FILE"]} if os.environ.get("MAIA_E2E_CA_FILE") else {})}
    return {"address": "127.0.0.1", "port": front.port}


def settings_of(front, ca, tmp_path, reach_standins=True, **overrides):
    cert = tmp_path / "external-ca.crt"
    cert.write_text(ca[0])
    pillar = site_pillar(**deep_merge({
        "env": {**ADMIN_SECRETS, "admin_email": "site-admin@example.com"},
        "cluster": {"externalCA": {"name": "maia-ca", "cert": str(cert)}},
        "realm": realm_export(),
        "admin": {"services": {"address": "127.0.0.1", "port": front.port}},
    }, overrides))
    data = mapdata(yaml.safe_load(DEFAULTS_FILE.read_text()), pillar, yaml.safe_load(CORE_DEFAULTS_FILE.read_text()))
    conf = data["configure"]
    if conf["harbor"]:  # the record of what Harbor was sent: the test's, not this machine's /etc/maia
        assert conf["harbor"]["record"] == "/etc/maia/harbor-secrets.json"  # beside the host's kubeconfig
        conf["harbor"]["record"] = str(tmp_path / "maia" / "harbor-secrets.json")
    if not (reach_standins and conf["keycloak"] and conf["harbor"]):
        return conf
    conf["keycloak"]["reach"].update(_reach_override(front, REAL_KEYCLOAK))
    if REAL_KEYCLOAK:
        conf["keycloak"]["client_secret"] = os.environ["MAIA_E2E_KEYCLOAK_CLIENT_SECRET"]
    conf["harbor"]["reach"].update(_reach_override(front, REAL_HARBOR))
    if REAL_HARBOR:
        conf["harbor"]["password"] = os.environ["MAIA_E2E_HARBOR_PASSWORD"]
    return conf


def module(name, tmp_path):
    return load_salt_module(f"_modules/{name}.py", f"{name}_under_test", opts={"test": False, "cachedir": str(tmp_path)})


def writes(service):
    return None if (REAL_KEYCLOAK or REAL_HARBOR) else [(r.method, r.path) for r in service.writes()]


# ------------------------------------------------------------------ the library


def test_realm_configmap_has_the_client_secret_and_the_toolkits_serialisation(front, ca, tmp_path):
    conf = settings_of(front, ca, tmp_path)
    cm = conf["realm_configmap"]
    assert (cm["kind"], cm["metadata"]["name"], cm["metadata"]["namespace"]) == ("ConfigMap", "maia-realm-import", "keycloak")
    realm = json.loads(cm["data"]["MAIA_realm.json"])
    assert next(c for c in realm["clients"] if c["clientId"] == "maia")["secret"] == CLIENT_SECRET
    # json.dump's default separators, as MAIA_change_keycloak_client_secret writes the file
    assert cm["data"]["MAIA_realm.json"] == json.dumps(realm)


def test_settings_reach_services_by_name_with_the_sites_ca(front, ca, tmp_path):
    conf = settings_of(front, ca, tmp_path, reach_standins=False, admin={"services": {"address": "", "port": 443}},
                       host={"address": "198.18.0.11"})
    reach = conf["keycloak"]["reach"]
    # by name, verified against the site's externalCA; the fallback is the host's own address
    assert reach == {"name": f"iam.{DOMAIN}", "port": 443, "ca_pem": ca[0], "address": "198.18.0.11"}
    harbor = conf["harbor"]
    assert harbor["reach"]["name"] == f"registry.{DOMAIN}"
    assert harbor["password"] == harbor_admin_password(CLIENT_SECRET, DOMAIN) != "Harbor12345"
    assert harbor["configurations"]["oidc_endpoint"] == f"https://iam.{DOMAIN}/realms/maia"
    assert harbor["configurations"]["oidc_verify_cert"] is False  # externalCA: Harbor lacks the site's CA


def test_bad_realm_is_refused_by_name(front, ca, tmp_path):
    with pytest.raises(ConfigError, match="maia:realm"):
        settings_of(front, ca, tmp_path, realm={"realm": "other"})


def test_switched_off_services_get_no_settings(front, ca, tmp_path):
    conf = settings_of(front, ca, tmp_path, admin={"configure": {"harbor": False}, "apps": {"keycloak": {"enabled": False}}})
    assert {k: conf[k] for k in ("realm_configmap", "keycloak", "harbor")} == {"realm_configmap": None, "keycloak": None,
                                                                              "harbor": None}


# ------------------------------------------------------------------ Keycloak


def test_keycloak_first_apply_configures_then_rerun_writes_nothing(front, ca, tmp_path):
    kc = module("maia_keycloak", tmp_path)
    settings = settings_of(front, ca, tmp_path)["keycloak"]
    planned = kc.plan(settings)
    email = "site-admin@example.com"
    if not REAL_KEYCLOAK:  # a real Keycloak may be configured already
        assert set(planned) == {"client maia-public", f"user {email}", "group MAIA:users", f"user {email} groups",
                                "group MAIA:admin realm-management roles"}
        assert writes(front.keycloak) == [("POST", "/realms/maia/protocol/openid-connect/token")]
    assert kc.apply(settings) == planned
    if not REAL_KEYCLOAK:
        standin = front.keycloak
        assert standin.group_names_of("maia", email) == ["MAIA:admin", "MAIA:users"]
        assert standin.group_role_names("maia", "MAIA:admin", "realm-management") == sorted(
            __import__("support.admin_services", fromlist=["RM_ROLES"]).RM_ROLES)
        user = standin.user("maia", email)
        assert user["requiredActions"] == ["UPDATE_PASSWORD"]
        assert standin.password_matches("maia", email, settings["admin_password"])
        client = standin.realms["maia"].client_by_client_id("maia-public")
        assert client["publicClient"] is True and client["redirectUris"] == ["http://localhost:8080"]
        front.keycloak.reset_requests()
    assert kc.plan(settings) == {}
    assert kc.apply(settings) == {}
    if not REAL_KEYCLOAK:
        # only the sign-ins: no create, update or role change on a converged realm
        assert {w for w in writes(front.keycloak)} == {("POST", "/realms/maia/protocol/openid-connect/token")}


@pytest.mark.skipif(bool(REAL_KEYCLOAK), reason="changes a user's password through the stand-in's account page")
def test_keycloak_rerun_keeps_a_password_the_admin_changed(front, ca, tmp_path):
    kc = module("maia_keycloak", tmp_path)
    settings = settings_of(front, ca, tmp_path)["keycloak"]
    kc.apply(settings)
    front.keycloak.set_password("maia", "site-admin@example.com", "changed-by-the-admin")
    assert kc.apply(settings) == {}
    assert front.keycloak.password_matches("maia", "site-admin@example.com", "changed-by-the-admin")


@pytest.mark.skipif(bool(REAL_KEYCLOAK), reason="stand-in only: changes the public client behind the state's back")
def test_keycloak_changed_public_client_is_put_back_field_by_field(front, ca, tmp_path):
    kc = module("maia_keycloak", tmp_path)
    settings = settings_of(front, ca, tmp_path)["keycloak"]
    kc.apply(settings)
    front.keycloak.realms["maia"].client_by_client_id("maia-public")["directAccessGrantsEnabled"] = False
    assert kc.plan(settings) == {"client maia-public": {"old": {"directAccessGrantsEnabled": False},
                                                        "new": {"directAccessGrantsEnabled": True}}}
    front.keycloak.reset_requests()
    kc.apply(settings)
    assert [w for w in writes(front.keycloak) if "token" not in w[1]] == [("PUT", w[1]) for w in writes(front.keycloak)
                                                                          if w[1].startswith("/admin/realms/maia/clients/")]
    assert kc.plan(settings) == {}


def test_keycloak_wrong_client_secret_fails_without_showing_it(front, ca, tmp_path):
    kc = module("maia_keycloak", tmp_path)
    settings = copy.deepcopy(settings_of(front, ca, tmp_path)["keycloak"])
    settings["client_secret"] = "not-the-Secret-4242"
    with pytest.raises(CommandExecutionError) as err:
        kc.plan(settings)
    assert "sign in" in str(err.value) and "HTTP 401" in str(err.value)
    assert "not-the-Secret-4242" not in str(err.value)


def test_keycloak_certificate_of_another_ca_is_refused(front, ca, tmp_path):
    kc = module("maia_keycloak", tmp_path)
    settings = copy.deepcopy(settings_of(front, ca, tmp_path)["keycloak"])
    settings["reach"]["ca_pem"] = ca_pair()[0]
    settings["reach"].pop("ca_file", None)
    with pytest.raises(CommandExecutionError, match="not reachable"):
        kc.plan(settings)


# ------------------------------------------------------------------ Harbor


def test_harbor_first_apply_sets_oidc_then_rerun_writes_nothing(front, ca, tmp_path):
    hb = module("maia_harbor", tmp_path)
    settings = settings_of(front, ca, tmp_path)["harbor"]
    planned = hb.plan(settings)
    if not REAL_HARBOR:  # a real Harbor may be configured already
        assert planned["auth_mode"] == {"old": "db_auth", "new": "oidc_auth"}
        assert planned["oidc_client_secret"] == {"old": "<not shown>", "new": "<masked>"}
    assert hb.apply(settings) == planned
    if not REAL_HARBOR:
        harbor = front.harbor
        assert harbor.settings["oidc_endpoint"] == f"https://iam.{DOMAIN}/realms/maia"
        assert harbor.settings["oidc_admin_group"] == "MAIA:admin"
        assert harbor.secrets["oidc_client_secret"] == CLIENT_SECRET
        harbor.reset_requests()
    assert hb.plan(settings) == {}
    assert hb.apply(settings) == {}
    if not REAL_HARBOR:
        assert writes(front.harbor) == []


def test_harbor_changed_client_secret_alone_is_sent_and_recorded_without_it(front, ca, tmp_path):
    """Harbor never returns oidc_client_secret: the module's record of what it sent (a salted
    fingerprint, 0600) is what tells a changed keycloak_client_secret from a converged Harbor."""
    hb = module("maia_harbor", tmp_path)
    settings = copy.deepcopy(settings_of(front, ca, tmp_path)["harbor"])
    hb.apply(settings)
    assert hb.plan(settings) == {}
    record = tmp_path / "maia" / "harbor-secrets.json"
    assert stat.S_IMODE(record.stat().st_mode) == 0o600 and CLIENT_SECRET not in record.read_text()
    settings["configurations"]["oidc_client_secret"] = new_secret = "a-rotated-client-secret-9f3c"
    if not REAL_HARBOR:
        front.harbor.reset_requests()
    assert hb.plan(settings) == {"oidc_client_secret": {"old": "<not shown>", "new": "<masked>"}}
    assert hb.apply(settings) == {"oidc_client_secret": {"old": "<not shown>", "new": "<masked>"}}
    assert new_secret not in record.read_text()
    if not REAL_HARBOR:
        assert front.harbor.secrets["oidc_client_secret"] == new_secret
        assert writes(front.harbor) == [("PUT", "/api/v2.0/configurations")]
        front.harbor.reset_requests()
    assert hb.plan(settings) == {} and hb.apply(settings) == {}
    if not REAL_HARBOR:
        assert writes(front.harbor) == []
    settings["configurations"]["oidc_client_secret"] = CLIENT_SECRET  # as the other tests expect it
    hb.apply(settings)


def test_harbor_default_password_is_refused(front, ca, tmp_path):
    hb = module("maia_harbor", tmp_path)
    settings = copy.deepcopy(settings_of(front, ca, tmp_path)["harbor"])
    settings["password"] = "Harbor12345"
    with pytest.raises(CommandExecutionError, match="HTTP 401") as err:
        hb.plan(settings)
    assert "Harbor12345" not in str(err.value)


# ------------------------------------------------------------------ the state


def _state(tmp_path, test):
    salt = {}
    state = load_salt_module("_states/maia_admin_service.py", "maia_admin_service_under_test", salt=salt,
                             opts={"test": test, "cachedir": str(tmp_path)})
    for name in ("maia_keycloak", "maia_harbor"):
        mod = module(name, tmp_path)
        salt[f"{name}.plan"], salt[f"{name}.apply"] = mod.plan, mod.apply
    return state


def test_state_predicts_when_the_service_is_not_up_yet(ca, tmp_path):
    """A first install under test=True: Keycloak is not deployed, so nothing answers."""
    not_up = ingress(DOMAIN, "x", lambda: None, ca)
    try:
        front_port = not_up.port
        settings = settings_of(not_up, ca, tmp_path)["keycloak"]
        settings["reach"].update(address="127.0.0.1", port=front_port)
        ret = _state(tmp_path, test=True).configured("k", "keycloak", settings)
        assert ret["result"] is None and ret["changes"] == {"keycloak": {"old": None, "new": "configured"}}
        assert "HTTP 503" in ret["comment"] and CLIENT_SECRET not in json.dumps(ret)
        ret = _state(tmp_path, test=False).configured("k", "keycloak", settings)
        assert ret["result"] is False and ret["changes"] == {}
    finally:
        not_up.stop()


def test_state_predicts_when_the_client_library_cannot_be_imported_yet(front, ca, tmp_path, monkeypatch):
    """A new site's plan over salt-ssh: python-keycloak's Debian dependency (python3-cryptography)
    comes with stage 2, which has not run yet, so the library does not import. Under test=True the
    whole configuration is predicted; a real run fails with the reason."""
    import sys  # noqa: PLC0415

    for name in [n for n in sys.modules if n == "keycloak" or n.startswith("keycloak.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "keycloak", None)  # `from keycloak import ...` raises ImportError
    settings = settings_of(front, ca, tmp_path)["keycloak"]
    ret = _state(tmp_path, test=True).configured("k", "keycloak", settings)
    assert ret["result"] is None and ret["changes"] == {"keycloak": {"old": None, "new": "configured"}}
    assert "python-keycloak cannot be imported" in ret["comment"]
    ret = _state(tmp_path, test=False).configured("k", "keycloak", settings)
    assert ret["result"] is False and ret["changes"] == {} and "python-keycloak cannot be imported" in ret["comment"]


# ------------------------------------------------------------------ the states' order (real render)


def test_realm_before_keycloaks_wave_and_configuration_after_the_waves(tmp_path):
    """salt-call --local state.show_low_sls / show_sls maia.admin: the realm ConfigMap is required
    by Keycloak's sync wave (Keycloak imports it at start; maia.admin extends the wave, which Salt
    applies at run time: test_admin_apply checks the run order), each service is configured after
    its own wave, Harbor after Keycloak."""
    from core.salt_local import salt_call, write_config  # noqa: PLC0415

    pillar = site_pillar(env={**ADMIN_SECRETS}, realm=realm_export(),
                         admin={"apps": {"keycloak": {"sync_wave": 1}}})
    rc, low, out, err = salt_call(write_config(tmp_path, pillar), "state.show_low_sls", "maia.admin")
    assert rc == 0, out + err
    states = {chunk["__id__"]: chunk for chunk in low}
    # the admin waves wait for Healthy, addresses too: no wave goes on without one, no last wait
    assert {c["address_pending"] for c in low if c["fun"] == "apps_synced"} == {False}
    assert "maia-admin-sync-healthy" not in states
    realm = states["maia-admin-keycloak-realm-configmap-present"]
    assert realm["fun"] == "object_present" and realm["manifest"]["metadata"]["name"] == "maia-realm-import"
    rc, high, out, err = salt_call(write_config(tmp_path, pillar), "state.show_sls", "maia.admin")
    assert rc == 0, out + err
    assert high["__extend__"] == [{"maia-admin-sync-wave-1": {
        "maia_argocd": [{"require": [{"maia_k8s": "maia-admin-keycloak-realm-configmap-present"}]}],
        "__sls__": "maia.admin", "__env__": "base"}}]
    keycloak, harbor = states["maia-admin-keycloak-configured"], states["maia-admin-harbor-configured"]
    assert (keycloak["state"], keycloak["fun"], keycloak["service"]) == ("maia_admin_service", "configured", "keycloak")
    assert keycloak["require"] == [{"maia_argocd": "maia-admin-sync-wave-1"}]
    assert harbor["require"] == [{"maia_argocd": "maia-admin-sync-wave-0"},
                                 {"maia_admin_service": "maia-admin-keycloak-configured"}]


def test_keycloak_imports_without_its_dist_info(tmp_path, monkeypatch):
    """A salt-ssh thin carries python-keycloak without its dist-info, so importlib.metadata does
    not know it (seen on the lab's salt-ssh run); the module still imports the client."""
    import sys  # noqa: PLC0415

    kc = module("maia_keycloak", tmp_path)

    def no_dist_info(name):
        raise kc.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(kc.metadata, "version", no_dist_info)
    for name in [n for n in sys.modules if n == "keycloak" or n.startswith("keycloak.")]:
        monkeypatch.delitem(sys.modules, name)
    admin_class, connection_class = kc._import_keycloak()
    assert (admin_class.__name__, connection_class.__name__) == ("KeycloakAdmin", "KeycloakOpenIDConnection")
